import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CacheClosedError } from '../../src/cache/errors.js';
import { ResolutionCache } from '../../src/cache/policy.js';
import { AbortError } from '../../src/transport/errors.js';
import { ClaimingStore, ControlledLoader, countingLoader, FakeClock, flush, UnhandledRejections } from './helpers.js';

describe('ResolutionCache lifecycle and bounded bookkeeping', () => {
  const unhandled = new UnhandledRejections();
  beforeEach(() => unhandled.install());
  afterEach(() => unhandled.uninstall());

  it('close() closes the store once, lets waiters finish without writing, then refuses new calls', async () => {
    const store = new ClaimingStore<string>();
    const cache = new ResolutionCache<string>({ store });
    const loader = new ControlledLoader<string>();
    const pending = cache.resolve('k', loader.load);
    await flush();
    const closing = cache.close();
    expect(cache.close()).toBe(closing);
    await closing;
    expect(store.closed).toBe(1);

    loader.succeed('v');
    expect(await pending).toEqual({ value: 'v', cache: 'miss' });
    await flush();
    expect(store.stats().entries).toBe(0);

    const error = await cache.resolve('k', loader.load).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CacheClosedError);
    expect((error as CacheClosedError).code).toBe('CACHE_CLOSED');
    await cache.purge('k');
    await cache.clear();
    expect(unhandled.seen).toEqual([]);
  });

  it('keeps no per-key state once loads settle, whatever their outcome', async () => {
    const clock = new FakeClock();
    const cache = new ResolutionCache<string>({ staleTtlMs: 1_000, maxTtlMs: 5_000, now: clock.now, maxConcurrentRefreshes: 4 });
    let round = 0;
    // 200 rounds over 45 keys (each key revisited ~1.7 s later, so stale): values, not-founds, errors, aborted callers, purges, stale refreshes.
    for (; round < 200; round++) {
      const key = `k${round % 45}`;
      const mode = round % 5;
      const load = () => {
        if (mode === 0) return Promise.reject(new Error('transient'));
        return Promise.resolve({ value: mode === 1 ? null : `v${round}`, size: 8 });
      };
      const controller = new AbortController();
      const calls = [cache.resolve(key, load, { signal: controller.signal }), cache.resolve(key, load), cache.resolve(key, load, { forceRefresh: mode === 4 })];
      if (mode === 3) controller.abort();
      if (round % 7 === 0) void cache.purge(key);
      for (const c of calls) await c.catch((e: unknown) => {
        if (!(e instanceof AbortError) && !(e instanceof Error && e.message === 'transient')) throw e;
      });
      clock.advance(37);
    }
    await flush();
    expect(cache.loadsInFlight).toBe(0);
    expect(cache.refreshesInFlight).toBe(0);
    const s = cache.stats();
    expect(s.entries).toBeLessThanOrEqual(45);
    expect(s.refreshes).toBeGreaterThan(0);
    expect(unhandled.seen).toEqual([]);
  });

  it('works without any options and reuses its default store across calls', async () => {
    const cache = new ResolutionCache<{ did: string }>();
    const loader = countingLoader(() => ({ did: 'did:plc:abc' }), 100);
    await cache.resolve('alice.test', loader.load);
    expect(await cache.resolve('alice.test', loader.load)).toEqual({ value: { did: 'did:plc:abc' }, cache: 'hit' });
    expect(cache.stats()).toMatchObject({ entries: 1, bytes: 100 });
    await cache.close();
  });
});
