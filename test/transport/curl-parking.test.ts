import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CurlTransport } from '../../src/transport/curl.js';
import { eventually, waitFor } from '../support/async.js';
import { startTestServer, type TestServer } from '../support/https-server.js';

/**
 * A curl transport with nothing in flight for `idleTimeoutMs` parks: its
 * worker thread exits and its libcurl handles, sockets, epoll set and
 * eventfd are freed, without any garbage collection. Forgotten transports
 * (dropped without `close()`) therefore cost no thread and no descriptor;
 * 2,000 dropped resolvers used to hold 2,011 threads and 10,022 fds until
 * GC. The next request or operation starts the engine again.
 */
describe('curl transport parking', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ keepAliveTimeoutMs: 30_000 });
  }, 120_000);
  afterAll(async () => {
    await server?.close();
  });

  const options = (): ConstructorParameters<typeof CurlTransport>[0] => ({
    caFile: server.ca.certFile,
    allowPrivateNetwork: true,
    idleTimeoutMs: 1_000,
  });

  it('dropped transports give back their threads and descriptors after idleTimeoutMs, without GC', async () => {
    const before = processCounts();
    const count = 40;
    let transports: CurlTransport[] | undefined = [];
    for (let i = 0; i < count; i += 1) transports.push(new CurlTransport(options()));
    await Promise.all(transports.map(async (t) => expect((await t.request(`${server.origin}/status/200`)).status).toBe(200)));
    const busy = processCounts();
    // One worker thread, its epoll set and eventfd, and one kept-alive
    // connection (plus the multi handle's socketpair) per transport.
    expect(busy.threads - before.threads).toBeGreaterThanOrEqual(count);
    expect(busy.fds - before.fds).toBeGreaterThanOrEqual(count * 3);
    transports = undefined; // dropped, never closed; no gc() is called

    const settled = await eventually(processCounts, (now) => now.threads - before.threads <= 2 && now.fds - before.fds <= 4, 15_000);
    expect(settled.threads - before.threads, `threads back near ${before.threads}`).toBeLessThanOrEqual(2);
    expect(settled.fds - before.fds, `fds back near ${before.fds}`).toBeLessThanOrEqual(4);
  }, 60_000);

  it('a parked transport serves the next request, keeps its counters, and resets, clears, closes', async () => {
    const t = new CurlTransport(options());
    expect(t.engineStats()).toMatchObject({ workerRunning: 0, parks: 0 }); // no thread before the first request
    expect((await t.request(`${server.origin}/status/200`)).status).toBe(200);
    expect(t.engineStats().workerRunning).toBe(1);
    await waitFor('the worker to park', () => t.engineStats().workerRunning === 0, 15_000);
    expect(t.engineStats()).toMatchObject({ workerRunning: 0, parks: 1, generations: 0, pooledHandles: 0, openConnections: 0 });
    expect(t.stats()).toMatchObject({ requests: 1, ok: 1, newConnections: 1, openConnections: 0 });

    await t.reset();
    await t.clearConnections();
    expect(t.engineStats().workerRunning).toBe(0); // operations do not wake it
    const again = await t.request(`${server.origin}/status/200`);
    expect(again.status).toBe(200);
    expect(t.stats()).toMatchObject({ requests: 2, ok: 2, newConnections: 2, resets: 1, connectionClears: 1 });

    await waitFor('the worker to park', () => t.engineStats().workerRunning === 0, 15_000);
    await t.close();
    await expect(t.request(`${server.origin}/status/200`)).rejects.toMatchObject({ name: 'TransportClosedError' });
  }, 60_000);

  it('destroy() on a parked transport', async () => {
    const t = new CurlTransport(options());
    await t.request(`${server.origin}/status/200`);
    await waitFor('the worker to park', () => t.engineStats().workerRunning === 0, 15_000);
    await t.destroy();
    await expect(t.request(`${server.origin}/status/200`)).rejects.toMatchObject({ name: 'TransportDestroyedError' });
    expect(t.stats()).toMatchObject({ inFlight: 0, openConnections: 0, requests: 1, ok: 1 });
  }, 60_000);
});

/** This process's threads and open file descriptors, from /proc. */
function processCounts(): { threads: number; fds: number } {
  return { threads: readdirSync('/proc/self/task').length, fds: readdirSync('/proc/self/fd').length };
}
