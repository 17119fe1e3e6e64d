import { once } from 'node:events';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { CounterSet } from './counters.js';
import type { DocumentStore } from './documents.js';
import type { EndpointKind, FaultName, FaultPlan } from './faults.js';
import { HANDLE_DOMAIN, PLC_HOST, WEB_DOMAIN, type IdentityScheme } from './identities.js';

/** What the HTTPS hosts need from the world. */
export interface HttpsHostsConfig {
  scheme: IdentityScheme;
  documents: DocumentStore;
  plan: FaultPlan;
  counters: CounterSet;
  /** PEM key and certificate covering `plc.test`, `*.web.test`, `*.handle.test`. */
  keyPem: string;
  certPem: string;
  keepAliveTimeoutMs: number;
  maxConnections: number;
}

const JSON_TYPE: OutgoingHttpHeaders = { 'content-type': 'application/json' };
const TEXT_TYPE: OutgoingHttpHeaders = { 'content-type': 'text/plain; charset=utf-8' };
const WEB_SUFFIX = `.${WEB_DOMAIN}`;
const HANDLE_SUFFIX = `.${HANDLE_DOMAIN}`;
const DID_JSON_PATH = '/.well-known/did.json';
const ATPROTO_DID_PATH = '/.well-known/atproto-did';
const PADDED_JSON_HEAD = Buffer.from('{"padding":"');

/**
 * One TLS server on 127.0.0.1 that plays every HTTPS host of the world,
 * dispatching on the Host header (or the SNI name when there is none): the
 * PLC directory on `plc.test`, did:web documents on `h<i>.web.test` and
 * handle well-knowns on `u<i>.handle.test`. Per-request work is a regular
 * expression, a memo lookup and one fault draw.
 */
export class HttpsHosts {
  readonly #config: HttpsHostsConfig;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #timers = new Set<NodeJS.Timeout>();
  #padding: Buffer | undefined;
  #closed: Promise<void> | undefined;

  private constructor(config: HttpsHostsConfig, server: Server) {
    this.#config = config;
    this.#server = server;
  }

