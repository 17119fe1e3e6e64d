/**
 * When the soak's resolutions are due: open-loop, resolution `n` at a fixed
 * time whatever became of the earlier ones. A run is an optional warm-up,
 * whose rate ramps linearly from 0 to the first rate, followed by the
 * measured run: one rate, or steps of rates (`--rate 1000,3000,1000`), each
 * for an equal part of the run. The warm-up is reported and charted but
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
  readonly #rates: readonly number[];
  readonly #warmupMs: number;
  readonly #stepMs: number;
  /** Resolutions due before each step starts (warm-up included), and after the last. */
  readonly #stepStarts: number[];

  /**
   * @param rates resolutions per second of each step of the run (one: the
   *   whole run); the warm-up ramps to the first
   * @param warmupMs length of the warm-up ramp, ms (0: none)
   * @param durationMs length of the measured run, ms, split evenly between the steps
   */
  constructor(rates: number | readonly number[], warmupMs: number, durationMs: number) {
    this.#rates = typeof rates === 'number' ? [rates] : rates;
    const first = this.#rates[0] ?? 1;
    this.#warmupMs = warmupMs;
    this.#stepMs = durationMs / this.#rates.length;
    this.warmupCount = Math.floor((first * warmupMs) / 2_000);
    this.#stepStarts = [this.warmupCount];
    for (const rate of this.#rates) {
      const last = this.#stepStarts[this.#stepStarts.length - 1] as number;
      this.#stepStarts.push(last + Math.floor((rate * this.#stepMs) / 1_000));
    }
    this.totalCount = this.#stepStarts[this.#stepStarts.length - 1] as number;
  }

  /**
   * When resolution `n` (0-based) is due, ms from the start of the load.
   * On the ramp the count due by time `t` is `warmupCount × (t / warm-up)²`,
   * so resolution `n` is due at `warm-up × √(n / warmupCount)`; after it,
   * one every `1 / rate` seconds.
   */
  dueAt(n: number): number {
    if (n < this.warmupCount) return this.#warmupMs * Math.sqrt(n / this.warmupCount);
    let step = 0;
    while (step < this.#rates.length - 1 && n >= (this.#stepStarts[step + 1] as number)) step += 1;
    const rate = this.#rates[step] as number;
    return this.#warmupMs + step * this.#stepMs + ((n - (this.#stepStarts[step] as number)) * 1_000) / rate;
  }

  /** The phase resolution `n` belongs to. */
  phaseOf(n: number): LoadPhase {
    return n < this.warmupCount ? 'warmup' : 'run';
  }
}
