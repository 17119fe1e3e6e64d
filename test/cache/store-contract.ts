import { describe, expect, it } from 'vitest';
import type { CacheStore, StoredEntry } from '../../src/cache/types.js';
import { FakeClock } from './helpers.js';

/** What every store under the contract is built with. */
export interface StoreFactoryOptions {
  maxEntries: number;
  maxBytes: number;
  maxTtlMs: number;
  now: () => number;
}

/** How a store under the contract is built. */
export interface StoreContractTraits {
  /**
   * The store is two-tier: `maxEntries`/`maxBytes` bound its in-process
   * tier, and an entry evicted from it is still served by a shared tier
   * behind it (the Redis store). Default `false`: an evicted entry is gone.
   */
  sharedTier?: boolean;
}

/**
 * The behaviour every `CacheStore` must share, run against each
 * implementation (`MemoryCacheStore`, the Redis store on one node and on a
 * cluster), so the policy above behaves the same on all of them.
 */
export function describeCacheStoreContract(
  name: string,
  create: (options: StoreFactoryOptions) => CacheStore<string> | Promise<CacheStore<string>>,
  traits: StoreContractTraits = {},
): void {
  const sharedTier = traits.sharedTier ?? false;
  /** An entry evicted from the in-process bound: gone, or served again by the shared tier. */
  async function expectEvicted(store: CacheStore<string>, key: string, value: string): Promise<void> {
    if (sharedTier) expect((await store.get(key))?.value, `${key} from the shared tier`).toBe(value);
    else expect(await store.get(key), `${key} evicted`).toBeUndefined();
  }

  describe(`CacheStore contract: ${name}`, () => {
    const entry = (value: string | null, fetchedAt: number, size = 10): StoredEntry<string> => ({ value, fetchedAt, size });

    async function make(overrides: Partial<StoreFactoryOptions> = {}) {
      const clock = new FakeClock();
      const store = await create({ maxEntries: 100, maxBytes: 10_000, maxTtlMs: 60_000, now: clock.now, ...overrides });
      return { clock, store };
    }

    it('stores, returns, replaces and deletes entries, including negative ones', async () => {
      const { clock, store } = await make();
      await store.set('did:plc:a', entry('doc-a', clock.ms, 30));
      await store.set('did:plc:b', entry(null, clock.ms, 5));
      expect(await store.get('did:plc:a')).toEqual(entry('doc-a', clock.ms, 30));
      expect(await store.get('did:plc:b')).toEqual(entry(null, clock.ms, 5));
      expect(await store.get('did:plc:missing')).toBeUndefined();
      expect(store.stats()).toMatchObject({ entries: 2, bytes: 35 });

      await store.set('did:plc:a', entry('doc-a2', clock.ms, 40));
      expect((await store.get('did:plc:a'))?.value).toBe('doc-a2');
      expect(store.stats()).toMatchObject({ entries: 2, bytes: 45, evictions: 0 });

      await store.delete('did:plc:a');
      expect(await store.get('did:plc:a')).toBeUndefined();
      await store.delete('did:plc:never-there');
      expect(store.stats()).toMatchObject({ entries: 1, bytes: 5, evictions: 0 });

      await store.clear();
      expect(await store.get('did:plc:b')).toBeUndefined();
      expect(store.stats()).toMatchObject({ entries: 0, bytes: 0, evictions: 0 });
      await store.close?.();
    });

    it('never returns an entry whose fetchedAt is maxTtlMs old or older', async () => {
      const { clock, store } = await make({ maxTtlMs: 60_000 });
      await store.set('k', entry('v', clock.ms));
      clock.advance(59_999);
      expect((await store.get('k'))?.value).toBe('v');
      clock.advance(1);
      expect(await store.get('k')).toBeUndefined();
      // An entry that arrives already too old (e.g. copied from another tier) is not returned either.
      await store.set('old', entry('v', clock.ms - 60_000));
      expect(await store.get('old')).toBeUndefined();
      await store.close?.();
    });

    it('evicts the least recently used entry at maxEntries and counts it', async () => {
      const { clock, store } = await make({ maxEntries: 3 });
      for (const k of ['a', 'b', 'c']) await store.set(k, entry(k, clock.ms));
      await store.get('a'); // a is now the most recently used; b is the oldest
      await store.set('d', entry('d', clock.ms));
      expect(store.stats()).toMatchObject({ entries: 3, maxEntries: 3, evictions: 1 });
      await expectEvicted(store, 'b', 'b');
      for (const k of ['a', 'c', 'd']) expect((await store.get(k))?.value).toBe(k);
      // Whatever was read back, the in-process bound still holds.
      expect(store.stats().entries).toBeLessThanOrEqual(3);
      await store.close?.();
    });

    it('evicts by bytes so the sum of sizes never exceeds maxBytes', async () => {
      const { clock, store } = await make({ maxBytes: 100 });
      for (let i = 0; i < 10; i++) {
        await store.set(`k${i}`, entry('v', clock.ms, 30));
        const stats = store.stats();
        expect(stats.bytes).toBeLessThanOrEqual(100);
        expect(stats.maxBytes).toBe(100);
      }
      expect(store.stats()).toMatchObject({ entries: 3, bytes: 90, evictions: 7 });
      expect((await store.get('k9'))?.value).toBe('v');
      await expectEvicted(store, 'k0', 'v');
      expect(store.stats().bytes).toBeLessThanOrEqual(100);
      await store.close?.();
    });

    it('does not store an entry larger than maxBytes, and drops the entry it would replace', async () => {
      const { clock, store } = await make({ maxBytes: 100 });
      await store.set('small', entry('v', clock.ms, 50));
      await store.set('big', entry('v', clock.ms, 101));
      expect(await store.get('big')).toBeUndefined();
      await store.set('small', entry('v2', clock.ms, 1_000));
      expect(await store.get('small')).toBeUndefined();
      expect(store.stats()).toMatchObject({ entries: 0, bytes: 0 });
      await store.close?.();
    });
  });
}
