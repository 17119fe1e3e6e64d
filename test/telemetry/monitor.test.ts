import { once } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidOptionsError } from '../../src/errors.js';
import {
  MemoryMonitor,
  type GrowthEvent,
  type MemoryMonitorOptions,
  type MemorySampleInput,
  type RemedyErrorEvent,
} from '../../src/telemetry/monitor.js';
import { sleep, waitFor } from '../support/async.js';

/**
 * A monitor on a synthetic clock and series: `at(ms, bytes)` sets the clock
 * and the next reading, then takes one sample.
 */
function synthetic(options: MemoryMonitorOptions = {}, mallocAvailable = true) {
  let now = 0;
  let reading: MemorySampleInput = { malloc: { inUse: 0 }, process: { rss: 0 } };
  const monitor = new MemoryMonitor({
    intervalMs: 1_000,
    windowMs: 10_000,
    growthBudgetBytesPerSecond: 1_000,
    ...options,
    clock: () => now,
    sampler: () => reading,
  });
  const growth: GrowthEvent[] = [];
  monitor.on('growth', (e) => growth.push(e));
  const at = (ms: number, bytes: number, rss = 50_000_000) => {
    now = ms;
    reading = mallocAvailable
      ? { malloc: { inUse: bytes }, process: { rss } }
      : { malloc: null, process: { rss: bytes }, reason: 'test: no mallinfo2' };
    return monitor.sample();
  };
  const setNow = (ms: number) => {
    now = ms;
  };
  return { monitor, at, growth, setNow };
}

let unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
beforeEach(() => {
  unhandled = [];
  process.on('unhandledRejection', onUnhandled);
});
afterEach(() => {
  process.off('unhandledRejection', onUnhandled);
});

describe('MemoryMonitor slope', () => {
  it('is exact on a linear series', () => {
    const { at } = synthetic({ growthBudgetBytesPerSecond: 1_000_000 });
    let stats;
    for (let s = 0; s <= 10; s++) stats = at(s * 1_000, 1_000_000 + 5_000 * s);
    expect(stats!.growthBytesPerSecond).toBe(5_000);
    expect(stats!.basis).toBe('malloc');
    expect(stats!.basisReason).toBeUndefined();
  });

  it('matches a hand-computed fit on irregular points', () => {
    // Points (0 s, 0), (1 s, 1000), (2 s, 3000): t̄ = 1, ȳ = 4000/3,
    // slope = ((-1)(-4000/3) + (1)(5000/3)) / 2 = 1500.
    const { at } = synthetic({ growthBudgetBytesPerSecond: 1_000_000 });
    at(0, 0);
    at(1_000, 1_000);
    expect(at(2_000, 3_000).growthBytesPerSecond).toBe(1_500);
  });

  it('is null with fewer than two samples and negative when shrinking', () => {
    const { at } = synthetic();
    expect(at(0, 10_000).growthBytesPerSecond).toBeNull();
    expect(at(2_000, 6_000).growthBytesPerSecond).toBe(-2_000);
  });

  it('falls back to RSS and says why when malloc figures are unavailable', () => {
    const { at } = synthetic({ growthBudgetBytesPerSecond: 1_000_000 }, false);
    at(0, 100_000_000);
    const stats = at(4_000, 100_040_000);
    expect(stats.basis).toBe('rss');
    expect(stats.basisReason).toBe('test: no mallinfo2');
    expect(stats.growthBytesPerSecond).toBe(10_000);
    expect(stats.current).toEqual({ mallocInUse: null, rss: 100_040_000 });
  });

  it('keeps the window plus one sample at or before its start, and tracks peak and current', () => {
    const { at } = synthetic({ growthBudgetBytesPerSecond: 1_000_000 });
    for (let s = 0; s <= 24; s++) at(s * 1_000, s === 7 ? 9_999_999 : 1_000 * s, 60_000_000 + s);
    const stats = at(25_000, 25_000, 60_000_025);
    expect(stats.samples).toBe(11);
    expect(stats.spanMs).toBe(10_000);
    expect(stats.windowComplete).toBe(true);
    expect(stats.growthBytesPerSecond).toBe(1_000);
    expect(stats.current).toEqual({ mallocInUse: 25_000, rss: 60_000_025 });
    expect(stats.peak).toEqual({ mallocInUse: 9_999_999, rss: 60_000_025 });
  });

  it('drops the oldest samples when manual sampling overflows the ring', () => {
    const { at } = synthetic({ windowMs: 10_000, intervalMs: 1_000, maxSamples: 12 });
    let stats;
    for (let i = 0; i < 40; i++) stats = at(i * 100, i);
    expect(stats!.samples).toBe(12);
    expect(stats!.spanMs).toBe(1_100);
    expect(stats!.windowComplete).toBe(false);
    expect(stats!.growthBytesPerSecond).toBeCloseTo(10, 9);
  });
});

