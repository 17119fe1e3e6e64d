import { describe, expect, it } from 'vitest';
import { ResolutionCache } from '../../src/cache/policy.js';
import { ControlledLoader, countingLoader, FakeClock, flush } from './helpers.js';

describe('ResolutionCache purge and clear', () => {
  it('purge drops the entry so the next call loads again', async () => {
    const cache = new ResolutionCache<string>();
    let n = 0;
    const loader = countingLoader(() => `v${++n}`);
    await cache.resolve('k', loader.load);
    await cache.resolve('other', loader.load);
    await cache.purge('k');
    expect(await cache.resolve('k', loader.load)).toEqual({ value: 'v3', cache: 'miss' });
    expect(await cache.resolve('other', loader.load)).toEqual({ value: 'v2', cache: 'hit' });
    await cache.purge('never-cached');
  });

  it('a load that started before purge still answers its waiters but does not write back', async () => {
    const cache = new ResolutionCache<string>();
    const loader = new ControlledLoader<string>();
    const before = [cache.resolve('k', loader.load), cache.resolve('k', loader.load)];
    await flush();
    await cache.purge('k');
    expect(cache.loadsInFlight).toBe(0);

    // A caller after the purge does not join the outdated load: it starts its own.
    const after = cache.resolve('k', loader.load);
    await flush();
    expect(loader.calls).toBe(2);

    loader.succeed('old');
    for (const w of before) expect(await w).toEqual({ value: 'old', cache: 'miss' });
    await flush();
    expect(cache.stats().entries).toBe(0);

    loader.succeed('new');
    expect(await after).toEqual({ value: 'new', cache: 'miss' });
    expect(await cache.resolve('k', loader.load)).toEqual({ value: 'new', cache: 'hit' });
    expect(cache.loadsInFlight).toBe(0);
  });

  it('the outdated load finishing last does not overwrite the newer result', async () => {
    const cache = new ResolutionCache<string>();
    const loader = new ControlledLoader<string>();
    const before = cache.resolve('k', loader.load);
    await flush();
    await cache.purge('k');
    const after = cache.resolve('k', loader.load);
    await flush();
    const [oldLoad, newLoad] = loader.pending;
    newLoad!.resolve({ value: 'new', size: 1 });
    await after;
    oldLoad!.resolve({ value: 'old', size: 1 });
    expect((await before).value).toBe('old');
    await flush();
    expect(await cache.resolve('k', loader.load)).toEqual({ value: 'new', cache: 'hit' });
  });

  it('purge during a background refresh keeps the refreshed value out', async () => {
    const clock = new FakeClock();
    const cache = new ResolutionCache<string>({ staleTtlMs: 1_000, maxTtlMs: 10_000, now: clock.now });
    const loader = new ControlledLoader<string>();
    const first = cache.resolve('k', loader.load);
    await flush();
    loader.succeed('v1');
    await first;
    clock.advance(1_000);
    await cache.resolve('k', loader.load); // stale hit, refresh starts
    await flush();
    await cache.purge('k');
    loader.succeed('v2-from-before-purge');
    await flush();
    expect(cache.stats().entries).toBe(0);
    expect(cache.refreshesInFlight).toBe(0);
  });

  it('clear drops everything and no load in flight writes afterwards; counters stay', async () => {
    const cache = new ResolutionCache<string>();
    const done = countingLoader(() => 'v');
    await cache.resolve('a', done.load);
    await cache.resolve('b', done.load);
    const loader = new ControlledLoader<string>();
    const pending = cache.resolve('c', loader.load);
    await flush();
    await cache.clear();
    loader.succeed('c');
    expect(await pending).toEqual({ value: 'c', cache: 'miss' });
    await flush();
    expect(cache.stats()).toMatchObject({ entries: 0, bytes: 0, misses: 3 });
    expect(cache.loadsInFlight).toBe(0);
  });
});
