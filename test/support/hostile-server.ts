import { once } from 'node:events';
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { createSecureContext, TLSSocket, type SecureContext } from 'node:tls';
import { constants as zlibConstants, brotliCompressSync, gzipSync } from 'node:zlib';
import { createTestCa, type TestCa } from '../../src/world/test-ca.js';

/**
 * A server that misbehaves on purpose, one *mode* per attack, for the
 * hostile-input suite (`test/hostile/`). It speaks raw bytes over TLS (or
 * plain TCP) so it can do what a well-behaved HTTP server library never
 * would: trickle headers one byte at a time, send an endless chunked body,
 * reset the TCP connection mid-body, answer with an HTTP/1.0 close-delimited
 * body, or never answer at all.
 *
 * A request's mode is the first label of its Host header
 * (`https://slow-body.web.test/...` → `slow-body`), so a did:web DID or a
 * handle picks its own attack (`did:web:doc-deep.web.test`), and for an IP
 * literal host the first path segment (`https://127.0.0.1:p/slow-body`).
 * Built-in modes are listed in {@link BUILTIN_MODES}; a test adds its own
 * with `mode()`. An unknown mode answers 404.
 *
 * Everything the server writes stops when the client goes away, and
 * `close()` destroys every socket and timer, so no attack outlives its test.
 */
export interface HostileServer {
  /** `https://127.0.0.1:<port>` (or `http://` with `plain`). */
  readonly origin: string;
  readonly host: string;
  readonly port: number;
  /** The CA that signed the server certificate (its `certFile` is a `caFile`). */
  readonly ca: TestCa;
  /** Sockets accepted so far. */
  readonly accepted: number;
  /** Server-side sockets open right now. */
  readonly openSockets: number;
  /** Requests received, by mode. */
  readonly requests: Map<string, number>;
  /** Add or replace a mode. */
  mode(name: string, handler: ModeHandler): void;
  close(): Promise<void>;
}

/** The certificate the server presents. */
export type HostileCertificate =
  /** Signed by the server's CA for its `dnsNames` and 127.0.0.1/::1. */
  | 'valid'
  /** Signed by the CA, right names, valid 2020-01-01 to 2020-01-02. */
  | 'expired'
  /** Signed by the CA for `wrong-host.invalid` only. */
  | 'wrong-host'
  /** Self-signed leaf for the right names (no CA a client could be given). */
  | 'self-signed';

export interface HostileServerOptions {
  /** Serve plain TCP (HTTP) instead of TLS. Default false. */
  plain?: boolean;
  /** Which certificate to present. Default `valid`. */
  certificate?: HostileCertificate;
  /** Names on the certificate. Default the test world's wildcards and `localhost`. */
  dnsNames?: string[];
  /** IP addresses on the certificate. Default `127.0.0.1`, `::1`. */
  ips?: string[];
  /** Reuse a CA (not disposed on close). Default: a fresh one. */
  ca?: TestCa;
  /** Address to listen on. Default `127.0.0.1`. */
  host?: string;
  /** Port to listen on. Default `0` (any free port). */
  port?: number;
  /** Interval between bytes of the trickling modes. Default `100` ms. */
  trickleMs?: number;
  /** The mode for a request that names none. Default: answer 404. */
  defaultMode?: string;
}

/** One request as a mode handler sees it, and the raw socket to answer on. */
export interface HostileExchange {
  readonly method: string;
  /** Path and query, as sent. */
  readonly path: string;
  /** Host header without the port, lower-cased. */
  readonly host: string;
  /** Request headers, names lower-cased. */
  readonly headers: Readonly<Record<string, string>>;
  /** The mode that was picked. */
  readonly mode: string;
  /** The server's own origin, for building redirects. */
  readonly server: { readonly port: number; readonly trickleMs: number };
  /** Write raw bytes; false once the client has gone. */
  write(data: string | Buffer): boolean;
  /** A complete response with Content-Length on a keep-alive connection. */
  respond(status: number, headers?: Record<string, string>, body?: string | Buffer): void;
  /** Write `produce()`'s chunks with backpressure until it returns null or the client goes. */
  stream(produce: () => Buffer | null): Promise<void>;
  /** Call `tick` every `ms` until it returns false or the client goes. */
  every(ms: number, tick: () => boolean): void;
  /** Close the connection cleanly (FIN) after what was written. */
  end(): void;
  /** Reset the TCP connection (RST), dropping anything unsent. */
  reset(): void;
  /** Whether the client has gone. */
  readonly gone: boolean;
}

