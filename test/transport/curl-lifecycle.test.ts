import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbortError, TransportClosedError, TransportDestroyedError } from '../../src/transport/errors.js';
import { startTestServer, type TestServer } from '../support/https-server.js';
import { curlFor, waitFor } from '../support/curl.js';
import { socketsConnectedTo as clientSocketsTo } from '../support/proc-sockets.js';

/** clearConnections / reset / recycle / close / destroy on the native engine. */
describe('CurlTransport lifecycle', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ keepAliveTimeoutMs: 30_000 });
  });
  afterAll(() => server.close());

  it('clearConnections closes pooled sockets, keeps serving, and waits for in-flight requests', async () => {
    const t = curlFor(server);
    // A route's first connection is closed after use; from the second
    // request on, its connection is pooled.
    await t.request('https://a.web.test/status/200');
    expect(t.stats().openConnections).toBe(0);
    await t.request('https://a.web.test/status/200');
    expect(t.stats().openConnections).toBe(1);
    await t.clearConnections();
    expect(t.stats().openConnections).toBe(0);
    expect(clientSocketsTo(server.port)).toBe(0);
    const again = await t.request('https://a.web.test/status/200');
    expect(again.reusedConnection).toBe(false);

    const slow = t.request('https://a.web.test/delay/300');
    await waitFor(() => t.stats().queued === 0 && t.stats().inFlight === 1);
    // When clearConnections() resolves, the request it waited for has
    // already been delivered (its promise settles a few ticks later).
    const cleared = t.clearConnections().then(() => t.stats().inFlight);
    const during = await t.request('https://b.web.test/status/200'); // runs on the new pool
    expect(during.status).toBe(200);
    expect(await cleared).toBe(0);
    expect((await slow).status).toBe(200);
    expect(t.stats().connectionClears).toBe(2);
    expect(t.engineStats().generations).toBe(1);
    await t.close();
  });

  it('reset never fails in-flight requests and leaves no socket open', async () => {
    const t = curlFor(server);
    const inFlight = Array.from({ length: 4 }, (_, i) => t.request(`https://h${i}.web.test/delay/200`));
    await waitFor(() => t.stats().queued === 0);
    const reset = t.reset();
    const fresh = await t.request('https://a.web.test/status/200');
    expect(fresh.reusedConnection).toBe(false);
    for (const res of await Promise.all(inFlight)) expect(res.status).toBe(200);
    await reset;
    expect(t.stats().resets).toBe(1);
    // reset() forgets which routes were used: the request after it was a
    // first-seen one (connection closed); the next is pooled in the new
    // generation.
    expect(t.stats().openConnections).toBe(0);
    await t.request('https://a.web.test/status/200');
    expect(t.stats().openConnections).toBe(1);
    await t.reset();
    expect(t.stats().openConnections).toBe(0);
    expect(clientSocketsTo(server.port)).toBe(0);
    expect(t.engineStats()).toMatchObject({ generations: 1, outstanding: 0 });
    await t.close();
  });

  it('recycleAfterRequests resets automatically without failing anything', async () => {
    const t = curlFor(server, { recycleAfterRequests: 3 });
    const results = await Promise.all(Array.from({ length: 7 }, (_, i) => t.request(`https://h${i % 2}.web.test/delay/20`)));
    for (const res of results) expect(res.status).toBe(200);
    for (let i = 0; i < 3; i += 1) await t.request('https://a.web.test/status/200');
    const stats = t.stats();
    expect(stats.recycles).toBe(3);
    expect(stats.ok).toBe(10);
    expect(stats.failed).toBe(0);
    expect(await waitFor(() => t.engineStats().generations === 1)).toBe(true);
    await t.close();
  });

  it('close waits for in-flight requests, is idempotent, and later requests fail', async () => {
    const t = curlFor(server);
    const slow = t.request('https://a.web.test/delay/300');
    await waitFor(() => t.stats().queued === 0);
    const closing = t.close();
    expect(t.close()).toBe(closing);
    expect(t.closed).toBe(true);
    await expect(t.request('https://a.web.test/status/200')).rejects.toBeInstanceOf(TransportClosedError);
    expect(await closing.then(() => t.stats().inFlight)).toBe(0);
    expect((await slow).status).toBe(200);
    expect(t.stats()).toMatchObject({ ok: 1, inFlight: 0, openConnections: 0, newConnections: 1 });
    await t.clearConnections(); // no-ops once closed
    await t.reset();
    await t.destroy();
  });

  it('destroy rejects in-flight requests with TransportDestroyedError, also during close', async () => {
    const t = curlFor(server);
    const pending = [t.request('https://a.web.test/never'), t.request('https://b.web.test/never')];
    // Handlers first: the two rejections may land in different turns.
    const settled = Promise.allSettled(pending);
    await waitFor(() => t.stats().queued === 0);
    await t.destroy();
    for (const r of await settled) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(TransportDestroyedError);
    }
    expect(t.stats()).toMatchObject({ openConnections: 0, inFlight: 0 });
    expect(t.stats().errorsByCode['TRANSPORT_DESTROYED']).toBe(2);

    const u = curlFor(server);
    const stuck = u.request('https://a.web.test/never').then(
      () => undefined,
      (error: unknown) => error,
    );
    await waitFor(() => u.stats().queued === 0);
    const closing = u.close();
    await u.destroy();
    await closing;
    expect(await stuck).toBeInstanceOf(TransportDestroyedError);
  });

  it('aborting one request leaves the others and the connection pool working', async () => {
    const t = curlFor(server);
    const controller = new AbortController();
    const aborted = t.request('https://a.web.test/never', { signal: controller.signal });
    const other = t.request('https://b.web.test/delay/100');
    await waitFor(() => t.stats().queued === 0);
    controller.abort();
    await expect(aborted).rejects.toBeInstanceOf(AbortError);
    expect((await other).status).toBe(200);
    const done = new AbortController();
    const finished = await t.request('https://b.web.test/status/200', { signal: done.signal });
    done.abort(); // after completion: no effect
    expect(finished.status).toBe(200);
    expect(t.stats().inFlight).toBe(0);
    await t.close();
  });

  it('closes idle sockets by itself after idleTimeoutMs', async () => {
    const t = curlFor(server, { idleTimeoutMs: 1_000 });
    await t.request('https://a.web.test/status/200');
    await t.request('https://a.web.test/status/200');
    expect(t.stats().openConnections).toBe(1);
    expect(await waitFor(() => t.stats().openConnections === 0, 10_000)).toBe(true);
    expect(clientSocketsTo(server.port)).toBe(0);
    await t.close();
  });
});
