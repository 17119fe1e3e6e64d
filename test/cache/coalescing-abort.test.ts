import { getEventListeners } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ResolutionCache } from '../../src/cache/policy.js';
import { AbortError } from '../../src/transport/errors.js';
import { ControlledLoader, countingLoader, flush, UnhandledRejections } from './helpers.js';

describe('ResolutionCache coalescing and per-caller abort', () => {
  const unhandled = new UnhandledRejections();
  beforeEach(() => unhandled.install());
  afterEach(() => unhandled.uninstall());

  it('shares one load among concurrent misses for the same key, not across keys', async () => {
    const cache = new ResolutionCache<string>();
    const loader = new ControlledLoader<string>();
    const a = [cache.resolve('a', loader.load), cache.resolve('a', loader.load), cache.resolve('a', loader.load)];
    const b = cache.resolve('b', loader.load);
    await flush();
    expect(loader.calls).toBe(2);
    expect(cache.loadsInFlight).toBe(2);
    loader.succeed('A');
    loader.succeed('B');
    for (const w of a) expect(await w).toEqual({ value: 'A', cache: 'miss' });
    expect(await b).toEqual({ value: 'B', cache: 'miss' });
    expect(cache.stats()).toMatchObject({ misses: 2, coalesced: 2, entries: 2 });
    expect(cache.loadsInFlight).toBe(0);
  });

  it('an abort rejects only that caller; the load, the other waiters and the write carry on', async () => {
    const cache = new ResolutionCache<string>();
    const loader = new ControlledLoader<string>();
    const controller = new AbortController();
    const starter = cache.resolve('k', loader.load, { signal: controller.signal });
    const other = cache.resolve('k', loader.load);
    await flush();
    const late = cache.resolve('k', loader.load);
    await flush();

    const reason = new Error('client went away');
    controller.abort(reason);
    const error = await starter.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AbortError);
    expect((error as AbortError).code).toBe('ABORTED');
    expect((error as AbortError).cause).toBe(reason);

    expect(loader.calls).toBe(1);
    loader.succeed('v');
    expect(await other).toEqual({ value: 'v', cache: 'miss' });
    expect(await late).toEqual({ value: 'v', cache: 'miss' });
    expect(await cache.resolve('k', loader.load)).toEqual({ value: 'v', cache: 'hit' });
    expect(loader.calls).toBe(1);
    await flush();
    expect(unhandled.seen).toEqual([]);
  });

  it('a load that fails after every waiter aborted is not an unhandled rejection', async () => {
    const cache = new ResolutionCache<string>();
    const loader = new ControlledLoader<string>();
    const controller = new AbortController();
    const waiter = cache.resolve('k', loader.load, { signal: controller.signal });
    await flush();
    controller.abort();
    await expect(waiter).rejects.toBeInstanceOf(AbortError);
    loader.fail(new Error('origin down'));
    await flush();
    expect(unhandled.seen).toEqual([]);
    expect(cache.loadsInFlight).toBe(0);
    expect(cache.stats().entries).toBe(0);
  });

  it('an already-aborted signal rejects at once and starts no load', async () => {
    const cache = new ResolutionCache<string>();
    const loader = countingLoader(() => 'v');
    const reason = new Error('too late');
    await expect(cache.resolve('k', loader.load, { signal: AbortSignal.abort(reason) })).rejects.toMatchObject({
      code: 'ABORTED',
      cause: reason,
    });
    expect(loader.calls()).toBe(0);
  });

  it('an abort while the store is read starts no load', async () => {
    const cache = new ResolutionCache<string>();
    const loader = countingLoader(() => 'v');
    const controller = new AbortController();
    const call = cache.resolve('k', loader.load, { signal: controller.signal });
    controller.abort(); // the store read is still pending (it settles in a later microtask)
    await expect(call).rejects.toBeInstanceOf(AbortError);
    await flush();
    expect(loader.calls()).toBe(0);
    expect(cache.loadsInFlight).toBe(0);
  });

  it('removes its abort listener when the call settles, so a long-lived signal does not collect them', async () => {
    const cache = new ResolutionCache<string>();
    const loader = countingLoader(() => 'v');
    const controller = new AbortController();
    for (let i = 0; i < 20; i++) await cache.resolve(`k${i % 3}`, loader.load, { signal: controller.signal });
    await expect(
      cache.resolve('bad', () => Promise.reject(new Error('x')), { signal: controller.signal }),
    ).rejects.toThrow('x');
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('forceRefresh skips the read, loads, stores the result and reports bypass', async () => {
    const cache = new ResolutionCache<string>();
    let n = 0;
    const loader = countingLoader(() => `v${++n}`);
    await cache.resolve('k', loader.load);
    expect(await cache.resolve('k', loader.load, { forceRefresh: true })).toEqual({ value: 'v2', cache: 'bypass' });
    expect(await cache.resolve('k', loader.load)).toEqual({ value: 'v2', cache: 'hit' });
    expect(loader.calls()).toBe(2);
  });

  it('forceRefresh joins a load already in flight instead of starting another', async () => {
    const cache = new ResolutionCache<string>();
    const loader = new ControlledLoader<string>();
    const miss = cache.resolve('k', loader.load);
    await flush();
    const forced = cache.resolve('k', loader.load, { forceRefresh: true });
    await flush();
    expect(loader.calls).toBe(1);
    loader.succeed('v');
    expect(await miss).toEqual({ value: 'v', cache: 'miss' });
    expect(await forced).toEqual({ value: 'v', cache: 'bypass' });
    expect(cache.stats()).toMatchObject({ misses: 1, coalesced: 1 });
  });
});
