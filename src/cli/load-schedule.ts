/**
 * When the soak's resolutions are due: open-loop, resolution `n` at a fixed
 * time whatever became of the earlier ones. A run is an optional warm-up,
 * whose rate ramps linearly from 0 to the full rate, followed by the
 * measured run at the full rate. The warm-up is reported and charted but
 * not judged: it lets the contender's connection pool fill and its code
 * warm at a pace the box can follow, as a relay's traffic builds up after
 * a start, instead of meeting the full rate with an empty pool (see
 * `docs/soak.md`, "A clean start").
 */

/** The phase a resolution (or a second of the run) belongs to. */
export type LoadPhase = 'warmup' | 'run';

export class LoadSchedule {
  /** Resolutions due during the warm-up: `⌊rate × warm-up / 2⌋`, the area under the ramp. */
  readonly warmupCount: number;
  /** Resolutions due in all (warm-up and run). */
  readonly totalCount: number;
  readonly #rate: number;
  readonly #warmupMs: number;

  /**
   * @param rate resolutions per second of the run (and at the end of the ramp)
   * @param warmupMs length of the warm-up ramp, ms (0: none)
   * @param durationMs length of the measured run, ms
   */
  constructor(rate: number, warmupMs: number, durationMs: number) {
    this.#rate = rate;
    this.#warmupMs = warmupMs;
    this.warmupCount = Math.floor((rate * warmupMs) / 2_000);
    this.totalCount = this.warmupCount + Math.floor((rate * durationMs) / 1_000);
  }

  /**
   * When resolution `n` (0-based) is due, ms from the start of the load.
   * On the ramp the count due by time `t` is `warmupCount × (t / warm-up)²`,
   * so resolution `n` is due at `warm-up × √(n / warmupCount)`; after it,
   * one every `1 / rate` seconds.
   */
  dueAt(n: number): number {
    if (n < this.warmupCount) return this.#warmupMs * Math.sqrt(n / this.warmupCount);
    return this.#warmupMs + ((n - this.warmupCount) * 1_000) / this.#rate;
  }

  /** The phase resolution `n` belongs to. */
  phaseOf(n: number): LoadPhase {
    return n < this.warmupCount ? 'warmup' : 'run';
  }
}
