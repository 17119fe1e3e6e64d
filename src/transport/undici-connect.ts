import type { LookupAddress } from 'node:dns';
import { connect as netConnect, isIP, type LookupFunction, type Socket } from 'node:net';
import {
  checkServerIdentity,
  connect as tlsConnect,
  type PeerCertificate,
  type SecureContext,
  TLSSocket,
} from 'node:tls';
import { LRUCache } from 'lru-cache';
import { classifyAddress } from './address.js';
import type { ConnectTarget } from './connect-to.js';
import type { ConnectionGate, ConnectionSlot } from './connection-gate.js';
import { ForbiddenAddressError, TimeoutError, type TransportError } from './errors.js';
import { meterResponseHeads } from './head-meter.js';
import { toTransportError, type FailureStage } from './undici-errors.js';

/** Where one pool's connections go. Everything a connect needs that undici does not pass. */
export interface ConnectRoute {
  protocol: 'https:' | 'http:';
  /** URL host name, IPv6 without brackets. Used for SNI and certificate checks. */
  host: string;
  port: number;
  /** From `connectTo`: connect here instead of resolving `host`. */
  connectTo: ConnectTarget | undefined;
  /** Without `connectTo`: the addresses the transport resolved for `host` and the SSRF guard allowed, in order. */
  addresses: readonly string[] | undefined;
  connectTimeoutMs: number;
}

/** The caches one pool generation shares; `reset()` replaces them, `clearConnections()` keeps them. */
export interface ConnectCaches {
  /** `host:port|target` → latest TLS session ticket, for resumption. */
  tlsSessions: LRUCache<string, Buffer>;
}

/** Transport-wide settings the connector reads. */
export interface ConnectSettings {
  gate: ConnectionGate;
  allowPrivateNetwork: boolean;
  /**
   * TLS context with the trusted roots (Node's, plus `caFile` when set),
   * built once per transport: passing `ca` to every `tls.connect` would
   * parse ~150 certificates per connection (~20 ms).
   */
  secureContext: SecureContext;
  maxHeaderBytes: number;
  maxResponseBytes: number;
  /** Called once per connection established (TCP, plus TLS for HTTPS). */
  onNewConnection(): void;
}

/** The pool entry a connector works for; implemented by the undici transport. */
export interface ConnectOwner {
  readonly route: ConnectRoute;
  readonly caches: ConnectCaches;
  /** Attempts in progress, so they can be cancelled when nobody waits for them. */
  readonly attempts: Set<ConnectAttempt>;
  /** A socket of this owner was created / has closed. */
  socketOpened(slot: ConnectionSlot): void;
  socketClosed(slot: ConnectionSlot): void;
}

type ConnectCallback = (...args: [null, Socket] | [Error, null]) => void;

/** Create caches sized for `maxEntries` hosts. */
export function createConnectCaches(maxEntries: number): ConnectCaches {
  return { tlsSessions: new LRUCache<string, Buffer>({ max: maxEntries }) };
}

/**
 * The undici `connect` function for one pool. undici calls it whenever the
 * pool needs a new socket; `opts` (undici's view of the origin) is ignored in
 * favour of the owner's route, which also knows `connectTo`.
 */
export function createConnector(owner: ConnectOwner, settings: ConnectSettings) {
  return (_opts: unknown, callback: ConnectCallback): void => {
    const attempt = new ConnectAttempt(owner, settings, callback);
    owner.attempts.add(attempt);
    attempt.run();
  };
}

/**
 * One connection attempt: take the route's addresses (resolved by the
 * transport's `DnsResolver`, or `connectTo`, or the IP-literal host), apply
 * the SSRF guard to every candidate again, wait for a slot under the global
 * cap, connect to an allowed IP with SNI = the URL host, re-check the
 * socket's peer address, and hand the socket to undici.
 *
 * `connectTimeoutMs` covers TCP and TLS; the wait for a slot is queueing,
 * bounded by the requests' own total timeouts instead.
 */
export class ConnectAttempt {
  readonly #owner: ConnectOwner;
  readonly #settings: ConnectSettings;
  #callback: ConnectCallback | undefined;
  #timer: NodeJS.Timeout | undefined;
  #slot: ConnectionSlot | undefined;
  #socket: Socket | undefined;
  #stage: FailureStage = 'connect';

  constructor(owner: ConnectOwner, settings: ConnectSettings, callback: ConnectCallback) {
    this.#owner = owner;
    this.#settings = settings;
    this.#callback = callback;
  }

