/**
 * `atresolve/redis`: the fleet-wide identity cache on Redis. A subpath of
 * its own because it imports the `redis` client (an optional peer
 * dependency); the main entry `atresolve` never does.
 *
 * This module only re-exports; every name is documented where it is defined.
 */
export {
  RedisCache,
  RedisCacheStore,
  redisCacheOptionSpec,
  resolveRedisCacheOptions,
  type RedisCacheOptions,
  type RedisCacheStats,
  type ResolvedRedisCacheOptions,
} from './cache/redis.js';
export { CacheUnavailableError, RedisClientMissingError } from './cache/errors.js';
