import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { WorldCounters } from '../world/counters.js';
import type { ContenderId } from './contender.js';
import type { LoadKind } from './load-plan.js';
import type { SoakConfig } from './soak-config.js';
import type { LatencySummary, PhaseTotals, RunnerTotals, SoakSample, StartupFigures } from './soak-ipc.js';
import type { Verdict } from './verdict.js';

/**
 * `report.json`: the configuration and criteria, and per contender the
 * totals of the warm-up and of the measured run (by kind, class and code),
 * latency, the start figures, the timeline of samples and the verdict.
 * Written every `--flush-every` while the run goes on (`status: running`)
 * and once at the end, each time whole and atomically, so a crash or a
 * kill leaves the last complete one.
 */

/** Where a run stands: still running (a flush), finished, or stopped by a signal. */
export type SoakStatus = 'running' | 'complete' | 'interrupted' | 'terminated';

/** One contender's part of the report. */
export interface ContenderReport {
  id: ContenderId;
  name: string;
  /** Distinct targets per kind (did:plc DIDs, did:web hosts, handle hosts). */
  distinctTargets: Record<LoadKind, number> | null;
  /** The measured run (after the warm-up); `null` until the runner reports its totals. */
  totals: RunnerTotals | null;
  /** The warm-up; `null` without one (or before the totals). */
  warmup: PhaseTotals | null;
  /** Latency of the measured run. */
  latencyMs: LatencySummary | null;
  /** p99 at the start of the load and after recycles, against the steady state. */
  startup: StartupFigures | null;
  /** One sample per second; in a long run older samples are merged (see `Timeline`). */
  samples: SoakSample[];
  verdict: Verdict | null;
  /** The world's counters after this contender's run (requests and connections it served). */
  world: WorldCounters | null;
  /** The load was stopped early (Ctrl-C or SIGTERM). */
  interrupted: boolean;
  /** Why the contender did not run or did not finish. */
  failure?: string;
}

/** The whole `report.json`. */
export interface SoakReport {
  tool: 'atresolve soak';
  version: string;
  status: SoakStatus;
  startedAt: string;
  /** When this version of the file was written. */
  updatedAt: string;
  /** When the run ended; `null` while it runs. */
  finishedAt: string | null;
  config: Omit<SoakConfig, 'outDir'> & { description: string };
  environment: Record<string, unknown>;
  contenders: ContenderReport[];
}

/**
 * The report as JSON text: indented, except that each sample takes one
 * line (a day-long run's report stays readable and ~1,200 lines per
 * contender).
 */
export function reportJson(report: SoakReport): string {
  const marker = (i: number): string => `\u0000samples ${i}\u0000`;
  const contenders = report.contenders.map((c, i) => ({ ...c, samples: marker(i) }));
  let text = JSON.stringify({ ...report, contenders }, null, 2);
  report.contenders.forEach((c, i) => {
    const indent = '        ';
    const lines = c.samples.map((s) => `${indent}${JSON.stringify(s)}`).join(',\n');
    // A function, so that `$` in the JSON is never read as a replacement pattern.
    text = text.replace(JSON.stringify(marker(i)), () => (c.samples.length === 0 ? '[]' : `[\n${lines}\n      ]`));
  });
  return `${text}\n`;
}

/** Write `report.json` into `dir` (created if needed) atomically: a reader never sees half a file. Returns its path. */
export async function writeReport(dir: string, report: SoakReport): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, 'report.json');
  await writeFile(`${path}.tmp`, reportJson(report));
  await rename(`${path}.tmp`, path);
  return path;
}
