import { randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { DidDocument } from '../document/did-document.js';
import { InvalidOptionsError } from '../errors.js';
import { normalizeHandle } from '../syntax/handle.js';
import { CacheClosedError } from './errors.js';
import { MemoryCacheStore } from './memory.js';
import type { IdentityCacheOptions } from './policy.js';
import { RedisConnection, unavailable } from './redis-connection.js';
import { CLAIM, decodeEntry, DROP, encodeEntry, entryKeys, PURGE, READ, RELEASE, storePattern, WRITE, type EntryKeys } from './redis-layout.js';
import { resolveRedisCacheOptions, STORE_NAME_PATTERN, type RedisCacheOptions, type ResolvedRedisCacheOptions } from './redis-options.js';
import type { CacheStore, CacheStoreStats, StoredEntry } from './types.js';

export { redisCacheOptionSpec, resolveRedisCacheOptions, type RedisCacheOptions, type ResolvedRedisCacheOptions } from './redis-options.js';

/**
 * A fleet-wide identity cache on Redis (single node or Redis Cluster), on
 * the official `redis` client (node-redis). Two tiers: the bounded
 * in-process LRU (`MemoryCacheStore`, L1) in front, Redis (L2) behind it,
 * shared by every process of a fleet. `docs/redis-cache.md` has the key
 * layout, locks, pub/sub messages and failure modes. Options are in
 * `redis-options.ts`, keys, value format and Lua scripts in
 * `redis-layout.ts`, the connections (start-up, backoff, timeouts,
 * subscription) in `redis-connection.ts`, on the client that
 * `redis-client.ts` loads. They are reached only through the
 * `atresolve/redis` subpath, so the main entry never loads the client.
 */

/** Figures of one `RedisCache` (both stores and the connection). Counters are cumulative. */
export interface RedisCacheStats {
  /** Gauge: the command connection (every node, in a cluster) is up. */
  connected: boolean;
  /** Gauge: the invalidation channel is subscribed. */
  subscribed: boolean;
  /** Gauge: Redis commands sent and not yet answered (including those given up on after the timeout). */
  pendingCommands: number;
  /** Counter: Redis operations that failed, timed out or were refused while Redis was unreachable (every store, plus pub/sub). */
  redisErrors: number;
  /** Counter: connection errors reported by the client (refused, reset, …); one outage usually reports several. */
  connectionErrors: number;
  /** Counter: L1 misses answered by Redis. */
  l2Hits: number;
  /** Counter: L1 misses Redis had no entry for (this process took the fill lock and loads). */
  l2Misses: number;
  /** Counter: misses that waited for another process's fill. */
  fillWaits: number;
  /** Counter: of those, the waits that got the value from Redis. */
  fillWaitHits: number;
  /** Counter: of those, the waits that ended without a value (timeout, purge, failed holder); the caller then loads. */
  fillWaitMisses: number;
  /** Counter: refresh claims granted (this process refreshes the key for the fleet). */
  claimsGranted: number;
  /** Counter: refresh claims refused because another process holds the key's lock. */
  claimsRefused: number;
  /** Counter: stale hits that found a newer entry in Redis (another process refreshed it) instead of refreshing. */
  peerRefreshes: number;
  /** Counter: entries written to Redis. */
  writes: number;
  /** Counter: writes skipped because another process holds the key's lock or the key was purged meanwhile. */
  writesSkipped: number;
  /** Counter: purges and clears this process published. */
  invalidationsSent: number;
  /** Counter: purges and clears received from other processes (each dropped L1 entries). */
  invalidationsReceived: number;
  /** Counter: times L1 was emptied because the invalidation channel had been down (purges may have been missed). */
  resyncs: number;
  /** Counter: entries in Redis that could not be decoded (treated as misses). */
  badEntries: number;
}


/** What the `RedisCache` needs of any of its stores, whatever their value type. */
interface StoreRef {
  readonly name: string;
  _countError(): void;
  _detach(key: string): void;
  _invalidated(key: string | undefined): Promise<void>;
  clearLocal(): Promise<void>;
}

/** One process waiting for another process to fill a key. */
interface FillWaiter {
  done: boolean;
  /** Start the `fillWaitMs` timer (once Redis said another process loads the key). */
  arm(): void;
  wake(): void;
  promise: Promise<void>;
}

/**
 * One store of a `RedisCache` (`did`, `handle`, or a named one): a
 * `CacheStore` with the in-process LRU in front of Redis. Obtain it from
 * the owning `RedisCache`; it shares that cache's connections.
 *
 * - `get`: L1, else Redis (one round trip, coalesced per key). On a
 *   fleet-wide miss the process takes the key's fill lock and loads it; if
 *   another process holds the lock, it waits up to `fillWaitMs` for that
 *   process's value, then loads itself.
 * - `set`: L1, then Redis with `PX` = the TTL left at the entry's age,
 *   unless another process holds the key's lock or the key was purged since
 *   this process's load began. Never throws.
 * - `delete`: L1, then Redis, then publishes the purge so every process drops
 *   its L1 entry (and detaches its loads in flight). Throws
 *   `CacheUnavailableError` when Redis could not be reached (L1 is dropped anyway).
 * - `clear`: the same for every key of this store, fleet-wide.
 * - `claimRefresh`: the fleet-wide refresh lock; answers `false` (no refresh
 *   needed) when Redis already holds a newer entry than L1, which it copies
 *   into L1. Grants the claim when Redis is unreachable (each process then
 *   refreshes on its own, as without Redis).
 *
 * Values are stored as JSON: `V` must survive `JSON.stringify`/`JSON.parse`.
 */
export class RedisCacheStore<V> implements CacheStore<V> {
  /** The store's name, part of its keys (`<keyPrefix><name>:{<key>}`). */
  readonly name: string;
  readonly #owner: RedisCache;
  readonly #l1: MemoryCacheStore<V>;
  readonly #listeners = new Set<(key: string | undefined) => void>();
  #redisErrors = 0;
  #closed = false;

  /** @internal created by `RedisCache.store()` */
  constructor(owner: RedisCache, name: string, l1: MemoryCacheStore<V>) {
    this.#owner = owner;
    this.name = name;
    this.#l1 = l1;
  }

  /** The entry from L1, else from Redis (copied into L1), else `undefined`. */
  async get(key: string): Promise<StoredEntry<V> | undefined> {
    const local = await this.#l1.get(key);
    if (local !== undefined || this.#closed) return local;
    return this.#owner._read(this, key);
  }

  /** The entry from L1, synchronously; `undefined` when L1 does not hold it (Redis may: see `get()`). */
  peek(key: string, now?: number): StoredEntry<V> | undefined {
    return this.#l1.peek(key, now);
  }

  /** Store in L1 and Redis (best effort: a Redis failure is counted, never thrown). */
  async set(key: string, entry: StoredEntry<V>): Promise<void> {
    await this.#l1.set(key, entry);
    if (!this.#closed) await this.#owner._write(this, key, entry);
  }

  /**
   * Drop `key` in L1 and Redis, fleet-wide.
   * @throws CacheUnavailableError when Redis could not be reached (L1 is dropped anyway)
   */
  async delete(key: string): Promise<void> {
    await this.#l1.delete(key);
    if (!this.#closed) await this.#owner._purge(this, key);
  }

  /**
   * Drop every entry of this store in L1 and Redis, fleet-wide (every
   * process empties its L1 for this store).
   * @throws CacheUnavailableError when Redis could not be reached (L1 is emptied anyway)
   */
  async clear(): Promise<void> {
    await this.#l1.clear();
    if (!this.#closed) await this.#owner._clear(this);
  }

  /** The fleet-wide refresh lock (see the class doc). */
  claimRefresh(key: string, ttlMs: number): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    return this.#owner._claim(this, key, ttlMs);
  }

  /**
   * The load after this process's miss on `key` failed: release the fill
   * lock so that processes waiting for the key load it at once.
   */
  loadFailed(key: string): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return this.#owner._release(this, key);
  }

  /** Called with a key another process purged, or `undefined` when it cleared the store. */
  onInvalidate(listener: (key: string | undefined) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** L1's gauges, limits and evictions, plus this store's Redis errors. */
  stats(): CacheStoreStats {
    return { ...this.#l1.stats(), redisErrors: this.#redisErrors };
  }

  /**
   * Stop using Redis from this store. When every store the `RedisCache`
   * handed out is closed, the `RedisCache` closes its connections (so
   * `IdResolver.close()` releases everything). Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#listeners.clear();
    await this.#owner._storeClosed(this);
  }

  /** @internal */
  get _l1(): MemoryCacheStore<V> {
    return this.#l1;
  }

  /** Empty this process's L1 only; Redis and other processes keep their entries. */
  clearLocal(): Promise<void> {
    return this.#l1.clear();
  }

  /** @internal */
  _countError(): void {
    this.#redisErrors++;
  }

  /** @internal another process invalidated `key` (or every key): drop L1 and detach loads. */
  async _invalidated(key: string | undefined): Promise<void> {
    if (key === undefined) await this.#l1.clear();
    else await this.#l1.delete(key);
    this.#notify(key);
  }

  /** @internal this process's load of `key` began before a purge it has not heard of yet: detach it. */
  _detach(key: string): void {
    this.#notify(key);
  }

  #notify(key: string | undefined): void {
    for (const listener of this.#listeners) {
      try {
        listener(key);
      } catch {
        // A listener's failure must not stop the others.
      }
    }
  }
}

/**
 * The shared identity cache of a fleet: owns the Redis connections (a
 * `RedisConnection`: a command connection, or a cluster client, plus one
 * subscriber for invalidations) and hands out two stores for the resolver.
 *
 * ```ts
 * const redisCache = new RedisCache({ url: 'redis://cache.internal:6379' });
 * const resolver = new IdResolver({ cache: redisCache.identityCacheOptions() });
 * // … on a firehose #identity event:
 * await resolver.purge(did);            // every process drops it
 * await resolver.close();               // closes redisCache too
 * ```
 *
 * Fail-open: every Redis command has a timeout (`commandTimeoutMs`);
 * commands fail at once while Redis is unreachable (no offline queue) or
 * when `maxPendingCommands` are outstanding; a failed read is an L1-only
 * miss, a failed write is skipped, and both count in `redisErrors`. The
 * client reconnects with exponential backoff; nothing blocks the event loop.
 * Only `purge`/`clear` report Redis failures to their caller.
 *
 * The constructor starts connecting; `ready()` resolves once the cache is
 * connected and subscribed (optional: the cache works, degraded, before).
 */
export class RedisCache {
  readonly #o: ResolvedRedisCacheOptions;
  /** Distinguishes this process's locks and messages from other processes'. */
  readonly #token = randomBytes(9).toString('base64url');
  readonly #channel: string;
  readonly #stores = new Map<string, StoreRef>();
  readonly #openStores = new Set<StoreRef>();
  /** L2 reads in flight, by full value key, shared by concurrent `get()`s. */
  readonly #reads = new Map<string, Promise<StoredEntry<unknown> | undefined>>();
  /** Keys this process waits on for another process's fill, by full value key. */
  readonly #waiters = new Map<string, FillWaiter>();
  /** Operations in flight, awaited by `close()`. */
  readonly #ops = new Set<Promise<unknown>>();
  /**
   * The lock token this process took for a key (fill lock or refresh
   * claim), by full value key, until its load writes, fails or is purged.
   * Bounded: an entry whose load never came back (a caller that gave up)
   * only ages out, and it expires with its lock.
   */
  readonly #held = new LRUCache<string, { token: string; until: number }>({ max: 16_384 });
  #tokens = 0;

  readonly #connection: RedisConnection;
  #closed = false;
  #closing: Promise<void> | undefined;

  #redisErrors = 0;
  #l2Hits = 0;
  #l2Misses = 0;
  #fillWaits = 0;
  #fillWaitHits = 0;
  #fillWaitMisses = 0;
  #claimsGranted = 0;
  #claimsRefused = 0;
  #peerRefreshes = 0;
  #writes = 0;
  #writesSkipped = 0;
  #invalidationsSent = 0;
  #invalidationsReceived = 0;
  #resyncs = 0;
  #badEntries = 0;

  /**
   * @param options connection, bounds, TTLs and timeouts; every field is optional
   * @throws InvalidOptionsError naming the first offending option
   */
  constructor(options?: RedisCacheOptions) {
    this.#o = resolveRedisCacheOptions(options);
    this.#channel = `${this.#o.keyPrefix}events`;
    this.#connection = new RedisConnection(this.#o, this.#channel, {
      onMessage: (message) => this.#onMessage(message),
      // Purges and fill messages may be missed until the link is back:
      // waiters stop waiting (they load themselves).
      onLinkLost: () => {
        for (const waiter of this.#waiters.values()) waiter.wake();
      },
      onMissedMessages: () => this.#resync(),
    });
  }

  /** The store for DID documents (pass as the resolver's `cache.didStore`). */
  get did(): RedisCacheStore<DidDocument> {
    return this.store<DidDocument>('did');
  }

  /** The store for handle → DID answers (pass as the resolver's `cache.handleStore`). */
  get handle(): RedisCacheStore<string> {
    return this.store<string>('handle');
  }

  /**
   * The store named `name` (created on first use, then the same instance).
   * `did` and `handle` are the resolver's; other names are for other values
   * that should share this cache's connection and policy.
   *
   * @throws InvalidOptionsError for a name that is not 1–32 of `[a-z0-9_-]`
   * @throws CacheClosedError after `close()`
   */
  store<V>(name: string): RedisCacheStore<V> {
    let store = this.#stores.get(name) as RedisCacheStore<V> | undefined;
    if (store === undefined) {
      if (typeof name !== 'string' || !STORE_NAME_PATTERN.test(name)) {
        throw new InvalidOptionsError('redisCache.store', `expected 1-32 of [a-z0-9_-], got '${String(name)}'`);
      }
      if (this.#closed) throw new CacheClosedError('the Redis cache is closed');
      const l1 = new MemoryCacheStore<V>({
        maxEntries: this.#o.maxEntries,
        maxBytes: this.#o.maxBytes,
        maxTtlMs: this.#o.maxTtlMs,
        now: this.#o.now,
      });
      store = new RedisCacheStore<V>(this, name, l1);
      this.#stores.set(name, store);
      this.#openStores.add(store);
    }
    return store;
  }

  /**
   * The resolver's `cache` option for this fleet: both stores and the
   * freshness TTLs this cache was given, so every process computes
   * freshness the same way.
   *
   * ```ts
   * new IdResolver({ cache: { ...redisCache.identityCacheOptions(), maxConcurrentRefreshes: 64 } });
   * ```
   */
  identityCacheOptions(): IdentityCacheOptions {
    return {
      didStore: this.did,
      handleStore: this.handle,
      staleTtlMs: this.#o.staleTtlMs,
      maxTtlMs: this.#o.maxTtlMs,
      negativeTtlMs: this.#o.negativeTtlMs,
    };
  }

  /**
   * Drop a DID or a handle fleet-wide without an `IdResolver` (e.g. in a
   * firehose consumer that only invalidates): deletes it in Redis and
   * publishes the purge. Handles are lower-cased as the resolver does.
   * Loads in flight in this process's resolvers are detached by their own
   * `purge()`; prefer `IdResolver.purge()` in a process that resolves.
   *
   * @throws CacheUnavailableError when Redis could not be reached
   */
  async purge(didOrHandle: string): Promise<void> {
    if (typeof didOrHandle !== 'string' || didOrHandle.length === 0) return;
    if (didOrHandle.startsWith('did:')) await this.did.delete(didOrHandle);
    else await this.handle.delete(normalizeHandle(didOrHandle));
  }

  /**
   * Empty the in-process tier (L1) of every store, leaving Redis and the
   * other processes alone: the memory remedy for one process of a fleet.
   * `IdResolver.reset()` does the same through each store's `clearLocal()`;
   * `clear()` on a store is the one that empties Redis fleet-wide.
   */
  async clearLocal(): Promise<void> {
    await Promise.all([...this.#stores.values()].map((store) => store.clearLocal()));
  }

  /**
   * Resolves once the cache is connected and subscribed to invalidations
   * (at once if it already is); rejects with `CacheClosedError` if the
   * cache is closed first. It never times out on its own: race it with a
   * timer to bound start-up, and remember the cache works without Redis.
   */
  ready(): Promise<void> {
    return this.#connection.ready();
  }

  /** A snapshot of the connection state and counters. */
  stats(): RedisCacheStats {
    return {
      connected: this.#connection.connected,
      subscribed: this.#connection.subscribed,
      pendingCommands: this.#connection.pendingCommands,
      redisErrors: this.#redisErrors,
      connectionErrors: this.#connection.connectionErrors,
      l2Hits: this.#l2Hits,
      l2Misses: this.#l2Misses,
      fillWaits: this.#fillWaits,
      fillWaitHits: this.#fillWaitHits,
      fillWaitMisses: this.#fillWaitMisses,
      claimsGranted: this.#claimsGranted,
      claimsRefused: this.#claimsRefused,
      peerRefreshes: this.#peerRefreshes,
      writes: this.#writes,
      writesSkipped: this.#writesSkipped,
      invalidationsSent: this.#invalidationsSent,
      invalidationsReceived: this.#invalidationsReceived,
      resyncs: this.#resyncs,
      badEntries: this.#badEntries,
    };
  }

  /**
   * Close the connections: waits for operations in flight (each bounded by
   * `commandTimeoutMs`), wakes every fill waiter (they load themselves),
   * then destroys the clients. Later operations of the stores use L1 only.
   * Idempotent: every call returns the same promise.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      this.#connection.stop();
      for (const waiter of this.#waiters.values()) waiter.wake();
      await Promise.allSettled([...this.#ops]);
      this.#connection.destroy();
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /* ---------------------------- store operations ---------------------------- */

  /** @internal an L1 miss: read Redis, coalesced per key. */
  _read<V>(store: RedisCacheStore<V>, key: string): Promise<StoredEntry<V> | undefined> {
    if (this.#closed) return Promise.resolve(undefined);
    const keys = this.#keys(store, key);
    let read = this.#reads.get(keys.value);
    if (read === undefined) {
      read = this.#track(this.#readShared(store, key, keys));
      this.#reads.set(keys.value, read);
      const done = read;
      const forget = (): void => {
        if (this.#reads.get(keys.value) === done) this.#reads.delete(keys.value);
      };
      done.then(forget, forget);
    }
    return read as Promise<StoredEntry<V> | undefined>;
  }

  async #readShared<V>(store: RedisCacheStore<V>, key: string, keys: EntryKeys): Promise<StoredEntry<V> | undefined> {
    // Registered before the command is sent, so a fill message that arrives
    // before the reply is not lost.
    const waiter = this.#fillWaiter(keys.value);
    try {
      const held = this.#heldToken(keys.value);
      const reply = (await this.#connection.eval(READ, RedisCache.#all(keys), [
        held,
        this.#newToken(),
        String(this.#o.fillLockTtlMs),
        waiter ? String(this.#o.fillWaitMs) : '0',
      ])) as unknown[];
      switch (reply[0]) {
        case 1:
          this.#l2Hits++;
          return await this.#adopt(store, key, reply[1]);
        case 2: {
          this.#l2Misses++;
          const token = String(reply[1]);
          // This process took a new lock while it held another one for the
          // key: its old lock was purged (or expired) under a load that may
          // still run here. Detach that load, as the purge message will.
          if (held !== '' && token !== held) store._detach(key);
          this.#hold(keys.value, token, this.#o.fillLockTtlMs);
          return undefined;
        }
        default:
          if (waiter === undefined) return undefined;
      }
      this.#fillWaits++;
      waiter.arm();
      await waiter.promise;
      if (this.#closed) {
        this.#fillWaitMisses++;
        return undefined;
      }
      const entry = await this.#adopt(store, key, await this.#connection.send(keys.value, ['GET', keys.value]));
      if (entry === undefined) this.#fillWaitMisses++;
      else this.#fillWaitHits++;
      return entry;
    } catch {
      this.#countError(store);
      return undefined;
    } finally {
      if (waiter !== undefined) {
        waiter.wake();
        if (this.#waiters.get(keys.value) === waiter) this.#waiters.delete(keys.value);
      }
    }
  }

  /** Decode an entry read from Redis and copy it into L1; `undefined` when absent, malformed or too old. */
  async #adopt<V>(store: RedisCacheStore<V>, key: string, data: unknown): Promise<StoredEntry<V> | undefined> {
    if (data === null || data === undefined) return undefined;
    const entry = decodeEntry<V>(data);
    if (entry === undefined) {
      this.#badEntries++;
      return undefined;
    }
    if (this.#o.now() - entry.fetchedAt >= this.#o.maxTtlMs) return undefined;
    await store._l1.set(key, entry);
    return entry;
  }

  /** A waiter for a fill of `valueKey` by another process, or `undefined` when waiting is off or at its cap. */
  #fillWaiter(valueKey: string): FillWaiter | undefined {
    if (this.#o.fillWaitMs === 0 || this.#waiters.size >= this.#o.maxFillWaiters || this.#waiters.has(valueKey)) return undefined;
    let wake!: () => void;
    const promise = new Promise<void>((resolve) => {
      wake = resolve;
    });
    let timer: NodeJS.Timeout | undefined;
    const waiter: FillWaiter = {
      done: false,
      promise,
      arm: () => {
        if (waiter.done || timer !== undefined) return;
        timer = setTimeout(() => waiter.wake(), this.#o.fillWaitMs);
        timer.unref();
      },
      wake: () => {
        if (waiter.done) return;
        waiter.done = true;
        clearTimeout(timer);
        wake();
      },
    };
    this.#waiters.set(valueKey, waiter);
    return waiter;
  }

  /** @internal store `entry` in Redis, unless another process holds the key's lock or it was purged since. */
  _write<V>(store: RedisCacheStore<V>, key: string, entry: StoredEntry<V>): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return this.#track(this.#writeShared(store, key, entry));
  }

  async #writeShared<V>(store: RedisCacheStore<V>, key: string, entry: StoredEntry<V>): Promise<void> {
    const keys = this.#keys(store, key);
    const fill = this.#message('f', store, key);
    const size = Number.isFinite(entry.size) ? Math.max(1, Math.ceil(entry.size)) : Infinity;
    const age = Math.max(0, this.#o.now() - entry.fetchedAt);
    const ttl = Math.ceil((entry.value === null ? this.#o.negativeTtlMs : this.#o.maxTtlMs) - age);
    const held = this.#heldToken(keys.value);
    this.#held.delete(keys.value);
    try {
      if (size > this.#o.maxBytes || ttl <= 0) {
        await this.#connection.eval(DROP, RedisCache.#all(keys), [held, this.#channel, fill]);
        return;
      }
      const written = await this.#connection.eval(WRITE, RedisCache.#all(keys), [held, encodeEntry(entry, size), String(ttl), this.#channel, fill]);
      if (written === 1) this.#writes++;
      else this.#writesSkipped++;
    } catch {
      this.#countError(store);
    }
  }

  /** @internal free this process's fill lock on `key` and wake its waiters. */
  _release<V>(store: RedisCacheStore<V>, key: string): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return this.#track(
      (async () => {
        const { value, lock, wait } = this.#keys(store, key);
        const held = this.#heldToken(value);
        this.#held.delete(value);
        if (held === '') return;
        try {
          await this.#connection.eval(RELEASE, [lock, wait], [held, this.#channel, this.#message('f', store, key)]);
        } catch {
          this.#countError(store);
        }
      })(),
    );
  }

  /** @internal delete `key` in Redis, mark it purged, publish the purge. */
  _purge<V>(store: RedisCacheStore<V>, key: string): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return this.#track(
      (async () => {
        const keys = this.#keys(store, key);
        this.#held.delete(keys.value);
        try {
          await this.#connection.eval(PURGE, RedisCache.#all(keys), [String(this.#o.purgeGuardMs), this.#channel, this.#message('p', store, key)]);
          this.#invalidationsSent++;
        } catch (error) {
          this.#countError(store);
          throw unavailable(`could not purge '${key}' in Redis`, error);
        }
      })(),
    );
  }

  /** @internal delete every key of `store` on every node, then publish the clear. */
  _clear<V>(store: RedisCacheStore<V>): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return this.#track(
      (async () => {
        this.#forgetHeld(`${this.#o.keyPrefix}${store.name}:{`);
        try {
          const pattern = storePattern(this.#o.keyPrefix, store.name);
          for (const node of await this.#connection.nodes()) {
            let cursor = '0';
            do {
              const [next, found] = (await node(['SCAN', cursor, 'MATCH', pattern, 'COUNT', '500'])) as [string, string[]];
              cursor = next;
              // One key per UNLINK: keys on one node may be in different slots.
              await Promise.all(found.map((k) => node(['UNLINK', k])));
            } while (cursor !== '0');
          }
          await this.#connection.send(undefined, ['PUBLISH', this.#channel, this.#message('c', store)]);
          this.#invalidationsSent++;
        } catch (error) {
          this.#countError(store);
          throw unavailable(`could not clear the '${store.name}' cache in Redis`, error);
        }
      })(),
    );
  }

  /** @internal the fleet-wide refresh lock (see `RedisCacheStore`). */
  _claim<V>(store: RedisCacheStore<V>, key: string, ttlMs: number): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    return this.#track(
      (async () => {
        const keys = this.#keys(store, key);
        const local = await store._l1.get(key);
        try {
          const claimTtl = Math.max(1, Math.ceil(ttlMs));
          const reply = (await this.#connection.eval(CLAIM, [keys.value, keys.lock], [
            this.#heldToken(keys.value),
            this.#newToken(),
            String(claimTtl),
            String(local === undefined ? -1 : Math.floor(local.fetchedAt)),
          ])) as unknown[];
          if (reply[0] === 1) {
            this.#hold(keys.value, String(reply[1]), claimTtl);
            this.#claimsGranted++;
            return true;
          }
          if (reply[1] !== undefined && (await this.#adopt(store, key, reply[1])) !== undefined) this.#peerRefreshes++;
          else this.#claimsRefused++;
          return false;
        } catch {
          // Fail open: without Redis each process refreshes on its own.
          this.#countError(store);
          return true;
        }
      })(),
    );
  }

  /** @internal a store was closed; close the connections once every store is. */
  async _storeClosed(store: StoreRef): Promise<void> {
    this.#openStores.delete(store);
    if (this.#openStores.size === 0) await this.close();
  }

  /* --------------------------- locks and messages --------------------------- */

  /** A fresh lock token: this process's token plus a sequence number, so each load's lock is its own. */
  #newToken(): string {
    return `${this.#token}.${(++this.#tokens).toString(36)}`;
  }

  /** The token of the lock this process holds on `valueKey`, or '' (none, or expired). */
  #heldToken(valueKey: string): string {
    const held = this.#held.get(valueKey);
    if (held === undefined) return '';
    if (held.until > performance.now()) return held.token;
    this.#held.delete(valueKey);
    return '';
  }

  #hold(valueKey: string, token: string, ttlMs: number): void {
    this.#held.set(valueKey, { token, until: performance.now() + ttlMs });
  }

  /** Forget the locks this process holds on keys starting with `prefix` (a clear). */
  #forgetHeld(prefix: string): void {
    for (const valueKey of [...this.#held.keys()]) if (valueKey.startsWith(prefix)) this.#held.delete(valueKey);
  }

  #keys(store: StoreRef, key: string): EntryKeys {
    return entryKeys(this.#o.keyPrefix, store.name, key);
  }

  /** A pub/sub message: `[kind, sender, store, key?]` as JSON. */
  #message(kind: 'p' | 'c' | 'f', store: StoreRef, key?: string): string {
    return JSON.stringify(key === undefined ? [kind, this.#token, store.name] : [kind, this.#token, store.name, key]);
  }

  #countError(store: StoreRef | undefined): void {
    this.#redisErrors++;
    store?._countError();
  }

  #track<T>(promise: Promise<T>): Promise<T> {
    this.#ops.add(promise);
    void promise.then(
      () => this.#ops.delete(promise),
      () => this.#ops.delete(promise),
    );
    return promise;
  }

  /** The three keys of an entry, in the order the scripts take them. */
  static #all(keys: EntryKeys): string[] {
    return [keys.value, keys.lock, keys.wait];
  }

  /** The invalidation channel came back after an outage: purges may have been missed, so L1 starts over. */
  #resync(): void {
    this.#resyncs++;
    this.#held.clear();
    for (const store of this.#stores.values()) void store._invalidated(undefined);
  }

  /** A message on the invalidation channel. */
  #onMessage(message: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(message);
    } catch {
      return;
    }
    if (!Array.isArray(parsed) || parsed.length < 3) return;
    const [kind, sender, name, key] = parsed as unknown[];
    if (sender === this.#token || typeof name !== 'string') return;
    const store = this.#stores.get(name);
    if (store === undefined) return;
    const prefix = `${this.#o.keyPrefix}${name}:{`;
    if (kind === 'f' && typeof key === 'string') {
      this.#waiters.get(this.#keys(store, key).value)?.wake();
    } else if (kind === 'p' && typeof key === 'string') {
      this.#invalidationsReceived++;
      const valueKey = this.#keys(store, key).value;
      this.#held.delete(valueKey);
      void store._invalidated(key);
      this.#waiters.get(valueKey)?.wake();
    } else if (kind === 'c') {
      this.#invalidationsReceived++;
      this.#forgetHeld(prefix);
      void store._invalidated(undefined);
      for (const [valueKey, waiter] of this.#waiters) if (valueKey.startsWith(prefix)) waiter.wake();
    }
  }
}
