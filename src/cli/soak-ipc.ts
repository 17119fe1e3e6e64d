import { FAILURE_KINDS, type FailureKind } from '../resolve/failure-kind.js';
import type { WorldEndpoints } from '../world/endpoints.js';
import type { ContenderId, ContenderSettings } from './contender.js';
import type { LoadKind, LoadMix } from './load-plan.js';
import type { LoadPhase } from './load-schedule.js';

/**
 * The protocol between `atresolve soak` (parent) and a load-runner child:
 * JSON over the `fork()` channel. The parent sends one `start`; the child
 * answers `ready`, then one `sample` per second of the load, then `done`
 * (or `failed`), and exits. A `stop` from the parent (Ctrl-C) ends the load
 * early: the child sends a last, shorter sample and `done` marked
 * `interrupted`.
 */

/**
 * What a failed resolution is counted as: the resolver's failure kind
 * (`failureKindOf`), `overflow` for one never started because
 * `maxInFlight` were outstanding, `unfinished` for one still running when
 * the drain time ran out.
 */
export const SOAK_ERROR_CLASSES = [...FAILURE_KINDS, 'overflow', 'unfinished'] as const;

/** One of `SOAK_ERROR_CLASSES`. */
export type SoakErrorClass = FailureKind | 'overflow' | 'unfinished';

/** Errors by class; classes without errors are left out. */
export type ErrorsByClass = Partial<Record<SoakErrorClass, number>>;

/** What one load-runner child runs. */
export interface RunnerConfig {
  contender: ContenderId;
  settings: ContenderSettings;
  /** The world to resolve against (endpoints plus what the load plan needs). */
  world: WorldEndpoints & { identities: number; webPercent: number };
  /** Target resolutions per second, offered open-loop: one, or steps each for an equal part of the run. */
  rates: readonly number[];
  /** Length of the warm-up ramp before the measured run, ms (0: none). */
  warmupMs: number;
  /** Length of the measured run, ms. */
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
 * In `report.json` older samples of a long run are merged (see `range`).
 */
export interface SoakSample {
  /**
   * Seconds since the start of the load (warm-up included), real time, at
   * the end of the interval: 1, 2, …; fractional only for the last sample of
   * an interrupted run.
   */
  t: number;
  /** Length of the interval this sample covers, seconds (1 when on time). */
  seconds: number;
  /** `warmup` during the warm-up ramp (not judged), then `run`. */
  phase: LoadPhase;
  /** Resolutions due in the interval (the offered load). */
  offered: number;
  /** Resolutions that succeeded in the interval (the achieved rate is `ok / seconds`). */
  ok: number;
  /** Resolutions that failed in the interval, overflow included. */
  errors: number;
  /** Resolutions not started in the interval because `maxInFlight` were outstanding. */
  overflow: number;
  /** `errors` by class. */
  errorsByClass: ErrorsByClass;
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
  /** 99th percentile latency of this second, ms (of a merged sample: its worst second). */
  p99Ms: number | null;
  /** Transport recycles in this second (chart markers). */
  recycles: number;
  /**
   * Present when the sample merges several older ones (a long run's report
   * keeps its size by merging old samples, see `Timeline`): how many, from
   * which second, and the lowest and highest value of the figures whose
   * extremes matter. The sample's own figures are then means (counts are
   * sums, `p99Ms` is the worst, `slopeBytesPerSecond` the last).
   */
  range?: SampleRange;
  /**
   * CPU in this second, in % of one core (added by the parent): the load
   * runner, the world, the soak process itself, and the whole machine
   * (all cores; what exceeds the other three is other work on the box).
   */
  cpu?: { runner: number | null; world: number | null; soak: number | null; machine: number | null };
}

/** Extremes of a merged sample (see `SoakSample.range`). */
export interface SampleRange {
  /** Samples merged. */
  samples: number;
  /** `t` of the first merged sample's start (its `t - seconds`). */
  from: number;
  min: RangeFigures;
  max: RangeFigures;
}

/** The figures whose extremes a merged sample keeps. */
export interface RangeFigures {
  mallocInUse: number | null;
  rss: number;
  openConnections: number;
  p50Ms: number | null;
  p99Ms: number | null;
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

/** What became of the resolutions due in one phase (a resolution belongs to the phase it was due in). */
export interface PhaseTotals extends OutcomeCounts {
  /** Of `errors`: due while `maxInFlight` were outstanding (never started). */
  overflow: number;
  /** Of `errors`: still running when the drain time ran out. */
  unfinished: number;
  /** By kind. */
  byKind: Record<LoadKind, OutcomeCounts>;
  /** Errors by class. */
  errorsByClass: ErrorsByClass;
  /** Errors by code (`OVERFLOW`, `UNFINISHED`, and the resolver's codes). */
  errorCodes: Record<string, number>;
  /** Seconds the phase ran (the configured length, or less when interrupted). */
  seconds: number;
  /** `ok / seconds` (0 for a phase that did not run). */
  achievedPerSecond: number;
}

/** The totals of the measured run (after the warm-up): what the verdict judges. */
export type RunnerTotals = PhaseTotals;

/**
 * Latency at the start of the load and after each transport recycle, each
 * against the steady state. A window is the resolutions *due* in its
 * `windowSeconds`; percentiles are of those that succeeded.
 */
export interface StartupFigures {
  /** Length of each window, seconds. */
  windowSeconds: number;
  /** p99 of the first window of the load (warm-up included), ms. */
  loadStartP99Ms: number | null;
  /** p99 of the first window after the warm-up, ms; `null` without a warm-up. */
  runStartP99Ms: number | null;
  /** p99 of the measured run outside these windows and the windows after recycles, ms. */
  steadyP99Ms: number | null;
  /** Recycles seen during the load. */
  recycles: number;
  /** The highest p99 of a window after a recycle, ms; `null` without recycles. */
  worstAfterRecycleP99Ms: number | null;
}

/** Parent → child. */
export type RunnerCommand = { type: 'start'; config: RunnerConfig } | { type: 'stop' };

/** Child → parent. */
export type RunnerMessage =
  | { type: 'ready'; name: string; plan: Record<LoadKind, number> }
  | { type: 'sample'; sample: SoakSample }
  | {
      type: 'done';
      /** The measured run. */
      totals: RunnerTotals;
      /** The warm-up; `null` without one. */
      warmup: PhaseTotals | null;
      /** Latency of the measured run, ms. */
      latencyMs: LatencySummary;
      startup: StartupFigures;
      /** The load was stopped early by a `stop` command. */
      interrupted: boolean;
      extra: Record<string, unknown>;
    }
  | { type: 'failed'; error: string; missingPeer?: string };
