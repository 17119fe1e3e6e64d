import { describe, expect, it } from 'vitest';
import { chartOption } from '../../src/cli/chart.js';
import { GROWTH_BUDGET_BYTES_PER_SECOND, slope, verdictOf } from '../../src/cli/report.js';
import type { RunnerTotals, SoakSample } from '../../src/cli/soak-ipc.js';

function sample(t: number, mallocInUse: number | null, extra: Partial<SoakSample> = {}): SoakSample {
  return {
    t, seconds: 1, offered: 1000, ok: 1000, errors: 0, overflow: 0, inFlight: 3, openConnections: 60,
    mallocInUse, rss: 100e6 + t, heapUsed: 1, arrayBuffers: 1, slopeBytesPerSecond: null, p50Ms: 4, p99Ms: 20, recycles: 0, ...extra,
  };
}

const totals: RunnerTotals = {
  offered: 60_000, ok: 59_700, errors: 300, overflow: 0, unfinished: 0,
  byKind: { plc: { offered: 0, ok: 0, errors: 0 }, web: { offered: 0, ok: 0, errors: 0 }, handle: { offered: 0, ok: 0, errors: 0 } },
  errorCodes: { X: 300 }, seconds: 60, achievedPerSecond: 995,
};

describe('the verdict', () => {
  it('slope() is the least-squares slope', () => {
    expect(slope([{ x: 1, y: 3 }, { x: 2, y: 5 }, { x: 3, y: 7 }])).toBeCloseTo(2, 10);
    expect(slope([{ x: 1, y: 3 }])).toBeNull();
    expect(slope([{ x: 1, y: 3 }, { x: 1, y: 4 }])).toBeNull();
  });

  it('fits only the last half of the run and calls a slope within the budget flat', () => {
    // Fast growth in the first half (warm-up), flat (+1 KiB/s) in the second.
    const samples = Array.from({ length: 60 }, (_, i) => {
      const t = i + 1;
      return sample(t, t <= 30 ? t * 1e6 : 30e6 + (t - 30) * 1024);
    });
    const v = verdictOf('x', samples, totals);
    expect([v.fromSecond, v.toSecond]).toEqual([31, 60]);
    expect(v.growthBytesPerSecond).toBeCloseTo(1024, 6);
    expect(v.flat).toBe(true);
    expect(v.basis).toBe('malloc');
    expect(v.errorRate).toBeCloseTo(0.005, 10);
    expect(v.line).toBe(
      'verdict [x]: malloc in use +1.0 KiB/s over the last half (31–60 s): flat (budget 32 KiB/s); 995 res/s achieved of 1000 offered, 0.50% errors',
    );
  });

  it('calls growth above the budget GROWING, and falls back to RSS without malloc figures', () => {
    const growing = Array.from({ length: 60 }, (_, i) => sample(i + 1, (i + 1) * 2 * GROWTH_BUDGET_BYTES_PER_SECOND));
    expect(verdictOf('x', growing, totals).line).toMatch(/\+64\.0 KiB\/s .*: GROWING/);
    const noMalloc = Array.from({ length: 4 }, (_, i) => sample(i + 1, null));
    const v = verdictOf('x', noMalloc, totals);
    expect(v.basis).toBe('rss');
    expect(v.line).toMatch(/RSS \+0\.0 KiB\/s over the last half \(3–4 s\): flat \(few samples: noisy\)/);
  });
});

describe('the chart', () => {
  it('draws malloc and RSS per contender in one colour, and marks recycles', () => {
    const option = chartOption('t', 's', [
      { name: 'a', samples: [sample(1, 5 * 1_048_576), sample(2, 6 * 1_048_576, { recycles: 1 })] },
      { name: 'b', samples: [sample(1, null)] },
    ]) as { series: Array<{ name: string; data: number[][]; lineStyle: { color: string; type?: string }; markLine?: { data: unknown[] } }> };
    expect(option.series.map((s) => s.name)).toEqual(['a malloc in use', 'a RSS', 'b RSS']);
    expect(option.series[0]?.data).toEqual([[1, 5], [2, 6]]);
    expect(option.series[0]?.markLine?.data).toEqual([{ xAxis: 2 }]);
    expect(option.series[0]?.lineStyle.color).toBe(option.series[1]?.lineStyle.color);
    expect(option.series[1]?.lineStyle.type).toBe('dashed');
    expect(option.series[2]?.lineStyle.color).not.toBe(option.series[0]?.lineStyle.color);
  });
});
