import type { DidDocument } from '../document/did-document.js';
import { AbortError, InvalidOptionsError } from '../errors.js';
import { untilAborted } from '../util/abort.js';
import { checkClock, DAY_MS, optionName, resolveOptions, type OptionSpec } from '../util/options.js';
import { CacheClosedError } from './errors.js';
import { MemoryCacheStore, memoryCacheStoreOptionSpec, type MemoryCacheStoreOptions } from './memory.js';
import type { CacheOutcome, CacheStats, CacheStore, StoredEntry } from './types.js';

/**
 * The freshness policy of atresolve's caches, in one place: fresh and stale
 * TTLs, stale-while-revalidate with a bounded number of background
 * refreshes, negative (not-found) entries, in-flight coalescing, per-caller
 * cancellation, and purge that wins over loads already running. Stores
 * (`MemoryCacheStore`, later a Redis store) only store.
 */

/**
 * What a loader returns. `value: null` means the authority answered "not
 * found" — an answer that is cached for `negativeTtlMs`. Anything else that
 * goes wrong (timeout, abort, transport failure, server error) must be
 * thrown, and is never cached.
 */
export interface CacheLoadResult<V> {
  /** The resolved value, or `null` for an authoritative not-found. */
  value: V | null;
  /** Approximate bytes the value holds in memory, for the store's byte bound. */
  size: number;
}

/**
 * Fetches one key from its origin. `ResolutionCache` never passes a
 * signal: a load is shared by every caller waiting on the key, so no single
 * caller may cancel it; it must settle on its own (the transport's
 * `timeoutMs` bounds it). `PassThroughCache` (caching off) shares nothing,
 * so it hands the loader its caller's signal and the request stops with
 * the caller.
 */
export type CacheLoader<V> = (signal?: AbortSignal) => Promise<CacheLoadResult<V>>;

/** Per-call options of `ResolutionCache.resolve()`. */
export interface CacheResolveOptions {
  /**
   * Skip reading the cache: join the load already in flight for the key,
   * or start one, and store its result. The outcome is `bypass`.
   * Default `false`.
   */
  forceRefresh?: boolean;
  /**
   * Cancels this caller's wait only: the call rejects with `AbortError`
   * (`cause` is the signal's reason), while the shared load, the other
   * waiters and the write to the store carry on. Default none.
   */
  signal?: AbortSignal;
}

/** What `ResolutionCache.resolve()` returns. */
export interface CacheResolveResult<V> {
  /** The value, or `null` for an authoritative not-found (fresh from the origin or a cached negative entry). */
  value: V | null;
  /**
   * Where it came from: `hit` (fresh entry, positive or negative), `stale`
   * (served while a background refresh runs), `miss` (loaded, possibly by
   * joining a load in flight) or `bypass` (`forceRefresh`).
   */
  cache: CacheOutcome;
}

/**
 * What a resolver looks its keys up through: a `ResolutionCache`, or with
 * caching off a `PassThroughCache`. Both reject a caller's abort with
 * `AbortError`, so a resolver behaves the same with and without a cache.
 */
export interface LookupCache<V> {
  /** Whether answers are stored: `false` for a `PassThroughCache`, whose every answer is a `bypass`. */
  readonly caching: boolean;
  /** Look `key` up, loading it with `load` when there is no usable entry. */
  resolve(key: string, load: CacheLoader<V>, options?: CacheResolveOptions): Promise<CacheResolveResult<V>>;
  /**
   * A fresh entry (positive or negative) held in this process, read
   * synchronously and counted as a hit, exactly as `resolve()` would have
   * served it (`cache: 'hit'`); `undefined` when `resolve()` must be
   * called (no entry held here, stale, expired, closed, caching off).
   * Optional: absent means the same as always `undefined`. `now`: a
   * reading of the cache's clock the caller took in the same synchronous
   * turn (one reading can serve several lookups), else the cache reads it.
   */
  peekFresh?(key: string, now?: number): StoredEntry<V> | undefined;
  /** Drop `key`; a load in flight for it writes nothing. */
  purge(key: string): Promise<void>;
  /** Drop what this process holds (a shared store keeps its entries). */
  clearLocal(): Promise<void>;
  /** Stop caching and close the store. Idempotent. */
  close(): Promise<void>;
  /** Counters and gauges, `null` when nothing is cached. */
  stats(): CacheStats | null;
}

