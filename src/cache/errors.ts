import { AtresolveError } from '../errors.js';

/**
 * The cache layer's errors. The cache itself fails in only one way of its
 * own: being used after `close()`. A load's own errors pass through
 * unchanged (and are never cached), and a caller's abort rejects with the
 * root `AbortError`, so callers handle one abort class everywhere.
 */
export abstract class CacheError extends AtresolveError {}

/** `resolve()` was called after `ResolutionCache.close()`. */
export class CacheClosedError extends CacheError {
  readonly code = 'CACHE_CLOSED';
}

/**
 * A shared cache's server (Redis) could not complete an operation the
 * caller asked for specifically — `purge()` or `clear()` — because it was
 * unreachable, did not answer within the command timeout, or answered with
 * an error; `cause` holds the client's error when there is one. Lookups
 * never see this error: they fall back to the in-process tier and the origin.
 */
export class CacheUnavailableError extends CacheError {
  readonly code = 'CACHE_UNAVAILABLE';
}

/**
 * `atresolve/redis` was imported where the `redis` client (an optional peer
 * dependency) cannot be loaded. Thrown when the module is evaluated, so
 * `import('atresolve/redis')` rejects with it; `cause` is the loader's error.
 */
export class RedisClientMissingError extends CacheError {
  readonly code = 'REDIS_CLIENT_MISSING';
}
