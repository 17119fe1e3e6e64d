/** Length of each of the two buckets a {@link RecentPeak} keeps, ms. */
export const RECENT_PEAK_BUCKET_MS = 1_000;

/**
 * The highest value a gauge reached over the last one to two seconds: the
 * maximum of the current one-second bucket and the one before it. The
 * connection pools size their idle budget from it, so that connections a
 * burst needed a moment ago are not closed by a dip that lasts a fraction
 * of a second, only to be opened again (`docs/admission.md`, "Idle
 * connections after a burst").
 */
export class RecentPeak {
  #bucketStart = -Infinity;
  #current = 0;
  #previous = 0;

  /** Record the gauge's value now and return the peak of the last 1–2 s. */
  observe(value: number, now: number): number {
    this.#roll(now);
    if (value > this.#current) this.#current = value;
    return Math.max(this.#current, this.#previous);
  }

  #roll(now: number): void {
    const elapsed = now - this.#bucketStart;
    if (elapsed < RECENT_PEAK_BUCKET_MS) return;
    const adjacent = elapsed < 2 * RECENT_PEAK_BUCKET_MS;
    this.#previous = adjacent ? this.#current : 0;
    this.#current = 0;
    this.#bucketStart = adjacent ? this.#bucketStart + RECENT_PEAK_BUCKET_MS : now;
  }
}
