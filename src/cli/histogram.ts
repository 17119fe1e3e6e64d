/**
 * A fixed-size latency histogram: log-spaced buckets from 10 µs to ~1.7 h
 * with ~2% relative width (beyond that, one last bucket), in one `Float64Array` of 1,024 counts (8 KiB).
 * Recording is O(1) and memory never grows with the number of samples, so
 * the measured process holds the same bytes after a minute and after a day.
 */
/** Values at or below this (ms) fall in the first bucket. */
const MIN_MS = 0.01;
const GROWTH = 1.02;
const BUCKETS = 1024;
const LOG_GROWTH = Math.log(GROWTH);

export class LatencyHistogram {

  readonly #counts = new Float64Array(BUCKETS);
  #count = 0;
  #sum = 0;
  #max = 0;

  /** Record one latency in milliseconds (negative values count as 0). */
  record(ms: number): void {
    const value = ms > 0 ? ms : 0;
    this.#counts[bucketOf(value)]! += 1;
    this.#count += 1;
    this.#sum += value;
    if (value > this.#max) this.#max = value;
  }

  /** Number of recorded values. */
  get count(): number {
    return this.#count;
  }

  /** Largest recorded value (exact), 0 when empty. */
  get max(): number {
    return this.#max;
  }

  /** Mean of the recorded values (exact), `null` when empty. */
  get mean(): number | null {
    return this.#count === 0 ? null : this.#sum / this.#count;
  }

  /**
   * The `q`-quantile (`0 < q ≤ 1`) in milliseconds, as the upper edge of its
   * bucket (within ~2%), capped at the exact maximum; `null` when empty.
   */
  quantile(q: number): number | null {
    if (this.#count === 0) return null;
    const rank = Math.max(1, Math.ceil(q * this.#count));
    let seen = 0;
    for (let i = 0; i < this.#counts.length; i++) {
      seen += this.#counts[i]!;
      if (seen >= rank) return i === BUCKETS - 1 ? this.#max : Math.min(upperEdge(i), this.#max);
    }
    return this.#max;
  }

  /** Forget every value. */
  reset(): void {
    this.#counts.fill(0);
    this.#count = 0;
    this.#sum = 0;
    this.#max = 0;
  }
}

function bucketOf(ms: number): number {
  if (ms <= MIN_MS) return 0;
  const i = Math.ceil(Math.log(ms / MIN_MS) / LOG_GROWTH);
  return Math.min(i, BUCKETS - 1);
}

function upperEdge(bucket: number): number {
  return MIN_MS * GROWTH ** bucket;
}