/** Options of `ResolutionCache`. */
export interface ResolutionCacheOptions<V> {
  /**
   * Where entries live. Default: a new `MemoryCacheStore` with its default
   * bounds and this cache's `maxTtlMs`. The cache owns the store: `close()`
   * closes it.
   */
  store?: CacheStore<V>;
  /**
   * A positive entry younger than this is fresh and served as is. Default
   * `3600000` (1 h): identities change rarely (a handle or PDS move), the
   * firehose's `#identity` events purge entries that did change, and one
   * refresh per identity per hour keeps origin load at a few percent of
   * the resolution rate. Must not exceed `maxTtlMs`; the default shrinks to it.
   */
  staleTtlMs?: number;
  /**
   * An entry this old or older is never served: the next lookup loads and
   * waits. Between `staleTtlMs` and this, the entry is served at once while
   * one background refresh runs, and keeps being served if refreshes fail.
   * Default `86400000` (24 h): a PLC directory or PDS outage of up to a day
   * does not take resolution down, but no answer older than a day is used.
   */
  maxTtlMs?: number;
  /**
   * A not-found entry younger than this is served; after that the next
   * lookup loads and waits (a stale not-found is never served). Default
   * `300000` (5 min): a new account's DID or handle becomes visible within
   * minutes, while repeated lookups of a missing name stay off the origin.
   * `0` disables negative caching. Must not exceed `maxTtlMs`; the default
   * shrinks to it.
   */
  negativeTtlMs?: number;
  /**
   * Background refreshes running at once; a stale hit beyond this is served
   * without starting one. Default `32`: with 100k entries and a 1 h stale
   * TTL the steady refresh rate is ~30/s, a few in flight at ~100 ms each,
   * so 32 is ~10× headroom while refreshes can never take more than a small
   * share of the transport's 256 connections or fill its request queue.
   */
  maxConcurrentRefreshes?: number;
  /**
   * How long a refresh claim (`CacheStore.claimRefresh`) holds, so that in a
   * fleet sharing one store only one process refreshes a key. Default
   * `30000` (30 s): three times the transport's default 10 s `timeoutMs`, so
   * a claim outlives the slowest load it guards.
   */
  refreshClaimTtlMs?: number;
  /**
   * The clock, in ms since the epoch (the unit of `StoredEntry.fetchedAt`).
   * Default `Date.now`; tests inject a fake clock.
   */
  now?: () => number;
}

/**
 * Bounds and freshness of the resolver's two caches (DID documents, handle
 * → DID), each field applying to each cache. The bounds are
 * `MemoryCacheStore`'s and the freshness TTLs and refresh cap are
 * `ResolutionCache`'s, with their defaults, ranges and docs: one table per
 * rule. `staleTtlMs` and `negativeTtlMs` never exceed `maxTtlMs`: their
 * defaults shrink to a smaller `maxTtlMs`, values you give must fit.
 */
export interface IdentityCacheOptions
  extends Pick<MemoryCacheStoreOptions, 'maxEntries' | 'maxBytes'>,
    Pick<ResolutionCacheOptions<unknown>, 'staleTtlMs' | 'maxTtlMs' | 'negativeTtlMs' | 'maxConcurrentRefreshes'> {
  /**
   * A store for DID documents instead of the in-memory LRU (e.g.
   * `RedisCache.did`); `maxEntries` and `maxBytes` then do not apply to it.
   * Default none.
   */
  didStore?: CacheStore<DidDocument>;
  /** A store for handle → DID answers instead of the in-memory LRU (e.g. `RedisCache.handle`). Default none. */
  handleStore?: CacheStore<string>;
}

/** `ResolutionCacheOptions` with every default filled in. */
export type ResolvedResolutionCacheOptions<V> = Required<ResolutionCacheOptions<V>>;

/** The single table that validates and defaults `ResolutionCacheOptions`. */
export const resolutionCacheOptionSpec = {
  store: { kind: 'opaque' },
  staleTtlMs: { kind: 'integer', default: 3_600_000, min: 0, max: DAY_MS },
  // The store's backstop and the policy's limit are one rule.
  maxTtlMs: memoryCacheStoreOptionSpec.maxTtlMs,
  negativeTtlMs: { kind: 'integer', default: 300_000, min: 0, max: DAY_MS },
  maxConcurrentRefreshes: { kind: 'integer', default: 32, min: 1, max: 65_536 },
  refreshClaimTtlMs: { kind: 'integer', default: 30_000, min: 1, max: DAY_MS },
  now: { kind: 'opaque' },
} as const satisfies OptionSpec;

