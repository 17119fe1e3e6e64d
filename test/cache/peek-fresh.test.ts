import { describe, expect, it } from 'vitest';
import { MemoryCacheStore } from '../../src/cache/memory.js';
import { ResolutionCache } from '../../src/cache/policy.js';
import type { CacheStore, StoredEntry } from '../../src/cache/types.js';
import { FakeClock } from './helpers.js';

/**
 * `peekFresh()`, the promise-free hit path: it serves exactly the entries
 * `resolve()` would serve as a `hit` (fresh, positive or negative), counts
 * them the same way, and leaves everything else (and the counters) to
 * `resolve()`.
 */

const load = () => Promise.resolve({ value: 'loaded', size: 1 });

function cacheWith(clock: FakeClock, store: CacheStore<string> = new MemoryCacheStore<string>({ now: clock.now })) {
  return new ResolutionCache<string>({ store, staleTtlMs: 1_000, maxTtlMs: 10_000, negativeTtlMs: 500, now: clock.now });
}

describe('ResolutionCache.peekFresh', () => {
  it('serves a fresh entry and a fresh negative entry, counted as resolve() counts hits', async () => {
    const clock = new FakeClock();
    const cache = cacheWith(clock);
    expect(cache.peekFresh('k')).toBeUndefined();
    await cache.resolve('k', load);
    await cache.resolve('none', () => Promise.resolve({ value: null, size: 1 }));
    expect(cache.peekFresh('k')?.value).toBe('loaded');
    expect(cache.peekFresh('none')?.value).toBeNull();
    expect(cache.stats()).toMatchObject({ hits: 1, negativeHits: 1, misses: 2 });
  });

  it('leaves stale, expired and negative-expired entries to resolve(), counting nothing', async () => {
    const clock = new FakeClock();
    const cache = cacheWith(clock);
    await cache.resolve('k', load);
    await cache.resolve('none', () => Promise.resolve({ value: null, size: 1 }));
    clock.advance(1_000);
    expect(cache.peekFresh('k')).toBeUndefined();
    expect(cache.peekFresh('none')).toBeUndefined();
    expect(cache.stats()).toMatchObject({ hits: 0, staleHits: 0, negativeHits: 0, refreshes: 0 });
    expect((await cache.resolve('k', load)).cache).toBe('stale');
  });

  it('holds nothing for a store without peek(), one whose peek() throws, or after close()', async () => {
    const clock = new FakeClock();
    const memory = new MemoryCacheStore<string>({ now: clock.now });
    const entry: StoredEntry<string> = { value: 'v', fetchedAt: clock.ms, size: 1 };
    await memory.set('k', entry);
    const withoutPeek: CacheStore<string> = {
      get: (key) => memory.get(key),
      set: (key, e) => memory.set(key, e),
      delete: (key) => memory.delete(key),
      clear: () => memory.clear(),
      stats: () => memory.stats(),
    };
    const throwing: CacheStore<string> = { ...withoutPeek, peek: () => { throw new Error('broken'); } };
    expect(cacheWith(clock, withoutPeek).peekFresh('k')).toBeUndefined();
    expect(cacheWith(clock, throwing).peekFresh('k')).toBeUndefined();
    const closing = cacheWith(clock, memory);
    expect(closing.peekFresh('k')).toBe(entry);
    await closing.close();
    expect(closing.peekFresh('k')).toBeUndefined();
  });

  it('judges at the reading of the clock it is given, in the policy and in the store alike', async () => {
    const clock = new FakeClock();
    const store = new MemoryCacheStore<string>({ maxTtlMs: 10_000, now: clock.now });
    const cache = cacheWith(clock, store);
    await cache.resolve('k', load);
    await cache.resolve('none', () => Promise.resolve({ value: null, size: 1 }));
    // The cache's own clock says "just written"; the readings given say otherwise.
    expect(cache.peekFresh('k', clock.ms + 999)?.value).toBe('loaded');
    expect(cache.peekFresh('k', clock.ms + 1_000)).toBeUndefined();
    expect(cache.peekFresh('none', clock.ms + 499)?.value).toBeNull();
    expect(cache.peekFresh('none', clock.ms + 500)).toBeUndefined();
    expect(cache.stats()).toMatchObject({ hits: 1, negativeHits: 1, staleHits: 0 });
    // At maxTtlMs the store drops the entry on that reading, not on its own clock.
    expect(store.peek('k', clock.ms + 9_999)?.value).toBe('loaded');
    expect(store.peek('k', clock.ms + 10_000)).toBeUndefined();
    expect(store.stats().entries).toBe(1);
  });
});
