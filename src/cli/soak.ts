import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { memory } from '../telemetry/memory.js';
import { transportInfo } from '../transport/create.js';
import { startWorldProcess, type WorldProcess } from '../world/process.js';
import { ECHARTS_INSTALL, writeChart, type ChartSeries } from './chart.js';
import type { ContenderId } from './contender.js';
import { packageVersion } from './cli.js';
import { MissingPeerError } from './errors.js';
import type { CliIo } from './io.js';
import { SOAK_WEB_PERCENT } from './load-plan.js';
import { writeReport, verdictOf, type ContenderReport, type SoakReport } from './report.js';
import { describeConfig, parseSoakArgs, soakHelp, type SoakConfig } from './soak-config.js';
import type { RunnerCommand, RunnerConfig, RunnerMessage, SoakSample } from './soak-ipc.js';
import { StatusLine } from './status-line.js';

/**
 * `atresolve soak`: the orchestrator. For each contender it starts a fresh
 * local world in its own process (`startWorldProcess`) and a load-runner
 * child (the measured process), prints the live line from the runner's
 * samples (adding both processes' CPU), and at the end writes
 * `report.json` and `memory.svg` and prints one verdict line per contender.
 */

/** Status of `atresolve soak`: 0 when every contender ran, 1 when one could not run or died. */
export const SOAK_EXIT = { ok: 0, failed: 1 } as const;

/** Clock ticks per second of `/proc/<pid>/stat` times (USER_HZ, 100 on Linux). */
const USER_HZ = 100;

/** The compiled load-runner entry: beside this module, or under `dist/` when running from sources. */
export function runnerPath(): string {
  const here = fileURLToPath(import.meta.url);
  return here.endsWith('.ts') ? resolve(dirname(here), '../../dist/cli/load-runner.js') : join(dirname(here), 'load-runner.js');
}

/** User + system CPU seconds of `pid`, `null` when unreadable. */
function cpuSeconds(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
  } catch {
    return null;
  }
}

/** Percent of one core used by `pid` since the previous call for the same meter. */
function cpuMeter(pid: number | undefined): () => number | null {
  let last = cpuSeconds(pid);
  let lastAt = performance.now();
  return () => {
    const now = cpuSeconds(pid);
    const at = performance.now();
    const value = now === null || last === null ? null : ((now - last) / ((at - lastAt) / 1_000)) * 100;
    last = now;
    lastAt = at;
    return value;
  };
}

/** Busy and total jiffies of the whole machine (all cores), from `/proc/stat`; `null` when unreadable. */
function machineJiffies(): { busy: number; total: number } | null {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = fields.reduce((a, b) => a + b, 0);
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return null;
  }
}

/** Busy CPU of the whole machine since the previous call, in % of one core (so 2 busy cores = 200). */
function machineMeter(): () => number | null {
  let last = machineJiffies();
  let lastAt = performance.now();
  return () => {
    const now = machineJiffies();
    const at = performance.now();
    const value = now === null || last === null ? null : ((now.busy - last.busy) / USER_HZ / ((at - lastAt) / 1_000)) * 100;
    last = now;
    lastAt = at;
    return value;
  };
}

/** Run one contender against a fresh world; never throws (a failure is part of the report). */
async function runContender(id: ContenderId, config: SoakConfig, io: CliIo): Promise<ContenderReport> {
  const report: ContenderReport = { id, name: id, distinctTargets: null, totals: null, latencyMs: null, samples: [], verdict: null, world: null };
  let world: WorldProcess | undefined;
  try {
    world = await startWorldProcess({ identities: config.hosts, webPercent: SOAK_WEB_PERCENT });
    const runnerConfig: RunnerConfig = {
      contender: id,
      settings: { cache: config.cache, timeoutMs: config.timeoutMs, recycleAfter: config.recycleAfter, handleStrategy: config.handleStrategy },
      world: {
        plcUrl: world.plcUrl,
        connectTo: world.connectTo,
        caFile: world.caFile,
        caPem: world.caPem,
        dnsServer: world.dnsServer,
        httpsPort: world.httpsPort,
        dnsPort: world.dnsPort,
        identities: world.options.identities,
        webPercent: world.options.webPercent,
      },
      rate: config.rate,
      durationMs: config.durationMs,
      mix: config.mix,
      maxInFlight: config.maxInFlight,
      drainMs: Math.min(30_000, config.timeoutMs * 3 + 2_000),
      slopeWindowMs: config.slopeWindowMs,
    };
    await runRunner(runnerConfig, report, world.pid, io);
    report.world = await world.counters();
  } catch (error) {
    report.failure ??= error instanceof Error ? error.message : String(error);
  } finally {
    await world?.close();
  }
  if (report.totals) report.verdict = verdictOf(report.name, report.samples, report.totals);
  return report;
}