const STORE_METHODS = ['get', 'set', 'delete', 'clear', 'stats'] as const;

/** The three freshness TTLs, as every cache option set that has them holds them. */
export interface FreshnessTtls {
  staleTtlMs: number;
  maxTtlMs: number;
  negativeTtlMs: number;
}

/**
 * The one rule relating the freshness TTLs: `staleTtlMs` and
 * `negativeTtlMs` never exceed `maxTtlMs` (nothing is served past
 * `maxTtlMs`). A default shrinks to fit a smaller `maxTtlMs`; a value the
 * caller gave that does not fit is an error naming it. Applied to
 * `ResolutionCacheOptions`, the resolver's `cache` option and
 * `RedisCacheOptions` alike.
 *
 * @param resolved the options with defaults filled in; shrunk in place
 * @param input the caller's options, to tell given values from defaults
 * @param prefix dotted prefix used in error messages
 * @throws InvalidOptionsError naming the given TTL that exceeds `maxTtlMs`
 */
export function fitFreshnessTtls(resolved: FreshnessTtls, input: unknown, prefix: string): void {
  const given = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>;
  for (const field of ['staleTtlMs', 'negativeTtlMs'] as const) {
    if (resolved[field] <= resolved.maxTtlMs) continue;
    if (given[field] !== undefined) {
      throw new InvalidOptionsError(
        optionName(prefix, field),
        `must not exceed maxTtlMs (${resolved.maxTtlMs}), got ${resolved[field]}`,
      );
    }
    resolved[field] = resolved.maxTtlMs;
  }
}

/**
 * Check that `value` is a `CacheStore` (it has the required methods).
 * @throws InvalidOptionsError naming `name`
 */
export function checkCacheStore(value: unknown, name: string): void {
  const store = value as Record<string, unknown> | null;
  const missing =
    typeof store !== 'object' || store === null
      ? 'get'
      : STORE_METHODS.find((method) => typeof store[method] !== 'function');
  if (missing !== undefined) throw new InvalidOptionsError(name, `expected a CacheStore (no ${missing}() method)`);
}

/**
 * Validate `ResolutionCacheOptions` and fill in defaults (creating the
 * default `MemoryCacheStore` when no store is given).
 *
 * @param input the caller's options (may be `undefined`)
 * @param prefix dotted prefix used in error messages, e.g. `cache.did`
 * @throws InvalidOptionsError naming the first offending option
 */
export function resolveResolutionCacheOptions<V>(
  input: unknown,
  prefix = 'cache',
): ResolvedResolutionCacheOptions<V> {
  type Raw = Omit<ResolvedResolutionCacheOptions<V>, 'store' | 'now'> & { store: unknown; now: unknown };
  const raw = resolveOptions<Raw>(resolutionCacheOptionSpec, input, prefix);
  fitFreshnessTtls(raw, input, prefix);
  const now = checkClock(raw.now, prefix);
  if (raw.store !== undefined) checkCacheStore(raw.store, optionName(prefix, 'store'));
  const store = (raw.store as CacheStore<V> | undefined) ?? new MemoryCacheStore<V>({ maxTtlMs: raw.maxTtlMs, now });
  return { ...raw, store, now };
}

/** One load in flight for a key, shared by every caller waiting on it. */
interface Flight<V> {
  promise: Promise<V | null>;
  /** False once `purge()`/`clear()`/`close()` ran after the load started: its result must not be written. */
  current: boolean;
}

const ignore = (): void => {};