describe('MemoryMonitor growth event', () => {
  it('fires only once the samples span a whole window above the budget, then once per window', () => {
    const { at, growth } = synthetic({ growthBudgetBytesPerSecond: 4_000 });
    for (let s = 0; s <= 9; s++) at(s * 1_000, 5_000 * s);
    expect(growth).toHaveLength(0);
    at(10_000, 50_000);
    expect(growth).toHaveLength(1);
    expect(growth[0]).toEqual({
      growthBytesPerSecond: 5_000,
      budgetBytesPerSecond: 4_000,
      basis: 'malloc',
      spanMs: 10_000,
      samples: 11,
      currentBytes: 50_000,
      remedy: 'none',
    });
    for (let s = 11; s <= 19; s++) at(s * 1_000, 5_000 * s);
    expect(growth).toHaveLength(1);
    at(20_000, 100_000);
    expect(growth).toHaveLength(2);
  });

  it('does not fire at the budget (the slope must exceed it)', () => {
    const { at, growth, monitor } = synthetic({ growthBudgetBytesPerSecond: 5_000 });
    for (let s = 0; s <= 30; s++) at(s * 1_000, 5_000 * s);
    expect(monitor.stats().growthBytesPerSecond).toBe(5_000);
    expect(growth).toHaveLength(0);
    expect(monitor.stats().growthEvents).toBe(0);
  });

  it('with the default window and budget, ignores a 16 MiB burst but flags 40 KiB/s of steady growth', () => {
    // Defaults: 10 s interval, 10 min window, 32 KiB/s budget. A burst in
    // the newest sample is the worst case for a least-squares fit.
    const burst = synthetic({ intervalMs: 10_000, windowMs: 600_000, growthBudgetBytesPerSecond: 32_768 });
    let stats;
    for (let s = 0; s <= 60; s++) stats = burst.at(s * 10_000, 200e6 + (s === 60 ? 16 * 1024 * 1024 : 0));
    expect(stats!.windowComplete).toBe(true);
    expect(stats!.growthBytesPerSecond).toBeGreaterThan(0);
    expect(stats!.growthBytesPerSecond).toBeLessThan(4_096);
    expect(burst.growth).toHaveLength(0);

    const leak = synthetic({ intervalMs: 10_000, windowMs: 600_000, growthBudgetBytesPerSecond: 32_768 });
    for (let s = 0; s <= 60; s++) leak.at(s * 10_000, 200e6 + 40 * 1024 * 10 * s);
    expect(leak.growth).toHaveLength(1);
    expect(leak.growth[0]!.growthBytesPerSecond).toBe(40 * 1024);
  });

  it('reports the RSS basis in the event', () => {
    const { at, growth } = synthetic({}, false);
    for (let s = 0; s <= 10; s++) at(s * 1_000, 1e8 + 2_000 * s);
    expect(growth).toHaveLength(1);
    expect(growth[0]!.basis).toBe('rss');
    expect(growth[0]!.basisReason).toBe('test: no mallinfo2');
  });
});

describe('MemoryMonitor remedy', () => {
  it('runs at most once per cool-down, awaited, after the growth listeners', async () => {
    const runs: number[] = [];
    const order: string[] = [];
    const { at, growth, monitor } = synthetic({
      coolDownMs: 30_000,
      onGrowth: async (e) => {
        order.push('hook');
        runs.push(e.spanMs);
        await new Promise((resolve) => setImmediate(resolve));
      },
    });
    monitor.on('growth', () => order.push('growth listener'));
    for (let s = 0; s <= 60; s++) {
      at(s * 1_000, 2_000 * s);
      if (growth.at(-1)?.remedy === 'started' && monitor.stats().remedyRunning) await once(monitor, 'remedy');
    }
    expect(growth.map((e) => e.remedy)).toEqual(['started', 'cooling-down', 'cooling-down', 'started', 'cooling-down', 'cooling-down']);
    expect(runs).toHaveLength(2);
    expect(order.slice(0, 2)).toEqual(['growth listener', 'hook']);
    const stats = monitor.stats();
    expect(stats.remedies).toBe(2);
    expect(stats.remedyErrors).toBe(0);
    expect(stats.growthEvents).toBe(6);
  });

  it('does not start a second run while one is running, and stop() waits for it', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let runs = 0;
    const { at, growth, monitor, setNow } = synthetic({
      coolDownMs: 0,
      onGrowth: async () => {
        runs++;
        await gate;
      },
    });
    for (let s = 0; s <= 20; s++) at(s * 1_000, 2_000 * s);
    expect(growth.map((e) => e.remedy)).toEqual(['started', 'running']);
    await Promise.resolve();
    expect(runs).toBe(1);
    expect(monitor.stats().remedyRunning).toBe(true);
    let stopped = false;
    const done = monitor.stop().then(() => {
      stopped = true;
    });
    const remedy = once(monitor, 'remedy');
    await new Promise((resolve) => setImmediate(resolve));
    expect(stopped).toBe(false);
    setNow(20_750);
    release();
    const [event] = await remedy;
    await done;
    expect(stopped).toBe(true);
    expect(event.durationMs).toBe(10_750);
    expect(event.growth).toBe(growth[0]);
    expect(monitor.stats().remedyRunning).toBe(false);
  });

  it.each([
    ['throws', () => {
      throw new Error('remedy failed');
    }],
    ['rejects', () => Promise.reject(new Error('remedy failed'))],
  ])('reports a hook that %s as remedyError, never as an unhandled rejection', async (_, hook) => {
    const { at, monitor } = synthetic({ onGrowth: hook });
    const failed = once(monitor, 'remedyError') as Promise<[RemedyErrorEvent]>;
    for (let s = 0; s <= 10; s++) at(s * 1_000, 2_000 * s);
    const [event] = await failed;
    expect(event.error).toBeInstanceOf(Error);
    expect((event.error as Error).message).toBe('remedy failed');
    expect(event.growth.remedy).toBe('started');
    await monitor.stop();
    await new Promise((resolve) => setImmediate(resolve));
    expect(monitor.stats().remedyErrors).toBe(1);
    expect(monitor.stats().remedies).toBe(0);
    expect(unhandled).toEqual([]);
  });

  it('does not reject or throw when nobody listens for remedyError', async () => {
    const { at, monitor } = synthetic({ onGrowth: () => Promise.reject(new Error('nobody listens')) });
    for (let s = 0; s <= 10; s++) at(s * 1_000, 2_000 * s);
    await monitor.stop();
    await new Promise((resolve) => setImmediate(resolve));
    expect(monitor.stats().remedyErrors).toBe(1);
    expect(unhandled).toEqual([]);
  });
});

