import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CacheUnavailableError } from '../../src/cache/errors.js';
import { RedisCache, type RedisCacheOptions } from '../../src/cache/redis.js';
import type { IdResolver } from '../../src/resolve/id-resolver.js';
import { registerMetrics } from '../../src/telemetry/metrics.js';
import { startWorld, type World } from '../../src/world/world.js';
import { freePort } from '../support/free-port.mjs';
import { startRedis, type RedisServer } from '../support/redis-server.mjs';
import { resolverFor } from '../resolve/support.js';
import { waitFor } from '../support/async.js';
import { redisSkip, uniquePrefix } from './redis-support.js';

/**
 * Redis down or slow: the cache fails open. Resolutions that the network
 * can answer always succeed; Redis errors are counted; a hung Redis costs
 * at most `commandTimeoutMs` per command and at most `maxPendingCommands`
 * outstanding commands; a Redis that comes (back) up is used again.
 */
describe.skipIf(redisSkip !== undefined)('RedisCache when Redis is down or hung', () => {
  let world: World;
  const cleanup: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    world = await startWorld({ identities: 200 });
  });
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });
  afterAll(() => world?.close());

  /** One "process": a RedisCache and a resolver on it (closing the resolver closes the cache). */
  function member(url: string, keyPrefix: string, options: RedisCacheOptions = {}): { cache: RedisCache; resolver: IdResolver } {
    const cache = new RedisCache({ url, keyPrefix, reconnectMinMs: 20, reconnectMaxMs: 200, ...options });
    const resolver = resolverFor(world, { cache: cache.identityCacheOptions() });
    cleanup.push(() => resolver.close());
    return { cache, resolver };
  }

  function originRequests(): number {
    const c = world.counters();
    return c.plc.requests + c.web.requests + c.handle.requests + c.dns.requests;
  }

  it('Redis absent at start: resolutions come from the origin and errors are counted; once Redis starts it is connected and shared', async () => {
    const port = await freePort();
    const prefix = uniquePrefix();
    const a = member(`redis://127.0.0.1:${port}`, prefix);
    for (let k = 0; k < 3; k++) {
      const id = world.plcIdentity(k);
      expect((await a.resolver.resolveIdentity(id.handle)).did).toBe(id.did);
    }
    const { did, handle } = a.resolver.stats().cache;
    expect(did!.redisErrors).toBeGreaterThan(0);
    expect(handle!.redisErrors).toBeGreaterThan(0);
    expect(a.cache.stats()).toMatchObject({ connected: false, subscribed: false });
    // The same counter, as a dashboard scrapes it.
    const registry = new Registry();
    const unregister = registerMetrics(registry, { resolver: a.resolver }, { memory: false });
    const scraped = (await registry.metrics()).split('\n').find((l) => l.startsWith('atresolve_cache_redis_errors_total{cache="did"} '));
    expect(Number(scraped?.split(' ').at(-1))).toBe(did!.redisErrors);
    unregister();

    const server = await startRedis({ port });
    cleanup.push(() => server.close());
    await a.cache.ready();
    const errorsWhenUp = a.cache.stats().redisErrors;
    const b = member(server.url, prefix);
    await b.cache.ready();

    const id = world.plcIdentity(10);
    const before = originRequests();
    await a.resolver.resolveIdentity(id.handle);
    const afterA = originRequests();
    expect(afterA).toBeGreaterThan(before);
    // b finds everything in Redis: no origin request at all.
    expect((await b.resolver.resolveIdentity(id.handle)).did).toBe(id.did);
    expect(originRequests()).toBe(afterA);
    expect(a.cache.stats().redisErrors).toBe(errorsWhenUp);
    expect(b.cache.stats()).toMatchObject({ redisErrors: 0, l2Hits: 2 });
  });

  it('a hung Redis (SIGSTOP): commands time out, resolutions go on, outstanding commands stay bounded; after SIGCONT Redis is used again', async () => {
    const server = await startRedis();
    cleanup.push(() => server.close());
    const { cache, resolver } = member(server.url, uniquePrefix(), { commandTimeoutMs: 100, maxPendingCommands: 4 });
    await cache.ready();
    server.pause();
    cleanup.push(async () => server.resume());

    const ids = Array.from({ length: 12 }, (_, k) => world.plcIdentity(20 + k));
    const results = await Promise.all(ids.map((id) => resolver.resolveIdentity(id.did)));
    expect(results.map((r) => r.handle)).toEqual(ids.map((id) => id.handle));
    const hung = cache.stats();
    // Each identity needs a DID read and a handle read at least; each failed.
    expect(hung.redisErrors).toBeGreaterThanOrEqual(ids.length * 2);
    // node-redis holds at most maxPendingCommands per connection; the rest failed at once.
    expect(hung.pendingCommands).toBeLessThanOrEqual(4);
    expect(hung.pendingCommands).toBeGreaterThan(0);

    server.resume();
    await waitFor('the hung commands to be answered', () => cache.stats().pendingCommands === 0);
    const writesBefore = cache.stats().writes;
    await resolver.resolveIdentity(world.plcIdentity(50).did);
    expect(cache.stats().writes).toBeGreaterThan(writesBefore);
  });

  it('Redis killed and restarted: resolutions continue, purge reports the outage, and after the restart L1 is resynced and purges flow again', async () => {
    const server = await startRedis();
    cleanup.push(() => server.close());
    const prefix = uniquePrefix();
    const a = member(server.url, prefix);
    const b = member(server.url, prefix);
    await Promise.all([a.cache.ready(), b.cache.ready()]);
    const cached = world.plcIdentity(60);
    await a.resolver.resolveIdentity(cached.did);

    await server.stop();
    await waitFor('a to notice', () => !a.cache.stats().connected);
    const errorsBefore = a.cache.stats().redisErrors;
    for (let k = 61; k < 64; k++) expect((await a.resolver.resolveIdentity(world.plcIdentity(k).did)).did).toBe(world.plcIdentity(k).did);
    expect(a.cache.stats().redisErrors).toBeGreaterThan(errorsBefore);
    // Served from L1 through the outage.
    expect(a.resolver.stats().cache.did!.entries).toBeGreaterThanOrEqual(4);
    const purged = await a.resolver.purge(cached.did).catch((e: unknown) => e);
    expect(purged).toBeInstanceOf(CacheUnavailableError);

    await server.start();
    await waitFor('both to reconnect and resubscribe', () => [a, b].every((m) => m.cache.stats().connected && m.cache.stats().subscribed));
    // Purges may have been missed while the channel was down: L1 started over.
    expect(a.cache.stats().resyncs).toBeGreaterThanOrEqual(1);
    expect(a.resolver.stats().cache.did!.entries).toBe(0);
    await a.resolver.resolveIdentity(cached.did);
    await b.resolver.resolveIdentity(cached.did);
    await b.resolver.purge(cached.did);
    await waitFor('a to hear the purge', () => a.cache.stats().invalidationsReceived >= 1);
    expect(a.resolver.stats().cache.did!.entries).toBe(0);
  });

  it('close() does not wait on a hung Redis longer than the command timeout', async () => {
    const server = await startRedis();
    cleanup.push(() => server.close());
    const cache = new RedisCache({ url: server.url, keyPrefix: uniquePrefix(), commandTimeoutMs: 100 });
    await cache.ready();
    server.pause();
    cleanup.push(async () => server.resume());
    const pendingWrite = cache.handle.set('slow.test', { value: 'did:plc:slow', fetchedAt: Date.now(), size: 10 });
    await waitFor('the write to be sent', () => cache.stats().pendingCommands === 1);
    // close() waits for the write, which gives up after commandTimeoutMs.
    await cache.close();
    await pendingWrite;
    expect(cache.stats()).toMatchObject({ connected: false, redisErrors: 1 });
  });
});
