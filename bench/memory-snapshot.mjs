// Cost of memory.snapshot(): microseconds per call, and what sampling at a
// 1 s interval costs relative to one core. Prints figures; asserts nothing.
//
//   npm run bench:memory
//
// The loop is bounded in count and time. mallinfo2() walks every arena's
// free lists under its lock, so the figure depends on the heap's shape: it
// is also measured after fragmenting the heap with many small frees.
import { memory } from '../dist/telemetry/index.js';

const MAX_CALLS = 200_000;
const MAX_MS = 2_000;

function measure(label, fn) {
  for (let i = 0; i < 1_000; i++) fn(); // warm up (and load koffi + libc once)
  let calls = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(MAX_MS) * 1_000_000n;
  while (calls < MAX_CALLS) {
    for (let i = 0; i < 100; i++) fn();
    calls += 100;
    if (process.hrtime.bigint() > deadline) break;
  }
  const ns = Number(process.hrtime.bigint() - start);
  const us = ns / calls / 1_000;
  const atOneSecond = (us / 1_000_000) * 100;
  console.log(`${label.padEnd(44)} ${us.toFixed(2).padStart(8)} µs/call  (${calls} calls)  at 1 s interval: ${atOneSecond.toFixed(5)}% of one core`);
  return us;
}

const first = memory.snapshot();
console.log(`node ${process.version}, ${process.platform}/${process.arch}; malloc figures ${first.available ? 'available' : `unavailable: ${first.reason}`}`);

measure('memory.snapshot()', () => memory.snapshot());
measure('process.memoryUsage() alone (for reference)', () => process.memoryUsage());

// Fragment the heap: allocate 20k Buffers of 256 B to 4 KiB with
// allocUnsafeSlow (each its own malloc, no pool slab) and keep every other
// one, so the main arena's free lists hold ~10k chunks.
const keep = [];
{
  const all = [];
  for (let i = 0; i < 20_000; i++) all.push(Buffer.allocUnsafeSlow(256 + (i % 64) * 64));
  for (let i = 0; i < all.length; i += 2) keep.push(all[i]);
}
globalThis.gc?.();
const fragmented = memory.snapshot();
if (fragmented.malloc) {
  console.log(`fragmented heap: inUse ${(fragmented.malloc.inUse / 2 ** 20).toFixed(1)} MiB, free ${(fragmented.malloc.free / 2 ** 20).toFixed(1)} MiB`);
}
measure('memory.snapshot() on the fragmented heap', () => memory.snapshot());
const t0 = process.hrtime.bigint();
const trimmed = memory.trim();
const trimUs = Number(process.hrtime.bigint() - t0) / 1_000;
if (trimmed.available) {
  console.log(`memory.trim(): ${trimUs.toFixed(0)} µs, released=${trimmed.released}, rss ${(trimmed.before.rss / 2 ** 20).toFixed(1)} -> ${(trimmed.after.rss / 2 ** 20).toFixed(1)} MiB`);
} else {
  console.log(`memory.trim(): unavailable: ${trimmed.reason}`);
}
console.log(`(kept ${keep.length} buffers alive)`);