/**
 * A read-through cache with stale-while-revalidate over a `CacheStore`.
 * The resolvers wrap every origin lookup in `resolve()`.
 *
 * | entry found                                 | `resolve()` does                                      |
 * |---------------------------------------------|-------------------------------------------------------|
 * | positive, age < `staleTtlMs`                | return it (`hit`)                                     |
 * | positive, `staleTtlMs` ≤ age < `maxTtlMs`   | return it (`stale`) and start one background refresh  |
 * | negative, age < `negativeTtlMs`             | return `null` (`hit`)                                 |
 * | none, expired, or `forceRefresh`            | load, joining a load in flight (`miss` / `bypass`)    |
 *
 * Only values and authoritative not-founds (`value: null`) are stored; a
 * load that throws is never cached, so the next call loads again. A failed
 * background refresh leaves the stale entry served until `maxTtlMs`; a
 * refresh that finds nothing replaces it with a negative entry. A store that
 * fails to read or write is treated as a miss or skipped: the cache degrades
 * to no caching rather than failing resolutions. `purge()` and `clear()`
 * pass store errors to their caller.
 *
 * Memory: besides the store, the cache holds one record per load in flight
 * and one per background refresh (at most `maxConcurrentRefreshes`); both
 * are dropped when the load settles. No timers are used.
 */
export class ResolutionCache<V> implements LookupCache<V> {
  readonly caching = true;
  readonly #store: CacheStore<V>;
  readonly #staleTtlMs: number;
  readonly #maxTtlMs: number;
  readonly #negativeTtlMs: number;
  readonly #maxConcurrentRefreshes: number;
  readonly #refreshClaimTtlMs: number;
  readonly #now: () => number;

  /** Loads in flight whose result may still be written, by key. */
  readonly #flights = new Map<string, Flight<V>>();
  /** Keys with a background refresh claiming or loading. */
  readonly #refreshing = new Set<string>();
  /** Store writes in progress, awaited by `close()`. */
  readonly #writes = new Set<Promise<void>>();
  #closed = false;
  #closing: Promise<void> | undefined;
  /** Removes this cache's listener from a shared store (`CacheStore.onInvalidate`). */
  readonly #stopListening: (() => void) | undefined;

  #hits = 0;
  #staleHits = 0;
  #negativeHits = 0;
  #misses = 0;
  #coalesced = 0;
  #refreshes = 0;
  #refreshErrors = 0;

