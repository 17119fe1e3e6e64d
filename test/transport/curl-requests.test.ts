import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InternalTransportError, ProtocolError } from '../../src/transport/errors.js';
import { loadNativeAddon } from '../../src/transport/native-addon.js';
import { startTestServer, type TestServer } from '../support/https-server.js';
import { curlFor } from '../support/curl.js';
import type { CurlTransport } from '../../src/transport/curl.js';

describe('CurlTransport requests', () => {
  let server: TestServer;
  let t: CurlTransport;
  beforeAll(async () => {
    server = await startTestServer();
    t = curlFor(server);
  });
  afterAll(async () => {
    await t.close();
    await server.close();
  });

  it('loads the addon and reports libcurl', () => {
    const load = loadNativeAddon();
    expect(load.ok).toBe(true);
    expect(t.kind).toBe('curl');
    expect(t.curlVersion).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('GETs with headers, timing and connection reuse', async () => {
    const first = await t.request('https://a.web.test/bytes/1000');
    expect(first.status).toBe(200);
    expect(first.body.equals(Buffer.alloc(1000, 'a'))).toBe(true);
    expect(first.headers['content-length']).toBe('1000');
    expect(first.url).toBe('https://a.web.test/bytes/1000');
    expect(first.reusedConnection).toBe(false);
    expect(first.timing.tlsMs).toBeGreaterThan(0);
    expect(first.timing.totalMs).toBeGreaterThanOrEqual(first.timing.firstByteMs);
    const second = await t.request('https://a.web.test/status/404');
    expect(second.status).toBe(404);
    expect(second.body.toString()).toBe('status 404');
    expect(second.reusedConnection).toBe(true);
    expect(second.timing.connectMs).toBe(0);
  });

  it('sends request headers and the user agent, lower-cases response headers', async () => {
    const res = await t.request('https://a.web.test/headers', { headers: { 'X-Custom': 'v1', 'X-Empty': '' } });
    const seen = JSON.parse(res.body.toString()) as Record<string, string>;
    expect(seen['x-custom']).toBe('v1');
    expect(seen['x-empty']).toBe('');
    expect(seen['user-agent']).toBe('atresolve');
    expect(seen['accept-encoding']).toMatch(/gzip/);
    expect(res.headers['content-type']).toBe('application/json');
  });

  it('joins repeated response headers', async () => {
    server.route('/repeated', (_req, res) => {
      res.setHeader('x-many', ['one', 'two']);
      res.end('ok');
    });
    const res = await t.request('https://a.web.test/repeated');
    expect(res.headers['x-many']).toBe('one, two');
  });

  it('decodes gzip and deflate, and refuses brotli, which it never asks for', async () => {
    const gz = await t.request('https://a.web.test/gzip/20000');
    expect(gz.body.equals(Buffer.alloc(20000, 'a'))).toBe(true);
    const deflated = await t.request('https://a.web.test/deflate/20000');
    expect(deflated.body.equals(Buffer.alloc(20000, 'a'))).toBe(true);
    await expect(t.request('https://a.web.test/br/20000')).rejects.toThrow(ProtocolError);
  });

  it('POSTs a body and HEADs without one', async () => {
    server.route('/echo', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => res.writeHead(200, { 'x-method': req.method ?? '' }).end(Buffer.concat(chunks)));
    });
    const body = gzipSync(Buffer.from('binary \0 body'));
    const post = await t.request('https://a.web.test/echo', { method: 'POST', body });
    expect(post.headers['x-method']).toBe('POST');
    expect(post.body.equals(body)).toBe(true);
    const head = await t.request('https://a.web.test/bytes/500', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    expect(head.headers['content-length']).toBe('500');
  });

  it('follows redirects hop by hop when allowed', async () => {
    const res = await t.request('https://a.web.test/redirect/3', { maxRedirects: 3 });
    expect(res.status).toBe(200);
    expect(res.redirects).toBe(3);
    expect(res.url).toBe('https://a.web.test/status/200');
    const raw = await t.request('https://a.web.test/redirect/1');
    expect(raw.status).toBe(302);
    expect(raw.headers['location']).toBe('/status/200');
  });

  it('does not send the URL fragment', async () => {
    const res = await t.request('https://a.web.test/bytes/3#frag');
    expect(res.status).toBe(200);
    expect(server.hits.get('/bytes/3')).toBe(1);
  });

  it('refuses header injection before sending', async () => {
    const error = await t.request('https://a.web.test/status/200', { headers: { 'x-bad': 'a\r\nx-evil: 1' } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InternalTransportError);
    expect((error as Error).message).toMatch(/invalid request header/);
  });

  it('counts requests, bytes and connections in stats()', async () => {
    const before = t.stats();
    await t.request('https://b.web.test/bytes/100');
    await t.request('https://b.web.test/bytes/100');
    const after = t.stats();
    expect(after.requests - before.requests).toBe(2);
    expect(after.ok - before.ok).toBe(2);
    expect(after.bytesIn - before.bytesIn).toBe(200);
    expect(after.newConnections - before.newConnections).toBe(1);
    expect(after.reusedConnections - before.reusedConnections).toBe(1);
    expect(after.inFlight).toBe(0);
    expect(after.queued).toBe(0);
    // connectTo hosts are never looked up; libcurl exposes no TLS session count.
    expect(after.dnsCacheEntries).toBe(0);
    expect(after.tlsSessionCacheEntries).toBeNull();
  });
});
