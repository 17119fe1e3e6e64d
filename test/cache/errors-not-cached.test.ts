import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryCacheStore } from '../../src/cache/memory.js';
import { ResolutionCache } from '../../src/cache/policy.js';
import { AbortError, NetworkError, TimeoutError } from '../../src/transport/errors.js';
import { ClaimingStore, ControlledLoader, countingLoader, FakeClock, flush, UnhandledRejections } from './helpers.js';

const STALE = 1_000;
const MAX = 10_000;

describe('ResolutionCache never caches a thrown error', () => {
  const unhandled = new UnhandledRejections();
  beforeEach(() => unhandled.install());
  afterEach(() => unhandled.uninstall());

  const failures: Array<[string, () => unknown]> = [
    ['a timeout', () => new TimeoutError('timed out', { phase: 'total', timeoutMs: 10 })],
    // indigo's cache once stored context.Canceled and served it to every later caller.
    ['an abort', () => new AbortError('aborted', { cause: new Error('shutdown') })],
    ['a transport failure', () => new NetworkError('reset by peer')],
    ['a server error', () => new Error('HTTP 503')],
    ['a non-Error throw', () => 'plain string'],
  ];

  it.each(failures)('rejects with %s and loads again on the next call', async (_name, makeError) => {
    const clock = new FakeClock();
    const store = new MemoryCacheStore<string>({ now: clock.now });
    const cache = new ResolutionCache<string>({ store, now: clock.now });
    const error = makeError();
    let fail = true;
    let calls = 0;
    const load = () => {
      calls++;
      return fail ? Promise.reject(error) : Promise.resolve({ value: 'v', size: 1 });
    };
    await expect(cache.resolve('k', load)).rejects.toBe(error);
    expect(store.stats().entries).toBe(0);
    fail = false;
    expect(await cache.resolve('k', load)).toEqual({ value: 'v', cache: 'miss' });
    expect(calls).toBe(2);
    expect(cache.loadsInFlight).toBe(0);
    await flush();
    expect(unhandled.seen).toEqual([]);
  });

  it('gives every coalesced waiter the same error, and caches nothing', async () => {
    const cache = new ResolutionCache<string>();
    const loader = new ControlledLoader<string>();
    const waiters = [cache.resolve('k', loader.load), cache.resolve('k', loader.load), cache.resolve('k', loader.load)];
    await flush();
    const error = new NetworkError('connection reset');
    loader.fail(error);
    for (const w of waiters) await expect(w).rejects.toBe(error);
    expect(loader.calls).toBe(1);
    expect(cache.stats()).toMatchObject({ entries: 0, misses: 1, coalesced: 2 });
  });

  it('rejects a loader whose synchronous throw or malformed result is not a value, caching nothing', async () => {
    const cache = new ResolutionCache<string>();
    await expect(
      cache.resolve('k', () => {
        throw new Error('sync');
      }),
    ).rejects.toThrow('sync');
    await expect(cache.resolve('k', () => Promise.resolve(undefined as never))).rejects.toThrow(TypeError);
    expect(cache.stats().entries).toBe(0);
    expect(cache.loadsInFlight).toBe(0);
  });

  it('keeps serving a stale entry while refreshes fail, until maxTtlMs, then misses', async () => {
    const clock = new FakeClock();
    const cache = new ResolutionCache<string>({ staleTtlMs: STALE, maxTtlMs: MAX, now: clock.now });
    let fail = false;
    const load = () => (fail ? Promise.reject(new TimeoutError('slow', { phase: 'total', timeoutMs: 1 })) : Promise.resolve({ value: 'v1', size: 1 }));
    await cache.resolve('k', load);

    fail = true;
    for (const step of [STALE, 3_000, 5_000]) {
      clock.advance(step);
      expect(await cache.resolve('k', load)).toEqual({ value: 'v1', cache: 'stale' });
      await flush();
    }
    expect(cache.stats()).toMatchObject({ staleHits: 3, refreshes: 3, refreshErrors: 3 });

    clock.advance(MAX - STALE - 8_000); // now exactly maxTtlMs old
    await expect(cache.resolve('k', load)).rejects.toThrow(TimeoutError);
    expect(cache.stats()).toMatchObject({ misses: 2, staleHits: 3 });
    await flush();
    expect(unhandled.seen).toEqual([]);
  });

  it('does not let a store failure fail resolutions: reads become misses, writes are skipped', async () => {
    const store = new ClaimingStore<string>();
    const cache = new ResolutionCache<string>({ store });
    const loader = countingLoader(() => 'v');
    store.failReads = true;
    expect(await cache.resolve('k', loader.load)).toEqual({ value: 'v', cache: 'miss' });
    store.failReads = false;
    store.failWrites = true;
    expect(await cache.resolve('j', loader.load)).toEqual({ value: 'v', cache: 'miss' });
    expect(await cache.resolve('j', loader.load)).toEqual({ value: 'v', cache: 'miss' });
    expect(loader.calls()).toBe(3);
    await flush();
    expect(unhandled.seen).toEqual([]);
  });
});
