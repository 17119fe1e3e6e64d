import { describe, expect, it } from 'vitest';
import { leastSquaresFit, leastSquaresSlope } from '../../src/telemetry/slope.js';

// The one least-squares fit behind MemoryMonitor's slope and the soak's verdict.
describe('leastSquaresFit', () => {
  const fit = (ys: number[], ws?: number[]) => leastSquaresFit(ys.length, (i) => i, (i) => ys[i]!, ws ? (i) => ws[i]! : undefined);

  it('gives the ordinary least-squares slope and its standard error', () => {
    // Worked by hand: slope 0.8, residuals ±0.3 and ±0.9, s² = 1.8 / 2, Sxx = 5.
    const result = fit([1, 3, 2, 4]);
    expect(result?.slope).toBeCloseTo(0.8, 12);
    expect(result?.standardError).toBeCloseTo(Math.sqrt(0.9 / 5), 12);
    expect(fit([5, 7, 9, 11])).toEqual({ slope: 2, standardError: 0 });
  });

  it('weighs points: a point of weight 2 counts as two points', () => {
    const weighted = fit([1, 3, 2], [1, 2, 1]);
    const repeated = leastSquaresFit(4, (i) => [0, 1, 1, 2][i]!, (i) => [1, 3, 3, 2][i]!);
    expect(weighted?.slope).toBeCloseTo(repeated!.slope, 12);
  });

  it('has no fit without two points or spread, and no standard error from two points', () => {
    expect(fit([1])).toBeUndefined();
    expect(leastSquaresFit(3, () => 7, (i) => i)).toBeUndefined();
    expect(fit([1, 2], [0, 0])).toBeUndefined();
    expect(fit([1, 4])).toEqual({ slope: 3, standardError: null });
    expect(leastSquaresSlope(1, (i) => i, (i) => i)).toBeNull();
  });
});
