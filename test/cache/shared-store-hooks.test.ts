import { describe, expect, it } from 'vitest';
import { ResolutionCache } from '../../src/cache/policy.js';
import { ClaimingStore, ControlledLoader, countingLoader, FakeClock, flush } from './helpers.js';

/**
 * The two optional hooks a shared store (Redis) offers the policy:
 * `onInvalidate` (another process purged or cleared) and `loadFailed` (the
 * load after a miss threw, so the store can release its fleet-wide fill lock).
 */
describe('ResolutionCache and the shared-store hooks', () => {
  it('a remote purge detaches the load in flight for that key only; a remote clear detaches every load', async () => {
    const store = new ClaimingStore<string>();
    const cache = new ResolutionCache<string>({ store });
    const loader = new ControlledLoader<string>();
    const a = cache.resolve('a', loader.load);
    const b = cache.resolve('b', loader.load);
    await flush();
    expect(cache.loadsInFlight).toBe(2);

    store.invalidate('a');
    expect(cache.loadsInFlight).toBe(1);
    // A caller after the remote purge does not join the outdated load.
    const a2 = cache.resolve('a', loader.load);
    await flush();
    expect(loader.calls).toBe(3);

    store.invalidate(undefined);
    expect(cache.loadsInFlight).toBe(0);
    loader.succeed('a-old');
    loader.succeed('b-old');
    loader.succeed('a-new');
    expect((await a).value).toBe('a-old');
    expect((await b).value).toBe('b-old');
    expect((await a2).value).toBe('a-new');
    await flush();
    // None of the detached loads wrote its result.
    expect(store.stats().entries).toBe(0);
  });

  it('clearLocal() uses the store\'s clearLocal when it has one, and falls back to clear()', async () => {
    const calls: string[] = [];
    const shared = new ClaimingStore<string>();
    Object.assign(shared, {
      clear: () => (calls.push('clear'), Promise.resolve()),
      clearLocal: () => (calls.push('clearLocal'), Promise.resolve()),
    });
    await new ResolutionCache<string>({ store: shared }).clearLocal();
    expect(calls).toEqual(['clearLocal']);

    const local = new ClaimingStore<string>();
    await local.set('k', { value: 'v', fetchedAt: Date.now(), size: 1 });
    await new ResolutionCache<string>({ store: local }).clearLocal();
    expect(local.stats().entries).toBe(0);
  });

  it('stops listening when closed', async () => {
    const store = new ClaimingStore<string>();
    const cache = new ResolutionCache<string>({ store });
    expect(store.invalidationListeners.size).toBe(1);
    await cache.close();
    expect(store.invalidationListeners.size).toBe(0);
  });

  it('reports a failed foreground load to the store, but neither a success nor a failed background refresh', async () => {
    const clock = new FakeClock();
    const store = new ClaimingStore<string>({ now: clock.now });
    const cache = new ResolutionCache<string>({ store, staleTtlMs: 1_000, now: clock.now });
    await expect(cache.resolve('k', () => Promise.reject(new Error('500')))).rejects.toThrow('500');
    await flush();
    expect(store.failedLoads).toEqual(['k']);

    await cache.resolve('k', countingLoader(() => 'v').load);
    clock.advance(1_000);
    expect((await cache.resolve('k', () => Promise.reject(new Error('refresh 500')))).cache).toBe('stale');
    await flush();
    expect(cache.stats().refreshErrors).toBe(1);
    expect(store.failedLoads).toEqual(['k']);
  });
});
