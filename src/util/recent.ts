/**
 * Figures of the last moment, kept in two adjacent time buckets: the
 * current one and the one before it. When time moves past the current
 * bucket, it becomes the previous one (or, after a gap of two buckets or
 * more, both start empty). Admission reads the idle pool's pace from a
 * {@link RecentPace}, the connection pools their busy peak from a
 * {@link RecentPeak} (`docs/admission.md`).
 */
class TwoBuckets {
  current = 0;
  previous = 0;
  /** When the current bucket began (`performance.now()` clock). */
  start = -Infinity;

  constructor(readonly bucketMs: number) {}

  /** Forget both buckets. */
  clear(): void {
    this.current = 0;
    this.previous = 0;
    this.start = -Infinity;
  }

  /** Move to the bucket `now` falls in. */
  roll(now: number): void {
    const elapsed = now - this.start;
    if (elapsed < this.bucketMs) return;
    const adjacent = elapsed < 2 * this.bucketMs;
    this.previous = adjacent ? this.current : 0;
    this.current = 0;
    this.start = adjacent ? this.start + this.bucketMs : now;
  }
}

/** Length of each of a {@link RecentPace}'s two buckets, ms. */
const PACE_BUCKET_MS = 500;

/**
 * How often an event happened over the last half second to second. Measured
 * over wall time, not between consecutive events, so a turn of a saturated
 * event loop that acts long after the last event reads the pace of the last
 * second, not the length of that turn.
 */
export class RecentPace {
  readonly #buckets = new TwoBuckets(PACE_BUCKET_MS);

  add(now: number): void {
    this.#buckets.roll(now);
    this.#buckets.current += 1;
  }

  /** Mean time between events over the last 0.5–1 s, ms; `Infinity` when there were none. */
  meanInterval(now: number): number {
    const b = this.#buckets;
    b.roll(now);
    const events = b.current + b.previous;
    return events === 0 ? Infinity : (b.bucketMs + now - b.start) / events;
  }

  clear(): void {
    this.#buckets.clear();
  }
}

/** Length of each of a {@link RecentPeak}'s two buckets, ms. */
export const RECENT_PEAK_BUCKET_MS = 1_000;

/**
 * The highest value a gauge reached over the last one to two seconds. The
 * connection pools size their idle budget from it, so that connections a
 * burst needed a moment ago are not closed by a dip that lasts a fraction
 * of a second, only to be opened again (`docs/admission.md`, "Idle
 * connections after a burst").
 */
export class RecentPeak {
  readonly #buckets = new TwoBuckets(RECENT_PEAK_BUCKET_MS);

  /** Record the gauge's value now and return the peak of the last 1–2 s. */
  observe(value: number, now: number): number {
    const b = this.#buckets;
    b.roll(now);
    if (value > b.current) b.current = value;
    return Math.max(b.current, b.previous);
  }
}
