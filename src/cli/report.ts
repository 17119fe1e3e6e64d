import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { WorldCounters } from '../world/counters.js';
import type { ContenderId } from './contender.js';
import type { LoadKind } from './load-plan.js';
import type { SoakConfig } from './soak-config.js';
import type { LatencySummary, RunnerTotals, SoakSample } from './soak-ipc.js';
import { kibPerSecond } from './status-line.js';

/**
 * `report.json`: the configuration, and per contender the totals (by kind
 * and outcome, error codes), latency percentiles, one sample per second and
 * the verdict. Plus the verdict line printed at the end of a run.
 */

/** Growth above this is not "flat": `MemoryMonitor`'s default budget, 32 KiB/s ≈ 2.7 GiB/day. */
export const GROWTH_BUDGET_BYTES_PER_SECOND = 32_768;

/** The verdict on one contender's run. */
export interface Verdict {
  /** What the slope is of: malloc in use, or RSS when malloc figures are unavailable. */
  basis: 'malloc' | 'rss';
  /** First and last second of the fitted half. */
  fromSecond: number;
  toSecond: number;
  /** Least-squares slope over the last half of the run, bytes/s; `null` with fewer than two samples. */
  growthBytesPerSecond: number | null;
  /** The budget `flat` is judged against (bytes/s). */
  budgetBytesPerSecond: number;
  /** Whether the slope is within the budget; `null` without a slope. */
  flat: boolean | null;
  /** Successful resolutions per second over the whole run. */
  achievedPerSecond: number;
  /** Failed / offered, as a fraction. */
  errorRate: number;
  /** The line printed at the end of the run. */
  line: string;
}

/** One contender's part of the report. */
export interface ContenderReport {
  id: ContenderId;
  name: string;
  /** Distinct targets per kind (did:plc DIDs, did:web hosts, handle hosts). */
  distinctTargets: Record<LoadKind, number> | null;
  totals: RunnerTotals | null;
  latencyMs: LatencySummary | null;
  samples: SoakSample[];
  verdict: Verdict | null;
  /** The world's counters after this contender's run (requests and connections it served). */
  world: WorldCounters | null;
  /** Why the contender did not run or did not finish. */
  failure?: string;
}

/** The whole `report.json`. */
export interface SoakReport {
  tool: 'atresolve soak';
  version: string;
  startedAt: string;
  finishedAt: string;
  config: Omit<SoakConfig, 'outDir'> & { description: string };
  environment: Record<string, unknown>;
  contenders: ContenderReport[];
}

/** Least-squares slope of `y` against `x`; `null` with fewer than two points or no spread in x. */
export function slope(points: readonly { x: number; y: number }[]): number | null {
  const n = points.length;
  if (n < 2) return null;
  let sx = 0;
  let sy = 0;
  for (const p of points) {
    sx += p.x;
    sy += p.y;
  }
  const mx = sx / n;
  const my = sy / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  return den === 0 ? null : num / den;
}

/** The verdict over the last half of `samples` (seconds `> total/2`). */
export function verdictOf(name: string, samples: readonly SoakSample[], totals: RunnerTotals): Verdict {
  const seconds = samples.length === 0 ? 0 : samples[samples.length - 1]!.t;
  const half = samples.filter((s) => s.t > seconds / 2);
  const basis = half.every((s) => s.mallocInUse !== null) ? 'malloc' : 'rss';
  const points = half.map((s) => ({ x: s.t, y: basis === 'malloc' ? s.mallocInUse! : s.rss }));
  const growth = slope(points);
  const fromSecond = half[0]?.t ?? 0;
  const toSecond = half[half.length - 1]?.t ?? 0;
  const flat = growth === null ? null : growth <= GROWTH_BUDGET_BYTES_PER_SECOND;
  const errorRate = totals.offered === 0 ? 0 : totals.errors / totals.offered;
  // Fewer than 30 points (a short run, or a runner too busy to sample every
  // second): a few MB of in-flight buffers move the fit a lot.
  const short = half.length < 30 ? ' (few samples: noisy)' : '';
  const judged = flat === null ? 'too short to judge' : `${flat ? 'flat' : 'GROWING'}${short}`;
  const line =
    `verdict [${name}]: ${basis === 'malloc' ? 'malloc in use' : 'RSS'} ${kibPerSecond(growth)} over the last half ` +
    `(${fromSecond}–${toSecond} s): ${judged} (budget ${GROWTH_BUDGET_BYTES_PER_SECOND / 1_024} KiB/s); ` +
    `${Math.round(totals.achievedPerSecond)} res/s achieved of ${Math.round(totals.offered / Math.max(1, totals.seconds))} offered, ` +
    `${(errorRate * 100).toFixed(2)}% errors`;
  return { basis, fromSecond, toSecond, growthBytesPerSecond: growth, budgetBytesPerSecond: GROWTH_BUDGET_BYTES_PER_SECOND, flat, achievedPerSecond: totals.achievedPerSecond, errorRate, line };
}

/** Write `report.json` into `dir` (created if needed); returns its path. */
export async function writeReport(dir: string, report: SoakReport): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, 'report.json');
  await writeFile(path, `${JSON.stringify(report, null, 2)}\n`);
  return path;
}
