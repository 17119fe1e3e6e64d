import type { RangeFigures, SoakSample } from './soak-ipc.js';

/**
 * The samples of one contender's run, bounded whatever the duration: the
 * newest `recentCapacity` samples at full resolution (one per second), the
 * older ones merged into buckets of `width` samples each, `width` doubling
 * (and neighbouring buckets merging pairwise) whenever the old part would
 * exceed its share. A 24-hour run keeps the same number of points as a
 * 20-minute one, so `report.json` and the chart stay the same size;
 * a merged sample keeps the lowest and highest value of the figures whose
 * extremes matter (`SoakSample.range`), so a spike an hour ago still shows.
 * Warm-up and run samples are never merged together.
 */
export class Timeline {
  readonly #recentCapacity: number;
  readonly #oldCapacity: number;
  #recent: SoakSample[] = [];
  #old: SoakSample[] = [];
  /** Samples per old bucket (a power of two). */
  #width = 2;

  /**
   * @param capacity points kept in all (at least 4)
   * @param recentCapacity of those, the newest kept at full resolution (less than `capacity`)
   */
  constructor(capacity = TIMELINE_CAPACITY, recentCapacity = TIMELINE_RECENT) {
    if (!(capacity >= 4 && recentCapacity >= 1 && recentCapacity < capacity)) {
      throw new RangeError(`timeline: need capacity >= 4 and 1 <= recentCapacity < capacity, got ${capacity}, ${recentCapacity}`);
    }
    this.#recentCapacity = recentCapacity;
    this.#oldCapacity = capacity - recentCapacity;
  }

  /** Add the next sample (in time order). */
  add(sample: SoakSample): void {
    this.#recent.push(sample);
    if (this.#recent.length > this.#recentCapacity) this.#retire(this.#recent.shift()!);
  }

  /** The points, oldest first: merged buckets, then the recent samples. */
  points(): SoakSample[] {
    return [...this.#old, ...this.#recent];
  }

  /** Number of points held. */
  get length(): number {
    return this.#old.length + this.#recent.length;
  }

  /** The newest sample, `undefined` before the first. */
  get last(): SoakSample | undefined {
    return this.#recent[this.#recent.length - 1];
  }

  #retire(sample: SoakSample): void {
    const last = this.#old[this.#old.length - 1];
    if (last !== undefined && last.phase === sample.phase && samplesIn(last) + samplesIn(sample) <= this.#width) {
      this.#old[this.#old.length - 1] = mergeSamples(last, sample);
    } else {
      this.#old.push(sample);
    }
    if (this.#old.length <= this.#oldCapacity) return;
    this.#width *= 2;
    const merged: SoakSample[] = [];
    for (let i = 0; i < this.#old.length; i++) {
      const a = this.#old[i]!;
      const b = this.#old[i + 1];
      if (b !== undefined && a.phase === b.phase) {
        merged.push(mergeSamples(a, b));
        i += 1;
      } else {
        merged.push(a);
      }
    }
    this.#old = merged;
  }
}

/** Points a `Timeline` keeps by default: about one per pixel of the chart's width. */
export const TIMELINE_CAPACITY = 1_200;
/** Of those, the newest kept at full resolution: the last five minutes. */
export const TIMELINE_RECENT = 300;

/** How many one-second samples `sample` stands for. */
export function samplesIn(sample: SoakSample): number {
  return sample.range?.samples ?? 1;
}

/**
 * Merge two consecutive samples (`a` before `b`) into one covering both:
 * counts add up, figures become means weighted by the seconds each
 * covers, `p99Ms` and `inFlight` the worst, `slopeBytesPerSecond` the
 * newest, and `range` keeps the extremes.
 */
export function mergeSamples(a: SoakSample, b: SoakSample): SoakSample {
  const wa = a.seconds;
  const wb = b.seconds;
  const mean = (x: number, y: number, digits: number): number => round((x * wa + y * wb) / (wa + wb || 1), digits);
  const meanOrNull = (x: number | null, y: number | null, digits: number): number | null =>
    x === null ? y : y === null ? x : mean(x, y, digits);
  const errorsByClass = { ...a.errorsByClass };
  for (const [name, n] of Object.entries(b.errorsByClass) as [keyof typeof errorsByClass, number][]) {
    errorsByClass[name] = (errorsByClass[name] ?? 0) + n;
  }
  const merged: SoakSample = {
    t: b.t,
    seconds: round(wa + wb, 3),
    phase: a.phase,
    offered: a.offered + b.offered,
    ok: a.ok + b.ok,
    errors: a.errors + b.errors,
    overflow: a.overflow + b.overflow,
    errorsByClass,
    inFlight: Math.max(a.inFlight, b.inFlight),
    openConnections: mean(a.openConnections, b.openConnections, 1),
    mallocInUse: meanOrNull(a.mallocInUse, b.mallocInUse, 0),
    rss: mean(a.rss, b.rss, 0),
    heapUsed: mean(a.heapUsed, b.heapUsed, 0),
    arrayBuffers: mean(a.arrayBuffers, b.arrayBuffers, 0),
    slopeBytesPerSecond: b.slopeBytesPerSecond ?? a.slopeBytesPerSecond,
    p50Ms: meanOrNull(a.p50Ms, b.p50Ms, 3),
    p99Ms: a.p99Ms === null ? b.p99Ms : b.p99Ms === null ? a.p99Ms : Math.max(a.p99Ms, b.p99Ms),
    recycles: a.recycles + b.recycles,
    range: {
      samples: samplesIn(a) + samplesIn(b),
      from: a.range?.from ?? round(a.t - a.seconds, 3),
      min: extremes(a, b, 'min'),
      max: extremes(a, b, 'max'),
    },
  };
  if (a.cpu !== undefined || b.cpu !== undefined) {
    const ca = a.cpu ?? b.cpu!;
    const cb = b.cpu ?? a.cpu!;
    merged.cpu = {
      runner: meanOrNull(ca.runner, cb.runner, 1),
      world: meanOrNull(ca.world, cb.world, 1),
      soak: meanOrNull(ca.soak, cb.soak, 1),
      machine: meanOrNull(ca.machine, cb.machine, 1),
    };
  }
  return merged;
}

/** The figures of `RangeFigures` as one sample has them (its range, or its own values). */
function figuresOf(sample: SoakSample, side: 'min' | 'max'): RangeFigures {
  return (
    sample.range?.[side] ?? {
      mallocInUse: sample.mallocInUse,
      rss: sample.rss,
      openConnections: sample.openConnections,
      p50Ms: sample.p50Ms,
      p99Ms: sample.p99Ms,
    }
  );
}

function extremes(a: SoakSample, b: SoakSample, side: 'min' | 'max'): RangeFigures {
  const pick = side === 'min' ? Math.min : Math.max;
  const x = figuresOf(a, side);
  const y = figuresOf(b, side);
  const either = (p: number | null, q: number | null): number | null => (p === null ? q : q === null ? p : pick(p, q));
  return {
    mallocInUse: either(x.mallocInUse, y.mallocInUse),
    rss: pick(x.rss, y.rss),
    openConnections: pick(x.openConnections, y.openConnections),
    p50Ms: either(x.p50Ms, y.p50Ms),
    p99Ms: either(x.p99Ms, y.p99Ms),
  };
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
