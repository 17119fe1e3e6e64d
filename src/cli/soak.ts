import { fork, type ChildProcess } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { memory } from '../telemetry/memory.js';
import { transportInfo } from '../transport/create.js';
import { startWorldProcess, type WorldProcess } from '../world/process.js';
import { ECHARTS_INSTALL, warmChartRenderer, writeChart, type ChartInput } from './chart.js';
import type { ContenderId } from './contender.js';
import { machineCpuMeter, processCpuMeter } from './cpu.js';
import { MissingPeerError } from './errors.js';
import type { CliIo } from './io.js';
import { SOAK_WEB_PERCENT } from './load-plan.js';
import { writeReport, type ContenderReport, type SoakReport, type SoakStatus } from './report.js';
import { describeConfig, parseSoakArgs, soakHelp, type SoakConfig } from './soak-config.js';
import type { RunnerCommand, RunnerConfig, RunnerMessage, SoakSample } from './soak-ipc.js';
import { StatusLine } from './status-line.js';
import { Timeline } from './timeline.js';
import { SOAK_EXIT, soakExitStatus, startLine, verdictOf } from './verdict.js';
import { packageVersion } from './version.js';

/**
 * `atresolve soak`: the orchestrator. For each contender it starts a fresh
 * local world in its own process (`startWorldProcess`) and a load-runner
 * child (the measured process), prints the live line from the runner's
 * samples (adding both processes' CPU), keeps the samples in a bounded
 * `Timeline`, rewrites `report.json` and `memory.svg` every
 * `--flush-every` and at the end, and prints one verdict line per
 * contender. Ctrl-C (or SIGTERM) stops the load and writes the report of
 * what ran, marked interrupted; a second Ctrl-C quits at once.
 */

/** The compiled load-runner entry: beside this module, or under `dist/` when running from sources. */
export function runnerPath(): string {
  const here = fileURLToPath(import.meta.url);
  return here.endsWith('.ts') ? resolve(dirname(here), '../../dist/cli/load-runner.js') : join(dirname(here), 'load-runner.js');
}

/** A signal that stops a soak early. */
type StopSignal = 'SIGINT' | 'SIGTERM';

/** One contender's run in progress: its report (without samples and verdict until the end) and its samples. */
interface ContenderRun {
  report: ContenderReport;
  timeline: Timeline;
}

/** Everything a soak holds while it runs. */
class SoakRun {
  readonly config: SoakConfig;
  readonly io: CliIo;
  readonly startedAt = new Date();
  readonly runs: ContenderRun[] = [];
  readonly loadAverageAtStart = loadavg();
  /** Set by the first SIGINT/SIGTERM. */
  signal: StopSignal | undefined;
  /** Stops the load runner running now (sends `stop`). */
  stopRunner: (() => void) | undefined;
  #writing: Promise<unknown> = Promise.resolve();
  #chartMissingSaid = false;

  constructor(config: SoakConfig, io: CliIo) {
    this.config = config;
    this.io = io;
  }

  /** The report as it stands. */
  snapshot(status: SoakStatus): SoakReport {
    const { outDir, ...rest } = this.config;
    const now = new Date().toISOString();
    return {
      tool: 'atresolve soak',
      version: packageVersion(),
      status,
      startedAt: this.startedAt.toISOString(),
      updatedAt: now,
      finishedAt: status === 'running' ? null : now,
      config: { ...rest, description: describeConfig(this.config) },
      environment: environment(this.loadAverageAtStart),
      contenders: this.runs.map(({ report, timeline }) => ({ ...report, samples: timeline.points() })),
    };
  }

  /**
   * Write report.json and memory.svg as they stand, after any write still
   * in progress (writes never overlap). Returns the paths written.
   */
  write(status: SoakStatus): Promise<{ reportPath: string; chartPath: string | undefined }> {
    const next = this.#writing.then(async () => {
      const report = this.snapshot(status);
      const reportPath = await writeReport(this.config.outDir, report);
      const chartPath = await this.#drawChart(report);
      return { reportPath, chartPath };
    });
    this.#writing = next.catch(() => undefined);
    return next;
  }

  /** Write memory.svg, or say (once) how to add the chart library when it is missing. */
  async #drawChart(report: SoakReport): Promise<string | undefined> {
    const contenders = report.contenders.filter((c) => c.samples.length > 0);
    if (contenders.length === 0) return undefined;
    const input: ChartInput = {
      title: `atresolve soak${this.config.compare ? ' --compare' : ''}${report.status === 'running' ? ' (running)' : ''}`,
      subtitle: describeConfig(this.config),
      warmupSeconds: this.config.warmupMs / 1_000,
      contenders: contenders.map((c) => {
        const last = c.samples[c.samples.length - 1];
        return {
          name: c.name,
          samples: c.samples,
          verdict: c.verdict,
          ...(c.failure === undefined ? {} : { failure: c.failure }),
          ...(c.interrupted && last ? { interruptedAt: last.t } : {}),
        };
      }),
    };
    try {
      return await writeChart(this.config.outDir, input);
    } catch (error) {
      if (!(error instanceof MissingPeerError)) throw error;
      if (!this.#chartMissingSaid) this.io.err(`atresolve soak: memory.svg not drawn: the chart library is not installed; add it with: ${ECHARTS_INSTALL}\n`);
      this.#chartMissingSaid = true;
      return undefined;
    }
  }
}

