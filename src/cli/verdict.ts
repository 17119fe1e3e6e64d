import { leastSquaresFit } from '../telemetry/slope.js';
import type { PhaseTotals, RunnerTotals, SoakSample, StartupFigures } from './soak-ipc.js';
import { signedKib } from './status-line.js';
import { samplesIn } from './timeline.js';

/**
 * The verdict on a soak run, one per contender: three criteria over the
 * measured run (after the warm-up), each printed with its measured value
 * and its limit, and an exit status a CI job can gate on.
 */

/** What a run must show to pass. */
export interface SoakCriteria {
  /** Malloc growth over the last half of the run above this fails, bytes/s. */
  maxGrowthBytesPerSecond: number;
  /** Failed / offered above this fails, as a fraction. */
  maxErrorRate: number;
  /** Succeeded / offered below this fails, as a fraction. */
  minAchievedFraction: number;
}

/**
 * The defaults: `MemoryMonitor`'s growth budget, 32 KiB/s (≈ 2.7 GiB/day);
 * 1% errors (a healthy world answers every request, so 1% is trouble);
 * 95% of the offered rate achieved.
 */
export const DEFAULT_CRITERIA: SoakCriteria = {
  maxGrowthBytesPerSecond: 32_768,
  maxErrorRate: 0.01,
  minAchievedFraction: 0.95,
};

/** The criteria, in the order they are printed. */
export const CRITERIA = ['growth', 'errors', 'achieved'] as const;
/** One of `CRITERIA`. */
export type CriterionName = (typeof CRITERIA)[number];

/**
 * Exit statuses of `atresolve soak`. A failed criterion sets its bit, so
 * several failures add up (24 = growth and errors); any of the others
 * takes precedence over the criteria.
 */
export const SOAK_EXIT = {
  /** Every contender ran and every judged criterion passed. */
  ok: 0,
  /** A contender could not run or its load runner died (or an internal error). */
  failed: 1,
  /** A usage error. */
  usage: 2,
  /** Malloc grew faster than `--max-growth`. */
  growth: 8,
  /** More errors than `--max-error-rate`. */
  errors: 16,
  /** Less than `--min-achieved` of the offered rate succeeded. */
  achieved: 32,
  /** Stopped by Ctrl-C (SIGINT); the report covers what ran. */
  interrupted: 130,
  /** Stopped by SIGTERM; the report covers what ran. */
  terminated: 143,
} as const;

/** One criterion's outcome. */
export interface CriterionResult {
  /** The measured value (bytes/s, or a fraction); `null` when there was nothing to measure. */
  measured: number | null;
  /** The limit it was held to. */
  limit: number;
  /** Whether it passed; `null` when it could not be judged (too few samples, nothing offered). */
  pass: boolean | null;
}

/** The verdict on one contender's run. */
export interface Verdict {
  /** Whether the criteria count for the exit status (`false` for a peer in `--compare`: reported, not judged). */
  judged: boolean;
  /** What the growth is of: malloc in use, or RSS when malloc figures are unavailable. */
  basis: 'malloc' | 'rss';
  /** First and last second of the fitted window (the last half of the measured run). */
  fromSecond: number;
  toSecond: number;
  /** Least-squares slope over the window, bytes/s; `null` with fewer than two points. */
  growthBytesPerSecond: number | null;
  /**
   * Twice the slope's standard error, bytes/s: the slope is judged only
   * when it is further than this from the limit (`null` with fewer than
   * three points).
   */
  growthMarginBytesPerSecond: number | null;
  /** Resolutions per second offered and succeeded over the measured run. */
  offeredPerSecond: number;
  achievedPerSecond: number;
  criteria: Record<CriterionName, CriterionResult>;
  /** The criteria that failed (empty when the run passed or is not judged). */
  failed: CriterionName[];
  /** The run was stopped early; the verdict covers what ran. */
  interrupted: boolean;
  /** The line printed at the end of the run. */
  line: string;
}

/**
 * How many standard errors a slope must be from the limit to be judged:
 * two (about 95% sure). A few MB of in-flight buffers move a short run's
 * fit by tens of KiB/s; such a run is "too noisy to judge", not "GROWING"
 * or "flat".
 */
const MARGIN_STANDARD_ERRORS = 2;

