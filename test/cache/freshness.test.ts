import { describe, expect, it } from 'vitest';
import { MemoryCacheStore } from '../../src/cache/memory.js';
import { ResolutionCache } from '../../src/cache/policy.js';
import { ControlledLoader, countingLoader, FakeClock, flush } from './helpers.js';

const STALE = 1_000;
const MAX = 10_000;
const NEGATIVE = 300;

function setup(options: { negativeTtlMs?: number } = {}) {
  const clock = new FakeClock();
  const store = new MemoryCacheStore<string>({ now: clock.now });
  const cache = new ResolutionCache<string>({
    store,
    staleTtlMs: STALE,
    maxTtlMs: MAX,
    negativeTtlMs: options.negativeTtlMs ?? NEGATIVE,
    now: clock.now,
  });
  return { clock, store, cache };
}

describe('ResolutionCache freshness', () => {
  it('loads on a miss, then serves the entry as a fresh hit until staleTtlMs', async () => {
    const { clock, cache } = setup();
    const loader = countingLoader(() => 'doc');
    expect(await cache.resolve('k', loader.load)).toEqual({ value: 'doc', cache: 'miss' });
    clock.advance(STALE - 1);
    expect(await cache.resolve('k', loader.load)).toEqual({ value: 'doc', cache: 'hit' });
    expect(loader.calls()).toBe(1);
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 1, staleHits: 0, refreshes: 0 });
  });

  it('serves a stale entry at once and refreshes it once in the background', async () => {
    const { clock, cache } = setup();
    const loader = new ControlledLoader<string>();
    const first = cache.resolve('k', loader.load);
    await flush();
    loader.succeed('v1');
    await first;

    clock.advance(STALE);
    // Returned without waiting for the refresh, which is still pending.
    expect(await cache.resolve('k', loader.load)).toEqual({ value: 'v1', cache: 'stale' });
    expect(await cache.resolve('k', loader.load)).toEqual({ value: 'v1', cache: 'stale' });
    await flush();
    expect(loader.calls).toBe(2);
    expect(cache.refreshesInFlight).toBe(1);

    loader.succeed('v2');
    await flush();
    expect(cache.refreshesInFlight).toBe(0);
    expect(await cache.resolve('k', loader.load)).toEqual({ value: 'v2', cache: 'hit' });
    expect(cache.stats()).toMatchObject({ misses: 1, staleHits: 2, hits: 1, refreshes: 1, refreshErrors: 0 });
  });

  it('treats an entry maxTtlMs old as a miss', async () => {
    const { clock, cache } = setup();
    let n = 0;
    const loader = countingLoader(() => `v${++n}`);
    await cache.resolve('k', loader.load);
    clock.advance(MAX);
    expect(await cache.resolve('k', loader.load)).toEqual({ value: 'v2', cache: 'miss' });
    expect(cache.stats()).toMatchObject({ misses: 2, staleHits: 0 });
  });

  it('caches an authoritative not-found for negativeTtlMs, then loads again', async () => {
    const { clock, cache } = setup();
    let answer: string | null = null;
    const loader = countingLoader(() => answer);
    expect(await cache.resolve('k', loader.load)).toEqual({ value: null, cache: 'miss' });
    clock.advance(NEGATIVE - 1);
    expect(await cache.resolve('k', loader.load)).toEqual({ value: null, cache: 'hit' });
    expect(loader.calls()).toBe(1);

    // A not-found past negativeTtlMs is never served stale: the caller waits for the load.
    clock.advance(1);
    answer = 'created';
    expect(await cache.resolve('k', loader.load)).toEqual({ value: 'created', cache: 'miss' });
    expect(loader.calls()).toBe(2);
    expect(cache.stats()).toMatchObject({ negativeHits: 1, hits: 0, misses: 2 });
  });

  it('does not store not-founds when negativeTtlMs is 0', async () => {
    const { cache, store } = setup({ negativeTtlMs: 0 });
    const loader = countingLoader<string>(() => null);
    await cache.resolve('k', loader.load);
    await cache.resolve('k', loader.load);
    expect(loader.calls()).toBe(2);
    expect(store.stats().entries).toBe(0);
  });

  it('replaces a stale entry with a negative one when the refresh finds nothing', async () => {
    const { clock, cache } = setup();
    let answer: string | null = 'v1';
    const loader = countingLoader(() => answer);
    await cache.resolve('k', loader.load);
    clock.advance(STALE);
    answer = null;
    expect(await cache.resolve('k', loader.load)).toEqual({ value: 'v1', cache: 'stale' });
    await flush();
    expect(await cache.resolve('k', loader.load)).toEqual({ value: null, cache: 'hit' });
    expect(cache.stats()).toMatchObject({ refreshes: 1, refreshErrors: 0, negativeHits: 1 });
  });

  it('deletes a stale entry when the refresh finds nothing and negative caching is off', async () => {
    const { clock, cache, store } = setup({ negativeTtlMs: 0 });
    let answer: string | null = 'v1';
    const loader = countingLoader(() => answer);
    await cache.resolve('k', loader.load);
    clock.advance(STALE);
    answer = null;
    await cache.resolve('k', loader.load);
    await flush();
    expect(store.stats().entries).toBe(0);
    expect(await cache.resolve('k', loader.load)).toEqual({ value: null, cache: 'miss' });
  });

  it('counts each call exactly once across hits, stale hits, negative hits, misses and coalesced', async () => {
    const { clock, cache } = setup();
    const loader = countingLoader<string>(() => 'v');
    const missing = countingLoader<string>(() => null);
    let calls = 0;
    const call = (key: string, load = loader.load) => {
      calls++;
      return cache.resolve(key, load);
    };
    await Promise.all([call('a'), call('a'), call('a')]);
    await call('a');
    await call('gone', missing.load);
    await call('gone', missing.load);
    clock.advance(STALE);
    await call('a');
    await flush();
    const s = cache.stats();
    expect(s.hits + s.staleHits + s.negativeHits + s.misses + s.coalesced).toBe(calls);
    expect(s).toMatchObject({ hits: 1, staleHits: 1, negativeHits: 1, misses: 2, coalesced: 2 });
  });

  it('treats a fetchedAt in the future (clock stepped back) as age 0', async () => {
    const { clock, cache } = setup();
    const loader = countingLoader(() => 'v');
    await cache.resolve('k', loader.load);
    clock.advance(-60_000);
    expect(await cache.resolve('k', loader.load)).toEqual({ value: 'v', cache: 'hit' });
  });
});
