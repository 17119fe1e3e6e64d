import { describe, expect, it } from 'vitest';
import { DEFAULT_CRITERIA, SOAK_EXIT, soakExitStatus, startLine, verdictOf, type Verdict } from '../../src/cli/verdict.js';
import { Timeline } from '../../src/cli/timeline.js';
import { sample, totals } from './samples.js';

const MIB = 1_048_576;
const judge = (samples: Parameters<typeof verdictOf>[1], t: Parameters<typeof verdictOf>[2], extra: Partial<Parameters<typeof verdictOf>[3]> = {}): Verdict =>
  verdictOf('x', samples, t, { criteria: DEFAULT_CRITERIA, judged: true, interrupted: false, ...extra });

describe('the soak verdict', () => {
  it('passes a flat, clean run, fitting only the last half of the measured run and printing values and limits', () => {
    // A 5 s warm-up that grows fast, then 60 s: fast growth in the first half, +1 KiB/s in the second.
    const samples = [
      ...Array.from({ length: 5 }, (_, i) => sample(i + 1, { phase: 'warmup', mallocInUse: (i + 1) * 50 * MIB })),
      ...Array.from({ length: 60 }, (_, i) => {
        const t = i + 6;
        return sample(t, { mallocInUse: t <= 35 ? t * MIB : 35 * MIB + (t - 35) * 1024 });
      }),
    ];
    const v = judge(samples, totals(60, { errors: 300, errorsByClass: { timeout: 300 } }));
    expect([v.fromSecond, v.toSecond]).toEqual([36, 65]);
    expect(v.growthBytesPerSecond).toBeCloseTo(1024, 6);
    expect(v.failed).toEqual([]);
    expect(v.criteria.errors).toEqual({ measured: 0.005, limit: 0.01, pass: true });
    expect(v.line).toBe(
      'verdict [x]: PASS; malloc in use +1.0 ± 0.0 KiB/s over 36–65 s, limit 32 KiB/s: flat; ' +
        'errors 0.50% (timeout 300), limit 1%: ok; achieved 995 of 1000 res/s offered (99.5%), limit 95%: ok',
    );
  });

  it('fails each criterion on its own, and says which', () => {
    const growing = Array.from({ length: 60 }, (_, i) => sample(i + 1, { mallocInUse: (i + 1) * 64 * 1024 }));
    const g = judge(growing, totals(60));
    expect(g.failed).toEqual(['growth']);
    expect(g.line).toMatch(/^verdict \[x\]: FAIL \(growth\); malloc in use \+64\.0 ± 0\.0 KiB\/s .*: GROWING;/);

    const flat = Array.from({ length: 60 }, (_, i) => sample(i + 1));
    const errors = judge(flat, totals(60, { errors: 1200, ok: 58_800 }));
    expect(errors.failed).toEqual(['errors']);
    expect(errors.line).toMatch(/errors 2\.00%, limit 1%: FAILED; achieved 980 of 1000 res\/s offered \(98\.0%\), limit 95%: ok$/);

    // Half the offered load never finished in time and the rest failed: both rate criteria.
    const both = judge(flat, totals(60, { errors: 30_000 }));
    expect(both.failed).toEqual(['errors', 'achieved']);
    expect(both.line).toMatch(/FAIL \(errors, achieved\).*achieved 500 of 1000 res\/s offered \(50\.0%\), limit 95%: FAILED$/);
  });

  it('judges growth only when the slope is clear of the limit by twice its standard error', () => {
    // Malloc jumping by ±4 MiB from second to second (in-flight buffers), around a real trend.
    const noisy = (seconds: number, trend: number) =>
      Array.from({ length: seconds }, (_, i) => sample(i + 1, { mallocInUse: 50 * MIB + (i % 2 === 0 ? 4 : -4) * MIB + (i + 1) * trend }));
    // Thirty seconds cannot tell +40 KiB/s from flat: not judged, and no exit bit.
    const short = judge(noisy(30, 40 * 1024), totals(30));
    expect(short.criteria.growth.pass).toBeNull();
    expect(short.failed).toEqual([]);
    expect(short.line).toMatch(/malloc in use [+-][\d.]+ ± [\d.]+ KiB\/s over 16–30 s, limit 32 KiB\/s: too noisy to judge \(run longer\);/);
    expect(short.growthMarginBytesPerSecond).toBeGreaterThan(32 * 1024);
    // An hour tells both apart.
    const leaking = judge(noisy(3_600, 40 * 1024), totals(3_600));
    expect(leaking.failed).toEqual(['growth']);
    expect(leaking.growthBytesPerSecond! / 1024).toBeCloseTo(40, 0);
    const flat = judge(noisy(3_600, 0), totals(3_600));
    expect(flat.criteria.growth.pass).toBe(true);
    expect(flat.growthMarginBytesPerSecond).toBeLessThan(2 * 1024);
  });

  it('holds a run to the criteria it is given', () => {
    const flat = Array.from({ length: 60 }, (_, i) => sample(i + 1, { mallocInUse: (i + 1) * 2048 }));
    const criteria = { maxGrowthBytesPerSecond: 1024, maxErrorRate: 0, minAchievedFraction: 1 };
    const v = verdictOf('x', flat, totals(60, { errors: 1 }), { criteria, judged: true, interrupted: false });
    expect(v.failed).toEqual(['growth', 'errors', 'achieved']);
    expect(v.line).toMatch(/limit 1 KiB\/s.*limit 0%.*limit 100%/);
  });

  it('reports a peer without judging it, and marks an interrupted run', () => {
    const flat = Array.from({ length: 10 }, (_, i) => sample(i + 1));
    const peer = judge(flat, totals(10, { errors: 9_000 }), { judged: false });
    expect(peer.failed).toEqual([]);
    expect(peer.line).toMatch(/^report \[x\]: not judged; .*errors 90\.00%, limit 1%: FAILED/);
    const cut = judge([...flat, sample(10.4, { seconds: 0.4 })], totals(10.4), { interrupted: true });
    expect(cut.line).toMatch(/^verdict \[x\] \(interrupted at 10\.4 s\): PASS; malloc in use \+0\.0 ± 0\.0 KiB\/s over 6–10\.4 s/);
  });

  it('does not judge what it cannot measure, and falls back to RSS without malloc figures', () => {
    const v = judge([sample(1, { phase: 'warmup' })], totals(0, { offered: 0, ok: 0, seconds: 0 }));
    expect(v.criteria.growth.pass).toBeNull();
    expect(v.criteria.errors.pass).toBeNull();
    expect(v.failed).toEqual([]);
    expect(v.line).toMatch(/too short to judge; errors n\/a, limit 1%: not judged/);
    const rss = judge(Array.from({ length: 4 }, (_, i) => sample(i + 1, { mallocInUse: null, rss: 1e8 + i * 4096 })), totals(4));
    expect(rss.basis).toBe('rss');
    expect(rss.line).toMatch(/RSS \+4\.0 KiB\/s over 3–4 s/);
  });

  it('fits merged samples by the seconds they cover', () => {
    // A day at +1 KiB/s: the timeline merges old samples, the slope stays exact.
    const timeline = new Timeline(200, 50);
    for (let t = 1; t <= 86_400; t++) timeline.add(sample(t, { mallocInUse: 10 * MIB + t * 1024 }));
    const v = judge(timeline.points(), totals(86_400));
    expect(v.growthBytesPerSecond).toBeCloseTo(1024, 3);
    expect(v.fromSecond).toBeGreaterThan(43_000);
    expect(v.fromSecond).toBeLessThan(44_000);
    expect(v.toSecond).toBe(86_400);
  });
});

