import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { InvalidOptionsError } from '../errors.js';
import { DAY_MS, resolveOptions, type OptionSpec } from '../util/options.js';
import { memory } from './memory.js';
import { leastSquaresSlope } from './slope.js';

/**
 * `MemoryMonitor` samples process memory on a timer, keeps a bounded ring of
 * samples, and fits a least-squares line through the last window to tell a
 * leak (steady growth) from noise (bursts, garbage collection). When the
 * slope stays above a budget over a whole window it emits `'growth'` and can
 * run a remedy hook, at most once per cool-down.
 */

/**
 * What the monitor needs from one reading; `MemorySnapshot` from
 * `memory.snapshot()` satisfies it. `malloc` is `null` when allocator
 * figures are unavailable, with `reason` saying why.
 */
export interface MemorySampleInput {
  malloc: { inUse: number } | null;
  process: { rss: number };
  reason?: string;
}

/** Which figure a slope was computed from: glibc malloc in-use bytes, or RSS when malloc figures are unavailable. */
export type GrowthBasis = 'malloc' | 'rss';

/** What happened to the remedy hook when a `'growth'` event fired. */
export type RemedyDecision =
  /** The hook was started; `'remedy'` or `'remedyError'` follows. */
  | 'started'
  /** The hook ran less than `coolDownMs` ago, so it was not run again. */
  | 'cooling-down'
  /** The hook from an earlier event is still running. */
  | 'running'
  /** No `onGrowth` hook is set. */
  | 'none';

/** Payload of the `'growth'` event, also passed to `onGrowth`. */
export interface GrowthEvent {
  /** Least-squares slope over the window, bytes per second. */
  growthBytesPerSecond: number;
  /** The configured `growthBudgetBytesPerSecond`. */
  budgetBytesPerSecond: number;
  /** Which figure the slope is of. */
  basis: GrowthBasis;
  /** Why the basis is `rss` (malloc figures unavailable); absent for `malloc`. */
  basisReason?: string;
  /** Time covered by the samples the slope was fitted to, ms (at least `windowMs`). */
  spanMs: number;
  /** How many samples the slope was fitted to. */
  samples: number;
  /** The basis figure in the newest sample, bytes. */
  currentBytes: number;
  /** What was done with the `onGrowth` hook. */
  remedy: RemedyDecision;
}

/** Payload of the `'remedy'` event: the hook settled successfully. */
export interface RemedyEvent {
  /** The growth event that started the hook. */
  growth: GrowthEvent;
  /** How long the hook took, ms on the monitor's clock. */
  durationMs: number;
}

/** Payload of the `'remedyError'` event: the hook threw or rejected. */
export interface RemedyErrorEvent {
  /** The growth event that started the hook. */
  growth: GrowthEvent;
  /** How long the hook ran before failing, ms on the monitor's clock. */
  durationMs: number;
  /** What the hook threw or rejected with. */
  error: unknown;
}

/** Events of `MemoryMonitor`. None is named `'error'`, so an event without listeners never throws. */
export interface MemoryMonitorEvents {
  growth: [event: GrowthEvent];
  remedy: [event: RemedyEvent];
  remedyError: [event: RemedyErrorEvent];
  /** The sampler threw during a timer tick (a manual `sample()` throws to its caller instead). */
  sampleError: [error: unknown];
}