  /**
   * @param options store, TTLs, refresh cap and clock; every field is optional
   * @throws InvalidOptionsError naming the first offending option
   */
  constructor(options?: ResolutionCacheOptions<V>) {
    const resolved = resolveResolutionCacheOptions<V>(options);
    this.#store = resolved.store;
    this.#staleTtlMs = resolved.staleTtlMs;
    this.#maxTtlMs = resolved.maxTtlMs;
    this.#negativeTtlMs = resolved.negativeTtlMs;
    this.#maxConcurrentRefreshes = resolved.maxConcurrentRefreshes;
    this.#refreshClaimTtlMs = resolved.refreshClaimTtlMs;
    this.#now = resolved.now;
    // A shared store reports purges made by other processes; they detach
    // loads in flight here exactly like a local purge() or clear().
    this.#stopListening = this.#store.onInvalidate?.((key) => {
      if (key === undefined) this.#detachFlights();
      else this.#detachFlight(key);
    });
  }

  /**
   * Look `key` up, loading it with `load` when the cache has no usable
   * entry (see the class table). Concurrent callers of the same key share
   * one `load()`; each caller's `signal` cancels only its own wait.
   *
   * @param key a normalized DID or handle
   * @param load fetches the key from its origin; throws on any failure that
   *   is not an authoritative not-found
   * @returns the value (`null` = not found) and where it came from
   * @throws whatever `load` threw (never cached); `AbortError` when `signal`
   *   aborts, with the signal's reason as `cause`; `CacheClosedError` after `close()`
   */
  resolve(key: string, load: CacheLoader<V>, options: CacheResolveOptions = {}): Promise<CacheResolveResult<V>> {
    const { signal, forceRefresh = false } = options;
    if (signal?.aborted) return Promise.reject(abortError(signal));
    if (this.#closed) return Promise.reject(new CacheClosedError('the cache is closed'));
    return untilAborted(this.#resolve(key, load, forceRefresh, signal), signal, abortError);
  }

  /**
   * The cache-hit path without a promise: a fresh entry (positive or
   * negative) the store holds in this process (`CacheStore.peek`), counted
   * as a hit just as `resolve()` counts it. `undefined` whenever
   * `resolve()` has more to do (no entry held here, a stale entry to
   * refresh, an expired one, a store without `peek`, a closed cache): the
   * caller then calls `resolve()`, and nothing was counted. A store whose
   * `peek` throws is treated as not holding the key.
   *
   * @param now a reading of this cache's clock (its `now` option) taken in
   *   the same synchronous turn; the store and the freshness decision both
   *   use it. Default: read the clock once here.
   */
  peekFresh(key: string, now?: number): StoredEntry<V> | undefined {
    const store = this.#store;
    if (this.#closed || store.peek === undefined) return undefined;
    const at = now ?? this.#now();
    let entry: StoredEntry<V> | undefined;
    try {
      entry = store.peek(key, at);
    } catch {
      return undefined;
    }
    if (entry === undefined || this.#freshness(entry, at) !== 'fresh') return undefined;
    if (entry.value === null) this.#negativeHits++;
    else this.#hits++;
    return entry;
  }

  /**
   * Drop `key` from the store. A load for `key` already in flight still
   * settles its waiters but no longer writes its (possibly outdated) result,
   * and later callers start a new load instead of joining it.
   *
   * @throws the store's error if the delete fails
   */
  async purge(key: string): Promise<void> {
    this.#detachFlight(key);
    if (this.#closed) return;
    await this.#store.delete(key);
  }

  /**
   * Drop every entry. Loads in flight settle their waiters but write
   * nothing. Counters are cumulative and are not reset.
   *
   * @throws the store's error if clearing fails
   */
  async clear(): Promise<void> {
    this.#detachFlights();
    if (this.#closed) return;
    await this.#store.clear();
  }

  /**
   * Like `clear()`, but a shared store only drops this process's tier
   * (`CacheStore.clearLocal`), so freeing one process's memory never
   * empties a fleet's cache.
   */
  async clearLocal(): Promise<void> {
    this.#detachFlights();
    if (this.#closed) return;
    await (this.#store.clearLocal ? this.#store.clearLocal() : this.#store.clear());
  }

  /**
   * Stop caching: later `resolve()` calls reject with `CacheClosedError`;
   * loads in flight settle their waiters but write nothing; background
   * refreshes start no new load. Waits for store writes already issued,
   * then closes the store. Idempotent: every call returns the same promise.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      this.#stopListening?.();
      this.#detachFlights();
      await Promise.all(this.#writes);
      await this.#store.close?.();
    })();
    return this.#closing;
  }

  /** A snapshot of the policy counters and the store's gauges. */
  stats(): CacheStats {
    return {
      ...this.#store.stats(),
      hits: this.#hits,
      staleHits: this.#staleHits,
      negativeHits: this.#negativeHits,
      misses: this.#misses,
      coalesced: this.#coalesced,
      refreshes: this.#refreshes,
      refreshErrors: this.#refreshErrors,
    };
  }

  /** Gauge: loads in flight that may still write their result (foreground and background). */
  get loadsInFlight(): number {
    return this.#flights.size;
  }

  /** Gauge: background refreshes claiming or loading (at most `maxConcurrentRefreshes`). */
  get refreshesInFlight(): number {
    return this.#refreshing.size;
  }

  async #resolve(
    key: string,
    load: CacheLoader<V>,
    forceRefresh: boolean,
    signal: AbortSignal | undefined,
  ): Promise<CacheResolveResult<V>> {
    if (!forceRefresh) {
      const entry = await this.#read(key);
      if (entry !== undefined) {
        switch (this.#freshness(entry, this.#now())) {
          case 'fresh':
            if (entry.value === null) this.#negativeHits++;
            else this.#hits++;
            return { value: entry.value, cache: 'hit' };
          case 'stale':
            this.#staleHits++;
            this.#startRefresh(key, load);
            return { value: entry.value, cache: 'stale' };
          case 'expired':
            break;
        }
      }
      // The caller may have gone while the store was read; its rejection
      // is already delivered, so start no load on its behalf.
      if (signal?.aborted) throw abortError(signal);
      if (this.#closed) throw new CacheClosedError('the cache is closed');
    }
    let flight = this.#flights.get(key);
    if (flight !== undefined) {
      this.#coalesced++;
    } else {
      this.#misses++;
      flight = this.#startLoad(key, load);
    }
    const value = await flight.promise;
    return { value, cache: forceRefresh ? 'bypass' : 'miss' };
  }

  /** The policy's one freshness decision, at `now` (this cache's clock). A clock that went backwards counts as age 0. */
  #freshness(entry: StoredEntry<V>, now: number): 'fresh' | 'stale' | 'expired' {
    const age = Math.max(0, now - entry.fetchedAt);
    if (age >= this.#maxTtlMs) return 'expired';
    if (entry.value === null) return age < this.#negativeTtlMs ? 'fresh' : 'expired';
    return age < this.#staleTtlMs ? 'fresh' : 'stale';
  }

  async #read(key: string): Promise<StoredEntry<V> | undefined> {
    try {
      return await this.#store.get(key);
    } catch {
      return undefined;
    }
  }

  /**
   * Start a load for `key` and register it so later callers join it.
   * `foreground` loads follow a miss: when they throw, the store hears of
   * it (`CacheStore.loadFailed`). A failed background refresh keeps its claim.
   */
  #startLoad(key: string, load: CacheLoader<V>, foreground = true): Flight<V> {
    const flight: Flight<V> = { promise: Promise.resolve(null), current: true };
    this.#flights.set(key, flight);
    flight.promise = this.#runLoad(key, flight, load, foreground);
    // Every waiter handles the rejection; this keeps a load nobody awaits
    // any more (all waiters aborted) from becoming an unhandled rejection.
    flight.promise.catch(ignore);
    return flight;
  }

  async #runLoad(key: string, flight: Flight<V>, load: CacheLoader<V>, foreground: boolean): Promise<V | null> {
    try {
      // Called a microtask later, so the flight is registered before any
      // of the loader's code runs, and a loader that throws synchronously
      // rejects like any other.
      const result = await Promise.resolve().then(() => load());
      if (typeof result !== 'object' || result === null || result.value === undefined) {
        throw new TypeError('a cache loader must resolve to { value, size } (value null for not found)');
      }
      if (flight.current) await this.#write(key, result.value, result.size);
      return result.value;
    } catch (error) {
      // Nothing will be stored for this miss: a shared store lets the
      // processes waiting for this key's value stop waiting.
      if (foreground && flight.current && this.#store.loadFailed !== undefined && !this.#closed) {
        void this.#store.loadFailed(key).catch(ignore);
      }
      throw error;
    } finally {
      if (this.#flights.get(key) === flight) this.#flights.delete(key);
    }
  }

  /** Store a load's result; a store failure only means the result is not cached. */
  async #write(key: string, value: V | null, size: number): Promise<void> {
    const write = (async () => {
      if (value === null && this.#negativeTtlMs === 0) {
        await this.#store.delete(key);
      } else {
        await this.#store.set(key, { value, fetchedAt: this.#now(), size });
      }
    })().catch(ignore);
    this.#writes.add(write);
    try {
      await write;
    } finally {
      this.#writes.delete(write);
    }
  }

  /** Start one background refresh of a stale key, unless one runs or the cap is reached. */
  #startRefresh(key: string, load: CacheLoader<V>): void {
    if (
      this.#closed ||
      this.#flights.has(key) ||
      this.#refreshing.has(key) ||
      this.#refreshing.size >= this.#maxConcurrentRefreshes
    ) {
      return;
    }
    this.#refreshing.add(key);
    void this.#refresh(key, load).finally(() => this.#refreshing.delete(key));
  }

  /** Never rejects: a refresh failure is counted and the stale entry stays. */
  async #refresh(key: string, load: CacheLoader<V>): Promise<void> {
    let granted = true;
    if (this.#store.claimRefresh !== undefined) {
      try {
        granted = await this.#store.claimRefresh(key, this.#refreshClaimTtlMs);
      } catch {
        granted = false;
      }
    }
    // A foreground load may have started while the claim was pending.
    if (!granted || this.#closed || this.#flights.has(key)) return;
    this.#refreshes++;
    try {
      await this.#startLoad(key, load, false).promise;
    } catch {
      this.#refreshErrors++;
    }
  }

  /** Make the load in flight for `key`, if any, write nothing, and let later callers start a fresh one. */
  #detachFlight(key: string): void {
    const flight = this.#flights.get(key);
    if (flight !== undefined) {
      flight.current = false;
      this.#flights.delete(key);
    }
  }

  /** Make every load in flight write nothing, and let later callers start fresh ones. */
  #detachFlights(): void {
    for (const flight of this.#flights.values()) flight.current = false;
    this.#flights.clear();
  }
}

/** How a caller's abort rejects, with a cache or without: `AbortError` carrying the signal's reason. */
export function abortError(signal: AbortSignal): AbortError {
  return new AbortError('the caller stopped waiting for the resolution', { cause: signal.reason });
}
