/**
 * The cache seam. A `CacheStore` only stores; the policy (freshness,
 * stale-while-revalidate, negative entries, coalescing) lives in one place
 * above it, so the in-memory store and a shared store (Redis) behave the
 * same. A resolver uses two stores: DID → document and handle → DID.
 */

/**
 * One stored resolution. `value === null` is a negative entry: the
 * authority said "not found" (never a timeout or transport failure).
 */
export interface StoredEntry<V> {
  value: V | null;
  /** When the value was fetched from its origin, ms since the epoch. Freshness is computed from this. */
  fetchedAt: number;
  /** Approximate size in bytes, used for the store's byte bound. */
  size: number;
}

/** Counters and gauges of one store. Counters are cumulative. */
export interface CacheStoreStats {
  /** Gauge: entries held. */
  entries: number;
  /** Gauge: bytes held (sum of entry sizes). */
  bytes: number;
  /** Limit on entries. */
  maxEntries: number;
  /** Limit on bytes. */
  maxBytes: number;
  /** Counter: entries dropped to stay within the bounds. */
  evictions: number;
  /**
   * Counter: operations on a shared store's server (Redis) that failed, timed
   * out or were refused while it was unreachable; each one fell back to the
   * in-process tier or to the origin. Absent for in-process stores.
   */
  redisErrors?: number;
}

/** Storage for resolved values, keyed by normalized DID or handle. */
export interface CacheStore<V> {
  get(key: string): Promise<StoredEntry<V> | undefined>;
  /**
   * The entry under `key` if this process holds it in memory, read
   * synchronously with no I/O: what `get()` would return when it is not
   * `undefined`. `undefined` only says "not held here" (a shared store may
   * still hold it: the policy then calls `get()`). Lets a cached answer be
   * served without a promise chain. Optional: absent means every read goes
   * through `get()`.
   *
   * `now`, when given, is a reading of the store's clock (ms since the
   * epoch) the caller took in the same synchronous turn: a store whose
   * entries expire compares against it instead of reading the clock again.
   * `ResolutionCache.peekFresh()` passes its own clock's reading, so a
   * store and the cache over it must share one clock (both default to
   * `Date.now`).
   */
  peek?(key: string, now?: number): StoredEntry<V> | undefined;
  set(key: string, entry: StoredEntry<V>): Promise<void>;
  delete(key: string): Promise<void>;
  /** Drop every entry; for a shared store, fleet-wide. */
  clear(): Promise<void>;
  /**
   * Drop only what this process holds (its in-memory tier); a shared tier
   * is untouched. Used by `IdResolver.reset()`, which frees this process's
   * memory and must not empty a fleet's cache. Optional: absent means
   * `clear()` is already local.
   */
  clearLocal?(): Promise<void>;
  /**
   * Claim the right to refresh a stale key for `ttlMs`. A shared store
   * grants it to one process at a time; an in-process store always grants.
   * Optional: absent means always granted.
   */
  claimRefresh?(key: string, ttlMs: number): Promise<boolean>;
  /**
   * Register a listener that a shared store calls when another process
   * invalidated `key` (a purge) or every key (`undefined`, a clear). The
   * policy uses it to detach its loads in flight for those keys, exactly as
   * a local `purge()` does, so a result fetched before the purge is never
   * written back. Returns a function that removes the listener. Optional:
   * in-process stores have no other process to hear from.
   */
  onInvalidate?(listener: (key: string | undefined) => void): () => void;
  /**
   * Told when the load that followed a miss on `key` threw, so nothing will
   * be stored for that miss. A shared store releases the fleet-wide fill
   * lock its `get()` took on the miss, so that processes waiting for this
   * key's value load it themselves at once instead of after a timeout.
   * Not called for background refreshes (their claim stays until its TTL).
   * Optional; errors are ignored.
   */
  loadFailed?(key: string): Promise<void>;
  stats(): CacheStoreStats;
  /** Release resources (connections, timers). Optional. */
  close?(): Promise<void>;
}

/**
 * Where an answer came from: `hit` (a fresh entry, positive or negative),
 * `stale` (served while a background refresh runs), `miss` (loaded from the
 * origin, possibly by joining a load in flight) or `bypass` (the cache was
 * not read: `forceRefresh`, or caching is off).
 */
export type CacheOutcome = 'hit' | 'stale' | 'miss' | 'bypass';

/** Policy-level counters for one cache (DID or handle). */
export interface CacheStats extends CacheStoreStats {
  /** Fresh hits. */
  hits: number;
  /** Hits on an entry past `staleTtlMs`, served while refreshing. */
  staleHits: number;
  /** Hits on a negative (not-found) entry. */
  negativeHits: number;
  /** Lookups that had to go to the origin. */
  misses: number;
  /** Lookups that joined an identical request already in flight. */
  coalesced: number;
  /** Background refreshes started. */
  refreshes: number;
  /** Background refreshes that failed (the stale entry kept being served). */
  refreshErrors: number;
}
