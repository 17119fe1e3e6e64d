import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ResolutionCache } from '../../src/cache/policy.js';
import { ClaimingStore, ControlledLoader, deferred, FakeClock, flush, UnhandledRejections } from './helpers.js';

const STALE = 1_000;

/** A cache whose keys are all stale, with a loader the test settles by hand. */
async function staleCache(keys: string[], options: { maxConcurrentRefreshes?: number; store?: ClaimingStore<string> } = {}) {
  const clock = new FakeClock();
  const store = options.store ?? new ClaimingStore<string>({ now: clock.now });
  const cache = new ResolutionCache<string>({
    store,
    staleTtlMs: STALE,
    maxTtlMs: 100_000,
    now: clock.now,
    ...(options.maxConcurrentRefreshes !== undefined ? { maxConcurrentRefreshes: options.maxConcurrentRefreshes } : {}),
  });
  for (const key of keys) await cache.resolve(key, () => Promise.resolve({ value: `${key}-old`, size: 1 }));
  clock.advance(STALE);
  return { clock, store, cache, loader: new ControlledLoader<string>() };
}

describe('ResolutionCache background refresh', () => {
  const unhandled = new UnhandledRejections();
  beforeEach(() => unhandled.install());
  afterEach(() => unhandled.uninstall());

  it('runs at most one refresh per key however many stale hits arrive', async () => {
    const { cache, loader } = await staleCache(['k']);
    for (let i = 0; i < 10; i++) expect((await cache.resolve('k', loader.load)).cache).toBe('stale');
    await flush();
    expect(loader.calls).toBe(1);
    expect(cache.stats()).toMatchObject({ staleHits: 10, refreshes: 1 });
    loader.succeed('k-new');
    await flush();
    expect(await cache.resolve('k', loader.load)).toEqual({ value: 'k-new', cache: 'hit' });
  });

  it('caps concurrent refreshes at maxConcurrentRefreshes and serves the rest stale without one', async () => {
    const keys = ['a', 'b', 'c', 'd', 'e'];
    const { cache, loader } = await staleCache(keys, { maxConcurrentRefreshes: 2 });
    for (const key of keys) expect(await cache.resolve(key, loader.load)).toEqual({ value: `${key}-old`, cache: 'stale' });
    await flush();
    expect(loader.calls).toBe(2);
    expect(cache.refreshesInFlight).toBe(2);

    // A slot frees up when a refresh settles; the next stale hit may use it.
    loader.succeed('a-new');
    await flush();
    expect(cache.refreshesInFlight).toBe(1);
    await cache.resolve('c', loader.load);
    await flush();
    expect(loader.calls).toBe(3);
    expect(cache.refreshesInFlight).toBe(2);
    expect(cache.stats().refreshes).toBe(3);
    loader.succeed('b-new');
    loader.succeed('c-new');
    await flush();
    expect(cache.refreshesInFlight).toBe(0);
  });

  it('counts a pending claim toward the cap and claims each key only once', async () => {
    const { cache, store, loader } = await staleCache(['a', 'b', 'c'], { maxConcurrentRefreshes: 2 });
    const decision = deferred<boolean>();
    store.claimAnswer = decision;
    for (const key of ['a', 'a', 'b', 'c']) await cache.resolve(key, loader.load);
    expect(store.claims.map((c) => c.key)).toEqual(['a', 'b']);
    expect(cache.refreshesInFlight).toBe(2);
    expect(loader.calls).toBe(0);
    decision.resolve(true);
    await flush();
    expect(loader.calls).toBe(2);
  });

  it('asks the store for a claim with refreshClaimTtlMs, and does not refresh when it is refused', async () => {
    const { cache, store, loader } = await staleCache(['k']);
    store.claimAnswer = false; // another process holds the fleet-wide refresh lock
    expect((await cache.resolve('k', loader.load)).cache).toBe('stale');
    await flush();
    expect(store.claims).toEqual([{ key: 'k', ttlMs: 30_000 }]);
    expect(loader.calls).toBe(0);
    expect(cache.refreshesInFlight).toBe(0);
    expect(cache.stats().refreshes).toBe(0);
  });

  it('treats a claim that throws as refused, without an unhandled rejection', async () => {
    const { cache, store, loader } = await staleCache(['k']);
    store.claimAnswer = new Error('redis down');
    expect((await cache.resolve('k', loader.load)).cache).toBe('stale');
    await flush();
    expect(loader.calls).toBe(0);
    expect(cache.refreshesInFlight).toBe(0);
    expect(unhandled.seen).toEqual([]);
  });

  it('counts failed refreshes and never turns them into unhandled rejections', async () => {
    const keys = ['a', 'b', 'c'];
    const { cache, loader } = await staleCache(keys);
    for (const key of keys) await cache.resolve(key, loader.load);
    await flush();
    loader.fail(new Error('origin 500'));
    loader.fail(new Error('origin timeout'));
    loader.fail('thrown string');
    await flush();
    expect(cache.stats()).toMatchObject({ refreshes: 3, refreshErrors: 3 });
    expect(cache.refreshesInFlight).toBe(0);
    expect(cache.loadsInFlight).toBe(0);
    for (const key of keys) expect(await cache.resolve(key, loader.load)).toMatchObject({ value: `${key}-old`, cache: 'stale' });
    expect(unhandled.seen).toEqual([]);
  });

  it('a caller arriving while a refresh loads gets the stale entry and starts nothing; forceRefresh joins the refresh', async () => {
    const { cache, loader } = await staleCache(['k']);
    await cache.resolve('k', loader.load);
    await flush();
    const forced = cache.resolve('k', loader.load, { forceRefresh: true });
    await flush();
    expect(loader.calls).toBe(1);
    loader.succeed('k-new');
    expect(await forced).toEqual({ value: 'k-new', cache: 'bypass' });
    expect(cache.stats()).toMatchObject({ refreshes: 1, coalesced: 1 });
  });

  it('does not start a refresh when a foreground load for the key began while the claim was pending', async () => {
    const { cache, store, loader } = await staleCache(['k']);
    const decision = deferred<boolean>();
    store.claimAnswer = decision;
    await cache.resolve('k', loader.load); // stale hit, claim pending
    const forced = cache.resolve('k', loader.load, { forceRefresh: true });
    await flush();
    expect(loader.calls).toBe(1);
    decision.resolve(true);
    await flush();
    expect(loader.calls).toBe(1);
    expect(cache.stats().refreshes).toBe(0);
    expect(cache.refreshesInFlight).toBe(0);
    loader.succeed('k-new');
    expect((await forced).value).toBe('k-new');
  });
});
