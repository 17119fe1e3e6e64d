import type { WorldEndpoints } from '../world/endpoints.js';
import type { ContenderId, ContenderSettings } from './contender.js';
import type { LoadKind, LoadMix } from './load-plan.js';

/**
 * The protocol between `atresolve soak` (parent) and a load-runner child:
 * JSON over the `fork()` channel. The parent sends one `start`; the child
 * answers `ready`, then one `sample` per second of the run, then `done`
 * (or `failed`), and exits.
 */

/** What one load-runner child runs. */
export interface RunnerConfig {
  contender: ContenderId;
  settings: ContenderSettings;
  /** The world to resolve against (endpoints plus what the load plan needs). */
  world: WorldEndpoints & { identities: number; webPercent: number };
  /** Target resolutions per second, offered open-loop. */
  rate: number;
  durationMs: number;
  mix: LoadMix;
  /** Resolutions allowed outstanding at once; one due beyond it is counted as an `OVERFLOW` error. */
  maxInFlight: number;
  /** How long in-flight resolutions may take to finish after the run before they count as `UNFINISHED`. */
  drainMs: number;
  /** Window of the memory monitor's live slope, ms. */
  slopeWindowMs: number;
}

/**
 * One second of a run, as measured inside the load runner. Counts are over
 * the sample's interval, normally one second; when the runner's event loop
 * could not wake on time (an overloaded contender) the interval is longer,
 * `t` skips the seconds it missed, and `seconds` says how long it was.
 */
export interface SoakSample {
  /** Whole seconds since the start of the load, real time (1, 2, …). */
  t: number;
  /** Length of the interval this sample covers, seconds (1 when on time). */
  seconds: number;
  /** Resolutions due in the interval (the offered load). */
  offered: number;
  /** Resolutions that succeeded in the interval (the achieved rate is `ok / seconds`). */
  ok: number;
  /** Resolutions that failed in the interval, overflow included. */
  errors: number;
  /** Resolutions not started in the interval because `maxInFlight` were outstanding. */
  overflow: number;
  /** Resolutions outstanding at the end of the second. */
  inFlight: number;
  /** Open connections (see `Contender.openConnections`). */
  openConnections: number;
  /** glibc malloc in-use bytes, `null` when unavailable. */
  mallocInUse: number | null;
  /** Resident set size, bytes. */
  rss: number;
  /** V8 heap in use, bytes. */
  heapUsed: number;
  /** ArrayBuffer/Buffer backing stores, bytes. */
  arrayBuffers: number;
  /** The memory monitor's least-squares slope over its window, bytes/s (`null` before two samples). */
  slopeBytesPerSecond: number | null;
  /** Median latency of the resolutions finished in this second, ms (`null` when none). */
  p50Ms: number | null;
  /** 99th percentile latency of this second, ms. */
  p99Ms: number | null;
  /** Transport recycles in this second (chart markers). */
  recycles: number;
  /**
   * CPU in this second, in % of one core (added by the parent): the load
   * runner, the world, the soak process itself, and the whole machine
   * (all cores; what exceeds the other three is other work on the box).
   */
  cpu?: { runner: number | null; world: number | null; soak: number | null; machine: number | null };
}

/** Latency percentiles, ms. */
export interface LatencySummary {
  p50: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
  mean: number | null;
}

/** Counts of one kind or of the whole run. */
export interface OutcomeCounts {
  offered: number;
  ok: number;
  errors: number;
}

/** The totals a runner reports at the end. */
export interface RunnerTotals extends OutcomeCounts {
  /** Of `errors`: due while `maxInFlight` were outstanding (never started). */
  overflow: number;
  /** Of `errors`: still running when the drain time ran out. */
  unfinished: number;
  /** By kind. */
  byKind: Record<LoadKind, OutcomeCounts>;
  /** Errors by code (`OVERFLOW`, `UNFINISHED`, and the resolver's codes). */
  errorCodes: Record<string, number>;
  /** Seconds the load ran (the configured duration). */
  seconds: number;
  /** `ok / seconds`. */
  achievedPerSecond: number;
}

/** Parent → child. */
export type RunnerCommand = { type: 'start'; config: RunnerConfig };

/** Child → parent. */
export type RunnerMessage =
  | { type: 'ready'; name: string; plan: Record<LoadKind, number> }
  | { type: 'sample'; sample: SoakSample }
  | { type: 'done'; totals: RunnerTotals; latencyMs: LatencySummary; extra: Record<string, unknown> }
  | { type: 'failed'; error: string; missingPeer?: string };
