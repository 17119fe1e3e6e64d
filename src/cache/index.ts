/**
 * `atresolve/cache`: the freshness policy (`ResolutionCache`), the
 * in-process store (`MemoryCacheStore`) and the store contract, for a
 * custom `CacheStore` or caching other values the same way. See
 * docs/cache.md; the Redis store is `atresolve/redis`.
 *
 * This module only re-exports; every name is documented where it is defined.
 */
export type { CacheOutcome, CacheStats, CacheStore, CacheStoreStats, StoredEntry } from './types.js';
export {
  ENTRY_OVERHEAD_BYTES,
  MemoryCacheStore,
  entryCharge,
  memoryCacheStoreOptionSpec,
  resolveMemoryCacheStoreOptions,
  type MemoryCacheStoreOptions,
  type ResolvedMemoryCacheStoreOptions,
} from './memory.js';
export {
  ResolutionCache,
  resolutionCacheOptionSpec,
  resolveResolutionCacheOptions,
  type CacheLoader,
  type CacheLoadResult,
  type CacheResolveOptions,
  type CacheResolveResult,
  type LookupCache,
  type ResolutionCacheOptions,
  type ResolvedResolutionCacheOptions,
} from './policy.js';
export { PassThroughCache } from './pass-through.js';
export { CacheError, CacheClosedError, CacheUnavailableError } from './errors.js';