  get #done(): boolean {
    return this.#callback === undefined;
  }

  /** Abandon the attempt; undici fails the requests queued on it with `error`. */
  cancel(error: TransportError): void {
    this.#fail(error);
  }

  run(): void {
    const allowed = this.#guard(this.#candidates());
    if (allowed === undefined) return;
    this.#settings.gate.acquire(this.#owner).then(
      (slot) => this.#connect(slot, allowed),
      (error: unknown) => this.#fail(error),
    );
  }

  #target(): string {
    const { host, port, connectTo } = this.#owner.route;
    const shown = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    return connectTo ? `${shown} (via ${connectTo.ip}:${connectTo.port})` : shown;
  }

  /** The candidate addresses. Names were resolved by the transport before the request reached undici. */
  #candidates(): LookupAddress[] {
    const { host, connectTo, addresses } = this.#owner.route;
    if (connectTo) return [{ address: connectTo.ip, family: isIP(connectTo.ip) }];
    if (addresses) return addresses.map((address) => ({ address, family: isIP(address) }));
    // net.connect never calls `lookup` for an IP literal, so literals are
    // checked here like any resolved address.
    return [{ address: host, family: isIP(host) }];
  }

  /** Keep only addresses the SSRF guard allows; fails the attempt and returns `undefined` when none is left. */
  #guard(addresses: LookupAddress[]): LookupAddress[] | undefined {
    if (this.#settings.allowPrivateNetwork) return addresses;
    const allowed = addresses.filter((a) => classifyAddress(a.address) === 'public');
    if (allowed.length > 0) return allowed;
    const first = addresses[0];
    const address = first?.address ?? '';
    const addressClass = classifyAddress(address);
    this.#fail(
      new ForbiddenAddressError(
        `refusing to connect to ${this.#target()}: ${address} is a ${addressClass} address (set allowPrivateNetwork to allow it)`,
        { address, addressClass },
      ),
    );
    return undefined;
  }

  #connect(slot: ConnectionSlot, addresses: LookupAddress[]): void {
    if (this.#done) {
      this.#settings.gate.release(slot);
      return;
    }
    this.#slot = slot;
    this.#stage = 'connect';
    this.#startClock();
    const { protocol, host, port, connectTo } = this.#owner.route;
    const first = addresses[0] as LookupAddress;
    // With one candidate, connect to the IP itself. With several, give Node
    // the allowed list through `lookup` so it can try each (happy eyeballs).
    const viaLookup = addresses.length > 1;
    const common = {
      host: viaLookup ? host : first.address,
      port: connectTo ? connectTo.port : port,
      ...(viaLookup ? { lookup: fixedLookup(addresses), autoSelectFamily: true } : {}),
      noDelay: true,
      keepAlive: true,
      keepAliveInitialDelay: 60_000,
    };
    let socket: Socket;
    try {
      if (protocol === 'https:') {
        const sessionKey = this.#sessionKey();
        const tlsSocket: TLSSocket = tlsConnect({
          ...common,
          // SNI must be a name, never an IP literal (RFC 6066).
          ...(isIP(host) === 0 ? { servername: host } : {}),
          ALPNProtocols: ['http/1.1'],
          secureContext: this.#settings.secureContext,
          session: this.#owner.caches.tlsSessions.get(sessionKey),
          // The certificate must match the URL host even when the socket
          // goes to a connectTo target or a resolved IP.
          checkServerIdentity: (_name: string, cert: PeerCertificate) => checkServerIdentity(host, cert),
        });
        answerIdentityCheckWithPlainCertificate(tlsSocket);
        tlsSocket.on('session', (session: Buffer) => this.#owner.caches.tlsSessions.set(sessionKey, session));
        tlsSocket.once('secureConnect', () => {
          restoreGetPeerCertificate(tlsSocket);
          this.#succeed();
        });
        socket = tlsSocket;
      } else {
        socket = netConnect(common);
      }
    } catch (error) {
      this.#fail(error);
      return;
    }
    this.#socket = socket;
    this.#settings.gate.adopt(slot, socket);
    this.#owner.socketOpened(slot);
    socket.once('close', () => this.#owner.socketClosed(slot));
    socket.on('error', this.#onSocketError);
    socket.once('connect', () => {
      if (this.#done) return;
      slot.connectedAt = performance.now();
      // From here a broken connection is a TLS failure (before the
      // handshake completes) or a broken exchange, as libcurl reports it.
      this.#stage = protocol === 'https:' ? 'tls' : 'exchange';
      // Defence in depth: the peer must be an address the guard allowed.
      const peer = socket.remoteAddress;
      if (peer === undefined) {
        // getpeername() failed: the peer already reset the connection. No
        // address, so nothing to refuse; fail as the reset it is.
        this.#fail(Object.assign(new Error('connection reset by the peer'), { code: 'ECONNRESET' }));
        return;
      }
      const peerClass = classifyAddress(peer);
      if (!this.#settings.allowPrivateNetwork && peerClass !== 'public') {
        this.#fail(
          new ForbiddenAddressError(`refusing connection to ${this.#target()}: peer ${peer} is a ${peerClass} address`, {
            address: peer,
            addressClass: peerClass,
          }),
        );
        return;
      }
      if (protocol === 'http:') this.#succeed();
    });
  }

  readonly #onSocketError = (error: Error): void => {
    this.#fail(error);
  };

  #succeed(): void {
    const socket = this.#socket;
    const slot = this.#slot;
    const callback = this.#callback;
    if (!socket || !slot || !callback) return;
    this.#finish();
    slot.secureAt = this.#owner.route.protocol === 'https:' ? performance.now() : slot.connectedAt;
    socket.off('error', this.#onSocketError);
    this.#settings.onNewConnection();
    const gate = this.#settings.gate;
    gate.handingOver = slot;
    try {
      callback(null, socket);
    } finally {
      gate.handingOver = undefined;
    }
    // After undici attached its 'readable' listener, so watching 'data'
    // leaves the socket in paused mode.
    meterResponseHeads(socket, this.#settings.maxHeaderBytes, this.#target());
  }

  #fail(error: unknown): void {
    const callback = this.#callback;
    if (!callback) return;
    this.#finish();
    const mapped = toTransportError(error, {
      stage: this.#stage,
      target: this.#target(),
      connectTimeoutMs: this.#owner.route.connectTimeoutMs,
      totalTimeoutMs: 0,
      maxHeaderBytes: this.#settings.maxHeaderBytes,
      maxResponseBytes: this.#settings.maxResponseBytes,
    });
    if (this.#socket) {
      // Keep a listener so a late socket error is not thrown; the slot is
      // released when the socket has closed.
      this.#socket.off('error', this.#onSocketError);
      this.#socket.on('error', () => {});
      this.#socket.destroy();
    } else if (this.#slot) {
      this.#settings.gate.release(this.#slot);
    }
    callback(mapped, null);
  }

  #finish(): void {
    this.#callback = undefined;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#owner.attempts.delete(this);
  }

  /** Run the connect clock (TCP + TLS), from the moment a slot was granted. */
  #startClock(): void {
    const timeoutMs = this.#owner.route.connectTimeoutMs;
    this.#timer = setTimeout(() => {
      this.#fail(
        new TimeoutError(`connecting to ${this.#target()} timed out after ${timeoutMs} ms`, { phase: 'connect', timeoutMs }),
      );
    }, timeoutMs);
  }

  #sessionKey(): string {
    const { host, port, connectTo } = this.#owner.route;
    return connectTo ? `${host}:${port}|${connectTo.ip}:${connectTo.port}` : `${host}:${port}`;
  }
}