/** Options for `MemoryMonitor`. Every field is optional; the defaults suit a relay running for weeks. */
export interface MemoryMonitorOptions {
  /**
   * Time between timer samples, ms. Default `10000` (10 s): a sample costs
   * 12–200 µs depending on heap fragmentation (`npm run bench:memory`), at
   * most 0.002% of a core at this pace, and 60 points per default window
   * give a stable slope at a finer grain than typical Prometheus scrapes
   * (15–60 s).
   */
  intervalMs?: number;
  /**
   * Time the slope is fitted over, ms. Default `600000` (10 min): long
   * enough that bursts (a traffic surge holding a few MB of in-flight bodies
   * for seconds) and allocator churn average out, short enough to notice a
   * leak well within the hour.
   */
  windowMs?: number;
  /**
   * Growth above this slope over a whole window fires `'growth'`, bytes per
   * second. Default `32768` (32 KiB/s ≈ 112 MiB/h ≈ 2.7 GiB/day): a process
   * growing that fast exhausts a typical 4–8 GiB host within days, while
   * bursts of ±16 MiB over a 10-minute window move the fitted slope by only
   * a few KiB/s. Caches filling up after start (bounded by their `maxBytes`)
   * can exceed it in the first windows: raise it or start the monitor after
   * warm-up.
   */
  growthBudgetBytesPerSecond?: number;
  /**
   * Minimum time between two runs of `onGrowth`, ms. Default `3600000`
   * (1 h): a remedy that resets a resolver empties its caches, which costs a
   * burst of origin traffic to refill; once an hour bounds that cost while
   * still acting within the hour.
   */
  coolDownMs?: number;
  /**
   * Capacity of the sample ring. Default `1024`: the default window needs 62
   * slots; this leaves room for windows up to ~1,000 intervals, at 24 bytes
   * a slot. Must hold `floor(windowMs / intervalMs) + 2` samples. When manual
   * `sample()` calls overflow it, the oldest samples are dropped.
   */
  maxSamples?: number;
  /**
   * Remedy run when `'growth'` fires, e.g. `resolver.reset()` then
   * `memory.trim()`. Awaited; at most one run at a time and one per
   * `coolDownMs`; a throw or rejection is reported as `'remedyError'`, never
   * as an unhandled rejection. Default none: only the event.
   */
  onGrowth?: (event: GrowthEvent) => void | Promise<void>;
  /** Where samples come from. Default `() => memory.snapshot()`. Tests inject synthetic series. */
  sampler?: () => MemorySampleInput;
  /** Milliseconds on a monotonic base. Default `performance.now`, immune to wall-clock steps. */
  clock?: () => number;
}

/** A point-in-time view of the monitor. */
export interface MemoryMonitorStats {
  /** `true` between `start()` and `stop()`. */
  running: boolean;
  /** Samples in the ring (the window plus one sample at or before its start). */
  samples: number;
  /** Time between the oldest and newest sample in the ring, ms. */
  spanMs: number;
  /** `true` once the samples span a whole `windowMs`; only then can `'growth'` fire. */
  windowComplete: boolean;
  /** Basis of `growthBytesPerSecond`, `null` before the first sample. */
  basis: GrowthBasis | null;
  /** Why the basis is `rss`; absent for `malloc`. */
  basisReason?: string;
  /** Least-squares slope over the samples in the ring, bytes per second; `null` with fewer than two samples. */
  growthBytesPerSecond: number | null;
  /** The configured `growthBudgetBytesPerSecond`. */
  budgetBytesPerSecond: number;
  /** The newest sample, `null` before the first. `mallocInUse` is `null` when unavailable. */
  current: { mallocInUse: number | null; rss: number } | null;
  /** The largest figures seen since the monitor was created, `null` before the first sample. */
  peak: { mallocInUse: number | null; rss: number } | null;
  /** Counter: `'growth'` events emitted. */
  growthEvents: number;
  /** Counter: remedy runs that settled successfully. */
  remedies: number;
  /** Counter: remedy runs that threw or rejected. */
  remedyErrors: number;
  /** Counter: timer samples whose sampler threw. */
  sampleErrors: number;
  /** `true` while the remedy hook runs. */
  remedyRunning: boolean;
}

interface ResolvedMemoryMonitorOptions {
  intervalMs: number;
  windowMs: number;
  growthBudgetBytesPerSecond: number;
  coolDownMs: number;
  maxSamples: number;
  onGrowth: ((event: GrowthEvent) => void | Promise<void>) | undefined;
  sampler: (() => MemorySampleInput) | undefined;
  clock: (() => number) | undefined;
}

