import { LRUCache } from 'lru-cache';
import { checkClock, DAY_MS, resolveOptions, type OptionSpec } from '../util/options.js';
import type { CacheStore, CacheStoreStats, StoredEntry } from './types.js';

/**
 * Options of `MemoryCacheStore`. The defaults size the store for a relay
 * resolving ~1,000 identities a second; each field says why.
 */
export interface MemoryCacheStoreOptions {
  /**
   * Most entries held. Default `100000`: a relay's working set within the
   * one-hour stale TTL is dominated by a heavy tail of active accounts, and
   * 100k covers it with the hot set never evicted; small entries (handles,
   * not-found answers, ~450 bytes charged each) reach it before `maxBytes`.
   * lru-cache preallocates ~24 bytes per slot, so 100k costs ~2.4 MB up front
   * and the ceiling (2^24) ~400 MB.
   */
  maxEntries?: number;
  /**
   * Most bytes held, counted as the sum of `StoredEntry.size`, which the
   * resolvers set to a heap estimate at least as large as what an entry
   * holds (`entryCharge()`). Default `67108864` (64 MiB): a did:plc
   * document entry is charged ~2 KB (it holds ~1.7 KB), so this holds ~32k
   * of them, while a burst of large did:web documents (up to the 64 KiB
   * document cap each) evicts older entries instead of growing the heap.
   */
  maxBytes?: number;
  /**
   * An entry whose `fetchedAt` is this old or older is never returned (it is
   * deleted when read). Default `86400000` (24 h), the policy's default
   * `maxTtlMs`: a hard backstop so no answer older than a day is ever served,
   * whatever policy sits above the store.
   */
  maxTtlMs?: number;
  /**
   * The clock, in ms since the epoch (the unit of `StoredEntry.fetchedAt`).
   * Default `Date.now`; tests inject a fake clock.
   */
  now?: () => number;
}

/**
 * Heap bytes one entry costs besides its key and its value: the
 * `StoredEntry` record, lru-cache's map slot and list links. A not-found
 * entry (no value) under a did:plc key measures 160–240 bytes in all
 * (`test/cache/entry-cost.test.ts`); this is rounded up, so that charging
 * `entryCharge()` keeps `maxBytes` an upper bound on the heap a store holds.
 */
export const ENTRY_OVERHEAD_BYTES = 384;

/**
 * What a resolver charges for an entry (`StoredEntry.size`): the overhead,
 * the key (two bytes a character, the most V8 uses) and `valueBytes`, its
 * estimate of what the value holds on the heap (`0` for a not-found entry).
 */
export function entryCharge(key: string, valueBytes: number): number {
  return ENTRY_OVERHEAD_BYTES + 2 * key.length + valueBytes;
}

/** `MemoryCacheStoreOptions` with every default filled in. */
export type ResolvedMemoryCacheStoreOptions = Required<MemoryCacheStoreOptions>;

/** Entry count ceiling: lru-cache preallocates its slots, ~24 bytes each. */
const MAX_ENTRIES_CEILING = 2 ** 24;

/** The single table that validates and defaults `MemoryCacheStoreOptions`. */
export const memoryCacheStoreOptionSpec = {
  maxEntries: { kind: 'integer', default: 100_000, min: 1, max: MAX_ENTRIES_CEILING },
  maxBytes: { kind: 'integer', default: 64 * 1024 * 1024, min: 1, max: 2 ** 40 },
  maxTtlMs: { kind: 'integer', default: DAY_MS, min: 1, max: DAY_MS },
  now: { kind: 'opaque' },
} as const satisfies OptionSpec;

/**
 * Validate `MemoryCacheStoreOptions` and fill in defaults.
 *
 * @param input the caller's options (may be `undefined`)
 * @param prefix dotted prefix used in error messages
 * @throws InvalidOptionsError naming the first offending option
 */