export type ModeHandler = (exchange: HostileExchange) => void;

const MIB = 1024 * 1024;

let gzipBombCache: Buffer | undefined;
let brBombCache: Buffer | undefined;
let nestedBombCache: Buffer | undefined;
const bombs = {
  /** 64 MiB of zeros as gzip: ~64 KiB on the wire. */
  gzip: (): Buffer => (gzipBombCache ??= gzipSync(Buffer.alloc(64 * MIB), { level: 9 })),
  /** 64 MiB of zeros as brotli: a few dozen bytes on the wire. */
  br: (): Buffer =>
    (brBombCache ??= brotliCompressSync(Buffer.alloc(64 * MIB), {
      params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 5 },
    })),
  /** gzip of the gzip bomb (`Content-Encoding: gzip, gzip`): ~300 bytes on the wire. */
  nested: (): Buffer => (nestedBombCache ??= gzipSync(bombs.gzip(), { level: 9 })),
};

/** Total size of the oversized bodies: far above any cap a test sets, bounded so a broken client still ends. */
export const OVERSIZED_BYTES = 64 * MIB;

function statusText(status: number): string {
  return { 200: 'OK', 301: 'Moved Permanently', 302: 'Found', 307: 'Temporary Redirect', 308: 'Permanent Redirect', 404: 'Not Found' }[status] ?? 'Status';
}

/** A body of `total` bytes of `a`, in 16 KiB chunks, as a producer for `stream()`. */
function bytesProducer(total: number): () => Buffer | null {
  const chunk = Buffer.alloc(16 * 1024, 'a');
  let left = total;
  return () => {
    if (left <= 0) return null;
    const n = Math.min(left, chunk.length);
    left -= n;
    return chunk.subarray(0, n);
  };
}

/** `total` bytes (Infinity for endless) as HTTP/1.1 chunks of 16 KiB, then the last chunk. */
function chunkedProducer(total: number): () => Buffer | null {
  const data = Buffer.alloc(16 * 1024, 'a');
  const frame = Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from('\r\n')]);
  let left = total;
  let done = false;
  return () => {
    if (done) return null;
    if (left <= 0) {
      done = true;
      return Buffer.from('0\r\n\r\n');
    }
    left -= data.length;
    return frame;
  };
}

/**
 * The built-in attacks, by mode name:
 * - `ok`: 200 `ok` (a control).
 * - `big-length`: `Content-Length` of 64 MiB, and the bytes to match.
 * - `big-chunked`: 64 MiB chunked, no `Content-Length`.
 * - `endless-chunked`: chunked bytes at full speed until the client leaves.
 * - `gzip-bomb`, `br-bomb`: 64 MiB of zeros compressed (~64 KiB / ~100 bytes on the wire);
 *   neither transport asks for or decodes brotli, so `br-bomb` is refused unread.
 * - `nested-bomb`: `Content-Encoding: gzip, gzip` of the same (~300 bytes).
 * - `slow-headers`: the status line, then one header byte per `trickleMs`, forever.
 * - `slow-body`: headers promising 1,000 bytes (under any cap), then one byte per `trickleMs`.
 * - `declared-big-trickle`: `Content-Length` of 64 MiB, then one byte per
 *   `trickleMs`: only a client that checks the declared length fails before its deadline.
 * - `endless-1xx`: `100 Continue` responses, one per `trickleMs`, forever.
 * - `early-hints`: a `103 Early Hints` response, then 200 `ok` (valid HTTP).
 * - `silent`: reads the request and never answers.
 * - `reset-mid-body`: headers promising 1,000 bytes, 100 of them, then a TCP reset.
 * - `close-mid-body`: the same, but a clean close (FIN) instead of a reset.
 * - `http10-close`: `HTTP/1.0 200` without `Content-Length`, 1,000 bytes, then close (valid).
 * - `http10-close-big`: the same with 64 MiB.
 * - `big-headers`: 64 headers of 1 KiB each.
 * - `header-restart`: header blocks of 8 KiB separated by a header line
 *   `HTTP/1.1: 200 OK`, 64 KiB in all: a cap that restarts its count on any
 *   line starting with `HTTP/` is bypassed (libcurl passes the line on as a
 *   header; llhttp refuses the `/` in a header name).
 * - `redirect-loop`: 302 to itself.
 * - `redirect-chain`: `/<n>` redirects to `/<n+1>`, forever.
 */