describe('the soak exit status', () => {
  const flat = Array.from({ length: 60 }, (_, i) => sample(i + 1));
  const pass = judge(flat, totals(60));
  const growth = judge(Array.from({ length: 60 }, (_, i) => sample(i + 1, { mallocInUse: i * MIB })), totals(60));
  const errors = judge(flat, totals(60, { errors: 6_000 }));

  it('is 0 when every judged contender passed, and adds up the bits of failed criteria', () => {
    expect(soakExitStatus({ verdicts: [pass], couldNotRun: false, signal: undefined })).toBe(SOAK_EXIT.ok);
    expect(soakExitStatus({ verdicts: [growth], couldNotRun: false, signal: undefined })).toBe(8);
    expect(soakExitStatus({ verdicts: [errors], couldNotRun: false, signal: undefined })).toBe(16 | 32);
    expect(soakExitStatus({ verdicts: [pass, growth, errors], couldNotRun: false, signal: undefined })).toBe(8 | 16 | 32);
    const peer = judge(flat, totals(60, { errors: 6_000 }), { judged: false });
    expect(soakExitStatus({ verdicts: [pass, peer], couldNotRun: false, signal: undefined })).toBe(0);
  });

  it('is 1 when a contender could not run, and 130/143 when stopped by a signal', () => {
    expect(soakExitStatus({ verdicts: [errors], couldNotRun: true, signal: undefined })).toBe(SOAK_EXIT.failed);
    expect(soakExitStatus({ verdicts: [errors], couldNotRun: true, signal: 'SIGINT' })).toBe(130);
    expect(soakExitStatus({ verdicts: [pass], couldNotRun: false, signal: 'SIGTERM' })).toBe(143);
  });
});

describe('the start line', () => {
  it('gives the warm-up and each start window against the steady state', () => {
    const line = startLine(
      'x',
      totals(5, { offered: 2_500, errors: 3, errorsByClass: { overflow: 3 } }),
      { windowSeconds: 5, loadStartP99Ms: 60, runStartP99Ms: 24, steadyP99Ms: 12, recycles: 2, worstAfterRecycleP99Ms: 96 },
      1000,
    );
    expect(line).toBe(
      'start [x]: warm-up 5 s ramping to 1000/s, not judged: 2500 offered, 3 errors (overflow 3); ' +
        'p99 of the first 5 s 60 ms (5.0× steady); of the first 5 s after the warm-up 24 ms (2.0× steady); steady 12 ms; ' +
        '2 recycles, worst p99 of the 5 s after one 96 ms (8.0× steady)',
    );
  });
});
