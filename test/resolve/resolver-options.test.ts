import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { MemoryCacheStore } from '../../src/cache/memory.js';
import { ResolutionCache } from '../../src/cache/policy.js';
import { resolveRedisCacheOptions } from '../../src/cache/redis-options.js';
import { InvalidOptionsError } from '../../src/errors.js';
import { IdResolver } from '../../src/resolve/id-resolver.js';
import type { IdResolverOptions } from '../../src/resolve/options.js';
import { transportInfo } from '../../src/transport/create.js';

/**
 * IdResolver options: every one is validated before anything starts, named
 * as the caller wrote it, and the cache options are the store's and the
 * policy's own table entries (one default, one range per rule).
 */

function optionError(build: () => unknown): InvalidOptionsError {
  try {
    build();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionsError);
    return error as InvalidOptionsError;
  }
  throw new Error('expected InvalidOptionsError, the options were accepted');
}

/** Threads of this process right now. */
function threads(): number {
  return readdirSync('/proc/self/task').length;
}

describe('IdResolver options', () => {
  it.each([
    [{ timeoutMs: 0 }, 'timeoutMs'],
    [{ colour: 'red' }, 'colour'],
    [{ plcUrl: 'ftp://plc.example' }, 'plcUrl'],
    [{ cache: { maxEntries: 5e7 } }, 'cache.maxEntries'],
    [{ cache: { maxEntries: 2 ** 24 + 1 } }, 'cache.maxEntries'],
    [{ cache: { staleTtlMs: -1 } }, 'cache.staleTtlMs'],
    [{ cache: { maxTtlMs: 60_000, negativeTtlMs: 120_000 } }, 'cache.negativeTtlMs'],
    [{ cache: { maxTtlMs: 60_000, staleTtlMs: 120_000 } }, 'cache.staleTtlMs'],
    [{ cache: { didStore: {} } }, 'cache.didStore'],
    [{ cache: { handleStore: { get() {} } } }, 'cache.handleStore'],
    [{ cache: { store: new MemoryCacheStore() } }, 'cache.store'],
    [{ dns: { tries: 0 } }, 'dns.tries'],
    [{ dns: { dohUrl: 'not a url' } }, 'dns.dohUrl'],
    [{ transport: { maxConnections: 0 } }, 'transport.maxConnections'],
    [{ transport: 'curl' }, 'transport'],
  ])('refuses %o naming %s, as written', (options, name) => {
    expect(optionError(() => new IdResolver(options as IdResolverOptions)).option).toBe(name);
  });

  it('names a non-object options argument "options"', () => {
    expect(optionError(() => new IdResolver(5 as never)).option).toBe('options');
  });

  it.runIf(transportInfo().kind === 'curl')('starts no engine thread when an option is invalid', async () => {
    // Let the libuv thread pool start first, so it does not count below.
    await readFile(import.meta.filename);
    const before = threads();
    // Control: the probe sees an engine thread (engines start on their first request).
    const control = new IdResolver({ transport: { allowPrivateNetwork: true } });
    await control.transport.request('https://127.0.0.1:1/').catch(() => undefined);
    expect(threads()).toBe(before + 1);
    await control.close();
    await expect.poll(threads).toBe(before);
    for (let i = 0; i < 3; i += 1) {
      optionError(() => new IdResolver({ cache: { maxEntries: 5e7 } }));
      optionError(() => new IdResolver({ cache: { negativeTtlMs: 1.5 } }));
    }
    expect(threads()).toBe(before);
  });

  it('a maxTtlMs under the default negativeTtlMs shrinks the default instead of refusing', async () => {
    await using resolver = new IdResolver({ cache: { maxTtlMs: 60_000 }, transport: {} });
    expect(resolver.stats().cache.did).toMatchObject({ entries: 0 });
  });

  it('takes its cache defaults from the store and the policy', async () => {
    await using resolver = new IdResolver();
    const store = new MemoryCacheStore().stats();
    expect(resolver.stats().cache.did).toMatchObject({ maxEntries: store.maxEntries, maxBytes: store.maxBytes });
    expect(new ResolutionCache().stats()).toMatchObject({ maxEntries: store.maxEntries, maxBytes: store.maxBytes });
  });
});

describe('RedisCache options spread the same tables', () => {
  it('have the store\'s and the policy\'s defaults and ranges', () => {
    const resolved = resolveRedisCacheOptions(undefined);
    expect(resolved).toMatchObject({ maxEntries: 100_000, maxBytes: 64 * 1024 * 1024, staleTtlMs: 3_600_000, maxTtlMs: 86_400_000, negativeTtlMs: 300_000 });
    expect(optionError(() => resolveRedisCacheOptions({ maxEntries: 2 ** 24 + 1 })).option).toBe('redisCache.maxEntries');
    expect(resolveRedisCacheOptions({ maxTtlMs: 60_000 })).toMatchObject({ staleTtlMs: 60_000, negativeTtlMs: 60_000 });
    expect(optionError(() => resolveRedisCacheOptions({ maxTtlMs: 60_000, negativeTtlMs: 61_000 })).option).toBe('redisCache.negativeTtlMs');
  });
});