/**
 * Node's TLS client asks for `getPeerCertificate(true)` once per new (not
 * resumed) session, only to hand it to `checkServerIdentity`. The detailed
 * form walks the issuer chain and turns every certificate into an object
 * with its fingerprints: ~190 µs of the JS thread per handshake on this
 * box, against ~38 µs for the plain form (docs/undici-transport.md, "The
 * identity check").
 * The identity check reads only `subject` and `subjectaltname`, which the
 * plain form has, so for that call the socket answers with the plain form:
 * under overload the undici transport opens hundreds of connections a
 * second, and the detailed form was 13% of its JS thread. The check itself
 * is Node's own (`tls.checkServerIdentity`), unchanged.
 *
 * The answer is the socket's own property until the handshake ends (the
 * call comes just before `secureConnect`); then the prototype's method is
 * back.
 */
function answerIdentityCheckWithPlainCertificate(socket: TLSSocket): void {
  const plain = (): PeerCertificate => TLSSocket.prototype.getPeerCertificate.call(socket, false);
  Object.defineProperty(socket, 'getPeerCertificate', { value: plain, configurable: true, writable: true });
}

/** Undo {@link answerIdentityCheckWithPlainCertificate}. */
function restoreGetPeerCertificate(socket: TLSSocket): void {
  delete (socket as { getPeerCertificate?: unknown }).getPeerCertificate;
}

/** A `lookup` for net.connect that answers with a fixed, already checked list. */
function fixedLookup(addresses: LookupAddress[]): LookupFunction {
  return ((_hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (options.all) callback(null, addresses);
    else callback(null, addresses[0]?.address, addresses[0]?.family);
  }) as unknown as LookupFunction;
}