const memoryMonitorOptionSpec = {
  intervalMs: { kind: 'integer', default: 10_000, min: 1, max: DAY_MS },
  windowMs: { kind: 'integer', default: 600_000, min: 2, max: 7 * DAY_MS },
  growthBudgetBytesPerSecond: { kind: 'integer', default: 32_768, min: 0, max: 2 ** 40 },
  coolDownMs: { kind: 'integer', default: 3_600_000, min: 0, max: 7 * DAY_MS },
  maxSamples: { kind: 'integer', default: 1024, min: 3, max: 1_000_000 },
  onGrowth: { kind: 'opaque' },
  sampler: { kind: 'opaque' },
  clock: { kind: 'opaque' },
} as const satisfies OptionSpec;

function resolveMonitorOptions(input: unknown): ResolvedMemoryMonitorOptions {
  const o = resolveOptions<ResolvedMemoryMonitorOptions>(memoryMonitorOptionSpec, input, 'monitor');
  for (const key of ['onGrowth', 'sampler', 'clock'] as const) {
    if (o[key] !== undefined && typeof o[key] !== 'function') {
      throw new InvalidOptionsError(`monitor.${key}`, `expected a function, got ${o[key] === null ? 'null' : `a ${typeof o[key]}`}`);
    }
  }
  if (o.windowMs <= o.intervalMs) {
    throw new InvalidOptionsError('monitor.windowMs', `must be longer than intervalMs (${o.intervalMs}), got ${o.windowMs}`);
  }
  const needed = Math.floor(o.windowMs / o.intervalMs) + 2;
  if (needed > o.maxSamples) {
    throw new InvalidOptionsError('monitor.maxSamples', `a window of ${o.windowMs} ms at ${o.intervalMs} ms intervals needs ${needed} samples, got ${o.maxSamples}`);
  }
  return o;
}

/**
 * Watches process memory for sustained growth.
 *
 * Create it, call `start()` (an unref'd timer, so it never keeps the process
 * alive), and listen for `'growth'`; or call `sample()` yourself. The slope
 * is of glibc malloc in-use bytes when `memory.snapshot()` can read them,
 * otherwise of RSS (`stats().basis` and the event say which, and why).
 *
 * ```ts
 * const monitor = new MemoryMonitor({
 *   onGrowth: async () => { await resolver.reset(); memory.trim(); },
 * });
 * monitor.on('growth', (e) => log.warn(e, 'memory growing'));
 * monitor.start();
 * ```
 *
 * Memory is bounded: the ring is three typed arrays of `maxSamples`.
 */
export class MemoryMonitor extends EventEmitter<MemoryMonitorEvents> {
  readonly #options: ResolvedMemoryMonitorOptions;
  readonly #sampler: () => MemorySampleInput;
  readonly #clock: () => number;
  // The ring: slot `(#head + i) % capacity` holds the i-th oldest sample.
  readonly #at: Float64Array;
  readonly #malloc: Float64Array; // NaN when malloc figures were unavailable
  readonly #rss: Float64Array;
  #head = 0;
  #length = 0;
  #lastReason: string | undefined;
  #peakMalloc = Number.NaN;
  #peakRss = Number.NaN;
  #timer: NodeJS.Timeout | undefined;
  #lastGrowthAt: number | undefined;
  #lastRemedyAt: number | undefined;
  #remedy: Promise<void> | undefined;
  #growthEvents = 0;
  #remedies = 0;
  #remedyErrors = 0;
  #sampleErrors = 0;

  /** @throws InvalidOptionsError naming the offending option */
  constructor(options?: MemoryMonitorOptions) {
    super();
    this.#options = resolveMonitorOptions(options);
    this.#sampler = this.#options.sampler ?? (() => memory.snapshot());
    this.#clock = this.#options.clock ?? (() => performance.now());
    this.#at = new Float64Array(this.#options.maxSamples);
    this.#malloc = new Float64Array(this.#options.maxSamples);
    this.#rss = new Float64Array(this.#options.maxSamples);
  }

  /** `true` between `start()` and `stop()`. */
  get running(): boolean {
    return this.#timer !== undefined;
  }