export const BUILTIN_MODES: Record<string, ModeHandler> = {
  ok: (ex) => ex.respond(200, { 'content-type': 'text/plain' }, 'ok'),
  'big-length': (ex) => {
    ex.write(`HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ${OVERSIZED_BYTES}\r\n\r\n`);
    void ex.stream(bytesProducer(OVERSIZED_BYTES));
  },
  'big-chunked': (ex) => {
    ex.write('HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n');
    void ex.stream(chunkedProducer(OVERSIZED_BYTES));
  },
  'endless-chunked': (ex) => {
    ex.write('HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n');
    void ex.stream(chunkedProducer(Number.POSITIVE_INFINITY));
  },
  'gzip-bomb': (ex) => ex.respond(200, { 'content-encoding': 'gzip' }, bombs.gzip()),
  'br-bomb': (ex) => ex.respond(200, { 'content-encoding': 'br' }, bombs.br()),
  'nested-bomb': (ex) => ex.respond(200, { 'content-encoding': 'gzip, gzip' }, bombs.nested()),
  'slow-headers': (ex) => {
    ex.write('HTTP/1.1 200 OK\r\nX-Slow: ');
    ex.every(ex.server.trickleMs, () => ex.write('a'));
  },
  'slow-body': (ex) => {
    ex.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n');
    ex.every(ex.server.trickleMs, () => ex.write('a'));
  },
  'declared-big-trickle': (ex) => {
    ex.write(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${OVERSIZED_BYTES}\r\n\r\n`);
    ex.every(ex.server.trickleMs, () => ex.write('a'));
  },
  'endless-1xx': (ex) => {
    ex.every(ex.server.trickleMs, () => ex.write('HTTP/1.1 100 Continue\r\n\r\n'));
  },
  'early-hints': (ex) => {
    ex.write('HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n');
    ex.respond(200, { 'content-type': 'text/plain' }, 'ok');
  },
  silent: () => {},
  'reset-mid-body': (ex) => {
    ex.write('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n');
    ex.write(Buffer.alloc(100, 'a'));
    // Let the bytes leave before the reset, so the client is mid-body.
    setTimeout(() => ex.reset(), 20);
  },
  'close-mid-body': (ex) => {
    ex.write('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n');
    ex.write(Buffer.alloc(100, 'a'));
    ex.end();
  },
  'http10-close': (ex) => {
    ex.write('HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n');
    ex.write(Buffer.alloc(1000, 'a'));
    ex.end();
  },
  'http10-close-big': (ex) => {
    ex.write('HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n');
    void ex.stream(bytesProducer(OVERSIZED_BYTES)).then(() => ex.end());
  },
  'big-headers': (ex) => {
    const lines = Array.from({ length: 64 }, (_, i) => `X-Big-${i}: ${'b'.repeat(1024)}\r\n`).join('');
    ex.write(`HTTP/1.1 200 OK\r\n${lines}Content-Length: 2\r\nConnection: close\r\n\r\nok`);
    ex.end();
  },
  'header-restart': (ex) => {
    const block = Array.from({ length: 8 }, (_, i) => `X-Pad-${i}: ${'p'.repeat(1000)}\r\n`).join('');
    const blocks = Array.from({ length: 8 }, () => block).join('HTTP/1.1: 200 OK\r\n');
    ex.write(`HTTP/1.1 200 OK\r\n${blocks}Content-Length: 2\r\nConnection: close\r\n\r\nok`);
    ex.end();
  },
  'redirect-loop': (ex) => ex.respond(302, { location: ex.path }),
  'redirect-chain': (ex) => {
    const n = Number(/^\/(\d+)/.exec(ex.path)?.[1] ?? 0);
    ex.respond(302, { location: `/${n + 1}` });
  },
};

/** Start a hostile server; see {@link HostileServer}. */
export async function startHostileServer(options: HostileServerOptions = {}): Promise<HostileServer> {
  const ownCa = options.ca === undefined;
  const ca = options.ca ?? (await createTestCa({ commonName: 'atresolve hostile CA' }));
  const dnsNames = options.dnsNames ?? ['localhost', '*.web.test', '*.handle.test', '*.hostile.test'];
  const ips = options.ips ?? ['127.0.0.1', '::1'];
  const trickleMs = options.trickleMs ?? 100;
  const modes = new Map<string, ModeHandler>(Object.entries(BUILTIN_MODES));
  const requests = new Map<string, number>();
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let accepted = 0;

  let context: SecureContext | undefined;
  if (!options.plain) {
    const certificate = options.certificate ?? 'valid';
    let leaf: { keyPem: string; certPem: string };
    if (certificate === 'self-signed') leaf = await selfSigned(ca, dnsNames, ips);
    else if (certificate === 'wrong-host') leaf = await ca.issue({ dnsNames: ['wrong-host.invalid'], ips: [] });
    else if (certificate === 'expired') {
      leaf = await ca.issue({
        dnsNames,
        ips,
        validity: { notBefore: new Date('2020-01-01T00:00:00Z'), notAfter: new Date('2020-01-02T00:00:00Z') },
      });
    } else leaf = await ca.issue({ dnsNames, ips });
    context = createSecureContext({ key: leaf.keyPem, cert: leaf.certPem });
  }

  const server: Server = createNetServer((raw) => {
    accepted += 1;
    sockets.add(raw);
    raw.on('error', () => {});
    raw.on('close', () => sockets.delete(raw));
    if (!context) {
      serve(raw, raw);
      return;
    }
    const tls = new TLSSocket(raw, { isServer: true, secureContext: context, ALPNProtocols: ['http/1.1'] });
    tls.on('error', () => raw.destroy());
    tls.on('close', () => raw.destroy());
    serve(tls, raw);
  });

  let port = 0;
  /** Read requests off `socket` and hand each to its mode; `raw` is the TCP socket under it. */
  const serve = (socket: Socket, raw: Socket): void => {
    let buffered = Buffer.alloc(0);
    let busy = false;
    const onData = (data: Buffer): void => {
      buffered = Buffer.concat([buffered, data]);
      if (buffered.length > 64 * 1024) {
        raw.destroy();
        return;
      }
      next();
    };
    const next = (): void => {
      if (busy) return;
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buffered.subarray(0, end).toString('latin1');
      buffered = buffered.subarray(end + 4);
      busy = true;
      dispatch(head);
    };
    const dispatch = (head: string): void => {
      const [requestLine = '', ...lines] = head.split('\r\n');
      const [method = '', path = '/'] = requestLine.split(' ');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      const host = (headers['host'] ?? '').replace(/:\d+$/, '').replace(/^\[|\]$/g, '').toLowerCase();
      const label = host.split('.')[0] ?? '';
      const isIp = /^[\d.]+$/.test(host) || host.includes(':');
      let mode = isIp || !modes.has(label) ? (path.split(/[/?]/)[1] ?? '') : label;
      if (!modes.has(mode) && options.defaultMode !== undefined) mode = options.defaultMode;
      requests.set(mode, (requests.get(mode) ?? 0) + 1);
      const exchange = makeExchange(socket, raw, { method, path, host, headers, mode }, () => {
        busy = false;
        next();
      });
      const handler = modes.get(mode);
      if (handler) handler(exchange);
      else exchange.respond(404, { 'content-type': 'text/plain' }, `no mode ${mode}`);
    };
    socket.on('data', onData);
  };

  const makeExchange = (
    socket: Socket,
    raw: Socket,
    request: { method: string; path: string; host: string; headers: Record<string, string>; mode: string },
    done: () => void,
  ): HostileExchange => {
    const gone = (): boolean => socket.destroyed || raw.destroyed || !socket.writable;
    const exchange: HostileExchange = {
      ...request,
      server: { port, trickleMs },
      get gone() {
        return gone();
      },
      write(data) {
        if (gone()) return false;
        socket.write(data);
        return true;
      },
      respond(status, headers = {}, body = '') {
        const payload = typeof body === 'string' ? Buffer.from(body) : body;
        const lines = Object.entries({ ...headers, 'content-length': String(payload.length) })
          .map(([name, value]) => `${name}: ${value}\r\n`)
          .join('');
        if (exchange.write(Buffer.concat([Buffer.from(`HTTP/1.1 ${status} ${statusText(status)}\r\n${lines}\r\n`), payload]))) {
          done();
        }
      },
      async stream(produce) {
        try {
          for (;;) {
            if (gone()) return;
            const chunk = produce();
            if (chunk === null) return;
            if (!socket.write(chunk)) {
              // Plain listeners, both removed: racing two events.once() calls
              // would leave the loser's 'error' listener behind on every wait.
              await new Promise<void>((resolve) => {
                const resume = (): void => {
                  socket.off('drain', resume);
                  socket.off('close', resume);
                  resolve();
                };
                socket.once('drain', resume);
                socket.once('close', resume);
              });
            }
          }
        } catch {
          // The client went away mid-write: the attack is over.
        }
      },
      every(ms, tick) {
        const timer = setInterval(() => {
          if (gone() || !tick()) {
            clearInterval(timer);
            timers.delete(timer);
          }
        }, ms);
        timers.add(timer);
        socket.once('close', () => {
          clearInterval(timer);
          timers.delete(timer);
        });
      },
      end() {
        if (socket === raw) raw.end();
        else socket.end(() => raw.end());
      },
      reset() {
        raw.resetAndDestroy();
      },
    };
    return exchange;
  };

  server.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('hostile server has no TCP address');
  port = address.port;
  const hostForUrl = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  return {
    origin: `${options.plain ? 'http' : 'https'}://${hostForUrl}:${port}`,
    host: address.address,
    port,
    ca,
    get accepted() {
      return accepted;
    },
    get openSockets() {
      return sockets.size;
    },
    requests,
    mode(name, handler) {
      modes.set(name, handler);
    },
    async close() {
      for (const timer of timers) clearInterval(timer);
      timers.clear();
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
      if (ownCa) await ca.dispose();
    },
  };
}

/** A self-signed leaf certificate (its own issuer), written to the CA's temporary directory. */
async function selfSigned(ca: TestCa, dnsNames: string[], ips: string[]): Promise<{ keyPem: string; certPem: string }> {
  const { execFile } = await import('node:child_process');
  const { readFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const { promisify } = await import('node:util');
  const base = join(ca.dir, `self-signed-${process.hrtime.bigint()}`);
  const san = [...dnsNames.map((n) => `DNS:${n}`), ...ips.map((ip) => `IP:${ip}`)].join(',');
  await promisify(execFile)('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', `${base}.key`, '-out', `${base}.pem`, '-days', '2', '-subj', `/CN=${dnsNames[0] ?? 'localhost'}`,
    '-addext', `subjectAltName=${san}`,
  ], { timeout: 30_000 });
  return { keyPem: await readFile(`${base}.key`, 'utf8'), certPem: await readFile(`${base}.pem`, 'utf8') };
}

/** A TCP listener that accepts and never says a word (a TLS handshake never completes). */
export async function startSilentTcpServer(host = '127.0.0.1'): Promise<{ port: number; readonly accepted: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = createNetServer((socket) => {
    accepted += 1;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, host);
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return {
    port: address.port,
    get accepted() {
      return accepted;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}