/**
 * Judge one contender's run.
 * @param samples the contender's timeline (merged samples weigh the seconds they cover)
 * @param totals the measured run's totals
 */
export function verdictOf(
  name: string,
  samples: readonly SoakSample[],
  totals: RunnerTotals,
  options: { criteria: SoakCriteria; judged: boolean; interrupted: boolean },
): Verdict {
  const { criteria, judged, interrupted } = options;
  const run = samples.filter((s) => s.phase === 'run');
  const last = run[run.length - 1];
  // The measured run starts where the warm-up ends (a whole second), whatever the first sample's interval.
  const runStart = samples.filter((s) => s.phase === 'warmup').at(-1)?.t ?? 0;
  const middle = last === undefined ? 0 : runStart + (last.t - runStart) / 2;
  const half = run.filter((s) => s.t > middle);
  const basis = half.every((s) => s.mallocInUse !== null) ? 'malloc' : 'rss';
  const fit = leastSquaresFit(
    half.length,
    (i) => midpointOf(half[i]!),
    (i) => (basis === 'malloc' ? half[i]!.mallocInUse! : half[i]!.rss),
    (i) => half[i]!.seconds,
  );
  const growth = fit?.slope ?? null;
  const margin = fit?.standardError === null || fit === undefined ? null : MARGIN_STANDARD_ERRORS * fit.standardError;
  const fromSecond = half[0] === undefined ? 0 : Math.round(startOf(half[0]) + secondsEach(half[0]));
  const toSecond = half[half.length - 1]?.t ?? 0;
  const errorRate = totals.offered === 0 ? null : totals.errors / totals.offered;
  const achievedFraction = totals.offered === 0 ? null : totals.ok / totals.offered;

  const results: Record<CriterionName, CriterionResult> = {
    growth: { measured: growth, limit: criteria.maxGrowthBytesPerSecond, pass: judgeGrowth(growth, margin, criteria.maxGrowthBytesPerSecond) },
    errors: { measured: errorRate, limit: criteria.maxErrorRate, pass: errorRate === null ? null : errorRate <= criteria.maxErrorRate },
    achieved: {
      measured: achievedFraction,
      limit: criteria.minAchievedFraction,
      pass: achievedFraction === null ? null : achievedFraction >= criteria.minAchievedFraction,
    },
  };
  const failed = judged ? CRITERIA.filter((c) => results[c].pass === false) : [];
  const offeredPerSecond = totals.seconds > 0 ? totals.offered / totals.seconds : 0;

  const growthText =
    `${basis === 'malloc' ? 'malloc in use' : 'RSS'} ${signedKib(growth)}` +
    `${margin === null ? '' : ` ± ${(margin / 1_024).toFixed(1)}`} KiB/s over ${fromSecond}–${toSecond} s` +
    `, limit ${formatNumber(criteria.maxGrowthBytesPerSecond / 1_024)} KiB/s: ` +
    (results.growth.pass === true ? 'flat' : results.growth.pass === false ? 'GROWING' : margin === null ? 'too short to judge' : 'too noisy to judge (run longer)');
  const errorsText =
    `errors ${errorRate === null ? 'n/a' : percent(errorRate, 2)}${byClassText(totals)}, limit ${percent(criteria.maxErrorRate)}: ` +
    passText(results.errors.pass);
  const achievedText =
    `achieved ${Math.round(totals.achievedPerSecond)} of ${Math.round(offeredPerSecond)} res/s offered` +
    ` (${achievedFraction === null ? 'n/a' : percent(achievedFraction, 1)}), limit ${percent(criteria.minAchievedFraction)}: ` +
    passText(results.achieved.pass);
  const outcome = !judged ? 'not judged' : failed.length > 0 ? `FAIL (${failed.join(', ')})` : 'PASS';
  const head = `${judged ? 'verdict' : 'report'} [${name}]${interrupted ? ` (interrupted at ${formatNumber(last?.t ?? 0)} s)` : ''}: ${outcome}`;
  return {
    judged,
    basis,
    fromSecond,
    toSecond,
    growthBytesPerSecond: growth,
    growthMarginBytesPerSecond: margin,
    offeredPerSecond,
    achievedPerSecond: totals.achievedPerSecond,
    criteria: results,
    failed,
    interrupted,
    line: `${head}; ${growthText}; ${errorsText}; ${achievedText}`,
  };
}

