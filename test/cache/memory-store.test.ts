import { describe, expect, it, vi } from 'vitest';
import { MemoryCacheStore } from '../../src/cache/memory.js';
import { InvalidOptionsError } from '../../src/errors.js';
import { FakeClock } from './helpers.js';
import { describeCacheStoreContract } from './store-contract.js';

describeCacheStoreContract('MemoryCacheStore', (options) => new MemoryCacheStore<string>(options));

describe('MemoryCacheStore', () => {
  it('has production defaults: 100k entries, 64 MiB, 24 h', () => {
    const stats = new MemoryCacheStore().stats();
    expect(stats).toEqual({ entries: 0, bytes: 0, maxEntries: 100_000, maxBytes: 64 * 1024 * 1024, evictions: 0 });
  });

  it('charges at least one byte per entry, rounds sizes up, and refuses sizes that are not finite', async () => {
    const clock = new FakeClock();
    const store = new MemoryCacheStore<string>({ maxBytes: 100, now: clock.now });
    await store.set('zero', { value: 'v', fetchedAt: clock.ms, size: 0 });
    await store.set('frac', { value: 'v', fetchedAt: clock.ms, size: 2.2 });
    expect(store.stats()).toMatchObject({ entries: 2, bytes: 4 });
    await store.set('nan', { value: 'v', fetchedAt: clock.ms, size: Number.NaN });
    await store.set('inf', { value: 'v', fetchedAt: clock.ms, size: Infinity });
    expect(await store.get('nan')).toBeUndefined();
    expect(await store.get('inf')).toBeUndefined();
    expect(store.stats()).toMatchObject({ entries: 2, bytes: 4, evictions: 2 });
  });

  it('counts neither replacement, deletion nor expiry as eviction', async () => {
    const clock = new FakeClock();
    const store = new MemoryCacheStore<string>({ maxTtlMs: 1_000, now: clock.now });
    await store.set('k', { value: 'a', fetchedAt: clock.ms, size: 1 });
    await store.set('k', { value: 'b', fetchedAt: clock.ms, size: 1 });
    await store.delete('k');
    await store.set('k', { value: 'c', fetchedAt: clock.ms, size: 1 });
    clock.advance(1_000);
    expect(await store.get('k')).toBeUndefined();
    expect(store.stats()).toMatchObject({ entries: 0, evictions: 0 });
  });

  it('peek() is get() without a promise: the same entry, nothing once maxTtlMs old (and then dropped)', async () => {
    const clock = new FakeClock();
    const store = new MemoryCacheStore<string>({ maxTtlMs: 1_000, now: clock.now });
    expect(store.peek('k')).toBeUndefined();
    await store.set('k', { value: 'a', fetchedAt: clock.ms, size: 1 });
    expect(store.peek('k')).toBe(await store.get('k'));
    clock.advance(1_000);
    expect(store.peek('k')).toBeUndefined();
    expect(store.stats()).toMatchObject({ entries: 0, evictions: 0 });
  });

  it('starts no timer, so it never keeps the event loop alive', async () => {
    const setTimeoutSpy = vi.spyOn(globalThis, 'setTimeout');
    const setIntervalSpy = vi.spyOn(globalThis, 'setInterval');
    try {
      const store = new MemoryCacheStore<string>({ maxEntries: 10, maxTtlMs: 1_000 });
      for (let i = 0; i < 50; i++) await store.set(`k${i}`, { value: 'v', fetchedAt: Date.now() - i, size: 1 });
      await store.get('k49');
      await store.get('k0');
      await store.delete('k48');
      await store.clear();
      expect(setTimeoutSpy).not.toHaveBeenCalled();
      expect(setIntervalSpy).not.toHaveBeenCalled();
    } finally {
      setTimeoutSpy.mockRestore();
      setIntervalSpy.mockRestore();
    }
  });

  it.each([
    [{ maxEntries: 0 }, 'maxEntries'],
    [{ maxEntries: 2 ** 24 + 1 }, 'maxEntries'],
    [{ maxBytes: 1.5 }, 'maxBytes'],
    [{ maxTtlMs: 0 }, 'maxTtlMs'],
    [{ now: 5 }, 'now'],
    [{ ttl: 5 }, 'ttl'],
  ])('rejects %o naming %s', (options, option) => {
    expect(() => new MemoryCacheStore(options as never)).toThrow(InvalidOptionsError);
    try {
      new MemoryCacheStore(options as never);
    } catch (error) {
      expect((error as InvalidOptionsError).option).toBe(`memoryCacheStore.${option}`);
    }
  });
});
