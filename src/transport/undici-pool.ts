import { Client, type Dispatcher } from 'undici';
import type { DispatchRequest } from './base.js';
import type { ConnectionSlot } from './connection-gate.js';
import type { ResolvedTransportOptions } from './options.js';
import { createConnector, type ConnectAttempt, type ConnectCaches, type ConnectOwner, type ConnectRoute, type ConnectSettings } from './undici-connect.js';

/*
 * The undici transport's pools: one `PoolEntry` (a few undici `Client`s)
 * per route, grouped in generations that `clearConnections()` and
 * `reset()` retire. `UndiciTransport` (undici.ts) creates, retires and
 * drops them; the connector (undici-connect.ts) makes their sockets.
 */

/**
 * undici subtracts this from a server's `Keep-Alive: timeout=` hint before
 * reusing a connection, so we never send on a socket the server is about to
 * close. `1000` ms: undici's default is 2 s, but `idleTimeoutMs` may be as
 * low as 1 s and a hint of 2 s must still allow reuse.
 */
const KEEP_ALIVE_THRESHOLD_MS = 1_000;

/** The pools and caches new requests use; `clearConnections()` and `reset()` start a new one. */
export class Generation {
  readonly pools = new Map<string, PoolEntry>();
  /** Every entry created in this generation that is not gone yet. */
  readonly entries = new Set<PoolEntry>();
  readonly caches: ConnectCaches;

  constructor(caches: ConnectCaches) {
    this.caches = caches;
  }
}

/** Where a hop's connections go (origin + connectTo target or preferred address + connect timeout), and its pool's key. */
export interface Route {
  readonly key: string;
  readonly connect: ConnectRoute;
  readonly origin: string;
}

/**
 * Where a hop's connections go: an origin and its connectTo target, or its
 * preferred resolved address (a DNS change makes a new route), and its
 * connect timeout (part of the connector's settings).
 */
export function routeOf(request: DispatchRequest): Route {
  const { url, connectTo, addresses, connectTimeoutMs } = request;
  const target = connectTo ? `${connectTo.ip}:${connectTo.port}` : (addresses?.[0] ?? '');
  return {
    key: `${url.origin}|${target}|${connectTimeoutMs}`,
    origin: url.origin,
    connect: {
      protocol: url.protocol === 'http:' ? 'http:' : 'https:',
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port === '' ? (url.protocol === 'http:' ? 80 : 443) : Number(url.port),
      connectTo,
      addresses,
      connectTimeoutMs,
    },
  };
}

/**
 * Our pool for one route within a generation: up to `maxConnectionsPerHost`
 * undici `Client`s (one socket each, HTTP/1.1 without pipelining).
 *
 * We pick the client ourselves instead of using undici's `Pool`: a `Pool`
 * only hands a new request to a client after that client's `drain` event,
 * which comes a loop turn after its previous response completed, so a
 * caller that sends its next request as soon as the previous one resolved
 * would always get a second connection. A client whose `stats.size` is 0
 * has nothing queued or running and can take the request at once.
 */
export class PoolEntry implements ConnectOwner {
  readonly route: ConnectRoute & { key: string };
  readonly generation: Generation;
  readonly caches: ConnectCaches;
  readonly attempts = new Set<ConnectAttempt>();
  readonly gone: Promise<void>;
  /** Jobs dispatched here and not released by undici. */
  active = 0;
  /** Jobs dispatched here whose callers still wait and that have no socket yet. */
  livePending = 0;
  /** Sockets created for this pool and not yet closed (connecting ones included). */
  openSockets = 0;
  retired = false;
  readonly #origin: string;
  readonly #clients: Client[] = [];
  readonly #clientOptions: Client.Options;
  readonly #maxClients: number;
  /** `false` with `maxIdleConnections: 0`: a finished connection is never given another request. */
  readonly #reuse: boolean;
  /** Clients whose connection closes once idle (a one-off exchange's): never given another request. */
  readonly #closing = new WeakSet<Client>();
  #clientsFinished = false;
  #resolveGone!: () => void;
  readonly #changed: (entry: PoolEntry) => void;

