import { createHash } from 'node:crypto';
import type { StoredEntry } from './types.js';

/**
 * The Redis key layout, the stored value format and the Lua scripts of
 * `RedisCache` (docs/redis-cache.md explains each). Every script touches
 * only the keys of one entry, which share a cluster hash slot through the
 * `{…}` hash tag, so no command is ever cross-slot.
 */

/** Lock value that marks a purged key; writes of loads that began before the purge are refused. */
const PURGED = '!purged';
/** Version tag of the stored value format `1|<fetchedAt>|<size>|<json>`. */
const FORMAT = '1';

/** A Lua script and its SHA1 (for EVALSHA). */
export interface Script {
  source: string;
  sha: string;
}

function script(source: string): Script {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/**
 * A read after an L1 miss. KEYS: value, lock, wait. ARGV: the lock token
 * this process holds for the key ('' for none), a new token, lock ttl, wait
 * ttl (0 = do not wait).
 * {1, value} | {2, token} the lock is (still) this process's: load the key
 * | {3} another process holds the lock and loads it (wait flag set).
 */
export const READ = script(`local v = redis.call('GET', KEYS[1])
if v then return {1, v} end
local l = redis.call('GET', KEYS[2])
if l and l == ARGV[1] then
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
  return {2, l}
end
if (not l) or l == '${PURGED}' then
  redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
  return {2, ARGV[2]}
end
if ARGV[4] ~= '0' then redis.call('SET', KEYS[3], '1', 'PX', ARGV[4]) end
return {3}`);

/**
 * KEYS: value, lock, wait. ARGV: the lock token this process holds for the
 * key ('' for none), data, ttl, channel, fill message.
 * 1 written | 0 skipped: the lock is not the one this process took before
 * its load (another process holds it, the key was purged, or the lock was
 * replaced or released since), or, with no token, some lock exists.
 */
export const WRITE = script(`local l = redis.call('GET', KEYS[2])
if (l or '') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
if l then redis.call('DEL', KEYS[2]) end
if redis.call('DEL', KEYS[3]) == 1 then redis.call('PUBLISH', ARGV[4], ARGV[5]) end
return 1`);

/** KEYS: value, lock, wait. ARGV: token, channel, fill message. Removes an entry that cannot be stored. */
export const DROP = script(`redis.call('DEL', KEYS[1])
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
if redis.call('DEL', KEYS[3]) == 1 then redis.call('PUBLISH', ARGV[2], ARGV[3]) end
return 1`);

/**
 * KEYS: lock, wait. ARGV: token, channel, fill message. The load after this
 * process's miss failed: free its fill lock and wake the waiters (they find
 * no value and load themselves).
 */
export const RELEASE = script(`if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
if redis.call('DEL', KEYS[2]) == 1 then redis.call('PUBLISH', ARGV[2], ARGV[3]) end
return 1`);

/** KEYS: value, lock, wait. ARGV: guard ttl, channel, purge message. */
export const PURGE = script(`redis.call('DEL', KEYS[1], KEYS[3])
redis.call('SET', KEYS[2], '${PURGED}', 'PX', ARGV[1])
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1`);

/**
 * A refresh claim on a stale hit. KEYS: value, lock. ARGV: the lock token
 * this process holds ('' for none), a new token, claim ttl, fetchedAt of the
 * local entry.
 * {1, token} claimed | {0, value} Redis has a newer entry | {0} another process holds the lock.
 */
export const CLAIM = script(`local v = redis.call('GET', KEYS[1])
if v then
  local t = tonumber(string.match(v, '^${FORMAT}|(%d+)|'))
  if t and t > tonumber(ARGV[4]) then return {0, v} end
end
local l = redis.call('GET', KEYS[2])
if l and l == ARGV[1] then
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
  return {1, l}
end
if (not l) or l == '${PURGED}' then
  redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
  return {1, ARGV[2]}
end
return {0}`);

/** The three keys of one entry; the `{…}` hash tag puts them in one cluster slot. */
export interface EntryKeys {
  value: string;
  lock: string;
  wait: string;
}

/** Hash tags must not contain braces: escape `%`, `{` and `}` (injective). */
function tagSafe(key: string): string {
  return /[%{}]/.test(key) ? key.replace(/[%{}]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`) : key;
}

/**
 * The keys of entry `key` in store `storeName`:
 * `<keyPrefix><storeName>:{<key>}` (the value) plus `:lock` and `:wait`.
 */
export function entryKeys(keyPrefix: string, storeName: string, key: string): EntryKeys {
  const value = `${keyPrefix}${storeName}:{${tagSafe(key)}}`;
  return { value, lock: `${value}:lock`, wait: `${value}:wait` };
}

/** The key pattern (for `SCAN MATCH`) of every key of store `storeName`. */
export function storePattern(keyPrefix: string, storeName: string): string {
  return `${keyPrefix}${storeName}:*`;
}

/** Encode an entry as `1|<fetchedAt>|<size>|<json>` (empty json = negative entry). */
export function encodeEntry(entry: StoredEntry<unknown>, size: number): string {
  const json = entry.value === null ? '' : JSON.stringify(entry.value);
  return `${FORMAT}|${Math.max(0, Math.floor(entry.fetchedAt))}|${size}|${json}`;
}

/** Decode a stored value; `undefined` when it is not in the expected format. */
export function decodeEntry<V>(data: unknown): StoredEntry<V> | undefined {
  if (typeof data !== 'string') return undefined;
  const a = data.indexOf('|');
  const b = data.indexOf('|', a + 1);
  const c = data.indexOf('|', b + 1);
  if (a < 0 || b < 0 || c < 0 || data.slice(0, a) !== FORMAT) return undefined;
  const fetchedAt = Number(data.slice(a + 1, b));
  const size = Number(data.slice(b + 1, c));
  if (!Number.isSafeInteger(fetchedAt) || !Number.isFinite(size) || size < 0) return undefined;
  const json = data.slice(c + 1);
  try {
    return { value: json === '' ? null : (JSON.parse(json) as V), fetchedAt, size };
  } catch {
    return undefined;
  }
}