/** Fork the load runner for `runnerConfig`, feed the status line, fill `report`. */
function runRunner(runnerConfig: RunnerConfig, report: ContenderReport, worldPid: number | undefined, io: CliIo): Promise<void> {
  const seconds = runnerConfig.durationMs / 1_000;
  const child = fork(runnerPath(), [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'json' });
  const runnerCpu = cpuMeter(child.pid);
  const worldCpu = cpuMeter(worldPid);
  const parentCpu = cpuMeter(process.pid);
  const machineCpu = machineMeter();
  let status: StatusLine | undefined;
  return new Promise<void>((resolveRun) => {
    // A runner that never reports back is killed: the run plus drain, start-up and slack.
    const limit = setTimeout(() => {
      report.failure ??= 'the load runner did not finish in time and was killed';
      child.kill('SIGKILL');
    }, runnerConfig.durationMs + runnerConfig.drainMs + 60_000);
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      clearTimeout(limit);
      status?.finish();
      resolveRun();
    };
    child.on('message', (message: RunnerMessage) => {
      switch (message.type) {
        case 'ready':
          report.name = message.name;
          report.distinctTargets = message.plan;
          status = new StatusLine(io, message.name, seconds);
          break;
        case 'sample': {
          const cpu = { runner: round1(runnerCpu()), world: round1(worldCpu()), soak: round1(parentCpu()), machine: round1(machineCpu()) };
          const sample: SoakSample = { ...message.sample, cpu };
          report.samples.push(sample);
          status?.update(sample);
          break;
        }
        case 'done':
          report.totals = message.totals;
          report.latencyMs = message.latencyMs;
          break;
        case 'failed':
          report.failure = message.error;
          if (message.missingPeer !== undefined) status?.finish();
          break;
      }
    });
    child.once('exit', (code, signal) => {
      if (report.totals === null) report.failure ??= `the load runner exited (${signal ?? `code ${String(code)}`}) before it finished`;
      finish();
    });
    child.once('error', (error) => {
      report.failure ??= `the load runner failed: ${error.message}`;
      finish();
    });
    const start: RunnerCommand = { type: 'start', config: runnerConfig };
    child.send(start);
  });
}

function round1(value: number | null): number | null {
  return value === null ? null : Math.round(value * 10) / 10;
}

/** What the report says about the machine and the build. */
function environment(): Record<string, unknown> {
  const info = transportInfo();
  const cpuList = cpus();
  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpus: cpuList.length,
    cpuModel: cpuList[0]?.model ?? null,
    nativeTransport: info.nativeAvailable ? `libcurl ${info.curlVersion ?? '?'}` : `unavailable: ${info.nativeReason ?? '?'}`,
    mallocFigures: memory.snapshot().available,
  };
}

/**
 * Run `atresolve soak` with the arguments after the command name.
 * @returns the exit status
 * @throws UsageError for a bad command line (exit status 2)
 */
export async function runSoak(argv: readonly string[], io: CliIo): Promise<number> {
  const parsed = parseSoakArgs(argv, { nativeAvailable: transportInfo().nativeAvailable, cwd: process.cwd() });
  if (parsed === 'help') {
    io.out(`${soakHelp()}\n`);
    return SOAK_EXIT.ok;
  }
  const config = parsed;
  const startedAt = new Date();
  io.err(`atresolve soak: ${describeConfig(config)}; ${config.contenders.length > 1 ? `contenders ${config.contenders.join(', ')}` : `transport ${config.contenders[0]}`}\n`);

  const reports: ContenderReport[] = [];
  for (const id of config.contenders) {
    const report = await runContender(id, config, io);
    if (report.failure !== undefined) io.err(`atresolve soak: ${report.name}: ${report.failure}\n`);
    reports.push(report);
  }

  const { outDir, ...rest } = config;
  const report: SoakReport = {
    tool: 'atresolve soak',
    version: packageVersion(),
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    config: { ...rest, description: describeConfig(config) },
    environment: environment(),
    contenders: reports,
  };
  const reportPath = await writeReport(outDir, report);
  const drawn = reports.filter((r) => r.samples.length > 0).map((r) => ({ name: r.name, samples: r.samples }));
  const title = `atresolve soak${config.compare ? ' --compare' : ''}: malloc in use (solid) and RSS (dashed)`;
  const chartPath = drawn.length === 0 ? undefined : await drawChart(outDir, title, describeConfig(config), drawn, io);
  io.err(`atresolve soak: wrote ${reportPath}${chartPath ? ` and ${chartPath}` : ''}\n`);
  for (const r of reports) {
    if (r.verdict) io.out(`${r.verdict.line}\n`);
  }
  const missing = reports.filter((r) => r.failure !== undefined && /is not installed/.test(r.failure));
  const failed = reports.filter((r) => r.failure !== undefined && !missing.includes(r));
  return failed.length > 0 || reports.every((r) => r.totals === null) ? SOAK_EXIT.failed : SOAK_EXIT.ok;
}

/** Write memory.svg, or say how to add the chart library when it is missing. */
async function drawChart(dir: string, title: string, subtitle: string, series: ChartSeries[], io: CliIo): Promise<string | undefined> {
  try {
    return await writeChart(dir, title, subtitle, series);
  } catch (error) {
    if (!(error instanceof MissingPeerError)) throw error;
    io.err(`atresolve soak: memory.svg not drawn: the chart library is not installed; add it with: ${ECHARTS_INSTALL}\n`);
    return undefined;
  }
}