/**
 * The start line: the warm-up, and p99 latency at the start of the load,
 * after the warm-up and after recycles, each against the steady state.
 */
export function startLine(name: string, warmup: PhaseTotals | null, startup: StartupFigures, rate: number): string {
  const parts: string[] = [];
  if (warmup !== null) {
    parts.push(
      `warm-up ${formatNumber(warmup.seconds)} s ramping to ${rate}/s, not judged: ${warmup.offered} offered, ${warmup.errors} errors` +
        byClassText(warmup),
    );
  }
  const steady = startup.steadyP99Ms;
  const against = (p99: number | null): string =>
    `${ms(p99)}${p99 !== null && steady !== null && steady > 0 ? ` (${(p99 / steady).toFixed(1)}× steady)` : ''}`;
  const window = startup.windowSeconds;
  parts.push(`p99 of the first ${window} s ${against(startup.loadStartP99Ms)}`);
  if (startup.runStartP99Ms !== null || warmup !== null) parts.push(`of the first ${window} s after the warm-up ${against(startup.runStartP99Ms)}`);
  parts.push(`steady ${ms(steady)}`);
  if (startup.recycles > 0) parts.push(`${startup.recycles} recycles, worst p99 of the ${window} s after one ${against(startup.worstAfterRecycleP99Ms)}`);
  return `start [${name}]: ${parts.join('; ')}`;
}

/**
 * The exit status of a soak: a signal's status when it was stopped, else
 * `failed` when a contender could not run, else the bits of the criteria
 * that failed for any judged contender.
 */
export function soakExitStatus(outcome: { verdicts: readonly Verdict[]; couldNotRun: boolean; signal: 'SIGINT' | 'SIGTERM' | undefined }): number {
  if (outcome.signal === 'SIGINT') return SOAK_EXIT.interrupted;
  if (outcome.signal === 'SIGTERM') return SOAK_EXIT.terminated;
  if (outcome.couldNotRun) return SOAK_EXIT.failed;
  let status = 0;
  for (const verdict of outcome.verdicts) {
    for (const name of verdict.failed) status |= SOAK_EXIT[name];
  }
  return status;
}

/**
 * Growth passes when the slope is below the limit by more than its margin,
 * fails when above it by more, and is not judged in between (or without a
 * margin: fewer than three points).
 */
function judgeGrowth(slope: number | null, margin: number | null, limit: number): boolean | null {
  if (slope === null || margin === null) return null;
  if (slope + margin <= limit) return true;
  if (slope - margin > limit) return false;
  return null;
}

/** The second a sample's interval starts at. */
function startOf(sample: SoakSample): number {
  return sample.range?.from ?? sample.t - sample.seconds;
}

/** The mean time of the readings a sample stands for: its `t`, or for a merged sample the middle of the `t`s it merged. */
function midpointOf(sample: SoakSample): number {
  return (startOf(sample) + secondsEach(sample) + sample.t) / 2;
}

/** The mean interval of the samples a sample stands for (1 s when on time). */
function secondsEach(sample: SoakSample): number {
  return sample.seconds / samplesIn(sample);
}

/** ` (timeout 12, unavailable 3)` for the classes with errors, or nothing. */
function byClassText(totals: PhaseTotals): string {
  const entries = Object.entries(totals.errorsByClass).filter(([, n]) => n > 0);
  return entries.length === 0 ? '' : ` (${entries.map(([c, n]) => `${c} ${n}`).join(', ')})`;
}

function passText(pass: boolean | null): string {
  return pass === null ? 'not judged' : pass ? 'ok' : 'FAILED';
}

function percent(fraction: number, digits?: number): string {
  return `${digits === undefined ? formatNumber(fraction * 100) : (fraction * 100).toFixed(digits)}%`;
}

function ms(value: number | null): string {
  if (value === null) return 'n/a';
  return value < 10 ? `${value.toFixed(1)} ms` : `${Math.round(value)} ms`;
}

/** A number without trailing zeros: 32, 0.5, 1.25. */
function formatNumber(value: number): string {
  return String(Math.round(value * 100) / 100);
}
