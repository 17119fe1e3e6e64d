import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryCacheStore } from '../../src/cache/memory.js';
import { ResolutionCache } from '../../src/cache/policy.js';
import { FakeClock, flush } from './helpers.js';

/**
 * The policy over a bounded store, under random operation sequences —
 * concurrent resolves of a few keys whose loads succeed, find nothing, fail
 * or are oversized, mixed with purges, clears, forced refreshes and time
 * passing. After every step: the store is within its entry and byte bounds,
 * no load is left in flight once everything settled, and a failure never
 * leaves an entry behind. (The store alone has its own model-based
 * property, memory-store.property.test.ts.)
 */

const key = fc.constantFrom('a', 'b', 'c', 'd', 'e');
const outcome = fc.constantFrom('value', 'null', 'fail');
const op = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('resolve' as const),
      keys: fc.array(key, { minLength: 1, maxLength: 4 }),
      outcome,
      size: fc.integer({ min: 1, max: 400 }),
      force: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('purge' as const), key }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('clear' as const) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.nat(2_000) }) },
);

describe('ResolutionCache under random operation sequences', () => {
  it('stays within the store bounds, settles every load and never stores a failure', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 50, max: 600 }),
        fc.array(op, { maxLength: 40 }),
        async (maxEntries, maxBytes, ops) => {
          const clock = new FakeClock();
          const store = new MemoryCacheStore<string>({ maxEntries, maxBytes, maxTtlMs: 3_000, now: clock.now });
          const cache = new ResolutionCache<string>({
            store,
            staleTtlMs: 1_000,
            maxTtlMs: 3_000,
            negativeTtlMs: 500,
            maxConcurrentRefreshes: 2,
            now: clock.now,
          });
          let n = 0;
          for (const o of ops) {
            if (o.kind === 'resolve') {
              const hadEntry = new Map<string, boolean>();
              for (const k of o.keys) hadEntry.set(k, (await store.get(k)) !== undefined);
              // Several callers at once: concurrent loads of one key coalesce.
              const results = await Promise.allSettled(
                o.keys.map((k) =>
                  cache.resolve(
                    k,
                    async () => {
                      await Promise.resolve();
                      if (o.outcome === 'fail') throw new Error('origin down');
                      return { value: o.outcome === 'null' ? null : `v${n++}`, size: o.size };
                    },
                    { forceRefresh: o.force },
                  ),
                ),
              );
              await flush();
              if (o.outcome === 'fail') {
                for (const k of o.keys) {
                  // A failed load adds nothing: a key without an entry still has none.
                  if (!hadEntry.get(k)) expect(await store.get(k)).toBeUndefined();
                }
              } else {
                for (const r of results) expect(r.status).toBe('fulfilled');
              }
            } else if (o.kind === 'purge') {
              await cache.purge(o.key);
              expect(await store.get(o.key)).toBeUndefined();
            } else if (o.kind === 'clear') {
              await cache.clear();
              expect(store.stats().entries).toBe(0);
            } else {
              clock.advance(o.ms);
            }
            const stats = cache.stats();
            expect(stats.entries).toBeLessThanOrEqual(maxEntries);
            expect(stats.bytes).toBeLessThanOrEqual(maxBytes);
            expect(cache.loadsInFlight).toBe(0);
            expect(cache.refreshesInFlight).toBe(0);
          }
          await cache.close();
        },
      ),
      { numRuns: 300 },
    );
  });
});