export function resolveMemoryCacheStoreOptions(
  input: unknown,
  prefix = 'memoryCacheStore',
): ResolvedMemoryCacheStoreOptions {
  const resolved = resolveOptions<Omit<ResolvedMemoryCacheStoreOptions, 'now'> & { now: unknown }>(
    memoryCacheStoreOptionSpec,
    input,
    prefix,
  );
  return { ...resolved, now: checkClock(resolved.now, prefix) };
}

/**
 * The in-process `CacheStore`: an LRU bounded both by entry count and by
 * bytes (the sum of each entry's `size`), on `lru-cache`.
 *
 * Every operation is O(1). Entries whose `fetchedAt` is `maxTtlMs` old or
 * older are never returned: they are deleted when read, and otherwise age
 * out of the LRU (they still count toward the bounds until then, so memory
 * stays bounded either way). No timer is ever started, so the store never
 * keeps the event loop alive and needs no `close()`.
 *
 * An entry is charged `max(1, ceil(size))` bytes; an entry whose size is not
 * a finite number, or is larger than `maxBytes`, is not stored (any older
 * entry under that key is removed, since it is being replaced) and counts
 * as an eviction. `claimRefresh` is not implemented: in one process the
 * policy's own in-flight bookkeeping already allows one refresh per key.
 */
export class MemoryCacheStore<V> implements CacheStore<V> {
  readonly #lru: LRUCache<string, StoredEntry<V>>;
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  readonly #maxTtlMs: number;
  readonly #now: () => number;
  #evictions = 0;

  /**
   * @param options bounds and clock; every field is optional
   * @throws InvalidOptionsError naming the first offending option
   */
  constructor(options?: MemoryCacheStoreOptions) {
    const resolved = resolveMemoryCacheStoreOptions(options);
    this.#maxEntries = resolved.maxEntries;
    this.#maxBytes = resolved.maxBytes;
    this.#maxTtlMs = resolved.maxTtlMs;
    this.#now = resolved.now;
    this.#lru = new LRUCache<string, StoredEntry<V>>({
      max: resolved.maxEntries,
      maxSize: resolved.maxBytes,
      // Called for inserts, replacements and deletions alike; only the
      // drops made to stay within the bounds are evictions.
      dispose: (_value, _key, reason) => {
        if (reason === 'evict') this.#evictions++;
      },
    });
  }

  /** The entry under `key`, or `undefined` if absent or `maxTtlMs` old. Marks it recently used. */
  get(key: string): Promise<StoredEntry<V> | undefined> {
    return Promise.resolve(this.peek(key));
  }

  /**
   * `get()`, synchronously: every entry of this store is in memory. `now`:
   * the caller's reading of this store's clock (see `CacheStore.peek`),
   * else the store reads it.
   */
  peek(key: string, now?: number): StoredEntry<V> | undefined {
    const entry = this.#lru.get(key);
    if (entry !== undefined && (now ?? this.#now()) - entry.fetchedAt >= this.#maxTtlMs) {
      this.#lru.delete(key);
      return undefined;
    }
    return entry;
  }

  /** Store `entry` under `key`, evicting least recently used entries to stay within the bounds. */
  set(key: string, entry: StoredEntry<V>): Promise<void> {
    const size = Number.isFinite(entry.size) ? Math.max(1, Math.ceil(entry.size)) : Infinity;
    if (size > this.#maxBytes) {
      this.#lru.delete(key);
      this.#evictions++;
    } else {
      this.#lru.set(key, entry, { size });
    }
    return Promise.resolve();
  }

  /** Remove the entry under `key`, if any. */
  delete(key: string): Promise<void> {
    this.#lru.delete(key);
    return Promise.resolve();
  }

  /** Remove every entry. Counters are cumulative and are not reset. */
  clear(): Promise<void> {
    this.#lru.clear();
    return Promise.resolve();
  }

  /** A snapshot of the store's gauges, limits and eviction counter. */
  stats(): CacheStoreStats {
    return {
      entries: this.#lru.size,
      bytes: this.#lru.calculatedSize,
      maxEntries: this.#maxEntries,
      maxBytes: this.#maxBytes,
      evictions: this.#evictions,
    };
  }
}
