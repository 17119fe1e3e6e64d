import { once } from 'node:events';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CurlTransport } from '../../src/transport/curl.js';
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
import { startTestServer, type TestServer } from '../support/https-server.js';
import { curlFor } from '../support/curl.js';
import { startSilentTcpServer } from '../support/hostile-server.js';

/** One case per failure mode: the class, its fields, and `cause`. */
describe('CurlTransport error mapping', () => {
  let server: TestServer;
  let t: CurlTransport;
  let blackhole: Awaited<ReturnType<typeof startSilentTcpServer>>;
  let closedPort: number;

  beforeAll(async () => {
    server = await startTestServer();
    server.route('/bad-gzip', (_req, res) => {
      res.writeHead(200, { 'content-encoding': 'gzip' }).end('this is not gzip at all');
    });
    t = curlFor(server);
    blackhole = await startSilentTcpServer();
    const probe = createServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    closedPort = (probe.address() as { port: number }).port;
    probe.close();
    await once(probe, 'close');
  });
  afterAll(async () => {
    await t.close();
    await blackhole.close();
    await server.close();
  });

  async function failure(promise: Promise<unknown>): Promise<Error> {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!(error instanceof Error)) throw new Error('expected a rejection');
    return error;
  }

  it('DnsError for a name that cannot resolve (rejected locally, no query sent)', async () => {
    const error = await failure(t.request(`https://${'a'.repeat(64)}.invalid/`));
    expect(error).toBeInstanceOf(DnsError);
    expect(error).toMatchObject({ code: 'DNS', name: 'DnsError', reason: 'NOT_FOUND', definitive: true });
    expect((error.cause as { code: string }).code).toBe('EBADNAME');
  });

  it('ConnectError for a refused port', async () => {
    const error = await failure(t.request(`https://127.0.0.1:${closedPort}/`));
    expect(error).toBeInstanceOf(ConnectError);
    expect((error.cause as Error).message).toMatch(/Failed to connect/);
  });

  it('TimeoutError phase connect when TLS never starts', async () => {
    const error = await failure(t.request(`https://127.0.0.1:${blackhole.port}/`, { connectTimeoutMs: 200 }));
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ phase: 'connect', timeoutMs: 200 });
  });

  it('TimeoutError phase total when the body never comes', async () => {
    const error = await failure(t.request('https://a.web.test/never', { timeoutMs: 250 }));
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ phase: 'total', timeoutMs: 250 });
  });

  it('TimeoutError phase total while waiting for a connection slot', async () => {
    const one = curlFor(server, { maxConnections: 1 });
    const busy = one.request('https://a.web.test/never', { timeoutMs: 1500 }).catch((e: unknown) => e);
    const error = await failure(one.request('https://b.web.test/status/200', { timeoutMs: 250 }));
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ phase: 'total', timeoutMs: 250 });
    expect(await busy).toBeInstanceOf(TimeoutError);
    await one.close();
  });

  it('TlsError when the certificate is not trusted', async () => {
    const untrusted = new CurlTransport({ allowPrivateNetwork: true });
    const error = await failure(untrusted.request(`${server.origin}/status/200`));
    expect(error).toBeInstanceOf(TlsError);
    expect((error.cause as { curlCode: number }).curlCode).toBe(60);
    await untrusted.close();
  });

  it('ForbiddenAddressError with address and class, for URLs and connectTo targets', async () => {
    const guarded = new CurlTransport({
      caFile: server.ca.certFile,
      connectTo: { 'v6.web.test:443': '[::1]:443', 'v4.web.test:443': `127.0.0.1:${server.port}` },
    });
    const direct = await failure(guarded.request(`${server.origin}/status/200`));
    expect(direct).toBeInstanceOf(ForbiddenAddressError);
    expect(direct).toMatchObject({ address: '127.0.0.1', addressClass: 'loopback' });
    const mapped = await failure(guarded.request('https://v4.web.test/status/200'));
    expect(mapped).toMatchObject({ code: 'FORBIDDEN_ADDRESS', address: '127.0.0.1' });
    const v6 = await failure(guarded.request('https://v6.web.test/'));
    expect(v6).toMatchObject({ code: 'FORBIDDEN_ADDRESS', address: '::1', addressClass: 'loopback' });
    const link = await failure(guarded.request('https://169.254.169.254/latest/meta-data'));
    expect(link).toMatchObject({ code: 'FORBIDDEN_ADDRESS', addressClass: 'link-local' });
    expect(guarded.stats().openConnections).toBe(0);
    expect(server.hits.get('/status/200') ?? 0).toBe(0);
    await guarded.close();
  });

  it('ResponseTooLargeError part body with and without Content-Length, and for a gzip bomb', async () => {
    const withLength = await failure(t.request('https://a.web.test/bytes/2000', { maxResponseBytes: 1000 }));
    expect(withLength).toBeInstanceOf(ResponseTooLargeError);
    expect(withLength).toMatchObject({ part: 'body', limit: 1000 });
    const chunked = await failure(t.request('https://a.web.test/chunked/100000', { maxResponseBytes: 50_000 }));
    expect(chunked).toMatchObject({ code: 'RESPONSE_TOO_LARGE', part: 'body', limit: 50_000 });
    const bomb = await failure(t.request('https://a.web.test/bomb'));
    expect(bomb).toMatchObject({ code: 'RESPONSE_TOO_LARGE', part: 'body', limit: 1_048_576 });
    const exact = await t.request('https://a.web.test/bytes/1000', { maxResponseBytes: 1000 });
    expect(exact.body.length).toBe(1000);
  });

  it('ResponseTooLargeError part headers', async () => {
    const error = await failure(t.request('https://a.web.test/big-headers/20000'));
    expect(error).toBeInstanceOf(ResponseTooLargeError);
    expect(error).toMatchObject({ part: 'headers', limit: 16_384 });
  });

  it('NetworkError when the connection breaks mid-body', async () => {
    const error = await failure(t.request('https://a.web.test/reset'));
    expect(error).toBeInstanceOf(NetworkError);
    expect([18, 56]).toContain((error.cause as { curlCode: number }).curlCode);
  });

  it('ProtocolError for an undecodable content encoding, decoded by the engine, not libcurl', async () => {
    const error = await failure(t.request('https://a.web.test/bad-gzip'));
    expect(error).toBeInstanceOf(ProtocolError);
    expect(error.message).toMatch(/^cannot decode the response body: gzip: incorrect header check/);
    // The write callback stopped the transfer (CURLE_WRITE_ERROR), not libcurl's own decoder (61).
    expect((error.cause as { curlCode: number }).curlCode).toBe(23);
  });

  it('AbortError with the signal reason as cause, before and during the request', async () => {
    const reason = new Error('caller gave up');
    const before = await failure(t.request('https://a.web.test/status/200', { signal: AbortSignal.abort(reason) }));
    expect(before).toBeInstanceOf(AbortError);
    expect(before.cause).toBe(reason);
    const controller = new AbortController();
    const pending = t.request('https://a.web.test/never', { signal: controller.signal });
    setTimeout(() => controller.abort(reason), 50);
    const during = await failure(pending);
    expect(during).toBeInstanceOf(AbortError);
    expect(during.cause).toBe(reason);
    expect(t.stats().inFlight).toBe(0);
  });

  it('QueueFullError past maxConnections + maxQueuedRequests', async () => {
    const small = curlFor(server, { maxConnections: 1, maxQueuedRequests: 1 });
    const a = small.request('https://a.web.test/never', { timeoutMs: 2000 }).catch((e: unknown) => e);
    const b = small.request('https://a.web.test/never', { timeoutMs: 2000 }).catch((e: unknown) => e);
    const error = await failure(small.request('https://a.web.test/status/200'));
    expect(error).toBeInstanceOf(QueueFullError);
    expect(error.message).toMatch(/maxQueuedRequests \(1\)/);
    await small.destroy();
    expect(await a).toBeInstanceOf(TransportDestroyedError);
    expect(await b).toBeInstanceOf(TransportDestroyedError);
  });

  it('InvalidUrlError and RedirectError from the URL rules', async () => {
    expect(await failure(t.request('ftp://a.web.test/'))).toBeInstanceOf(InvalidUrlError);
    expect(await failure(t.request('http://a.web.test/'))).toBeInstanceOf(InvalidUrlError);
    expect(await failure(t.request('https://a.web.test/redirect/3', { maxRedirects: 2 }))).toBeInstanceOf(RedirectError);
  });

  it('counts failures by code', () => {
    const stats = t.stats();
    expect(stats.errorsByCode['DNS']).toBe(1);
    expect(stats.errorsByCode['TIMEOUT']).toBe(2);
    expect(stats.failed).toBeGreaterThanOrEqual(10);
  });

  it('TransportClosedError after close, TransportDestroyedError after destroy', async () => {
    const a = curlFor(server);
    await a.close();
    expect(await failure(a.request('https://a.web.test/status/200'))).toBeInstanceOf(TransportClosedError);
    const b = curlFor(server);
    await b.destroy();
    expect(await failure(b.request('https://a.web.test/status/200'))).toBeInstanceOf(TransportDestroyedError);
  });
});
