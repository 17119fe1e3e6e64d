import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createNetServer } from 'node:net';
import type { ServerResponse } from 'node:http';
import { createSecureServer } from 'node:http2';
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InvalidOptionsError } from '../../src/errors.js';
import {
  AbortError,
  ConnectError,
  DnsError,
  ForbiddenAddressError,
  InvalidUrlError,
  NetworkError,
  ProtocolError,
  QueueFullError,
  RedirectError,
  ResponseTooLargeError,
  TimeoutError,
  TlsError,
  TransportClosedError,
  TransportDestroyedError,
} from '../../src/transport/errors.js';
import type { TransportOptions } from '../../src/transport/options.js';
import type { Transport } from '../../src/transport/types.js';
import { rejection, sleep, waitFor } from '../support/async.js';
import { freePort } from '../support/free-port.mjs';
import { startSilentTcpServer } from '../support/hostile-server.js';
import { startTestServer, type TestServer } from '../support/https-server.js';
import { socketsConnectedTo } from '../support/proc-sockets.js';
import { CurlTransport } from '../../src/transport/curl.js';
import { implementations } from './implementations.js';

/** Whether a dotted version is at least `floor`. */
function versionAtLeast(version: string, floor: readonly number[]): boolean {
  const parts = version.split('.').map(Number);
  for (let i = 0; i < floor.length; i += 1) {
    const a = parts[i] ?? 0;
    const b = floor[i] ?? 0;
    if (a !== b) return a > b;
  }
  return true;
}
import { TIME_SCALE } from '../support/time-scale.js';

/**
 * The transport contract, run against every implementation through the
 * `Transport` interface only, on a real local HTTPS server (test CA trusted
 * through `caFile`). Nothing here depends on how an implementation works.
 */

/** A route that holds each request until the test lets it go, and tells when one arrived. */
function holdingRoute(server: TestServer, path: string) {
  const held: ServerResponse[] = [];
  let notify: (() => void) | undefined;
  server.route(path, (_req, res) => {
    held.push(res);
    notify?.();
  });
  return {
    /** Resolves once `count` requests are being held. */
    async arrived(count = 1): Promise<void> {
      while (held.length < count) await new Promise<void>((resolve) => (notify = resolve));
    },
    releaseAll(): void {
      for (const res of held.splice(0)) res.end('released');
    },
    releaseAllWith(status: number, headers: Record<string, string>): void {
      for (const res of held.splice(0)) res.writeHead(status, headers).end();
    },
  };
}

/**
 * Keep releasing held requests until every one of `requests` has settled,
 * calling `check` after each round.
 */
async function releaseUntilSettled(
  hold: ReturnType<typeof holdingRoute>,
  requests: Promise<unknown>[],
  check: () => void = () => {},
): Promise<void> {
  let settled = false;
  const all = Promise.allSettled(requests).then(() => {
    settled = true;
  });
  while (!settled) {
    hold.releaseAll();
    check();
    await Promise.race([all, hold.arrived(1)]);
  }
}

