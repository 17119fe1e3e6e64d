import { describe, expect, it } from 'vitest';
import { MemoryCacheStore } from '../../src/cache/memory.js';
import { ResolutionCache, resolveResolutionCacheOptions } from '../../src/cache/policy.js';
import { InvalidOptionsError } from '../../src/errors.js';

describe('ResolutionCache options', () => {
  it('has production defaults and a default bounded memory store', () => {
    const resolved = resolveResolutionCacheOptions<string>(undefined);
    expect(resolved).toMatchObject({
      staleTtlMs: 3_600_000,
      maxTtlMs: 86_400_000,
      negativeTtlMs: 300_000,
      maxConcurrentRefreshes: 32,
      refreshClaimTtlMs: 30_000,
      now: Date.now,
    });
    expect(resolved.store).toBeInstanceOf(MemoryCacheStore);
    expect(new ResolutionCache<string>().stats()).toEqual({
      entries: 0,
      bytes: 0,
      maxEntries: 100_000,
      maxBytes: 64 * 1024 * 1024,
      evictions: 0,
      hits: 0,
      staleHits: 0,
      negativeHits: 0,
      misses: 0,
      coalesced: 0,
      refreshes: 0,
      refreshErrors: 0,
    });
  });

  it('shrinks defaulted TTLs to a smaller maxTtlMs', () => {
    const resolved = resolveResolutionCacheOptions<string>({ maxTtlMs: 60_000 });
    expect(resolved).toMatchObject({ staleTtlMs: 60_000, negativeTtlMs: 60_000, maxTtlMs: 60_000 });
  });

  it.each([
    [{ staleTtlMs: -1 }, 'staleTtlMs'],
    [{ staleTtlMs: 2_000, maxTtlMs: 1_000 }, 'staleTtlMs'],
    [{ negativeTtlMs: 2_000, maxTtlMs: 1_000 }, 'negativeTtlMs'],
    [{ maxTtlMs: 0 }, 'maxTtlMs'],
    [{ maxTtlMs: 86_400_001 }, 'maxTtlMs'],
    [{ maxConcurrentRefreshes: 0 }, 'maxConcurrentRefreshes'],
    [{ refreshClaimTtlMs: 1.5 }, 'refreshClaimTtlMs'],
    [{ now: 'yesterday' }, 'now'],
    [{ store: {} }, 'store'],
    [{ store: { get() {}, set() {}, delete() {}, clear() {} } }, 'store'],
    [{ store: null }, 'store'],
    [{ staleTTL: 5 }, 'staleTTL'],
  ])('rejects %o naming %s', (options, option) => {
    let error: unknown;
    try {
      new ResolutionCache(options as never);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect((error as InvalidOptionsError).option).toBe(`cache.${option}`);
  });

  it('names the option with the caller-given prefix', () => {
    expect(() => resolveResolutionCacheOptions({ maxTtlMs: -5 }, 'resolver.didCache')).toThrow(
      /resolver\.didCache\.maxTtlMs/,
    );
  });
});
