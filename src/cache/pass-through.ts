import { untilAborted } from '../util/abort.js';
import { abortError, type CacheLoader, type CacheResolveOptions, type CacheResolveResult, type LookupCache } from './policy.js';

/**
 * The `LookupCache` of a resolver with caching off (`cache: false`): every
 * lookup runs its loader, nothing is stored, and the outcome is always
 * `bypass`. It keeps the cache's contract where callers can see it: the
 * loader gets the caller's signal (nothing is shared, so the request
 * itself stops), and an abort rejects with `AbortError` whose `cause` is
 * the signal's reason, at once, exactly as `ResolutionCache` does.
 */
export class PassThroughCache<V> implements LookupCache<V> {
  readonly caching = false;

  resolve(key: string, load: CacheLoader<V>, options: CacheResolveOptions = {}): Promise<CacheResolveResult<V>> {
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(abortError(signal));
    const loaded = Promise.resolve(signal)
      .then(load)
      .then((result): CacheResolveResult<V> => ({ value: result.value, cache: 'bypass' }));
    return untilAborted(loaded, signal, abortError);
  }

  purge(): Promise<void> {
    return Promise.resolve();
  }

  clearLocal(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  stats(): null {
    return null;
  }
}