describe.each(implementations)('$name transport conformance', ({ create }) => {
  let server: TestServer;
  let origin: string;
  let port6: number;
  const open: Transport[] = [];

  beforeAll(async () => {
    server = await startTestServer({
      ipv6: true,
      // The certificate also names the loopback spellings the SSRF cases use.
      ips: ['127.0.0.1', '::1', '0.0.0.0', '::', '::ffff:127.0.0.1'],
    });
    origin = server.origin;
    port6 = server.port6 ?? 0;
    server.route('/garbage', (req) => {
      req.socket.end('HTTP/1.1 ok-ish\r\nthis is not HTTP\r\n\r\n');
    });
    server.route('/bad-gzip', (_req, res) => {
      res.writeHead(200, { 'content-encoding': 'gzip' }).end(Buffer.from('definitely not gzip data'));
    });
    server.route('/echo', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => res.writeHead(200, { 'x-method': req.method ?? '' }).end(Buffer.concat(chunks)));
    });
  });

  afterAll(async () => {
    await server.close();
  });

  afterEach(async () => {
    // Every case awaits its requests, so every gauge is back at rest.
    for (const t of open) expect(t.stats()).toMatchObject({ inFlight: 0, queued: 0 });
    await Promise.all(open.splice(0).map((t) => t.destroy()));
  });

  /** A transport trusting the test CA, allowed to reach loopback unless the case says otherwise. */
  function make(options: TransportOptions = {}): Transport {
    const transport = create({ caFile: server.ca.certFile, allowPrivateNetwork: true, ...options });
    open.push(transport);
    return transport;
  }

  describe('construction', () => {
    it('refuses a caFile that does not exist, or holds no certificate, with InvalidOptionsError naming caFile', () => {
      const dir = mkdtempSync(join(tmpdir(), 'atresolve-cafile-'));
      try {
        const notPem = join(dir, 'not-a-cert.pem');
        writeFileSync(notPem, 'hello\n');
        for (const caFile of [join(dir, 'missing.pem'), notPem, dir]) {
          let error: unknown;
          try {
            open.push(create({ caFile }));
          } catch (caught) {
            error = caught;
          }
          expect(error).toBeInstanceOf(InvalidOptionsError);
          expect((error as InvalidOptionsError).option).toBe('transport.caFile');
          expect((error as InvalidOptionsError).message).toContain(caFile);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('exchange', () => {
    it('returns status, headers, body, URL and timing', async () => {
      const t = make();
      const res = await t.request(`${origin}/status/201`);
      expect(res.status).toBe(201);
      expect(res.body.toString()).toBe('status 201');
      expect(res.headers['content-type']).toBe('text/plain');
      expect(res.url).toBe(`${origin}/status/201`);
      expect(res.redirects).toBe(0);
      expect(res.reusedConnection).toBe(false);
      for (const value of Object.values(res.timing)) expect(value).toBeGreaterThanOrEqual(0);
      expect(res.timing.tlsMs).toBeGreaterThan(0); // a new connection: a handshake
      expect(res.timing.totalMs).toBeGreaterThanOrEqual(res.timing.firstByteMs);
      const stats = t.stats();
      expect(stats.kind).toBe(t.kind);
      expect(stats).toMatchObject({ requests: 1, ok: 1, failed: 0, inFlight: 0, queued: 0 });
      expect(stats.bytesIn).toBe('status 201'.length);
      // An IP-literal host is never looked up.
      expect(stats.dnsCacheEntries).toBe(0);
    });

    it('returns 4xx and 5xx as responses, not errors', async () => {
      const t = make();
      expect((await t.request(`${origin}/status/404`)).status).toBe(404);
      expect((await t.request(`${origin}/status/503`)).status).toBe(503);
    });

    it('sends request headers and the configured user agent', async () => {
      const t = make({ userAgent: 'conformance/1.0' });
      const res = await t.request(`${origin}/headers`, { headers: { 'X-Test': 'yes', 'X-Empty': '', Accept: 'application/json' } });
      const seen = JSON.parse(res.body.toString()) as Record<string, string>;
      expect(seen['x-test']).toBe('yes');
      expect(seen['x-empty']).toBe('');
      expect(seen['accept']).toBe('application/json');
      expect(seen['user-agent']).toBe('conformance/1.0');
      expect(seen['host']).toBe(`127.0.0.1:${server.port}`);
    });

    it('lower-cases response header names and joins repeated ones', async () => {
      server.route('/repeated', (_req, res) => {
        res.setHeader('X-Many', ['one', 'two']);
        res.setHeader('Content-Type', 'text/plain');
        res.end('ok');
      });
      const t = make();
      const res = await t.request(`${origin}/repeated`);
      expect(res.headers['x-many']).toBe('one, two');
      expect(res.headers['content-type']).toBe('text/plain');
    });

    it('does not send the URL fragment', async () => {
      server.route('/fragment', (req, res) => res.end(req.url ?? ''));
      const t = make();
      expect((await t.request(`${origin}/fragment?q=1#frag`)).body.toString()).toBe('/fragment?q=1');
    });

    it('uses the default user agent', async () => {
      const t = make();
      const seen = JSON.parse((await t.request(`${origin}/headers`)).body.toString()) as Record<string, string>;
      expect(seen['user-agent']).toBe('atresolve');
    });

    it('sends a POST body, bytes as they are, and returns nothing for HEAD', async () => {
      const t = make();
      const posted = await t.request(`${origin}/echo`, { method: 'POST', body: '{"a":1}' });
      expect(posted.body.toString()).toBe('{"a":1}');
      expect(posted.headers['x-method']).toBe('POST');
      const binary = gzipSync(Buffer.from('binary \0 body'));
      expect((await t.request(`${origin}/echo`, { method: 'POST', body: binary })).body.equals(binary)).toBe(true);
      const head = await t.request(`${origin}/bytes/500`, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(head.headers['content-length']).toBe('500');
      expect(head.body.length).toBe(0);
    });

    it('asks for gzip and deflate, and decodes them, counting decoded bytes', async () => {
      const t = make();
      const seen = JSON.parse((await t.request(`${origin}/headers`)).body.toString()) as Record<string, string>;
      expect(seen['accept-encoding']).toBe('gzip, deflate');
      const before = t.stats().bytesIn;
      const gz = await t.request(`${origin}/gzip/50000`);
      expect(gz.body.equals(Buffer.alloc(50_000, 'a'))).toBe(true);
      expect(gz.headers['content-encoding']).toBe('gzip');
      const deflated = await t.request(`${origin}/deflate/50000`);
      expect(deflated.body.equals(Buffer.alloc(50_000, 'a'))).toBe(true);
      expect(t.stats().bytesIn - before).toBe(100_000);
    });

    it('fails with NetworkError when the server drops the connection mid-body', async () => {
      const t = make();
      await rejection(t.request(`${origin}/reset`), NetworkError);
      expect(t.stats().errorsByCode).toEqual({ NETWORK: 1 });
    });

    it('fails with ProtocolError for a response that is not HTTP', async () => {
      const t = make();
      await rejection(t.request(`${origin}/garbage`), ProtocolError);
    });

    it('fails with ProtocolError for a body it cannot decode', async () => {
      const t = make();
      await rejection(t.request(`${origin}/bad-gzip`), ProtocolError);
    });

    it('fails with TlsError for a certificate it does not trust', async () => {
      const t = create({ allowPrivateNetwork: true });
      open.push(t);
      await rejection(t.request(`${origin}/status/200`), TlsError);
    });

    it('fails with TlsError when the certificate does not name the host', async () => {
      const t = make({ connectTo: { 'wrong.invalid:443': `127.0.0.1:${server.port}` } });
      await rejection(t.request('https://wrong.invalid/status/200'), TlsError);
    });

    it('fails with ConnectError when nothing listens', async () => {
      const t = make();
      const port = await freePort();
      await rejection(t.request(`https://127.0.0.1:${port}/`), ConnectError);
    });

    it('refuses URLs other than https: (http: unless allowHttp)', async () => {
      const t = make();
      await rejection(t.request(`http://127.0.0.1:${server.port}/`), InvalidUrlError);
      await rejection(t.request(`ftp://127.0.0.1:${server.port}/`), InvalidUrlError);
    });

    it('fails with DnsError for a name that cannot exist, without a query', async () => {
      const t = make();
      const error = await rejection(t.request(`https://${'a'.repeat(64)}.invalid/`), DnsError);
      expect(error).toMatchObject({ code: 'DNS', reason: 'NOT_FOUND', definitive: true });
      expect((error.cause as { code: string }).code).toBe('EBADNAME');
    });
  });

  describe('size limits', () => {
    it('accepts a body of exactly maxResponseBytes and refuses one byte more (Content-Length)', async () => {
      const t = make({ maxResponseBytes: 1000 });
      expect((await t.request(`${origin}/bytes/1000`)).body.length).toBe(1000);
      const error = await rejection(t.request(`${origin}/bytes/1001`), ResponseTooLargeError);
      expect(error.part).toBe('body');
      expect(error.limit).toBe(1000);
    });

    it('enforces the cap on chunked bodies without Content-Length', async () => {
      const t = make({ maxResponseBytes: 1000 });
      expect((await t.request(`${origin}/chunked/1000`)).body.length).toBe(1000);
      const error = await rejection(t.request(`${origin}/chunked/200000`), ResponseTooLargeError);
      expect(error.part).toBe('body');
    });

    it('applies the cap after decoding', async () => {
      const t = make({ maxResponseBytes: 1000 });
      await rejection(t.request(`${origin}/gzip/2000`), ResponseTooLargeError);
      await rejection(t.request(`${origin}/deflate/2000`), ResponseTooLargeError);
      expect((await t.request(`${origin}/gzip/1000`)).body.length).toBe(1000);
    });

    it('honours a per-request maxResponseBytes', async () => {
      const t = make();
      await rejection(t.request(`${origin}/bytes/200`, { maxResponseBytes: 100 }), ResponseTooLargeError);
      expect((await t.request(`${origin}/bytes/200`)).body.length).toBe(200);
    });

    it('stops a 64 MiB gzip bomb at the cap without inflating it', async () => {
      const t = make();
      const cap = 1_048_576;
      const before = t.stats().bytesIn;
      const error = await rejection(t.request(`${origin}/bomb`), ResponseTooLargeError);
      expect(error.part).toBe('body');
      expect(error.limit).toBe(cap);
      // Whatever was counted of the aborted body is near the cap, nowhere near 64 MiB.
      expect(t.stats().bytesIn - before).toBeLessThanOrEqual(cap + 1_048_576);
    });

    it('refuses response headers over maxHeaderBytes', async () => {
      const t = make();
      const error = await rejection(t.request(`${origin}/big-headers/20000`), ResponseTooLargeError);
      expect(error.part).toBe('headers');
      expect(error.limit).toBe(16_384);
      expect((await t.request(`${origin}/big-headers/1000`)).headers['x-big']).toHaveLength(1000);
      const small = make({ maxHeaderBytes: 2048 });
      await rejection(small.request(`${origin}/big-headers/4000`), ResponseTooLargeError);
    });
  });

  describe('the same fault, the same class (issue 11)', () => {
    const DID = 'did:plc:ewvi7nxzyoun6zhxrhs64oiz';
    const MIB = 1024 * 1024;

    /** A route answering with these raw bytes on the TLS socket, then closing. */
    function rawRoute(path: string, response: string | Buffer): void {
      server.route(path, (req) => {
        req.socket.end(response);
      });
    }

    /** A 200 response with this Content-Encoding and body, Content-Length set. */
    function encoded(encoding: string, body: Buffer): Buffer {
      const head = `HTTP/1.1 200 OK\r\nContent-Encoding: ${encoding}\r\nContent-Length: ${body.length}\r\n\r\n`;
      return Buffer.concat([Buffer.from(head), body]);
    }

    it('a header line over 100 KiB is ResponseTooLargeError (headers), not out of memory', async () => {
      const t = make();
      const error = await rejection(t.request(`${origin}/big-headers/110000`), ResponseTooLargeError);
      expect(error).toMatchObject({ part: 'headers', limit: 16_384 });
      const wide = make({ maxHeaderBytes: 102_400 });
      await rejection(wide.request(`${origin}/big-headers/110000`), ResponseTooLargeError);
    });

    it('the status line counts toward maxHeaderBytes, as every header line does', async () => {
      rawRoute('/long-status', `HTTP/1.1 200 ${'O'.repeat(20_000)}\r\nContent-Length: 2\r\n\r\nok`);
      const t = make();
      const error = await rejection(t.request(`${origin}/long-status`), ResponseTooLargeError);
      expect(error).toMatchObject({ part: 'headers', limit: 16_384 });
      expect((await make({ maxHeaderBytes: 32_768 }).request(`${origin}/long-status`)).body.toString()).toBe('ok');
      rawRoute('/huge-status', `HTTP/1.1 200 ${'O'.repeat(110_000)}\r\nContent-Length: 2\r\n\r\nok`);
      await rejection(t.request(`${origin}/huge-status`), ResponseTooLargeError);
    });

    it('an endless status line stops at the cap', async () => {
      let sent = 0;
      server.route('/endless-status', (req) => {
        const socket = req.socket;
        const chunk = Buffer.alloc(64 * 1024, 'O');
        socket.on('error', () => {});
        socket.write('HTTP/1.1 200 ');
        const pump = (): void => {
          while (sent < 64 * MIB && !socket.destroyed) {
            sent += chunk.length;
            if (!socket.write(chunk)) {
              socket.once('drain', pump);
              return;
            }
          }
          socket.end();
        };
        pump();
      });
      const t = make();
      const error = await rejection(t.request(`${origin}/endless-status`), ResponseTooLargeError);
      expect(error.part).toBe('headers');
      // The client gave up long before 64 MiB (the rest is socket buffers).
      expect(sent).toBeLessThan(32 * MIB);
    });

    it('decodes a multi-member gzip body (RFC 1952)', async () => {
      rawRoute('/gzip-members', encoded('gzip', Buffer.concat([gzipSync(DID.slice(0, 12)), gzipSync(DID.slice(12))])));
      const t = make();
      expect((await t.request(`${origin}/gzip-members`)).body.toString()).toBe(DID);
    });

    it.each([
      ['gzip followed by junk', 'gzip', () => Buffer.concat([gzipSync(DID), Buffer.from('junk')])],
      ['gzip followed by zero padding', 'gzip', () => Buffer.concat([gzipSync(DID), Buffer.alloc(8)])],
      ['deflate followed by junk', 'deflate', () => Buffer.concat([deflateSync(DID), Buffer.from('junk')])],
      // The issue's case: a well-known answer cut inside the stream decoded to a shorter DID.
      ['a truncated gzip body', 'gzip', () => gzipSync(DID).subarray(0, gzipSync(DID).length - 12)],
      ['a gzip body without its trailer', 'gzip', () => gzipSync(DID).subarray(0, gzipSync(DID).length - 8)],
      ['a truncated zlib deflate body', 'deflate', () => deflateSync(DID).subarray(0, deflateSync(DID).length - 5)],
      ['a truncated raw deflate body', 'deflate', () => deflateRawSync(DID).subarray(0, deflateRawSync(DID).length - 3)],
      ['brotli, which neither transport asks for', 'br', () => brotliCompressSync(DID)],
    ])('%s is ProtocolError, never a value', async (name, encoding, body) => {
      const path = `/encoded-${name.replace(/\W+/g, '-')}`;
      rawRoute(path, encoded(encoding, body()));
      const t = make();
      const error = await rejection(t.request(`${origin}${path}`), ProtocolError);
      expect(error.message).toMatch(/decode|content encoding/);
      expect(t.stats().errorsByCode).toEqual({ PROTOCOL: 1 });
    });

    it.each(['000', '099'])('status %s is ProtocolError', async (status) => {
      rawRoute(`/status-${status}`, `HTTP/1.1 ${status} Odd\r\nContent-Length: 2\r\n\r\nok`);
      const t = make();
      await rejection(t.request(`${origin}/status-${status}`), ProtocolError);
      // Three digits from 600 up are not HTTP statuses either, but both pass them on.
      rawRoute('/status-600', 'HTTP/1.1 600 Odd\r\nContent-Length: 2\r\n\r\nok');
      expect((await t.request(`${origin}/status-600`)).status).toBe(600);
    });

    it('oversized headers from an HTTP/2 server are ResponseTooLargeError', async () => {
      // curl negotiates h2 by ALPN; undici speaks HTTP/1.1 only, and gets the
      // same headers over HTTP/1.1 from the same server (allowHTTP1).
      const leaf = await server.ca.issue({ dnsNames: ['localhost'], ips: ['127.0.0.1'] });
      const versions = new Set<string>();
      const h2 = createSecureServer(
        { key: leaf.keyPem, cert: leaf.certPem, allowHTTP1: true, maxSendHeaderBlockLength: 4 * MIB },
        (req, res) => {
          versions.add(req.httpVersion);
          const [, shape = '', size = '0'] = (req.url ?? '').split('/');
          const headers: Record<string, string> = {};
          if (shape === 'one') headers['x-big'] = 'b'.repeat(Number(size));
          else for (let i = 0; i < Number(size) / 1000; i += 1) headers[`x-h${i}`] = 'h'.repeat(990);
          res.writeHead(200, headers).end('ok');
        },
      );
      h2.on('sessionError', () => {});
      h2.listen(0, '127.0.0.1');
      await once(h2, 'listening');
      try {
        const address = h2.address();
        if (address === null || typeof address === 'string') throw new Error('no address');
        const t = make();
        const base = `https://127.0.0.1:${address.port}`;
        expect((await t.request(`${base}/one/100`)).body.toString()).toBe('ok');
        // The engine speaks HTTP/2 from libcurl 7.88 on (older runtimes: HTTP/1.1 only).
        const speaksH2 = t instanceof CurlTransport && versionAtLeast(t.curlVersion, [7, 88, 0]);
        expect(versions).toEqual(new Set([speaksH2 ? '2.0' : '1.1']));
        // Over our cap; over nghttp2's 64 KiB per (HPACK-encoded) field;
        // over libcurl's 128 KiB h2 header block.
        for (const path of ['/one/20000', '/many/20000', '/one/100000', '/many/140000']) {
          const error = await rejection(t.request(`${base}${path}`), ResponseTooLargeError);
          expect(error, path).toMatchObject({ part: 'headers', limit: 16_384 });
        }
        expect((await t.request(`${base}/one/100`)).body.toString()).toBe('ok');
      } finally {
        h2.close();
      }
    });

    it('a server that closes before the TLS handshake is TlsError', async () => {
      const closer = createNetServer((socket) => socket.destroy());
      closer.listen(0, '127.0.0.1');
      await once(closer, 'listening');
      try {
        const address = closer.address();
        if (address === null || typeof address === 'string') throw new Error('no address');
        const t = make();
        for (let i = 0; i < 3; i += 1) await rejection(t.request(`https://127.0.0.1:${address.port}/`), TlsError);
      } finally {
        closer.close();
      }
    });
  });

  describe('timeouts and cancellation', () => {
    it('times out connecting to a peer that never completes TLS (phase connect)', async () => {
      const silent = await startSilentTcpServer();
      try {
        const t = make({ connectTimeoutMs: 300 });
        const error = await rejection(t.request(`https://127.0.0.1:${silent.port}/`), TimeoutError);
        expect(error.phase).toBe('connect');
        expect(error.timeoutMs).toBe(300);
        const perRequest = await rejection(
          t.request(`https://127.0.0.1:${silent.port}/`, { connectTimeoutMs: 200 }),
          TimeoutError,
        );
        expect(perRequest.phase).toBe('connect');
        expect(perRequest.timeoutMs).toBe(200);
      } finally {
        await silent.close();
      }
    });

    it('times out a request whose response never comes (phase total)', async () => {
      const t = make({ timeoutMs: 300 });
      const error = await rejection(t.request(`${origin}/never`), TimeoutError);
      expect(error.phase).toBe('total');
      expect(error.timeoutMs).toBe(300);
      const perRequest = await rejection(t.request(`${origin}/never`, { timeoutMs: 150 }), TimeoutError);
      expect(perRequest.timeoutMs).toBe(150);
      expect(t.stats()).toMatchObject({ inFlight: 0, failed: 2, errorsByCode: { TIMEOUT: 2 } });
    });

    it('drops a request that times out while queued for a connection', async () => {
      const t = make({ maxConnections: 1 });
      const hold = holdingRoute(server, '/timeout-queue-hold');
      const first = t.request(`${origin}/timeout-queue-hold`);
      await hold.arrived();
      const error = await rejection(t.request(`${origin}/status/200`, { timeoutMs: 200 }), TimeoutError);
      expect(error.phase).toBe('total');
      expect(t.stats()).toMatchObject({ inFlight: 1, queued: 0 });
      hold.releaseAll();
      expect((await first).status).toBe(200);
    });

    it('rejects at once with AbortError for an already aborted signal', async () => {
      const t = make();
      const reason = new Error('caller gave up');
      const error = await rejection(
        t.request(`${origin}/status/200`, { signal: AbortSignal.abort(reason) }),
        AbortError,
      );
      expect(error.cause).toBe(reason);
    });

    it('aborts a request in flight with AbortError carrying the reason', async () => {
      const t = make();
      const controller = new AbortController();
      const reason = new Error('stop now');
      server.route('/abort-me', () => controller.abort(reason));
      const error = await rejection(t.request(`${origin}/abort-me`, { signal: controller.signal }), AbortError);
      expect(error.cause).toBe(reason);
      // The transport stays usable, and aborting after the answer changes nothing.
      const done = new AbortController();
      expect((await t.request(`${origin}/status/200`, { signal: done.signal })).status).toBe(200);
      done.abort();
      expect(t.stats()).toMatchObject({ inFlight: 0, ok: 1, failed: 1 });
    });
  });

  describe('redirects', () => {
    it('returns the 3xx itself when maxRedirects is 0', async () => {
      const t = make();
      const res = await t.request(`${origin}/redirect/2`);
      expect(res.status).toBe(302);
      expect(res.headers['location']).toBe('/redirect/1');
      expect(res.redirects).toBe(0);
    });

    it('follows up to maxRedirects and fails past it', async () => {
      const t = make({ maxRedirects: 2 });
      const res = await t.request(`${origin}/redirect/2`);
      expect(res.status).toBe(200);
      expect(res.redirects).toBe(2);
      expect(res.url).toBe(`${origin}/status/200`);
      await rejection(t.request(`${origin}/redirect/3`), RedirectError);
      await rejection(t.request(`${origin}/redirect/2`, { maxRedirects: 1 }), RedirectError);
    });

    it('refuses a redirect from https to http', async () => {
      const t = make({ maxRedirects: 3 });
      const to = encodeURIComponent(`http://127.0.0.1:${server.port}/status/200`);
      await rejection(t.request(`${origin}/location?to=${to}`), RedirectError);
    });
  });

  describe('SSRF guard', () => {
    const loopbackTargets = (): [string, string, string | undefined][] => [
      [`https://127.0.0.1:${server.port}/status/200`, 'loopback', '127.0.0.1'],
      [`https://[::1]:${port6}/status/200`, 'loopback', '::1'],
      [`https://[::ffff:127.0.0.1]:${server.port}/status/200`, 'loopback', undefined],
      [`https://0.0.0.0:${server.port}/status/200`, 'unspecified', '0.0.0.0'],
      [`https://[::]:${port6}/status/200`, 'unspecified', '::'],
      // A resolver may offer ::1 or 127.0.0.1 first for localhost; both are loopback.
      [`https://localhost:${server.port}/status/200`, 'loopback', undefined],
    ];

    it('refuses every loopback spelling without allowPrivateNetwork', async () => {
      const t = create({ caFile: server.ca.certFile });
      open.push(t);
      const hitsBefore = server.accepted;
      for (const [url, addressClass, address] of loopbackTargets()) {
        const error = await rejection(t.request(url), ForbiddenAddressError);
        expect(error.addressClass, url).toBe(addressClass);
        if (address !== undefined) expect(error.address, url).toBe(address);
      }
      expect(server.accepted).toBe(hitsBefore);
      expect(t.stats().errorsByCode).toEqual({ FORBIDDEN_ADDRESS: loopbackTargets().length });
    });

    it('refuses connectTo targets and literal hosts that are not public, naming the address', async () => {
      const t = create({
        caFile: server.ca.certFile,
        connectTo: { 'h1.web.test:443': `127.0.0.1:${server.port}`, 'v6.web.test:443': `[::1]:${port6}` },
      });
      open.push(t);
      const hitsBefore = server.accepted;
      const v4 = await rejection(t.request('https://h1.web.test/status/200'), ForbiddenAddressError);
      expect(v4).toMatchObject({ address: '127.0.0.1', addressClass: 'loopback' });
      const v6 = await rejection(t.request('https://v6.web.test/status/200'), ForbiddenAddressError);
      expect(v6).toMatchObject({ address: '::1', addressClass: 'loopback' });
      const metadata = await rejection(t.request('https://169.254.169.254/latest/meta-data'), ForbiddenAddressError);
      expect(metadata).toMatchObject({ address: '169.254.169.254', addressClass: 'link-local' });
      expect(server.accepted).toBe(hitsBefore);
      expect(t.stats().openConnections).toBe(0);
    });

    it('allows the same requests with allowPrivateNetwork', async () => {
      const t = make();
      for (const [url] of loopbackTargets()) {
        expect((await t.request(url)).status, url).toBe(200);
      }
    });
  });

  describe('connection reuse and caps', () => {
    it("closes a route's first connection, then keeps and reuses it, counting new vs reused by route kind", async () => {
      const t = make();
      const handshakes = server.handshakes;
      const first = await t.request(`${origin}/status/200`);
      // A route seen for the first time (a one-off host, as far as anyone
      // knows) does not keep its connection: it never takes idle room from
      // hot hosts. (undici closes the socket just after the response.)
      await waitFor('the first connection to close', () => t.stats().openConnections === 0);
      const second = await t.request(`${origin}/status/200`);
      const third = await t.request(`${origin}/status/200`);
      const fourth = await t.request(`${origin}/status/200`);
      expect([first, second, third, fourth].map((r) => r.reusedConnection)).toEqual([false, false, true, true]);
      expect(third.timing.connectMs).toBe(0);
      expect(third.timing.tlsMs).toBe(0);
      expect(t.stats()).toMatchObject({
        newConnections: 2,
        reusedConnections: 2,
        openConnections: 1,
        connectionsByRoute: {
          firstSeen: { newConnections: 1, reusedConnections: 0 },
          repeat: { newConnections: 1, reusedConnections: 2 },
        },
      });
      expect(server.handshakes - handshakes).toBe(2);
    });

    it('closes an idle connection by itself after idleTimeoutMs', async () => {
      const t = make({ idleTimeoutMs: 1_000 });
      await t.request(`${origin}/status/200`);
      await t.request(`${origin}/status/200`); // a repeat route: its connection is kept
      expect(t.stats().openConnections).toBe(1);
      await waitFor('the idle connection to close', () => t.stats().openConnections === 0, 10_000);
      expect(socketsConnectedTo(server.port)).toBe(0);
    });

    it('keeps no idle connection with maxIdleConnections 0', async () => {
      const t = make({ maxIdleConnections: 0 });
      await t.request(`${origin}/status/200`);
      const second = await t.request(`${origin}/status/200`);
      expect(second.reusedConnection).toBe(false);
      expect(t.stats().newConnections).toBe(2);
      // Nor does it hold one open for a while (no allowance for a recent burst).
      await waitFor('the connection closed', () => t.stats().openConnections === 0, 1_000 * TIME_SCALE);
    });

    it('opens at most maxConnectionsPerHost connections to one host', async () => {
      const t = make({ maxConnectionsPerHost: 2 });
      await t.request(`${origin}/status/200`); // the route is known: its connections are kept
      const before = t.stats().newConnections;
      const hold = holdingRoute(server, '/per-host');
      const requests = Array.from({ length: 5 }, () => t.request(`${origin}/per-host`));
      await hold.arrived(2);
      expect(socketsConnectedTo(server.port)).toBeLessThanOrEqual(2);
      expect(t.stats().openConnections).toBeLessThanOrEqual(2);
      expect(t.stats().queued).toBeGreaterThanOrEqual(3);
      await releaseUntilSettled(hold, requests, () => {
        expect(socketsConnectedTo(server.port)).toBeLessThanOrEqual(2);
      });
      for (const res of await Promise.all(requests)) expect(res.body.toString()).toBe('released');
      expect(t.stats().newConnections - before).toBeLessThanOrEqual(2);
    });

    it('keeps the connections a burst needed through a dip: the next burst reuses them all', async () => {
      const t = make({ maxIdleConnections: 1, maxConnectionsPerHost: 8 });
      await t.request(`${origin}/status/200`); // the route is known: its connections are kept
      const burst = async (): Promise<void> => {
        const hold = holdingRoute(server, '/burst');
        const requests = Array.from({ length: 6 }, () => t.request(`${origin}/burst`));
        await hold.arrived(6);
        hold.releaseAll();
        for (const res of await Promise.all(requests)) expect(res.body.toString()).toBe('released');
      };
      await burst(); // six connections at once
      const before = t.stats();
      // The dip: nothing in flight, six idle against maxIdleConnections 1.
      // The busy peak of the last second was six, so all six are kept.
      await new Promise((resolve) => setTimeout(resolve, 50));
      await burst();
      const after = t.stats();
      expect(after.newConnections - before.newConnections).toBe(0);
      expect(after.reusedConnections - before.reusedConnections).toBe(6);
      expect(after.openConnections).toBeLessThanOrEqual(6 + 1);
    });

    it('keeps total sockets under maxConnections + maxIdleConnections across 1,000 distinct hosts', async () => {
      const maxConnections = 8;
      const maxIdleConnections = 4;
      const hosts = 1_000;
      const concurrency = 32;
      const t = make({ maxConnections, maxIdleConnections, connectTo: { '*.web.test:443': `127.0.0.1:${server.port}` } });
      let next = 0;
      let completed = 0;
      let maxSockets = 0;
      let maxOpen = 0;
      const sample = (): void => {
        maxSockets = Math.max(maxSockets, socketsConnectedTo(server.port));
        maxOpen = Math.max(maxOpen, t.stats().openConnections);
      };
      const deadline = performance.now() + 60_000 * TIME_SCALE;
      const worker = async (): Promise<void> => {
        while (next < hosts && performance.now() < deadline) {
          const i = next;
          next += 1;
          const res = await t.request(`https://h${i}.web.test/status/200`);
          expect(res.status).toBe(200);
          completed += 1;
          if (completed % 20 === 0) sample();
        }
      };
      await Promise.all(Array.from({ length: concurrency }, worker));
      expect(completed).toBe(hosts);
      expect(maxSockets).toBeGreaterThan(0);
      // Exchanges in flight are capped at maxConnections; idle keep-alive
      // sockets come on top, at most maxIdleConnections of them.
      expect(maxSockets).toBeLessThanOrEqual(maxConnections + maxIdleConnections);
      expect(maxOpen).toBeLessThanOrEqual(maxConnections + maxIdleConnections);
      expect(t.stats().newConnections).toBeGreaterThanOrEqual(hosts);
      await t.reset();
      expect(socketsConnectedTo(server.port)).toBe(0);
      expect(t.stats().openConnections).toBe(0);
    }, 90_000 * TIME_SCALE);
  });

  describe('churn', () => {
    it('settles every request and leaks nothing under mixed aborts, timeouts and caps', async () => {
      const t = make({
        maxConnections: 4,
        maxConnectionsPerHost: 2,
        maxIdleConnections: 4,
        maxQueuedRequests: 64,
        connectTo: { '*.web.test:443': `127.0.0.1:${server.port}` },
      });
      // A small deterministic PRNG, so a failure can be replayed.
      let seed = 0x2545f491;
      const random = (n: number): number => {
        seed ^= seed << 13;
        seed ^= seed >>> 17;
        seed ^= seed << 5;
        return (seed >>> 0) % n;
      };
      const outcomes = new Map<string, number>();
      const deadline = performance.now() + 30_000;
      const jobs: Promise<void>[] = [];
      for (let i = 0; i < 300 && performance.now() < deadline; i += 1) {
        const host = `c${random(40)}.web.test`;
        const kind = random(5);
        const controller = new AbortController();
        const path = kind === 0 ? `/delay/${random(30)}` : kind === 1 ? '/never' : kind === 2 ? `/gzip/${random(5000)}` : '/status/200';
        const request = t.request(`https://${host}${path}`, {
          signal: controller.signal,
          timeoutMs: kind === 1 ? 50 + random(100) : 10_000,
        });
        if (random(4) === 0) setTimeout(() => controller.abort(new Error('churn')), random(20));
        jobs.push(
          request.then(
            () => void outcomes.set('ok', (outcomes.get('ok') ?? 0) + 1),
            (error: Error & { code?: string }) => void outcomes.set(error.code ?? 'none', (outcomes.get(error.code ?? 'none') ?? 0) + 1),
          ),
        );
        if (i % 4 === 3) await sleep(3);
      }
      await Promise.all(jobs);
      const total = [...outcomes.values()].reduce((a, b) => a + b, 0);
      expect(total).toBe(300);
      // Only the outcomes the mix can produce.
      for (const code of outcomes.keys()) expect(['ok', 'ABORTED', 'TIMEOUT', 'QUEUE_FULL']).toContain(code);
      expect(outcomes.get('ok')).toBeGreaterThan(0);
      const stats = t.stats();
      expect(stats).toMatchObject({ inFlight: 0, queued: 0, requests: 300 });
      expect(stats.ok + stats.failed).toBe(300);
      expect(stats.openConnections).toBeLessThanOrEqual(4 + 4);
      await t.close();
      expect(t.stats().openConnections).toBe(0);
      expect(socketsConnectedTo(server.port)).toBe(0);
    }, 60_000);
  });

  describe('lifecycle', () => {
    it('clearConnections closes pooled connections and lets in-flight requests finish', async () => {
      const t = make();
      await t.request(`${origin}/status/200`);
      const hold = holdingRoute(server, '/clear-hold');
      const inFlight = t.request(`${origin}/clear-hold`);
      await hold.arrived();
      const clearing = t.clearConnections();
      hold.releaseAll();
      expect((await inFlight).body.toString()).toBe('released');
      await clearing;
      const after = await t.request(`${origin}/status/200`);
      expect(after.reusedConnection).toBe(false);
      expect(t.stats()).toMatchObject({ connectionClears: 1, failed: 0 });
    });

    it('reset lets in-flight requests finish and leaves no socket once it resolves', async () => {
      const t = make();
      const hold = holdingRoute(server, '/reset-hold');
      const inFlight = t.request(`${origin}/reset-hold`);
      await hold.arrived();
      const resetting = t.reset();
      // New requests are served at once, on fresh state.
      const fresh = await t.request(`${origin}/status/200`);
      expect(fresh.reusedConnection).toBe(false);
      hold.releaseAll();
      expect((await inFlight).status).toBe(200);
      await resetting;
      expect(t.stats()).toMatchObject({ resets: 1, failed: 0 });
      // reset() forgot which routes were used: the request during it was a
      // first-seen one again (its connection closed), the next one is kept.
      expect(t.stats().connectionsByRoute.firstSeen.newConnections).toBe(2);
      await waitFor('the first-seen connection to close', () => t.stats().openConnections === 0);
      await t.request(`${origin}/status/200`);
      expect(t.stats().openConnections).toBe(1);
      await t.reset();
      expect(socketsConnectedTo(server.port)).toBe(0);
      expect(t.stats().openConnections).toBe(0);
    });

    it('recycleAfterRequests resets automatically without failing in-flight requests', async () => {
      const t = make({ recycleAfterRequests: 2 });
      const hold = holdingRoute(server, '/recycle-hold');
      const inFlight = t.request(`${origin}/recycle-hold`);
      await hold.arrived();
      expect((await t.request(`${origin}/status/200`)).status).toBe(200); // 2nd request: recycle
      expect((await t.request(`${origin}/status/200`)).status).toBe(200);
      expect((await t.request(`${origin}/status/200`)).status).toBe(200); // 4th: recycle
      hold.releaseAll();
      expect((await inFlight).status).toBe(200);
      expect(t.stats()).toMatchObject({ recycles: 2, resets: 0, failed: 0, ok: 4 });
    });

    it('close waits for in-flight requests, then refuses new ones', async () => {
      const t = make();
      const hold = holdingRoute(server, '/close-hold');
      const events: string[] = [];
      const inFlight = t.request(`${origin}/close-hold`).then((res) => {
        events.push('response');
        return res;
      });
      await hold.arrived();
      const close = t.close();
      expect(t.close()).toBe(close);
      const closing = close.then(() => events.push('closed'));
      expect(t.closed).toBe(true);
      await rejection(t.request(`${origin}/status/200`), TransportClosedError);
      hold.releaseAll();
      expect((await inFlight).status).toBe(200);
      await closing;
      expect(events).toEqual(['response', 'closed']);
      await t.close(); // idempotent
      await rejection(t.request(`${origin}/status/200`), TransportClosedError);
      await t.clearConnections(); // no-ops once closed
      await t.reset();
      expect(t.stats()).toMatchObject({ inFlight: 0, openConnections: 0, connectionClears: 0, resets: 0 });
    });

    it('close waits for a request that is following a redirect', async () => {
      const t = make({ maxRedirects: 1 });
      const hold = holdingRoute(server, '/redirect-hold');
      const inFlight = t.request(`${origin}/redirect-hold`);
      await hold.arrived();
      const closing = t.close();
      // The first hop answers with a redirect only now, after close().
      hold.releaseAllWith(302, { location: '/status/200' });
      const res = await inFlight;
      expect(res.status).toBe(200);
      expect(res.redirects).toBe(1);
      await closing;
    });

    it('close waits for requests still queued for a connection', async () => {
      const t = make({ maxConnections: 1 });
      const hold = holdingRoute(server, '/queue-hold');
      const first = t.request(`${origin}/queue-hold`);
      const second = t.request(`${origin}/status/200`);
      await hold.arrived();
      expect(t.stats().queued).toBe(1);
      const closing = t.close();
      hold.releaseAll();
      expect((await first).status).toBe(200);
      expect((await second).status).toBe(200);
      await closing;
    });

    it('destroy cancels in-flight and queued requests with TransportDestroyedError', async () => {
      const t = make({ maxConnections: 1 });
      const hold = holdingRoute(server, '/destroy-hold');
      const inFlight = rejection(t.request(`${origin}/destroy-hold`), TransportDestroyedError);
      const queued = rejection(t.request(`${origin}/status/200`), TransportDestroyedError);
      await hold.arrived();
      await t.destroy();
      await inFlight;
      await queued;
      await rejection(t.request(`${origin}/status/200`), TransportDestroyedError);
      await t.destroy(); // idempotent
      await t.close();
      expect(t.stats()).toMatchObject({ inFlight: 0, queued: 0, openConnections: 0 });
      hold.releaseAll();
    });

    it('destroy while close is waiting cancels what close waits for', async () => {
      const t = make();
      const hold = holdingRoute(server, '/close-destroy-hold');
      const inFlight = rejection(t.request(`${origin}/close-destroy-hold`), TransportDestroyedError);
      await hold.arrived();
      const closing = t.close();
      const destroying = t.destroy();
      await Promise.all([closing, destroying]);
      await inFlight;
      await rejection(t.request(`${origin}/status/200`), TransportDestroyedError);
      hold.releaseAll();
    });

    it('rejects with QueueFullError past maxConnections + maxQueuedRequests', async () => {
      const t = make({ maxConnections: 2, maxQueuedRequests: 1 });
      const hold = holdingRoute(server, '/queue-full-hold');
      const accepted = [1, 2, 3].map(() => t.request(`${origin}/queue-full-hold`));
      await hold.arrived(2);
      const full = await rejection(t.request(`${origin}/queue-full-hold`), QueueFullError);
      expect(full.message).toMatch(/maxQueuedRequests \(1\)/);
      expect(t.stats().inFlight).toBe(3);
      await releaseUntilSettled(hold, accepted);
      for (const res of await Promise.all(accepted)) expect(res.status).toBe(200);
      expect(t.stats()).toMatchObject({ ok: 3, failed: 1, errorsByCode: { QUEUE_FULL: 1 } });
    });
  });
});
