import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryCacheStore } from '../../src/cache/memory.js';
import { FakeClock } from './helpers.js';

/**
 * A naive LRU (array, oldest first) that states the store's contract:
 * entry and byte bounds, least recently used evicted first, oversized
 * entries refused, entries maxTtlMs old never returned.
 */
class ModelStore {
  entries: Array<{ key: string; value: string; fetchedAt: number; size: number }> = [];
  evictions = 0;
  constructor(
    readonly maxEntries: number,
    readonly maxBytes: number,
    readonly maxTtlMs: number,
  ) {}
  get bytes(): number {
    return this.entries.reduce((sum, e) => sum + e.size, 0);
  }
  get(key: string, now: number): string | undefined {
    const i = this.entries.findIndex((e) => e.key === key);
    if (i < 0) return undefined;
    const [e] = this.entries.splice(i, 1);
    if (now - e!.fetchedAt >= this.maxTtlMs) return undefined;
    this.entries.push(e!);
    return e!.value;
  }
  set(key: string, value: string, fetchedAt: number, size: number): void {
    this.delete(key);
    if (size > this.maxBytes) {
      this.evictions++;
      return;
    }
    while (this.entries.length >= this.maxEntries || this.bytes + size > this.maxBytes) {
      this.entries.shift();
      this.evictions++;
    }
    this.entries.push({ key, value, fetchedAt, size });
  }
  delete(key: string): void {
    this.entries = this.entries.filter((e) => e.key !== key);
  }
}

const key = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h');
const op = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), key, size: fc.integer({ min: 1, max: 120 }), age: fc.nat(1_500) }),
  fc.record({ kind: fc.constant('get' as const), key }),
  fc.record({ kind: fc.constant('delete' as const), key }),
  fc.record({ kind: fc.constant('tick' as const), ms: fc.nat(600) }),
  fc.record({ kind: fc.constant('clear' as const) }),
);

describe('MemoryCacheStore under random operation sequences', () => {
  it('never exceeds its bounds and behaves like a naive LRU', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 300 }),
        fc.array(op, { maxLength: 80 }),
        async (maxEntries, maxBytes, ops) => {
          const clock = new FakeClock();
          const maxTtlMs = 1_000;
          const store = new MemoryCacheStore<string>({ maxEntries, maxBytes, maxTtlMs, now: clock.now });
          const model = new ModelStore(maxEntries, maxBytes, maxTtlMs);
          let n = 0;
          for (const o of ops) {
            switch (o.kind) {
              case 'set': {
                const value = `v${n++}`;
                await store.set(o.key, { value, fetchedAt: clock.ms - o.age, size: o.size });
                model.set(o.key, value, clock.ms - o.age, o.size);
                break;
              }
              case 'get':
                expect((await store.get(o.key))?.value).toBe(model.get(o.key, clock.ms));
                break;
              case 'delete':
                await store.delete(o.key);
                model.delete(o.key);
                break;
              case 'tick':
                clock.advance(o.ms);
                break;
              case 'clear':
                await store.clear();
                model.entries = [];
                break;
            }
            const stats = store.stats();
            expect(stats.entries).toBeLessThanOrEqual(maxEntries);
            expect(stats.bytes).toBeLessThanOrEqual(maxBytes);
            expect(stats).toMatchObject({ entries: model.entries.length, bytes: model.bytes, evictions: model.evictions });
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
