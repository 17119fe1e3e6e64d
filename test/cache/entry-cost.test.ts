import { describe, expect, it } from 'vitest';
import { entryCharge } from '../../src/cache/memory.js';
import { runNode } from '../support/child.js';
import { distIndex, packagePath } from '../support/dist.js';

/**
 * `maxBytes` bounds the heap a cache holds, for not-found entries too. A
 * child process (`--expose-gc`) resolves 40,000 unknown DIDs through a real
 * IdResolver against a local PLC directory that answers 404, with the DID
 * cache bounded at 4 MiB, and reports the heap growth with the cache full.
 * When a negative entry was charged 64 bytes, 4 MiB "held" all 40,000 of
 * them, in ~6.5 MB of heap.
 */

const COUNT = 40_000;
const MAX_BYTES = 4 * 1024 * 1024;

describe('not-found entries are charged what they cost', () => {
  it('keeps the heap held by 40,000 not-found entries under maxBytes', async () => {
    const result = await runNode(['--expose-gc', packagePath('test', 'cache', 'fixtures', 'negative-entries.mjs')], {
      env: { ATRESOLVE_TEST_DIST: distIndex, COUNT: String(COUNT), MAX_BYTES: String(MAX_BYTES) },
      timeoutMs: 120_000,
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const figures = JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '{}') as {
      heapGrowth: number;
      entries: number;
      bytes: number;
      evictions: number;
      notFound: number;
    };
    expect(figures.notFound).toBe(COUNT + 2_000);
    // The byte bound bound: entries were evicted, the rest fit in maxBytes.
    expect(figures.evictions).toBeGreaterThan(0);
    expect(figures.bytes).toBeLessThanOrEqual(MAX_BYTES);
    expect(figures.entries * entryCharge('did:plc:aaaaaaaaaaaaaaaaaaaaaaaa', 0)).toBe(figures.bytes);
    // What the entries really hold stays within what they were charged.
    expect(figures.heapGrowth).toBeLessThanOrEqual(figures.bytes);
  });
});
