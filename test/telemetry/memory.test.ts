import koffi from 'koffi';
import { describe, expect, it } from 'vitest';
import { InvalidOptionsError } from '../../src/errors.js';
import { MemoryProbe, memory } from '../../src/telemetry/memory.js';

const MiB = 1024 * 1024;

interface ReportShape {
  header: { glibcVersionRuntime?: string };
  sharedObjects: string[];
}
const report = process.report.getReport() as unknown as ReportShape;
const glibc = report.header.glibcVersionRuntime;
const glibcHasMallinfo2 = glibc !== undefined && compareVersions(glibc, '2.33') >= 0;

function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

describe.runIf(glibcHasMallinfo2)('memory on glibc >= 2.33', () => {
  const libc = koffi.load('libc.so.6');
  const malloc = libc.func('void *malloc(size_t)');
  const free = libc.func('void free(void *)');

  it('reads consistent figures', () => {
    const s = memory.snapshot();
    expect(s.available).toBe(true);
    expect(s.reason).toBeUndefined();
    expect(memory.available).toBe(true);
    const m = s.malloc;
    expect(m).not.toBeNull();
    if (m === null) return;
    for (const v of Object.values(m)) {
      expect(Number.isSafeInteger(v)).toBe(true);
      expect(v).toBeGreaterThanOrEqual(0);
    }
    expect(m.inUse).toBeGreaterThan(0);
    expect(m.inUse).toBeLessThanOrEqual(m.arena + m.mmapped);
    expect(m.free).toBeLessThanOrEqual(m.arena);
    expect(m.releasable).toBeLessThanOrEqual(m.free);
    expect(s.process.rss).toBeGreaterThan(0);
    expect(s.process.heapUsed).toBeLessThanOrEqual(s.process.heapTotal);
    expect(s.process.arrayBuffers).toBeLessThanOrEqual(s.process.external);
  });

  it('sees a 64 MiB malloc in inUse and mmapped, and its free', () => {
    const size = 64 * MiB;
    const before = memory.snapshot().malloc!;
    const block: unknown = malloc(size);
    expect(block).not.toBeNull();
    let during;
    try {
      during = memory.snapshot().malloc!;
    } finally {
      free(block);
    }
    const after = memory.snapshot().malloc!;
    expect(during.inUse - before.inUse).toBeGreaterThanOrEqual(size);
    // 64 MiB is above glibc's largest mmap threshold (32 MiB), so the block is mmapped on its own.
    expect(during.mmapped - before.mmapped).toBeGreaterThanOrEqual(size);
    // Freeing it gives the whole mapping back: exact on mmapped, which only
    // this block moves. inUse is process-wide, and other threads (V8's
    // background compiler and GC threads, busier on Node 24) allocate while
    // the test runs, so the drop seen there may be short by their few KiB.
    expect(during.mmapped - after.mmapped).toBeGreaterThanOrEqual(size);
    expect(during.inUse - after.inUse).toBeGreaterThanOrEqual(size - MiB);
  });

  it('trim() gives free arena pages back: RSS drops, arena does not', () => {
    // 32 MiB of 16 KiB blocks (under the mmap threshold, so inside the main
    // arena), every page touched so it is resident, then all freed behind a
    // guard block so the space is not simply the arena's top.
    const chunk = 16 * 1024;
    const blocks: unknown[] = [];
    for (let i = 0; i < 2048; i++) {
      const p: unknown = malloc(chunk);
      expect(p).not.toBeNull();
      new Uint8Array(koffi.view(p, chunk)).fill(1);
      blocks.push(p);
    }
    const guard: unknown = malloc(64);
    for (const p of blocks) free(p);
    const result = memory.trim();
    free(guard);
    expect(result.available).toBe(true);
    if (!result.available) return;
    expect(result.released).toBe(true);
    expect(result.before.rss - result.after.rss).toBeGreaterThanOrEqual(8 * MiB);
    // The madvised pages still belong to the arena.
    expect(result.after.arena).toBeGreaterThan(result.before.arena - 8 * MiB);
  });
});

describe('memory where mallinfo2 is missing', () => {
  it('answers null with a reason for a library that lacks the symbol, without throwing', () => {
    // The dynamic loader is a real shared library with no mallinfo2, and,
    // unlike every other library, it does not depend on libc (where dlsym
    // would find the symbol through the dependency).
    const loader = report.sharedObjects.find((p) => /\/ld-(linux|musl)[^/]*\.so/.test(p));
    expect(loader, 'the dynamic loader is among the shared objects').toBeDefined();
    const probe = new MemoryProbe({ library: loader! });
    const s = probe.snapshot();
    expect(s.malloc).toBeNull();
    expect(s.available).toBe(false);
    expect(s.reason).toMatch(/has no mallinfo2/);
    expect(s.reason).toContain(loader!);
    expect(s.process.rss).toBeGreaterThan(0);
    expect(probe.available).toBe(false);
    expect(probe.reason).toBe(s.reason);
    const t = probe.trim();
    expect(t).toEqual({ available: false, released: false, reason: s.reason });
    // Loaded once: the same answer again.
    expect(probe.snapshot().reason).toBe(s.reason);
  });

  it('answers null with a reason when the library cannot be loaded', () => {
    const probe = new MemoryProbe({ library: 'libatresolve-does-not-exist.so.1' });
    const s = probe.snapshot();
    expect(s.malloc).toBeNull();
    expect(s.available).toBe(false);
    expect(s.reason).toMatch(/^cannot load 'libatresolve-does-not-exist\.so\.1'/);
    expect(probe.trim().available).toBe(false);
  });

  it('validates its options', () => {
    expect(() => new MemoryProbe({ library: 3 } as never)).toThrow(InvalidOptionsError);
    expect(() => new MemoryProbe({ libary: 'x' } as never)).toThrow(/memory\.libary: unknown option/);
  });
});

describe.runIf(!glibcHasMallinfo2)('memory on a C library without mallinfo2', () => {
  it('answers null with a reason from the default probe', () => {
    const s = memory.snapshot();
    expect(s.malloc).toBeNull();
    expect(s.available).toBe(false);
    expect(s.reason).toBeTruthy();
  });
});