  /** Listen on 127.0.0.1, port 0. */
  static async start(config: HttpsHostsConfig): Promise<HttpsHosts> {
    const server = createServer({ key: config.keyPem, cert: config.certPem });
    const hosts = new HttpsHosts(config, server);
    server.keepAliveTimeout = config.keepAliveTimeoutMs;
    server.maxConnections = config.maxConnections;
    server.on('request', (req: IncomingMessage, res: ServerResponse) => hosts.#onRequest(req, res));
    server.on('connection', (socket: Socket) => {
      config.counters.accepted += 1;
      hosts.#sockets.add(socket);
      socket.once('close', () => hosts.#sockets.delete(socket));
    });
    server.on('secureConnection', (socket: TLSSocket) => {
      config.counters.handshakes += 1;
      if (socket.isSessionReused()) config.counters.resumed += 1;
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return hosts;
  }

  /** The TCP port on 127.0.0.1. */
  get port(): number {
    const address = this.#server.address();
    return address !== null && typeof address === 'object' ? address.port : 0;
  }

  /** Connections open now. */
  get openConnections(): number {
    return this.#sockets.size;
  }

  /** Stop listening, destroy every connection (held and slow requests included), cancel timers. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      for (const timer of this.#timers) clearTimeout(timer);
      this.#timers.clear();
      const closed = [once(this.#server, 'close')];
      this.#server.close();
      for (const socket of this.#sockets) {
        closed.push(once(socket, 'close'));
        socket.destroy();
      }
      await Promise.all(closed);
      this.#padding = undefined;
    })();
    return this.#closed;
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    const host = hostOf(req);
    const kind = kindOfHost(host);
    const counters = this.#config.counters;
    if (kind === undefined) {
      counters.unroutable += 1;
      send(res, 404, TEXT_TYPE, 'unknown host\n');
      return;
    }
    const count = counters.kinds[kind];
    count.requests += 1;
    if (req.method !== 'GET') {
      count.rejected += 1;
      send(res, 405, { ...TEXT_TYPE, allow: 'GET' }, 'method not allowed\n');
      return;
    }
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    const { scheme } = this.#config;
    let index: number | undefined;
    if (kind === 'plc') {
      let did = path.slice(1);
      if (did.includes('%')) {
        try {
          did = decodeURIComponent(did);
        } catch {
          count.rejected += 1;
          send(res, 400, TEXT_TYPE, 'bad percent-encoding\n');
          return;
        }
      }
      index = scheme.indexOfPlcDid(did);
    } else if (kind === 'web') {
      index = path === DID_JSON_PATH ? scheme.indexOfWebHost(host) : undefined;
    } else {
      index = path === ATPROTO_DID_PATH ? scheme.indexOfHandle(host) : undefined;
    }
    if (index === undefined) {
      count.notFound += 1;
      sendNotFound(res, kind, path);
      return;
    }
    const fault = this.#config.plan.draw(kind);
    if (fault === undefined) {
      count.ok += 1;
      this.#answer(res, kind, index);
      return;
    }
    count.faults[fault] += 1;
    this.#inject(res, kind, index, fault, path);
  }

  #answer(res: ServerResponse, kind: EndpointKind, index: number): void {
    if (kind === 'handle') send(res, 200, TEXT_TYPE, this.#config.scheme.didOf(index));
    else send(res, 200, JSON_TYPE, this.#config.documents.document(index));
  }

  #inject(res: ServerResponse, kind: EndpointKind, index: number, fault: FaultName, path: string): void {
    const { scheme, documents } = this.#config;
    switch (fault) {
      case 'notFound':
        sendNotFound(res, kind, path);
        return;
      case 'serverError':
        send(res, 500, TEXT_TYPE, 'internal server error (injected)\n');
        return;
      case 'slow': {
        const timer = setTimeout(() => {
          this.#timers.delete(timer);
          if (!res.destroyed) this.#answer(res, kind, index);
        }, this.#config.plan.faults.slowMs);
        this.#timers.add(timer);
        res.once('close', () => {
          clearTimeout(timer);
          this.#timers.delete(timer);
        });
        return;
      }
      case 'timeout':
        // Held until the client gives up or close() destroys the socket.
        return;
      case 'wrongId':
        if (kind === 'handle') send(res, 200, TEXT_TYPE, scheme.otherDid(index));
        else send(res, 200, JSON_TYPE, documents.wrongIdDocument(index));
        return;
      case 'oversized':
      case 'oversizedChunked': {
        const [head, tail] = kind === 'handle'
          ? [Buffer.from(`${scheme.didOf(index)}\n`), Buffer.alloc(0)]
          : [PADDED_JSON_HEAD, Buffer.concat([Buffer.from('",'), documents.document(index).subarray(1)])];
        const padding = this.#paddingBuffer();
        const headers: OutgoingHttpHeaders = { ...(kind === 'handle' ? TEXT_TYPE : JSON_TYPE) };
        if (fault === 'oversized') headers['content-length'] = head.length + padding.length + tail.length;
        res.writeHead(200, headers);
        res.write(head);
        res.write(padding);
        res.end(tail);
        return;
      }
      case 'reset': {
        const body = kind === 'handle' ? Buffer.from(scheme.didOf(index)) : documents.document(index);
        res.writeHead(200, { ...(kind === 'handle' ? TEXT_TYPE : JSON_TYPE), 'content-length': body.length });
        res.write(body.subarray(0, body.length >> 1), () => res.socket?.destroy());
        return;
      }
    }
  }

  /** `oversizeBytes` bytes of `a`, shared by every oversized answer. */
  #paddingBuffer(): Buffer {
    const size = this.#config.plan.faults.oversizeBytes;
    if (this.#padding?.length !== size) this.#padding = Buffer.alloc(size, 'a');
    return this.#padding;
  }
}

/** The request's host name, lower case, without port; from Host, else SNI. */
function hostOf(req: IncomingMessage): string {
  const header = req.headers.host;
  if (header === undefined || header.length === 0) {
    const sni = (req.socket as TLSSocket).servername;
    return typeof sni === 'string' ? sni.toLowerCase() : '';
  }
  const colon = header.lastIndexOf(':');
  const bare = colon === -1 || header.endsWith(']') ? header : header.slice(0, colon);
  return bare.toLowerCase();
}

function kindOfHost(host: string): Exclude<EndpointKind, 'dns'> | undefined {
  if (host === PLC_HOST) return 'plc';
  if (host.endsWith(WEB_SUFFIX)) return 'web';
  if (host.endsWith(HANDLE_SUFFIX)) return 'handle';
  return undefined;
}

function sendNotFound(res: ServerResponse, kind: EndpointKind, path: string): void {
  if (kind === 'plc') {
    send(res, 404, JSON_TYPE, JSON.stringify({ message: `DID not registered: ${path.slice(1)}` }));
  } else {
    send(res, 404, TEXT_TYPE, 'not found\n');
  }
}

function send(res: ServerResponse, status: number, headers: OutgoingHttpHeaders, body: string | Buffer): void {
  res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