  /**
   * Take a sample now and sample every `intervalMs` until `stop()`.
   * Idempotent. The timer is unref'd. A sampler error during a timer tick
   * is emitted as `'sampleError'`; the first sample here throws to the caller.
   */
  start(): void {
    if (this.#timer !== undefined) return;
    // A series with a gap longer than a window says nothing about the
    // current trend: start over (peaks and counters are kept).
    if (this.#length > 0 && this.#clock() - this.#at[this.#slot(this.#length - 1)]! > this.#options.windowMs) {
      this.#head = 0;
      this.#length = 0;
    }
    this.sample();
    this.#timer = setInterval(() => this.#tick(), this.#options.intervalMs);
    this.#timer.unref();
  }

  /**
   * Stop the timer (idempotent). The returned promise resolves once a
   * running remedy has settled; it never rejects. Samples are kept, so
   * `start()` continues the same series, unless the newest sample is older
   * than `windowMs` by then, in which case the series starts over.
   */
  stop(): Promise<void> {
    if (this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
    return this.#remedy ?? Promise.resolve();
  }

  /**
   * Take one sample now, update the slope, and fire `'growth'` (and the
   * remedy) when due. Returns the stats after the sample.
   * @throws whatever the sampler throws (the default sampler never throws)
   */
  sample(): MemoryMonitorStats {
    this.#record(this.#sampler());
    return this.stats();
  }

  /** A snapshot of the monitor: current and peak figures, the slope, and counters. */
  stats(): MemoryMonitorStats {
    const fit = this.#fit();
    const newest = this.#length > 0 ? this.#slot(this.#length - 1) : -1;
    const stats: MemoryMonitorStats = {
      running: this.running,
      samples: this.#length,
      spanMs: this.#spanMs(),
      windowComplete: this.#windowComplete(),
      basis: fit?.basis ?? null,
      growthBytesPerSecond: fit?.slope ?? null,
      budgetBytesPerSecond: this.#options.growthBudgetBytesPerSecond,
      current: newest < 0 ? null : { mallocInUse: nullIfNaN(this.#malloc[newest]!), rss: this.#rss[newest]! },
      peak: newest < 0 ? null : { mallocInUse: nullIfNaN(this.#peakMalloc), rss: this.#peakRss },
      growthEvents: this.#growthEvents,
      remedies: this.#remedies,
      remedyErrors: this.#remedyErrors,
      sampleErrors: this.#sampleErrors,
      remedyRunning: this.#remedy !== undefined,
    };
    if (fit?.basis === 'rss') stats.basisReason = this.#basisReason();
    return stats;
  }

  #tick(): void {
    let input: MemorySampleInput;
    try {
      input = this.#sampler();
    } catch (error) {
      this.#sampleErrors++;
      this.emit('sampleError', error);
      return;
    }
    this.#record(input);
  }

  #slot(i: number): number {
    return (this.#head + i) % this.#at.length;
  }

  #record(input: MemorySampleInput): void {
    const now = this.#clock();
    const mallocInUse = input.malloc === null ? Number.NaN : input.malloc.inUse;
    const rss = input.process.rss;
    if (input.malloc === null) this.#lastReason = input.reason;

    // Append, dropping the oldest sample when the ring is full.
    if (this.#length === this.#at.length) {
      this.#head = (this.#head + 1) % this.#at.length;
      this.#length--;
    }
    const slot = this.#slot(this.#length);
    this.#at[slot] = now;
    this.#malloc[slot] = mallocInUse;
    this.#rss[slot] = rss;
    this.#length++;
    // `!(x <= NaN)` holds, so the first figure always becomes the peak.
    if (!Number.isNaN(mallocInUse) && !(mallocInUse <= this.#peakMalloc)) this.#peakMalloc = mallocInUse;
    if (!(rss <= this.#peakRss)) this.#peakRss = rss;

    // Keep exactly one sample at or before the window's start, so a full
    // ring spans at least `windowMs`.
    const start = now - this.#options.windowMs;
    while (this.#length >= 2 && this.#at[this.#slot(1)]! <= start) {
      this.#head = (this.#head + 1) % this.#at.length;
      this.#length--;
    }

    this.#checkGrowth(now);
  }

  #spanMs(): number {
    if (this.#length < 2) return 0;
    return this.#at[this.#slot(this.#length - 1)]! - this.#at[this.#slot(0)]!;
  }

  #windowComplete(): boolean {
    return this.#length >= 2 && this.#spanMs() >= this.#options.windowMs;
  }

  #basisReason(): string {
    return this.#lastReason ?? 'malloc figures are unavailable';
  }

  /**
   * Least-squares slope of the basis figure against time (seconds) over
   * every sample in the ring, in bytes per second. The basis is malloc when
   * every sample has it, otherwise RSS.
   */
  #fit(): { slope: number | null; basis: GrowthBasis } | undefined {
    const n = this.#length;
    if (n === 0) return undefined;
    let basis: GrowthBasis = 'malloc';
    for (let i = 0; i < n; i++) {
      if (Number.isNaN(this.#malloc[this.#slot(i)]!)) {
        basis = 'rss';
        break;
      }
    }
    const values = basis === 'malloc' ? this.#malloc : this.#rss;
    const t0 = this.#at[this.#slot(0)]!;
    const slope = leastSquaresSlope(
      n,
      (i) => (this.#at[this.#slot(i)]! - t0) / 1000,
      (i) => values[this.#slot(i)]!,
    );
    return { slope, basis };
  }

  #checkGrowth(now: number): void {
    if (!this.#windowComplete()) return;
    // One event per window of fresh evidence.
    if (this.#lastGrowthAt !== undefined && now - this.#lastGrowthAt < this.#options.windowMs) return;
    const fit = this.#fit();
    if (fit === undefined || fit.slope === null || fit.slope <= this.#options.growthBudgetBytesPerSecond) return;

    this.#lastGrowthAt = now;
    this.#growthEvents++;
    const hook = this.#options.onGrowth;
    let remedy: RemedyDecision;
    if (hook === undefined) remedy = 'none';
    else if (this.#remedy !== undefined) remedy = 'running';
    else if (this.#lastRemedyAt !== undefined && now - this.#lastRemedyAt < this.#options.coolDownMs) remedy = 'cooling-down';
    else remedy = 'started';

    const newest = this.#slot(this.#length - 1);
    const event: GrowthEvent = {
      growthBytesPerSecond: fit.slope,
      budgetBytesPerSecond: this.#options.growthBudgetBytesPerSecond,
      basis: fit.basis,
      spanMs: this.#spanMs(),
      samples: this.#length,
      currentBytes: fit.basis === 'malloc' ? this.#malloc[newest]! : this.#rss[newest]!,
      remedy,
    };
    if (fit.basis === 'rss') event.basisReason = this.#basisReason();

    if (remedy === 'started' && hook !== undefined) {
      this.#lastRemedyAt = now;
      this.#remedy = this.#runRemedy(hook, event, now);
    }
    this.emit('growth', event);
  }

  /** Runs the hook; settles only after reporting, and never rejects. */
  async #runRemedy(hook: (event: GrowthEvent) => void | Promise<void>, growth: GrowthEvent, startedAt: number): Promise<void> {
    // Yield first, so the hook never runs inside `sample()` or before the
    // `'growth'` listeners have seen the event.
    await Promise.resolve();
    let failed = false;
    let error: unknown;
    try {
      await hook(growth);
    } catch (caught) {
      failed = true;
      error = caught;
    }
    const durationMs = this.#clock() - startedAt;
    this.#remedy = undefined;
    if (failed) this.#remedyErrors++;
    else this.#remedies++;
    try {
      if (failed) this.emit('remedyError', { growth, durationMs, error });
      else this.emit('remedy', { growth, durationMs });
    } catch (listenerError) {
      // A throwing listener is the caller's bug: surface it the way a
      // throwing listener in a timer callback would, not as a rejection.
      process.nextTick(() => {
        throw listenerError;
      });
    }
  }
}

function nullIfNaN(value: number): number | null {
  return Number.isNaN(value) ? null : value;
}
