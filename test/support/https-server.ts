import { once } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { constants as zlibConstants, brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { createTestCa, type TestCa } from '../../src/world/test-ca.js';

/**
 * A real HTTPS (or HTTP) server on 127.0.0.1, port 0, with a fresh test CA,
 * for transport tests. Routes cover what transports must handle; tests add
 * their own with `route()`. It counts accepted sockets, TLS handshakes and
 * currently open sockets so tests can assert connection reuse and caps from
 * the server's side too.
 */
export interface TestServer {
  /** `https://127.0.0.1:<port>` (or `http://`). */
  readonly origin: string;
  readonly port: number;
  /** With `ipv6`: the port the same server also listens on at [::1]. */
  readonly port6: number | undefined;
  /** The CA that signed the server certificate; pass `ca.certFile` as `caFile`. */
  readonly ca: TestCa;
  /** Sockets accepted so far. */
  readonly accepted: number;
  /** TLS handshakes completed so far. */
  readonly handshakes: number;
  /** Sockets open right now. */
  readonly openSockets: number;
  /** Requests received, by path. */
  readonly hits: Map<string, number>;
  /** Add or replace a route; `path` is matched exactly, before the built-in routes. */
  route(path: string, handler: (req: IncomingMessage, res: ServerResponse) => void): void;
  close(): Promise<void>;
}

export interface TestServerOptions {
  /** Serve plain HTTP instead of HTTPS. Default false. */
  plain?: boolean;
  /** DNS names on the certificate. Default: localhost and the test world's wildcards. */
  dnsNames?: string[];
  /** Reuse an existing CA instead of creating one (it is then not disposed on close). */
  ca?: TestCa;
  /** Server keep-alive timeout. Default 5000 ms. */
  keepAliveTimeoutMs?: number;
  /** IP addresses on the certificate. Default `['127.0.0.1', '::1']`. */
  ips?: string[];
  /** Also accept connections on [::1] (port `port6`). Default false. */
  ipv6?: boolean;
}

/** Decompresses to 64 MiB of zeros; ~64 KiB on the wire. */
let bombCache: Buffer | undefined;
function gzipBomb(): Buffer {
  bombCache ??= gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 });
  return bombCache;
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const ownCa = options.ca === undefined;
  const ca = options.ca ?? (await createTestCa());
  const dnsNames = options.dnsNames ?? ['localhost', '*.web.test', '*.handle.test', 'plc.test', '*.example.test'];
  const routes = new Map<string, (req: IncomingMessage, res: ServerResponse) => void>();
  const hits = new Map<string, number>();
  const sockets = new Set<Socket>();
  let accepted = 0;
  let handshakes = 0;

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://x');
    hits.set(url.pathname, (hits.get(url.pathname) ?? 0) + 1);
    const custom = routes.get(url.pathname);
    if (custom) return custom(req, res);
    builtin(url, req, res);
  };

  let server: Server;
  if (options.plain) {
    server = createHttpServer(handler);
  } else {
    const leaf = await ca.issue({ dnsNames, ...(options.ips ? { ips: options.ips } : {}) });
    const https = createHttpsServer({ key: leaf.keyPem, cert: leaf.certPem }, handler);
    https.on('secureConnection', () => {
      handshakes += 1;
    });
    server = https;
  }
  (server as unknown as { keepAliveTimeout: number }).keepAliveTimeout = options.keepAliveTimeoutMs ?? 5_000;
  server.on('connection', (socket: Socket) => {
    accepted += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('server has no TCP address');
  const port = address.port;
  let server6: Server | undefined;
  let port6: number | undefined;
  if (options.ipv6) {
    // A second listener on [::1] that hands its sockets to the same server.
    const v6 = createNetServer((socket) => server.emit('connection', socket));
    v6.listen(0, '::1');
    await once(v6, 'listening');
    const address6 = v6.address();
    if (address6 === null || typeof address6 === 'string') throw new Error('IPv6 listener has no TCP address');
    server6 = v6;
    port6 = address6.port;
  }

  return {
    origin: `${options.plain ? 'http' : 'https'}://127.0.0.1:${port}`,
    port,
    port6,
    ca,
    get accepted() {
      return accepted;
    },
    get handshakes() {
      return handshakes;
    },
    get openSockets() {
      return sockets.size;
    },
    hits,
    route(path, routeHandler) {
      routes.set(path, routeHandler);
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      const closing6 = server6 ? new Promise<void>((resolve) => server6?.close(() => resolve())) : undefined;
      server.close();
      await once(server, 'close');
      await closing6;
      if (ownCa) await ca.dispose();
    },
  };
}

/**
 * Built-in routes:
 * - `/status/<code>`: that status, body `status <code>`
 * - `/bytes/<n>`: n bytes of `a` with Content-Length
 * - `/chunked/<n>`: n bytes of `a`, chunked, no Content-Length
 * - `/gzip/<n>`, `/deflate/<n>`, `/br/<n>`: n bytes of `a`, compressed (brotli is never asked for)
 * - `/bomb`: gzip of 64 MiB of zeros
 * - `/headers`: request headers as JSON
 * - `/delay/<ms>`: waits, then `ok`
 * - `/never`: accepts and never answers
 * - `/redirect/<n>`: exactly `n` redirects (302), ending at `/status/200`
 * - `/location?to=<url>&status=<code>`: one redirect to `to`
 * - `/reset`: headers and part of the body, then the socket is destroyed
 * - `/big-headers/<n>`: a header of n bytes
 */
function builtin(url: URL, req: IncomingMessage, res: ServerResponse): void {
  const [, name = '', arg = ''] = url.pathname.split('/');
  const n = Number(arg);
  switch (name) {
    case 'status':
      res.writeHead(n, { 'content-type': 'text/plain' }).end(`status ${n}`);
      return;
    case 'bytes':
      res.writeHead(200, { 'content-length': String(n) }).end(Buffer.alloc(n, 'a'));
      return;
    case 'chunked': {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(Math.min(n, 16_384), 'a');
      let left = n;
      while (left > 0) {
        const size = Math.min(left, chunk.length);
        res.write(chunk.subarray(0, size));
        left -= size;
      }
      res.end();
      return;
    }
    case 'gzip':
      res.writeHead(200, { 'content-encoding': 'gzip' }).end(gzipSync(Buffer.alloc(n, 'a')));
      return;
    case 'deflate':
      res.writeHead(200, { 'content-encoding': 'deflate' }).end(deflateSync(Buffer.alloc(n, 'a')));
      return;
    case 'br':
      res.writeHead(200, { 'content-encoding': 'br' }).end(
        brotliCompressSync(Buffer.alloc(n, 'a'), { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 4 } }),
      );
      return;
    case 'bomb': {
      const body = gzipBomb();
      res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': String(body.length) }).end(body);
      return;
    }
    case 'headers':
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(req.headers));
      return;
    case 'delay': {
      const timer = setTimeout(() => res.end('ok'), n);
      res.on('close', () => clearTimeout(timer));
      return;
    }
    case 'never':
      return;
    case 'redirect':
      if (n > 1) res.writeHead(302, { location: `/redirect/${n - 1}` }).end();
      else if (n === 1) res.writeHead(302, { location: '/status/200' }).end();
      else res.writeHead(200).end('status 200');
      return;
    case 'location':
      res.writeHead(Number(url.searchParams.get('status') ?? 302), { location: url.searchParams.get('to') ?? '/' }).end();
      return;
    case 'reset':
      res.writeHead(200, { 'content-length': '100000' });
      res.write(Buffer.alloc(1000, 'a'), () => res.socket?.destroy());
      return;
    case 'big-headers':
      res.writeHead(200, { 'x-big': 'b'.repeat(n) }).end('ok');
      return;
    default:
      res.writeHead(404).end('not found');
  }
}