/** Run one contender against a fresh world; never throws (a failure is part of the report). */
async function runContender(run: SoakRun, id: ContenderId, contender: ContenderRun): Promise<void> {
  const { config } = run;
  const report = contender.report;
  let world: WorldProcess | undefined;
  try {
    world = await startWorldProcess({
      identities: config.hosts,
      webPercent: SOAK_WEB_PERCENT,
      precompute: true,
      detached: true,
      ...(config.faults === null ? {} : { faults: { all: config.faults } }),
    });
    if (run.signal !== undefined) {
      report.failure = 'not run: the soak was interrupted';
      return;
    }
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
      rates: config.rates,
      warmupMs: config.warmupMs,
      durationMs: config.durationMs,
      mix: config.mix,
      maxInFlight: config.maxInFlight,
      drainMs: Math.min(30_000, config.timeoutMs * 3 + 2_000),
      slopeWindowMs: config.slopeWindowMs,
    };
    // The peer may run on another Node (`--peer-node`); atresolve runs on this one.
    const execPath = id === 'atproto' ? (config.peerNode ?? process.execPath) : process.execPath;
    await runRunner(run, runnerConfig, contender, world.pid, execPath);
    report.world = await world.counters();
  } catch (error) {
    report.failure ??= error instanceof Error ? error.message : String(error);
  } finally {
    await world?.close();
  }
  if (report.totals) {
    report.verdict = verdictOf(report.name, contender.timeline.points(), report.totals, {
      criteria: config.criteria,
      // The peer of --compare is reported, not judged.
      judged: id !== 'atproto',
      interrupted: report.interrupted,
    });
  }
}

