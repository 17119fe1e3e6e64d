import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CurlTransport } from '../../src/transport/curl.js';
import { ConnectError, NetworkError, ProtocolError, TlsError } from '../../src/transport/errors.js';
import { rejection } from '../support/async.js';
import { curlFor } from '../support/curl.js';
import { freePort } from '../support/free-port.mjs';
import { startTestServer, type TestServer } from '../support/https-server.js';

/**
 * The libcurl result behind each error class (`cause`): the one mapping in
 * `engine_map_error`. The classes themselves, for every failure mode, are in
 * the conformance suite, run against both transports.
 */
describe('CurlTransport error causes', () => {
  let server: TestServer;
  let t: CurlTransport;

  beforeAll(async () => {
    server = await startTestServer();
    server.route('/bad-gzip', (_req, res) => {
      res.writeHead(200, { 'content-encoding': 'gzip' }).end('this is not gzip at all');
    });
    t = curlFor(server);
  });
  afterAll(async () => {
    await t.close();
    await server.close();
  });

  it('ConnectError carries libcurl\'s connect failure', async () => {
    const port = await freePort();
    const error = await rejection(t.request(`https://127.0.0.1:${port}/`), ConnectError);
    expect((error.cause as Error).message).toMatch(/Failed to connect/);
  });

  it('TlsError for an untrusted certificate is CURLE_PEER_FAILED_VERIFICATION (60)', async () => {
    const untrusted = new CurlTransport({ allowPrivateNetwork: true });
    const error = await rejection(untrusted.request(`${server.origin}/status/200`), TlsError);
    expect((error.cause as { curlCode: number }).curlCode).toBe(60);
    await untrusted.close();
  });

  it('NetworkError for a connection broken mid-body is CURLE_PARTIAL_FILE (18) or CURLE_RECV_ERROR (56)', async () => {
    const error = await rejection(t.request('https://a.web.test/reset'), NetworkError);
    expect([18, 56]).toContain((error.cause as { curlCode: number }).curlCode);
  });

  it('ProtocolError for an undecodable body comes from the engine\'s decoder, not libcurl\'s (61)', async () => {
    const error = await rejection(t.request('https://a.web.test/bad-gzip'), ProtocolError);
    expect(error.message).toMatch(/^cannot decode the response body: gzip: incorrect header check/);
    // The write callback stopped the transfer (CURLE_WRITE_ERROR).
    expect((error.cause as { curlCode: number }).curlCode).toBe(23);
  });
});
