import type { RedisClientOptions } from 'redis';
import { InvalidOptionsError } from '../errors.js';
import { checkClock, DAY_MS, resolveOptions, type OptionSpec } from '../util/options.js';
import { memoryCacheStoreOptionSpec, type MemoryCacheStoreOptions } from './memory.js';
import { fitFreshnessTtls, resolutionCacheOptionSpec, type ResolutionCacheOptions } from './policy.js';

/**
 * Options of `RedisCache`. The in-process bounds (`maxEntries`, `maxBytes`,
 * per store) are `MemoryCacheStore`'s, with its defaults; the freshness
 * TTLs (`staleTtlMs`, `maxTtlMs`, `negativeTtlMs`) are `ResolutionCache`'s,
 * with its defaults and rule, and must be the ones the resolver uses: pass
 * `redisCache.identityCacheOptions()` as the resolver's `cache` option so
 * that they are. `maxTtlMs` also sets when a Redis key expires (`PX` =
 * `maxTtlMs` − the entry's age), so Redis memory is bounded by the
 * identities seen in one `maxTtlMs`; a not-found entry's key expires at
 * `negativeTtlMs`. An entry larger than `maxBytes` is stored in neither tier.
 */
export interface RedisCacheOptions
  extends Pick<MemoryCacheStoreOptions, 'maxEntries' | 'maxBytes'>,
    Pick<ResolutionCacheOptions<unknown>, 'staleTtlMs' | 'maxTtlMs' | 'negativeTtlMs'> {
  /**
   * The Redis server, `redis://[user:password@]host:port[/db]` or
   * `rediss://…` for TLS. Default `redis://127.0.0.1:6379` (node-redis's
   * default). Not allowed together with `clusterNodes`.
   */
  url?: string;
  /**
   * Root nodes of a Redis Cluster (`redis://host:port` each); when given,
   * the cache runs in cluster mode (`createCluster`). Default `[]`: a single
   * node at `url`. Give at least three so that discovery survives one node
   * being down.
   */
  clusterNodes?: string[];
  /**
   * Further node-redis client options (credentials, `socket.tls`, …), merged
   * under the ones this cache sets itself (`RESP: 2`, `disableOfflineQueue`,
   * `commandsQueueMaxLength`, `socket.connectTimeout`,
   * `socket.reconnectStrategy`), which always win because the failure
   * behaviour depends on them. In cluster mode they are the `defaults` of
   * every node connection. Default `{}`.
   */
  redis?: RedisClientOptions;
  /**
   * Prefix of every key and of the invalidation channel. Default
   * `atresolve:`; give each fleet (or environment) sharing one Redis its
   * own. Letters, digits and `:_.-/` only: it is also used in `SCAN MATCH`
   * patterns, and braces would break the cluster hash tags.
   */
  keyPrefix?: string;
  /**
   * Longest wait for one Redis command; after it the operation falls back
   * (a read is a miss, a write is skipped) and counts as a Redis error.
   * Default `250`: Redis answers in well under a millisecond on a LAN, so
   * 250 ms means it is in trouble, while an origin fetch (the fallback) costs
   * 50–500 ms anyway.
   */
  commandTimeoutMs?: number;
  /** Time limit of one connection attempt. Default `2000`: a LAN connect takes under a millisecond. */
  connectTimeoutMs?: number;
  /**
   * First delay before reconnecting after the connection dropped; it
   * doubles per failed attempt (with jitter) up to `reconnectMaxMs`.
   * Default `100`: a restarted Redis is picked up quickly.
   */
  reconnectMinMs?: number;
  /**
   * Longest delay between reconnection attempts. Default `5000`: a long
   * outage costs one connection attempt per process every few seconds.
   */
  reconnectMaxMs?: number;
  /**
   * Commands queued or awaiting a reply per connection; beyond this a
   * command fails at once (a Redis error, so the caller falls back).
   * Default `1000`: ~1,000 resolutions/s at the 250 ms command timeout
   * means at most ~250 outstanding when Redis hangs; 1,000 leaves headroom
   * while bounding what a hung Redis can make the process hold.
   */
  maxPendingCommands?: number;
  /**
   * How long the fill lock taken on a fleet-wide miss holds. Default
   * `10000`: the transport's default total timeout, so a live holder keeps
   * it for its whole load, and a crashed one blocks writes of the key for at
   * most 10 s.
   */
  fillLockTtlMs?: number;
  /**
   * How long a process waits for another process that holds a key's fill
   * lock to publish the value, before it loads the key itself. Default
   * `3000`: the resolver's default fetch time limit, so a holder that is
   * alive has answered or failed by then.
   */
  fillWaitMs?: number;
  /**
   * Keys one process may be waiting on at once; a miss beyond this loads
   * at once instead of waiting. Default `1024`: far above the misses in
   * flight at 1,000 resolutions/s, and each waiter costs one timer and a
   * small record.
   */
  maxFillWaiters?: number;
  /**
   * How long a purge blocks the write-back of loads that started before it
   * (a marker in the key's lock). Default `30000`: longer than any load
   * (the transport times out at 10 s; refresh claims last 30 s).
   */
  purgeGuardMs?: number;
  /** The clock, ms since the epoch. Default `Date.now`; tests inject a fake clock. */
  now?: () => number;
}

