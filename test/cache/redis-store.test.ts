import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CacheUnavailableError } from '../../src/cache/errors.js';
import { ResolutionCache } from '../../src/cache/policy.js';
import { RedisCache, type RedisCacheOptions } from '../../src/cache/redis.js';
import { InvalidOptionsError } from '../../src/errors.js';
import { startRedis, type RedisServer } from '../support/redis-server.mjs';
import { ControlledLoader, countingLoader, FakeClock, flush } from './helpers.js';
import { sleep, waitFor } from '../support/async.js';
import { redisSkip, uniquePrefix } from './redis-support.js';
import { describeCacheStoreContract } from './store-contract.js';

/**
 * RedisCache against one real redis-server: the shared store contract, the
 * stored format and TTLs, fleet-wide fill and refresh locks, purge and clear
 * across processes (two RedisCache instances with their own connections
 * stand in for two processes; test/cache/redis-fleet.test.ts uses real ones).
 */
describe.skipIf(redisSkip !== undefined)('RedisCache on a single node', () => {
  let server: RedisServer;
  const open: RedisCache[] = [];

  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    await Promise.all(open.map((c) => c.close()));
    await server?.close();
  });

  /** A connected RedisCache ("one process") on the test server. */
  async function connect(options: RedisCacheOptions = {}): Promise<RedisCache> {
    const cache = new RedisCache({ url: server.url, keyPrefix: uniquePrefix(), ...options });
    open.push(cache);
    await cache.ready();
    return cache;
  }

  describeCacheStoreContract(
    'RedisCacheStore (single node)',
    async ({ maxEntries, maxBytes, maxTtlMs, now }) => {
      const cache = await connect({ maxEntries, maxBytes, maxTtlMs, now });
      // Closing the store (the contract does) closes the cache: it was its only store.
      return cache.store<string>('contract');
    },
    { sharedTier: true },
  );

  it('stores an entry compactly with its fetch time; the key expires at maxTtlMs, a negative one at negativeTtlMs', async () => {
    const clock = new FakeClock();
    const prefix = uniquePrefix();
    const cache = await connect({ keyPrefix: prefix, maxTtlMs: 600_000, negativeTtlMs: 60_000, now: clock.now });
    await cache.handle.set('alice.test', { value: 'did:plc:alice', fetchedAt: clock.ms - 100_000, size: 40 });
    await cache.handle.set('ghost.test', { value: null, fetchedAt: clock.ms - 10_000, size: 12 });

    const key = `${prefix}handle:{alice.test}`;
    expect(await server.cli('GET', key)).toBe(`1|${clock.ms - 100_000}|40|"did:plc:alice"`);
    const ttl = Number(await server.cli('PTTL', key));
    // PX = maxTtlMs - age = 500 s (minus the moments since the write).
    expect(ttl).toBeLessThanOrEqual(500_000);
    expect(ttl).toBeGreaterThan(400_000);

    const ghost = `${prefix}handle:{ghost.test}`;
    expect(await server.cli('GET', ghost)).toBe(`1|${clock.ms - 10_000}|12|`);
    const ghostTtl = Number(await server.cli('PTTL', ghost));
    expect(ghostTtl).toBeLessThanOrEqual(50_000);
    expect(ghostTtl).toBeGreaterThan(0);

    // The fill lock the first write held was released.
    expect(await server.cli('EXISTS', `${key}:lock`)).toBe('0');
    expect(cache.stats()).toMatchObject({ writes: 2, redisErrors: 0 });
  });

  it('another process reads an L1 miss from Redis with the original fetch time, so freshness is fleet-wide', async () => {
    const clock = new FakeClock();
    const prefix = uniquePrefix();
    const a = await connect({ keyPrefix: prefix, now: clock.now });
    const b = await connect({ keyPrefix: prefix, now: clock.now });
    const doc = { id: 'did:plc:alice', alsoKnownAs: ['at://alice.test'] };
    await a.did.set('did:plc:alice', { value: doc as never, fetchedAt: clock.ms - 1_234, size: 300 });
    expect(await b.did.get('did:plc:alice')).toEqual({ value: doc, fetchedAt: clock.ms - 1_234, size: 300 });
    // Now in b's L1 too: the next read does not go to Redis.
    expect(b.did.stats()).toMatchObject({ entries: 1, bytes: 300 });
    expect(b.stats().l2Hits).toBe(1);
    await b.did.get('did:plc:alice');
    expect(b.stats().l2Hits).toBe(1);
  });

  it('concurrent misses in two processes load once: one takes the fill lock, the other waits for its value', async () => {
    const prefix = uniquePrefix();
    const a = new ResolutionCache<string>({ store: (await connect({ keyPrefix: prefix })).handle });
    const bCache = await connect({ keyPrefix: prefix });
    const b = new ResolutionCache<string>({ store: bCache.handle });
    let loads = 0;
    const load = async () => {
      loads++;
      await sleep(30);
      return { value: 'did:plc:bob', size: 20 };
    };
    const results = await Promise.all([a.resolve('bob.test', load), b.resolve('bob.test', load), b.resolve('bob.test', load)]);
    expect(results.map((r) => r.value)).toEqual(['did:plc:bob', 'did:plc:bob', 'did:plc:bob']);
    expect(loads).toBe(1);
    await a.close();
    await b.close();
  });

  it('a waiter whose fill-lock holder never writes loads itself after fillWaitMs (its write is refused while the lock holds)', async () => {
    const prefix = uniquePrefix();
    const holder = await connect({ keyPrefix: prefix });
    const waiterCache = await connect({ keyPrefix: prefix, fillWaitMs: 100 });
    // The holder misses (and so takes the fill lock) and then never loads, like a crashed process.
    expect(await holder.handle.get('carol.test')).toBeUndefined();
    const cache = new ResolutionCache<string>({ store: waiterCache.handle });
    const loader = countingLoader(() => 'did:plc:carol');
    expect(await cache.resolve('carol.test', loader.load)).toEqual({ value: 'did:plc:carol', cache: 'miss' });
    expect(loader.calls()).toBe(1);
    expect(waiterCache.stats()).toMatchObject({ fillWaits: 1, fillWaitMisses: 1, writesSkipped: 1, redisErrors: 0 });
    await cache.close();
  });

  it('when the fill-lock holder’s load fails, the lock is released and waiters load at once', async () => {
    const prefix = uniquePrefix();
    // A wait longer than the test timeout: only the release can end it in time.
    const holderCache = await connect({ keyPrefix: prefix, fillWaitMs: 60_000 });
    const waiterCache = await connect({ keyPrefix: prefix, fillWaitMs: 60_000 });
    const holder = new ResolutionCache<string>({ store: holderCache.handle });
    const waiter = new ResolutionCache<string>({ store: waiterCache.handle });
    const failing = new ControlledLoader<string>();
    const first = holder.resolve('kim.test', failing.load);
    await waitFor('the holder to load', () => failing.calls === 1);
    const second = waiter.resolve('kim.test', countingLoader(() => 'did:plc:kim').load);
    await waitFor('the waiter to wait', () => waiterCache.stats().fillWaits === 1);
    failing.fail(new Error('origin said 500'));
    await expect(first).rejects.toThrow('origin said 500');
    expect(await second).toEqual({ value: 'did:plc:kim', cache: 'miss' });
    expect(waiterCache.stats()).toMatchObject({ fillWaitMisses: 1, writes: 1, writesSkipped: 0 });
    await holder.close();
    await waiter.close();
  });

  it('stale-while-revalidate across the fleet: one process refreshes, the others serve stale, then adopt the refreshed entry', async () => {
    const clock = new FakeClock();
    const prefix = uniquePrefix();
    const options = { keyPrefix: prefix, now: clock.now };
    const policy = { staleTtlMs: 60_000, now: clock.now };
    const a = new ResolutionCache<string>({ store: (await connect(options)).handle, ...policy });
    const bCache = await connect(options);
    const b = new ResolutionCache<string>({ store: bCache.handle, ...policy });

    const first = countingLoader(() => 'v1');
    expect((await a.resolve('dave.test', first.load)).value).toBe('v1');
    expect(await b.resolve('dave.test', first.load)).toEqual({ value: 'v1', cache: 'hit' });
    expect(first.calls()).toBe(1);

    clock.advance(60_000);
    const aLoader = new ControlledLoader<string>();
    const bLoader = countingLoader(() => 'from-b');
    // a claims the refresh and starts it; b's claim is refused, it keeps serving v1.
    expect(await a.resolve('dave.test', aLoader.load)).toEqual({ value: 'v1', cache: 'stale' });
    await waitFor('a to start its refresh', () => aLoader.calls === 1);
    expect(await b.resolve('dave.test', bLoader.load)).toEqual({ value: 'v1', cache: 'stale' });
    await waitFor("b's claim to be refused", () => bCache.stats().claimsRefused === 1);
    expect(bLoader.calls()).toBe(0);

    aLoader.succeed('v2');
    await waitFor('a to write v2', async () => (await a.resolve('dave.test', aLoader.load)).value === 'v2');
    // b's next stale hit finds the newer entry in Redis instead of refreshing.
    expect(await b.resolve('dave.test', bLoader.load)).toEqual({ value: 'v1', cache: 'stale' });
    await waitFor('b to adopt v2', () => bCache.stats().peerRefreshes === 1);
    expect(await b.resolve('dave.test', bLoader.load)).toEqual({ value: 'v2', cache: 'hit' });
    expect(bLoader.calls()).toBe(0);
    expect(aLoader.calls).toBe(1);
    await a.close();
    await b.close();
  });

  it('a purge in one process drops the others’ L1 entries and detaches their loads in flight', async () => {
    const prefix = uniquePrefix();
    const aCache = await connect({ keyPrefix: prefix });
    const bCache = await connect({ keyPrefix: prefix });
    const a = new ResolutionCache<string>({ store: aCache.store<string>('did') });
    const b = new ResolutionCache<string>({ store: bCache.store<string>('did') });
    await a.resolve('did:plc:erin', countingLoader(() => 'doc-erin').load);
    expect(await b.resolve('did:plc:erin', countingLoader(() => 'unused').load)).toEqual({ value: 'doc-erin', cache: 'hit' });
    // b has a (forced) load in flight for another key when a purges both.
    const slow = new ControlledLoader<string>();
    const inFlight = b.resolve('did:plc:frank', slow.load, { forceRefresh: true });
    await waitFor('b to start loading frank', () => slow.calls === 1);

    await a.purge('did:plc:erin');
    await a.purge('did:plc:frank');
    await waitFor('b to hear both purges', () => bCache.stats().invalidationsReceived === 2);
    expect(bCache.did.stats().entries).toBe(0);
    expect(b.loadsInFlight).toBe(0);

    slow.succeed('doc-frank-before-purge');
    expect((await inFlight).value).toBe('doc-frank-before-purge');
    await flush();
    // Detached: written neither to b's L1 nor to Redis.
    expect(bCache.did.stats().entries).toBe(0);
    expect(await server.cli('EXISTS', `${prefix}did:{did:plc:frank}`)).toBe('0');
    const after = countingLoader(() => 'doc-erin-2');
    expect(await b.resolve('did:plc:erin', after.load)).toEqual({ value: 'doc-erin-2', cache: 'miss' });
    await a.close();
    await b.close();
  });

  it('a write by a load that began before another process purged the key is refused (purge marker)', async () => {
    const prefix = uniquePrefix();
    const a = await connect({ keyPrefix: prefix });
    const b = await connect({ keyPrefix: prefix });
    // b misses (takes the fill lock) and loads; a purges before b writes;
    // b has not heard of the purge yet when it writes (store level, no policy).
    expect(await b.store<string>('did').get('did:plc:gina')).toBeUndefined();
    await a.store<string>('did').delete('did:plc:gina');
    await b.store<string>('did').set('did:plc:gina', { value: 'old-doc', fetchedAt: Date.now(), size: 10 });
    expect(b.stats().writesSkipped).toBe(1);
    expect(await server.cli('EXISTS', `${prefix}did:{did:plc:gina}`)).toBe('0');
    // A load that starts after the purge takes the lock over the marker and writes.
    expect(await a.store<string>('did').get('did:plc:gina')).toBeUndefined();
    await a.store<string>('did').set('did:plc:gina', { value: 'new-doc', fetchedAt: Date.now(), size: 10 });
    await waitFor('b to hear the purge', () => b.stats().invalidationsReceived === 1);
    expect((await b.store<string>('did').get('did:plc:gina'))?.value).toBe('new-doc');
  });

  it('a pre-purge load never writes back, even when a later process already refilled the key', async () => {
    const prefix = uniquePrefix();
    const bCache = await connect({ keyPrefix: prefix });
    const cCache = await connect({ keyPrefix: prefix });
    const b = new ResolutionCache<string>({ store: bCache.handle });
    const c = new ResolutionCache<string>({ store: cCache.handle });
    const slow = new ControlledLoader<string>();
    const before = b.resolve('lee.test', slow.load);
    await waitFor('b to load', () => slow.calls === 1);
    // A purge whose message b has not received yet (its Redis effects only).
    const key = `${prefix}handle:{lee.test}`;
    await server.cli('SET', `${key}:lock`, '!purged', 'PX', '30000');
    // c misses after the purge, loads and writes the new answer (releasing the lock).
    expect(await c.resolve('lee.test', countingLoader(() => 'did:plc:new').load)).toEqual({ value: 'did:plc:new', cache: 'miss' });
    slow.succeed('did:plc:old');
    expect((await before).value).toBe('did:plc:old');
    await flush();
    expect(await server.cli('GET', key)).toMatch(/\|"did:plc:new"$/);
    expect(bCache.stats().writesSkipped).toBe(1);
    await b.close();
    await c.close();
  });

  it('a lookup after a purge this process has not heard of yet detaches the pre-purge load instead of joining it', async () => {
    const prefix = uniquePrefix();
    const bCache = await connect({ keyPrefix: prefix });
    const b = new ResolutionCache<string>({ store: bCache.handle });
    const loader = new ControlledLoader<string>();
    const before = b.resolve('max.test', loader.load);
    await waitFor('b to load', () => loader.calls === 1);
    const key = `${prefix}handle:{max.test}`;
    await server.cli('SET', `${key}:lock`, '!purged', 'PX', '30000');
    await bCache.clearLocal();
    // The second lookup finds its lock replaced by the purge marker.
    const after = b.resolve('max.test', loader.load);
    await waitFor('b to start a second load', () => loader.calls === 2);
    loader.succeed('did:plc:old');
    loader.succeed('did:plc:new');
    expect((await before).value).toBe('did:plc:old');
    expect((await after).value).toBe('did:plc:new');
    await flush();
    expect(await server.cli('GET', key)).toMatch(/\|"did:plc:new"$/);
    expect(await b.resolve('max.test', loader.load)).toEqual({ value: 'did:plc:new', cache: 'hit' });
    await b.close();
  });

  it('clear() empties one store fleet-wide and leaves the other store alone', async () => {
    const prefix = uniquePrefix();
    const a = await connect({ keyPrefix: prefix });
    const b = await connect({ keyPrefix: prefix });
    const now = Date.now();
    for (let i = 0; i < 30; i++) await a.handle.set(`h${i}.test`, { value: `did:plc:${i}`, fetchedAt: now, size: 10 });
    await a.did.set('did:plc:keep', { value: { id: 'did:plc:keep' } as never, fetchedAt: now, size: 10 });
    expect((await b.handle.get('h1.test'))?.value).toBe('did:plc:1');
    await a.handle.clear();
    await waitFor('b to hear the clear', () => b.stats().invalidationsReceived === 1);
    expect(b.handle.stats().entries).toBe(0);
    expect(await server.cli('--scan', '--pattern', `${prefix}handle:*`)).toBe('');
    expect(await server.cli('EXISTS', `${prefix}did:{did:plc:keep}`)).toBe('1');
  });

  it('clearLocal() empties L1 only; the next read comes back from Redis', async () => {
    const cache = await connect();
    await cache.handle.set('hank.test', { value: 'did:plc:hank', fetchedAt: Date.now(), size: 10 });
    await cache.clearLocal();
    expect(cache.handle.stats().entries).toBe(0);
    expect((await cache.handle.get('hank.test'))?.value).toBe('did:plc:hank');
    expect(cache.stats().l2Hits).toBe(1);
  });

  it('an entry that cannot be decoded is a miss, counted, and never served', async () => {
    const prefix = uniquePrefix();
    const cache = await connect({ keyPrefix: prefix });
    await server.cli('SET', `${prefix}handle:{ivy.test}`, '1|not-a-number|3|"x"');
    expect(await cache.handle.get('ivy.test')).toBeUndefined();
    expect(cache.stats().badEntries).toBe(1);
  });

  it('closing both stores closes the cache; purge after close drops L1 only', async () => {
    const cache = new RedisCache({ url: server.url, keyPrefix: uniquePrefix() });
    await cache.ready();
    const { didStore, handleStore } = cache.identityCacheOptions();
    await didStore!.close!();
    expect(cache.stats().connected).toBe(true);
    await handleStore!.close!();
    expect(cache.stats()).toMatchObject({ connected: false, subscribed: false });
    await expect(cache.ready()).resolves.toBeUndefined();
    await cache.purge('did:plc:anyone');
    await cache.close();
  });

  it('purge reports a Redis it cannot reach with CacheUnavailableError', async () => {
    // Nothing listens on this port; the cache stays offline.
    const cache = new RedisCache({ url: 'redis://127.0.0.1:1', keyPrefix: uniquePrefix(), reconnectMaxMs: 1_000 });
    open.push(cache);
    const error = await cache.purge('did:plc:judy').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CacheUnavailableError);
    expect((error as CacheUnavailableError).code).toBe('CACHE_UNAVAILABLE');
    expect(cache.did.stats().redisErrors).toBe(1);
  });

  it('validates its options', () => {
    const bad: Array<[unknown, string]> = [
      [{ url: 'http://127.0.0.1:6379' }, 'redisCache.url'],
      [{ url: 'redis://a:1', clusterNodes: ['redis://b:1'] }, 'redisCache.url'],
      [{ clusterNodes: ['redis://a:1', 'nope'] }, 'redisCache.clusterNodes[1]'],
      [{ keyPrefix: 'a{b}' }, 'redisCache.keyPrefix'],
      [{ keyPrefix: 'a*' }, 'redisCache.keyPrefix'],
      [{ commandTimeoutMs: 0 }, 'redisCache.commandTimeoutMs'],
      [{ reconnectMinMs: 10_000, reconnectMaxMs: 100 }, 'redisCache.reconnectMinMs'],
      [{ staleTtlMs: 10_000, maxTtlMs: 1_000 }, 'redisCache.staleTtlMs'],
      [{ redis: 'x' }, 'redisCache.redis'],
      [{ now: 5 }, 'redisCache.now'],
      [{ colour: 'red' }, 'redisCache.colour'],
    ];
    for (const [options, option] of bad) {
      let error: unknown;
      try {
        new RedisCache(options as RedisCacheOptions);
      } catch (e) {
        error = e;
      }
      expect(error, JSON.stringify(options)).toBeInstanceOf(InvalidOptionsError);
      expect((error as InvalidOptionsError).option).toBe(option);
    }
  });
});
