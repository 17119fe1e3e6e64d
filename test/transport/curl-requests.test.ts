import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CurlTransport } from '../../src/transport/curl.js';
import { InternalTransportError } from '../../src/transport/errors.js';
import { loadNativeAddon } from '../../src/transport/native-addon.js';
import { rejection } from '../support/async.js';
import { curlFor } from '../support/curl.js';
import { startTestServer, type TestServer } from '../support/https-server.js';

/**
 * What only the curl transport does with a request: the addon it loads and
 * the header block it hands the engine. Everything a transport must do with
 * a request is in the conformance suite, run against both.
 */
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

  it('refuses header injection before the engine sees the header block', async () => {
    const error = await rejection(t.request('https://a.web.test/status/200', { headers: { 'x-bad': 'a\r\nx-evil: 1' } }), InternalTransportError);
    expect(error.message).toMatch(/invalid request header/);
    expect(server.hits.get('/status/200') ?? 0).toBe(0);
  });

  it('reports no TLS session count (libcurl 7.88 exposes none)', async () => {
    await t.request('https://a.web.test/status/200');
    expect(t.stats().tlsSessionCacheEntries).toBeNull();
  });
});
