import { AtresolveError } from '../errors.js';

/**
 * The cache layer's errors. The cache itself fails in only one way of its
 * own: being used after `close()`. A load's own errors pass through
 * unchanged (and are never cached), and a caller's abort rejects with the
 * transport's `AbortError`, so callers handle one abort class everywhere.
 */
export abstract class CacheError extends AtresolveError {}

/** `resolve()` was called after `ResolutionCache.close()`. */
export class CacheClosedError extends CacheError {
  readonly code = 'CACHE_CLOSED';
}
