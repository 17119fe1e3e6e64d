import { describe, expect, it } from 'vitest';
import { RecentPace, RecentPeak } from '../../src/util/recent.js';

// The two-bucket figures on a clock the test moves (ms).
describe('RecentPeak', () => {
  it('remembers the highest value for one to two seconds, then forgets it', () => {
    const peak = new RecentPeak();
    expect(peak.observe(5, 10_000)).toBe(5);
    expect(peak.observe(200, 10_100)).toBe(200); // a burst
    expect(peak.observe(3, 10_400)).toBe(200); // a dip: the burst's peak still counts
    expect(peak.observe(3, 11_500)).toBe(200); // the next bucket: the previous one holds 200
    expect(peak.observe(3, 12_100)).toBe(3); // two buckets on: forgotten
    expect(peak.observe(0, 20_000)).toBe(0); // after a long gap both buckets start empty
  });
});

describe('RecentPace', () => {
  it('is Infinity with no events, and the mean interval of the last 0.5–1 s otherwise', () => {
    const pace = new RecentPace();
    expect(pace.meanInterval(1_000)).toBe(Infinity);
    for (let t = 1_000; t < 1_400; t += 2) pace.add(t); // 200 events, one every 2 ms
    // 200 events over the current bucket (400 ms so far) and an empty previous one (500 ms)
    expect(pace.meanInterval(1_400)).toBeCloseTo(900 / 200, 5);
    // a busy turn of 100 ms with no event: still the pace of the last
    // buckets (200 events in the 500 ms bucket now behind), not 100 ms
    expect(pace.meanInterval(1_500)).toBeCloseTo(500 / 200, 5);
    expect(pace.meanInterval(1_900)).toBeCloseTo(900 / 200, 5);
    // a quiet spell of two buckets: no event left
    expect(pace.meanInterval(2_600)).toBe(Infinity);
  });

  it('forgets everything on clear()', () => {
    const pace = new RecentPace();
    pace.add(5_000);
    pace.clear();
    expect(pace.meanInterval(5_001)).toBe(Infinity);
  });
});
