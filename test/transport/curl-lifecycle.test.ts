import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/async.js';
import { curlFor } from '../support/curl.js';
import { startTestServer, type TestServer } from '../support/https-server.js';

/**
 * The engine's generations: `clearConnections()`, `reset()` and recycling
 * start a new generation (multi handle, and for a reset a new share) and
 * retire the old one once its transfers are done, so at rest there is one.
 * What every transport does on these calls (requests in flight finish, no
 * socket is left) is in the conformance suite, run against both.
 */
describe('CurlTransport generations', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ keepAliveTimeoutMs: 30_000 });
  });
  afterAll(() => server.close());

  it('clearConnections retires the old generation once its in-flight request is done', async () => {
    const t = curlFor(server);
    await t.request('https://a.web.test/status/200');
    const slow = t.request('https://a.web.test/delay/300');
    await waitFor('the request to start', () => t.stats().queued === 0 && t.stats().inFlight === 1);
    // When clearConnections() resolves, the request it waited for has
    // already been delivered (its promise settles a few ticks later).
    const cleared = t.clearConnections().then(() => t.stats().inFlight);
    expect((await t.request('https://b.web.test/status/200')).status).toBe(200); // on the new generation
    expect(await cleared).toBe(0);
    expect((await slow).status).toBe(200);
    expect(t.engineStats()).toMatchObject({ generations: 1, outstanding: 0 });
    await t.close();
  });

  it('reset retires the old generation after its requests, whatever their hosts', async () => {
    const t = curlFor(server);
    const inFlight = Array.from({ length: 4 }, (_, i) => t.request(`https://h${i}.web.test/delay/200`));
    await waitFor('the requests to start', () => t.stats().queued === 0);
    const reset = t.reset();
    expect((await t.request('https://a.web.test/status/200')).reusedConnection).toBe(false);
    for (const res of await Promise.all(inFlight)) expect(res.status).toBe(200);
    await reset;
    expect(t.engineStats()).toMatchObject({ generations: 1, outstanding: 0 });
    await t.close();
  });

  it('recycleAfterRequests leaves one generation once the recycled ones drain', async () => {
    const t = curlFor(server, { recycleAfterRequests: 3 });
    const results = await Promise.all(Array.from({ length: 7 }, (_, i) => t.request(`https://h${i % 2}.web.test/delay/20`)));
    for (const res of results) expect(res.status).toBe(200);
    for (let i = 0; i < 3; i += 1) await t.request('https://a.web.test/status/200');
    expect(t.stats()).toMatchObject({ recycles: 3, ok: 10, failed: 0 });
    await waitFor('the recycled generations to drain', () => t.engineStats().generations === 1, 5_000);
    await t.close();
  });
});
