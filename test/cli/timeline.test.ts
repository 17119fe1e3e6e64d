import { describe, expect, it } from 'vitest';
import { mergeSamples, samplesIn, Timeline, TIMELINE_CAPACITY } from '../../src/cli/timeline.js';
import { sample } from './samples.js';

const MIB = 1_048_576;

describe('the soak timeline', () => {
  it('keeps every sample of a run shorter than its capacity as it came', () => {
    const timeline = new Timeline();
    const samples = Array.from({ length: 300 }, (_, i) => sample(i + 1, { mallocInUse: i }));
    for (const s of samples) timeline.add(s);
    expect(timeline.points()).toEqual(samples);
  });

  it('stays bounded over a day (a fast-forwarded clock), coarser with age, and keeps the extremes', () => {
    const timeline = new Timeline();
    let maxLength = 0;
    for (let t = 1; t <= 86_400; t++) {
      const spike = t === 1_000 ? 500 * MIB : 0;
      const dip = t === 2_000 ? -5 * MIB : 0;
      timeline.add(
        sample(t, {
          phase: t <= 5 ? 'warmup' : 'run',
          mallocInUse: 10 * MIB + spike + dip,
          p99Ms: t === 3_000 ? 5_000 : 20,
          errors: t % 1_000 === 0 ? 7 : 0,
          errorsByClass: t % 1_000 === 0 ? { timeout: 7 } : {},
          recycles: t % 10_000 === 0 ? 1 : 0,
        }),
      );
      maxLength = Math.max(maxLength, timeline.length);
    }
    const points = timeline.points();
    expect(maxLength).toBeLessThanOrEqual(TIMELINE_CAPACITY);
    expect(points.length).toBeGreaterThan(TIMELINE_CAPACITY / 2);
    // Every second is accounted for once, in order.
    expect(points.reduce((n, p) => n + samplesIn(p), 0)).toBe(86_400);
    expect(points.reduce((n, p) => n + p.seconds, 0)).toBe(86_400);
    expect(points.reduce((n, p) => n + p.offered, 0)).toBe(86_400_000);
    expect(points.reduce((n, p) => n + (p.errorsByClass.timeout ?? 0), 0)).toBe(86 * 7);
    expect(points.reduce((n, p) => n + p.recycles, 0)).toBe(8);
    for (let i = 1; i < points.length; i++) expect(points[i]!.t).toBeGreaterThan(points[i - 1]!.t);
    // The newest five minutes at full resolution, the oldest coarsest.
    expect(points.slice(-300).every((p) => p.range === undefined)).toBe(true);
    expect(samplesIn(points[10]!)).toBeGreaterThanOrEqual(samplesIn(points[points.length - 400]!));
    // The warm-up is never merged with the run.
    expect(points.filter((p) => p.phase === 'warmup').reduce((n, p) => n + samplesIn(p), 0)).toBe(5);
    // A one-second spike and dip a day ago still show.
    const spiked = points.find((p) => p.range !== undefined && p.range.from < 1_000 && p.t >= 1_000)!;
    expect(spiked.range?.max.mallocInUse).toBe(510 * MIB);
    expect(points.find((p) => p.range !== undefined && p.range.from < 2_000 && p.t >= 2_000)?.range?.min.mallocInUse).toBe(5 * MIB);
    expect(points.find((p) => p.range !== undefined && p.range.from < 3_000 && p.t >= 3_000)?.p99Ms).toBe(5_000);
  });

  it('merges two samples into one covering both', () => {
    const merged = mergeSamples(
      sample(1, { mallocInUse: 10 * MIB, openConnections: 10, p50Ms: 2, p99Ms: 30, inFlight: 5, errors: 1, errorsByClass: { timeout: 1 }, cpu: { runner: 50, world: 20, soak: 1, machine: 80 } }),
      sample(2, { mallocInUse: 20 * MIB, openConnections: 30, p50Ms: 4, p99Ms: 10, inFlight: 2, errors: 2, errorsByClass: { timeout: 1, overflow: 1 }, slopeBytesPerSecond: 7 }),
    );
    expect(merged).toMatchObject({
      t: 2,
      seconds: 2,
      offered: 2000,
      errors: 3,
      errorsByClass: { timeout: 2, overflow: 1 },
      mallocInUse: 15 * MIB,
      openConnections: 20,
      p50Ms: 3,
      p99Ms: 30,
      inFlight: 5,
      slopeBytesPerSecond: 7,
      cpu: { runner: 50, world: 20, soak: 1, machine: 80 },
      range: { samples: 2, from: 0, min: { mallocInUse: 10 * MIB, openConnections: 10, p99Ms: 10 }, max: { mallocInUse: 20 * MIB, openConnections: 30, p99Ms: 30 } },
    });
  });

  it('refuses a capacity it cannot keep', () => {
    expect(() => new Timeline(3, 1)).toThrow(RangeError);
    expect(() => new Timeline(10, 10)).toThrow(RangeError);
  });
});