  constructor(
    route: Route,
    generation: Generation,
    options: ResolvedTransportOptions,
    settings: ConnectSettings,
    changed: (entry: PoolEntry) => void,
  ) {
    this.route = { ...route.connect, key: route.key };
    this.generation = generation;
    this.caches = generation.caches;
    this.#origin = route.origin;
    this.#changed = changed;
    this.#maxClients = options.maxConnectionsPerHost;
    this.#reuse = options.maxIdleConnections > 0;
    this.gone = new Promise((resolve) => {
      this.#resolveGone = resolve;
    });
    this.#clientOptions = {
      pipelining: 1,
      connect: createConnector(this, settings),
      // undici closes a socket idle this long; a server's Keep-Alive hint
      // may shorten it but never lengthen it past idleTimeoutMs (undici
      // would otherwise accept hints up to 10 minutes).
      keepAliveTimeout: options.idleTimeoutMs,
      keepAliveMaxTimeout: options.idleTimeoutMs,
      keepAliveTimeoutThreshold: KEEP_ALIVE_THRESHOLD_MS,
      maxHeaderSize: options.maxHeaderBytes,
      // Our own per-request timer covers headers and body (timeoutMs).
      headersTimeout: 0,
      bodyTimeout: 0,
      allowH2: false,
    };
  }

  /** Hand a request to an idle connected client, else an idle unconnected one, else a new one; returns the client. */
  dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): Client {
    let chosen: Client | undefined;
    let unconnected: Client | undefined;
    let leastBusy: Client | undefined;
    let leastSize = Infinity;
    for (const client of this.#clients) {
      const { connected, size } = client.stats;
      if (size === 0 && connected && this.#reuse && !this.#closing.has(client)) {
        chosen = client;
        break;
      }
      if (size === 0 && !connected) unconnected ??= client;
      if (size < leastSize) {
        leastSize = size;
        leastBusy = client;
      }
    }
    if (chosen === undefined && unconnected !== undefined) {
      chosen = unconnected;
      this.#closing.delete(chosen); // it connects anew
    }
    if (!chosen && this.#clients.length < this.#maxClients) {
      chosen = new Client(this.#origin, this.#clientOptions);
      this.#clients.push(chosen);
    }
    // Admission keeps at most maxConnectionsPerHost exchanges here, so this
    // fallback only queues behind a client still closing an aborted exchange.
    chosen ??= leastBusy as Client;
    chosen.dispatch(options, handler);
    return chosen;
  }

  /**
   * Close `client`'s connection, opened for a one-off exchange, once undici
   * is done with it (the gate closes `slot` when it goes idle), and give it
   * no other request meanwhile: as undici's `reset` would, without the
   * error object undici makes for each reset connection.
   */
  closeAfterUse(client: Client, slot: ConnectionSlot): void {
    this.#closing.add(client);
    slot.closeWhenIdle = true;
  }

  /**
   * Destroy `client`, whose in-flight request was just aborted, unless
   * another request waits for it (then the reconnect serves that one).
   * The destroyed client leaves the pool; its socket is counted until it
   * has closed, as every socket is.
   */
  discardAborted(client: Client, error: Error): void {
    if (client.destroyed || client.stats.pending > 0) return;
    const index = this.#clients.indexOf(client);
    if (index >= 0) this.#clients.splice(index, 1);
    client.destroy(error).catch(() => {});
  }

  /** Close every client once its requests are done (graceful). */
  close(): void {
    this.#finishClients(this.#clients.map((client) => client.close()));
  }

  /** Destroy every client now; undici fails their requests with `error`. */
  destroy(error: Error): void {
    this.#finishClients(this.#clients.map((client) => client.destroy(error)));
  }

  socketOpened(_slot: ConnectionSlot): void {
    this.openSockets += 1;
  }

  socketClosed(_slot: ConnectionSlot): void {
    this.openSockets -= 1;
    this.#check();
  }

  isGone(): boolean {
    return this.retired && this.#clientsFinished && this.openSockets === 0 && this.attempts.size === 0;
  }

  #finishClients(closing: Promise<void>[]): void {
    // close() after destroy() rejects; either way the client is finished.
    Promise.allSettled(closing).then(() => {
      this.#clientsFinished = true;
      this.#check();
    });
  }

  #check(): void {
    if (this.isGone()) this.#resolveGone();
    this.#changed(this);
  }
}
