import type { CacheLoader, CacheLoadResult } from '../../src/cache/policy.js';
import { MemoryCacheStore, type MemoryCacheStoreOptions } from '../../src/cache/memory.js';
import type { CacheStore, CacheStoreStats, StoredEntry } from '../../src/cache/types.js';

/** A clock the test moves by hand; starts at a fixed epoch time. */
export class FakeClock {
  ms = 1_700_000_000_000;
  readonly now = (): number => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}

/** A promise with its settle functions exposed. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * Let every queued microtask run (the memory store and the policy only
 * chain promises, so one macrotask turn drains them). No time passes.
 */
export async function flush(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * A loader whose calls the test settles one by one. `calls` counts
 * invocations; each call gets its own deferred in `pending`.
 */
export class ControlledLoader<V> {
  calls = 0;
  readonly pending: Deferred<CacheLoadResult<V>>[] = [];
  readonly load: CacheLoader<V> = () => {
    this.calls++;
    const d = deferred<CacheLoadResult<V>>();
    this.pending.push(d);
    return d.promise;
  };
  /** Settle the oldest unsettled call with a value. */
  succeed(value: V | null, size = 10): void {
    this.#next().resolve({ value, size });
  }
  /** Settle the oldest unsettled call with an error. */
  fail(error: unknown): void {
    this.#next().reject(error);
  }
  #next(): Deferred<CacheLoadResult<V>> {
    const d = this.pending.shift();
    if (d === undefined) throw new Error('no load is pending');
    return d;
  }
}

/** A loader that answers at once, counting calls. */
export function countingLoader<V>(answer: () => V | null, size = 10): { load: CacheLoader<V>; calls: () => number } {
  let calls = 0;
  return {
    load: () => {
      calls++;
      return Promise.resolve({ value: answer(), size });
    },
    calls: () => calls,
  };
}

/**
 * A `MemoryCacheStore` with the optional `claimRefresh` of a shared store
 * and switchable failures, standing in for the fleet-wide lock a Redis store
 * provides. Every stored byte lives in the real memory store underneath.
 */
export class ClaimingStore<V> implements CacheStore<V> {
  readonly inner: MemoryCacheStore<V>;
  claims: Array<{ key: string; ttlMs: number }> = [];
  /** What `claimRefresh` answers: a boolean, or a pending decision, or an error to throw. */
  claimAnswer: boolean | Deferred<boolean> | Error = true;
  failReads = false;
  failWrites = false;
  closed = 0;
  /** Keys the policy reported through `loadFailed`, in order. */
  failedLoads: string[] = [];
  /** Listeners registered through `onInvalidate`. */
  readonly invalidationListeners = new Set<(key: string | undefined) => void>();

  constructor(options?: MemoryCacheStoreOptions) {
    this.inner = new MemoryCacheStore<V>(options);
  }
  get(key: string): Promise<StoredEntry<V> | undefined> {
    if (this.failReads) return Promise.reject(new Error('store read failed'));
    return this.inner.get(key);
  }
  set(key: string, entry: StoredEntry<V>): Promise<void> {
    if (this.failWrites) return Promise.reject(new Error('store write failed'));
    return this.inner.set(key, entry);
  }
  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }
  clear(): Promise<void> {
    return this.inner.clear();
  }
  claimRefresh(key: string, ttlMs: number): Promise<boolean> {
    this.claims.push({ key, ttlMs });
    const answer = this.claimAnswer;
    if (answer instanceof Error) return Promise.reject(answer);
    if (typeof answer === 'boolean') return Promise.resolve(answer);
    return answer.promise;
  }
  loadFailed(key: string): Promise<void> {
    this.failedLoads.push(key);
    return Promise.resolve();
  }
  onInvalidate(listener: (key: string | undefined) => void): () => void {
    this.invalidationListeners.add(listener);
    return () => this.invalidationListeners.delete(listener);
  }
  /** Play another process purging `key` (or clearing, with `undefined`). */
  invalidate(key: string | undefined): void {
    for (const listener of this.invalidationListeners) listener(key);
  }
  stats(): CacheStoreStats {
    return this.inner.stats();
  }
  close(): Promise<void> {
    this.closed++;
    return Promise.resolve();
  }
}

/** Collects unhandled rejections while installed (vitest also fails the run on them). */
export class UnhandledRejections {
  readonly seen: unknown[] = [];
  readonly #listener = (reason: unknown): void => {
    this.seen.push(reason);
  };
  install(): void {
    process.on('unhandledRejection', this.#listener);
  }
  uninstall(): void {
    process.off('unhandledRejection', this.#listener);
  }
}