describe('MemoryMonitor timer', () => {
  it('samples on start, on every interval until stop, with the real memory sampler', async () => {
    const monitor = new MemoryMonitor({ intervalMs: 5, windowMs: 1_000, maxSamples: 1_000 });
    expect(monitor.running).toBe(false);
    monitor.start();
    monitor.start();
    expect(monitor.running).toBe(true);
    expect(monitor.stats().samples).toBe(1);
    expect(monitor.stats().current!.rss).toBeGreaterThan(0);
    await waitFor('four samples', () => monitor.stats().samples >= 4, 2_000);
    await monitor.stop();
    await monitor.stop();
    expect(monitor.running).toBe(false);
    const n = monitor.stats().samples;
    await sleep(30);
    expect(monitor.stats().samples).toBe(n);
  });

  it('continues the series after a short stop, and starts over after a gap longer than a window', async () => {
    let now = 0;
    const monitor = new MemoryMonitor({
      intervalMs: 60_000,
      windowMs: 120_000,
      clock: () => now,
      sampler: () => ({ malloc: { inUse: now }, process: { rss: 1 } }),
    });
    monitor.start();
    await monitor.stop();
    now = 100_000;
    monitor.start();
    await monitor.stop();
    expect(monitor.stats().samples).toBe(2);
    now = 300_000;
    monitor.start();
    await monitor.stop();
    expect(monitor.stats()).toMatchObject({ samples: 1, growthBytesPerSecond: null, peak: { mallocInUse: 300_000, rss: 1 } });
  });

  it('emits sampleError when the sampler throws during a tick', async () => {
    let calls = 0;
    const monitor = new MemoryMonitor({
      intervalMs: 5,
      windowMs: 1_000,
      maxSamples: 1_000,
      sampler: () => {
        if (calls++ > 0) throw new Error('sampler broke');
        return { malloc: null, process: { rss: 1 } };
      },
    });
    monitor.start();
    const [error] = await once(monitor, 'sampleError');
    await monitor.stop();
    expect((error as Error).message).toBe('sampler broke');
    expect(monitor.stats().sampleErrors).toBeGreaterThanOrEqual(1);
    expect(monitor.stats().samples).toBe(1);
  });
});

describe('MemoryMonitor options', () => {
  it('has working defaults', () => {
    const monitor = new MemoryMonitor();
    expect(monitor.stats()).toMatchObject({ samples: 0, basis: null, growthBytesPerSecond: null, current: null, peak: null, budgetBytesPerSecond: 32_768 });
  });

  it.each([
    [{ windowMs: 1_000, intervalMs: 1_000 }, 'monitor.windowMs'],
    [{ windowMs: 100_000, intervalMs: 10, maxSamples: 100 }, 'monitor.maxSamples'],
    [{ intervalMs: 0 }, 'monitor.intervalMs'],
    [{ growthBudgetBytesPerSecond: 1.5 }, 'monitor.growthBudgetBytesPerSecond'],
    [{ onGrowth: 'reset' }, 'monitor.onGrowth'],
    [{ sampler: {} }, 'monitor.sampler'],
    [{ clock: 1 }, 'monitor.clock'],
    [{ budget: 1 }, 'monitor.budget'],
  ])('rejects %o naming %s', (options, name) => {
    let error: unknown;
    try {
      new MemoryMonitor(options as MemoryMonitorOptions);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect((error as InvalidOptionsError).option).toBe(name);
  });
});