/** Fork the load runner for `runnerConfig` on the Node at `execPath`, feed the status line and the timeline, fill the report. */
function runRunner(run: SoakRun, runnerConfig: RunnerConfig, contender: ContenderRun, worldPid: number | undefined, execPath: string): Promise<void> {
  const { report, timeline } = contender;
  const seconds = { warmup: runnerConfig.warmupMs / 1_000, run: runnerConfig.durationMs / 1_000 };
  // Its own process group: Ctrl-C reaches only this process, which stops the runner in order.
  const child: ChildProcess = fork(runnerPath(), [], { execPath, execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'json', detached: true });
  const runnerCpu = processCpuMeter(child.pid);
  const worldCpu = processCpuMeter(worldPid);
  const parentCpu = processCpuMeter(process.pid);
  const machineCpu = machineCpuMeter();
  let status: StatusLine | undefined;
  const send = (command: RunnerCommand): void => {
    if (child.connected) child.send(command);
  };
  run.stopRunner = () => send({ type: 'stop' });
  return new Promise<void>((resolveRun) => {
    // A runner that never reports back is killed: the run plus drain, start-up and slack.
    const limit = setTimeout(() => {
      report.failure ??= 'the load runner did not finish in time and was killed';
      child.kill('SIGKILL');
    }, runnerConfig.warmupMs + runnerConfig.durationMs + runnerConfig.drainMs + 60_000);
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      clearTimeout(limit);
      run.stopRunner = undefined;
      status?.finish();
      resolveRun();
    };
    child.on('message', (message: RunnerMessage) => {
      switch (message.type) {
        case 'ready':
          report.name = message.name;
          report.distinctTargets = message.plan;
          status = new StatusLine(run.io, message.name, seconds);
          // A stop that came while the runner started up.
          if (run.signal !== undefined) send({ type: 'stop' });
          break;
        case 'sample': {
          const cpu = { runner: runnerCpu(), world: worldCpu(), soak: parentCpu(), machine: machineCpu() };
          const sample: SoakSample = { ...message.sample, cpu };
          timeline.add(sample);
          status?.update(sample);
          break;
        }
        case 'done':
          report.totals = message.totals;
          report.warmup = message.warmup;
          report.latencyMs = message.latencyMs;
          report.startup = message.startup;
          report.interrupted = message.interrupted;
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
    send({ type: 'start', config: runnerConfig });
  });
}

/** What the report says about the machine and the build. */
function environment(loadAverageAtStart: number[]): Record<string, unknown> {
  const info = transportInfo();
  const cpuList = cpus();
  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpus: cpuList.length,
    cpuModel: cpuList[0]?.model ?? null,
    nativeTransport: info.nativeAvailable ? `libcurl ${info.curlVersion ?? '?'}` : `unavailable: ${info.nativeReason ?? '?'}`,
    mallocFigures: memory.snapshot().available,
    /** The machine's 1, 5 and 15-minute load averages at the start and now: other work on the box shows here. */
    loadAverage: { start: loadAverageAtStart.map(round2), now: loadavg().map(round2) },
  };
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

/**
 * Run `atresolve soak` with the arguments after the command name.
 * @returns the exit status (see `SOAK_EXIT`)
 * @throws UsageError for a bad command line (exit status 2)
 */
export async function runSoak(argv: readonly string[], io: CliIo): Promise<number> {
  const parsed = parseSoakArgs(argv, { nativeAvailable: transportInfo().nativeAvailable, cwd: process.cwd() });
  if (parsed === 'help') {
    io.out(`${soakHelp()}\n`);
    return SOAK_EXIT.ok;
  }
  const config = parsed;
  // The first chart of a process is expensive; draw it before any load runs.
  await warmChartRenderer();
  const run = new SoakRun(config, io);
  io.err(
    `atresolve soak: ${describeConfig(config)}; ${config.contenders.length > 1 ? `contenders ${config.contenders.join(', ')}` : `transport ${config.contenders[0]}`}; ` +
      `writing to ${config.outDir}\n`,
  );

  const onSignal = (signal: StopSignal): void => {
    if (run.signal !== undefined) {
      // The second one: quit now. The children follow (their IPC channel closes), the world removing its CA.
      io.err(`\natresolve soak: ${signal} again: quitting without finishing the report\n`);
      process.exit(signal === 'SIGINT' ? SOAK_EXIT.interrupted : SOAK_EXIT.terminated);
    }
    run.signal = signal;
    io.err(`\natresolve soak: ${signal === 'SIGINT' ? 'interrupted' : 'terminated'}: stopping the load and writing the report (Ctrl-C again to quit at once)\n`);
    run.stopRunner?.();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const flusher = setInterval(() => {
    run.write('running').catch((error: unknown) => io.err(`atresolve soak: could not write the report: ${String(error)}\n`));
  }, config.flushEveryMs);
  flusher.unref();

  try {
    for (const id of config.contenders) {
      const contender: ContenderRun = {
        report: { id, name: id, distinctTargets: null, totals: null, warmup: null, latencyMs: null, startup: null, samples: [], verdict: null, world: null, interrupted: false },
        timeline: new Timeline(),
      };
      run.runs.push(contender);
      if (run.signal !== undefined) {
        contender.report.failure = 'not run: the soak was interrupted';
        continue;
      }
      await runContender(run, id, contender);
      if (contender.report.failure !== undefined) io.err(`atresolve soak: ${contender.report.name}: ${contender.report.failure}\n`);
    }
  } finally {
    clearInterval(flusher);
  }

  const finalStatus: SoakStatus = run.signal === 'SIGINT' ? 'interrupted' : run.signal === 'SIGTERM' ? 'terminated' : 'complete';
  const { reportPath, chartPath } = await run.write(finalStatus);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  io.err(`atresolve soak: wrote ${reportPath}${chartPath ? ` and ${chartPath}` : ''}\n`);
  const reports = run.runs.map((r) => r.report);
  for (const r of reports) {
    if (r.verdict) io.out(`${r.verdict.line}\n`);
    if (r.startup) io.out(`${startLine(r.name, r.warmup, r.startup, config.rate)}\n`);
  }
  const couldNotRun = reports.some((r) => r.failure !== undefined && !/is not installed|^not run: /.test(r.failure)) || reports.every((r) => r.totals === null);
  return soakExitStatus({ verdicts: reports.flatMap((r) => (r.verdict ? [r.verdict] : [])), couldNotRun, signal: run.signal });
}
