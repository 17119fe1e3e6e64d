import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from '../../src/cli/histogram.js';

describe('LatencyHistogram', () => {
  it('is empty at first', () => {
    const h = new LatencyHistogram();
    expect([h.count, h.max, h.mean, h.quantile(0.5)]).toEqual([0, 0, null, null]);
  });

  it('gives quantiles within 2% of the exact ones, capped at the maximum', () => {
    const h = new LatencyHistogram();
    const values = Array.from({ length: 10_000 }, (_, i) => 0.05 + i * 0.37);
    for (const v of values) h.record(v);
    for (const q of [0.5, 0.9, 0.99]) {
      const exact = values[Math.ceil(q * values.length) - 1]!;
      const got = h.quantile(q)!;
      expect(got).toBeGreaterThanOrEqual(exact);
      expect(got / exact).toBeLessThanOrEqual(1.021);
    }
    expect(h.quantile(1)).toBe(h.max);
    expect(h.max).toBe(values[values.length - 1]);
    expect(h.mean).toBeCloseTo(values.reduce((a, b) => a + b, 0) / values.length, 6);
  });

  it('keeps values outside its range in its edge buckets', () => {
    const h = new LatencyHistogram();
    h.record(-3);
    h.record(0);
    h.record(10_000_000);
    expect(h.count).toBe(3);
    expect(h.quantile(0.5)).toBeLessThanOrEqual(0.01);
    expect(h.quantile(1)).toBe(10_000_000);
  });

  it('reset() forgets everything', () => {
    const h = new LatencyHistogram();
    h.record(5);
    h.reset();
    expect([h.count, h.max, h.quantile(0.5)]).toEqual([0, 0, null]);
  });
});
