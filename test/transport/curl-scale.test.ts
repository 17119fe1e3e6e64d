import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/https-server.js';
import { curlFor } from '../support/curl.js';
import { socketsConnectedTo as clientSocketsTo, socketInodesOfThisProcess as socketInodes } from '../support/proc-sockets.js';

/**
 * 10,000 requests across 2,000 distinct hosts (h<i>.web.test, all mapped
 * to the local server by connectTo) never hold more than maxConnections
 * sockets, counted three ways: the engine's own gauge, client TCP socket
 * fds in /proc/self/fd, and the raw socket-fd count.
 */
describe('CurlTransport at scale', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ keepAliveTimeoutMs: 30_000 });
  });
  afterAll(() => server.close());

  it('10,000 requests over 2,000 hosts stay within maxConnections + maxIdleConnections sockets', async () => {
    const maxConnections = 32;
    const maxIdleConnections = 16;
    const maxSockets = maxConnections + maxIdleConnections;
    const total = 10_000;
    const hosts = 2_000;
    const baselineFds = socketInodes().length;
    // maxConnections exchanges at once (admission), at most
    // maxIdleConnections idle keep-alive sockets beside them.
    const t = curlFor(server, { maxConnections, maxIdleConnections, maxQueuedRequests: 4096,
      // Not a latency test: a loaded machine must not turn queueing into timeouts.
      timeoutMs: 120_000,
    });
    const engineFds = socketInodes().length - baselineFds; // libcurl's own socketpair
    let maxOpen = 0;
    let maxClientFds = 0;
    let maxRawDelta = 0;
    let samples = 0;
    const sample = (): void => {
      samples += 1;
      maxOpen = Math.max(maxOpen, t.stats().openConnections);
      maxClientFds = Math.max(maxClientFds, clientSocketsTo(server.port));
      maxRawDelta = Math.max(maxRawDelta, socketInodes().length - baselineFds - engineFds);
    };
    const timer = setInterval(sample, 100);

    let ok = 0;
    const get = async (host: string): Promise<void> => {
      const res = await t.request(`https://${host}/bytes/64`);
      if (res.status === 200 && res.body.length === 64) ok += 1;
    };
    // Phase 1: 8,000 requests, 1,600 hosts, one host per connection slot,
    // five requests per host one after the other: connections get reused.
    let nextHost = 0;
    const worker = async (): Promise<void> => {
      while (nextHost < 1_600) {
        const host = `h${nextHost++}.web.test`;
        for (let k = 0; k < 5; k += 1) await get(host);
        if (nextHost % 50 === 0) sample();
      }
    };
    await Promise.all(Array.from({ length: maxConnections }, worker));
    // Phase 2: 2,000 requests to 400 more hosts, all at once: a deep queue,
    // every slot busy, idle connections evicted for new hosts.
    const burst: Promise<void>[] = [];
    for (let i = 0; i < 2_000; i += 1) burst.push(get(`h${1_600 + (i % 400)}.web.test`));
    await Promise.all(burst);
    clearInterval(timer);
    sample();

    const stats = t.stats();
    expect(ok).toBe(total);
    expect(samples).toBeGreaterThan(10);
    expect(maxOpen).toBeLessThanOrEqual(maxSockets);
    expect(maxClientFds).toBeLessThanOrEqual(maxSockets);
    // Raw socket fds also include the in-process server's accepted side.
    expect(maxRawDelta).toBeLessThanOrEqual(2 * maxSockets + 8);
    expect(stats.newConnections).toBeGreaterThanOrEqual(hosts);
    expect(stats.reusedConnections).toBeGreaterThan(0);
    expect(stats.newConnections + stats.reusedConnections).toBe(total);
    expect(stats.inFlight).toBe(0);
    expect(stats.queued).toBe(0);
    console.log(
      `scale: ${total} requests, ${hosts} hosts, newConnections ${stats.newConnections}, ` +
        `reused ${stats.reusedConnections}, max open ${maxOpen}, max client fds ${maxClientFds}, ` +
        `max raw fd delta ${maxRawDelta}, samples ${samples}`,
    );

    await t.reset();
    expect(t.stats().openConnections).toBe(0);
    expect(clientSocketsTo(server.port)).toBe(0);
    await t.close();
    expect(socketInodes().length - baselineFds).toBeLessThanOrEqual(server.openSockets);
  }, 120_000);
});