/** `RedisCacheOptions` with every default filled in. */
export interface ResolvedRedisCacheOptions extends Required<Omit<RedisCacheOptions, 'url' | 'redis'>> {
  url: string;
  redis: RedisClientOptions;
}

/** The single table that validates and defaults `RedisCacheOptions`. */
export const redisCacheOptionSpec = {
  url: { kind: 'optional-string' },
  clusterNodes: { kind: 'string-list', default: [] },
  redis: { kind: 'opaque' },
  keyPrefix: { kind: 'string', default: 'atresolve:' },
  maxEntries: memoryCacheStoreOptionSpec.maxEntries,
  maxBytes: memoryCacheStoreOptionSpec.maxBytes,
  staleTtlMs: resolutionCacheOptionSpec.staleTtlMs,
  maxTtlMs: resolutionCacheOptionSpec.maxTtlMs,
  negativeTtlMs: resolutionCacheOptionSpec.negativeTtlMs,
  commandTimeoutMs: { kind: 'integer', default: 250, min: 1, max: 60_000 },
  connectTimeoutMs: { kind: 'integer', default: 2_000, min: 1, max: 60_000 },
  reconnectMinMs: { kind: 'integer', default: 100, min: 1, max: 60_000 },
  reconnectMaxMs: { kind: 'integer', default: 5_000, min: 1, max: 600_000 },
  maxPendingCommands: { kind: 'integer', default: 1_000, min: 1, max: 1_000_000 },
  fillLockTtlMs: { kind: 'integer', default: 10_000, min: 1, max: DAY_MS },
  fillWaitMs: { kind: 'integer', default: 3_000, min: 0, max: 60_000 },
  maxFillWaiters: { kind: 'integer', default: 1_024, min: 0, max: 1_000_000 },
  purgeGuardMs: { kind: 'integer', default: 30_000, min: 1, max: DAY_MS },
  now: { kind: 'opaque' },
} as const satisfies OptionSpec;

/** What a key prefix may contain: safe in SCAN MATCH patterns and outside cluster hash tags. */
const PREFIX_PATTERN = /^[A-Za-z0-9:_.\-/]*$/;
/** What a store name may be (`RedisCache.store()`). */
export const STORE_NAME_PATTERN = /^[a-z0-9_-]{1,32}$/;

/**
 * Validate `RedisCacheOptions` and fill in defaults.
 *
 * @throws InvalidOptionsError naming the first offending option
 */
export function resolveRedisCacheOptions(input: unknown, prefix = 'redisCache'): ResolvedRedisCacheOptions {
  type Raw = Omit<ResolvedRedisCacheOptions, 'url' | 'redis' | 'now'> & { url: string | undefined; redis: unknown; now: unknown };
  const raw = resolveOptions<Raw>(redisCacheOptionSpec, input, prefix);
  if (raw.url !== undefined && raw.clusterNodes.length > 0) {
    throw new InvalidOptionsError(`${prefix}.url`, 'give either url (one node) or clusterNodes (a cluster), not both');
  }
  const url = raw.url ?? 'redis://127.0.0.1:6379';
  for (const [i, u] of [url, ...raw.clusterNodes].entries()) {
    if (!/^rediss?:\/\/[^/]/.test(u) || !URL.canParse(u)) {
      const name = raw.url !== undefined || i === 0 ? `${prefix}.url` : `${prefix}.clusterNodes[${i - 1}]`;
      throw new InvalidOptionsError(i === 0 ? `${prefix}.url` : name, `expected a redis:// or rediss:// URL, got '${u}'`);
    }
  }
  if (!PREFIX_PATTERN.test(raw.keyPrefix)) {
    throw new InvalidOptionsError(`${prefix}.keyPrefix`, "only letters, digits and ':_.-/' are allowed");
  }
  if (raw.redis !== undefined && (typeof raw.redis !== 'object' || raw.redis === null || Array.isArray(raw.redis))) {
    throw new InvalidOptionsError(`${prefix}.redis`, 'expected an object of node-redis client options');
  }
  if (raw.reconnectMinMs > raw.reconnectMaxMs) {
    throw new InvalidOptionsError(`${prefix}.reconnectMinMs`, `must not exceed reconnectMaxMs (${raw.reconnectMaxMs})`);
  }
  fitFreshnessTtls(raw, input, prefix);
  return { ...raw, url, redis: (raw.redis ?? {}) as RedisClientOptions, now: checkClock(raw.now, prefix) };
}
