/**
 * Entry point of a load-runner child (`atresolve soak` forks one per
 * contender, so each has its own malloc): builds the contender, offers
 * resolutions open-loop on the `LoadSchedule` (a warm-up ramp, then the
 * measured run), and reports one sample per second and the totals over IPC
 * (see `soak-ipc.ts`). The measured process holds nothing that grows with
 * the run: counters, a few fixed histograms and the memory monitor's
 * bounded ring.
 */
import { failureKindOf } from '../resolve/failure-kind.js';
import { memory, type MemorySnapshot } from '../telemetry/memory.js';
import { MemoryMonitor } from '../telemetry/monitor.js';
import { errorCodeOf, type Contender } from './contender.js';
import { MissingPeerError } from './errors.js';
import { LatencyHistogram } from './histogram.js';
import { LOAD_KINDS, LoadPlan, type LoadKind } from './load-plan.js';
import { LoadSchedule, type LoadPhase } from './load-schedule.js';
import type {
  ErrorsByClass,
  LatencySummary,
  OutcomeCounts,
  PhaseTotals,
  RunnerCommand,
  RunnerConfig,
  RunnerMessage,
  SoakErrorClass,
  SoakSample,
  StartupFigures,
} from './soak-ipc.js';

/** How often the scheduler issues what is due, ms. Small against a second; a late tick issues its backlog at once. */
const TICK_MS = 2;
/** How long closing the contender may take after the run. */
const CLOSE_LIMIT_MS = 5_000;
/** After a `stop`, how long in-flight resolutions may still finish: short, someone pressed Ctrl-C. */
const STOP_DRAIN_MS = 1_000;
/** Length of the start and after-recycle latency windows (`StartupFigures`), ms. */
const WINDOW_MS = 5_000;

function send(message: RunnerMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.connected || process.send === undefined) {
      resolve();
      return;
    }
    process.send(message, undefined, {}, () => resolve());
  });
}

async function makeContender(config: RunnerConfig): Promise<Contender> {
  switch (config.contender) {
    case 'curl':
    case 'undici': {
      const { ourContender } = await import('./ours.js');
      return ourContender(config.contender, config.world, config.settings);
    }
    case 'atproto': {
      const { atprotoIdentityContender } = await import('./peers/atproto-identity.js');
      return atprotoIdentityContender(config.world, config.settings);
    }
  }
}

function summary(h: LatencyHistogram): LatencySummary {
  return { p50: h.quantile(0.5), p90: h.quantile(0.9), p99: h.quantile(0.99), max: h.count === 0 ? null : h.max, mean: h.mean };
}

function phaseTotals(seconds: number): PhaseTotals {
  const byKind = Object.fromEntries(LOAD_KINDS.map((k) => [k, { offered: 0, ok: 0, errors: 0 }])) as Record<LoadKind, OutcomeCounts>;
  return { offered: 0, ok: 0, errors: 0, overflow: 0, unfinished: 0, byKind, errorsByClass: {}, errorCodes: {}, seconds, achievedPerSecond: 0 };
}

function countClass(into: ErrorsByClass, errorClass: SoakErrorClass, n = 1): void {
  into[errorClass] = (into[errorClass] ?? 0) + n;
}

/**
 * The latency windows of `StartupFigures`, by the time a resolution was
 * due: the first window of the load, the first after the warm-up, the
 * window after the latest recycle, and the steady state (everything else
 * in the measured run). Four fixed histograms.
 */
class StartupWindows {
  readonly #warmupMs: number;
  readonly #loadStart = new LatencyHistogram();
  readonly #runStart = new LatencyHistogram();
  readonly #steady = new LatencyHistogram();
  readonly #afterRecycle = new LatencyHistogram();
  #recycleUntil = -Infinity;
  #recycles = 0;
  #worstAfterRecycle: number | null = null;

  constructor(warmupMs: number) {
    this.#warmupMs = warmupMs;
  }

  /** A recycle was seen at `at` (ms since the start of the load): a new window begins. */
  recycled(at: number): void {
    this.#closeRecycleWindow();
    this.#recycles += 1;
    this.#recycleUntil = at + WINDOW_MS;
  }

  /** The histogram a resolution due at `dueAt` records into, or `undefined` (a warm-up resolution after the first window). */
  windowOf(dueAt: number, phase: LoadPhase): LatencyHistogram | undefined {
    if (dueAt < WINDOW_MS) return this.#loadStart;
    if (phase === 'warmup') return undefined;
    if (this.#warmupMs > 0 && dueAt < this.#warmupMs + WINDOW_MS) return this.#runStart;
    if (dueAt < this.#recycleUntil) return this.#afterRecycle;
    return this.#steady;
  }

  figures(): StartupFigures {
    this.#closeRecycleWindow();
    return {
      windowSeconds: WINDOW_MS / 1_000,
      loadStartP99Ms: this.#loadStart.quantile(0.99),
      runStartP99Ms: this.#warmupMs > 0 ? this.#runStart.quantile(0.99) : null,
      steadyP99Ms: this.#steady.quantile(0.99),
      recycles: this.#recycles,
      worstAfterRecycleP99Ms: this.#worstAfterRecycle,
    };
  }

  #closeRecycleWindow(): void {
    const p99 = this.#afterRecycle.quantile(0.99);
    if (p99 !== null && (this.#worstAfterRecycle === null || p99 > this.#worstAfterRecycle)) this.#worstAfterRecycle = p99;
    this.#afterRecycle.reset();
  }
}

/** Run the load described by `config` against `contender`; resolves when drained. */
async function runLoad(config: RunnerConfig, contender: Contender, plan: LoadPlan, stop: AbortSignal): Promise<void> {
  const schedule = new LoadSchedule(config.rates, config.warmupMs, config.durationMs);
  const warmupSeconds = config.warmupMs / 1_000;
  const totalSeconds = warmupSeconds + config.durationMs / 1_000;
  const run = phaseTotals(config.durationMs / 1_000);
  const warmup = config.warmupMs > 0 ? phaseTotals(warmupSeconds) : null;
  const totalsOf = (phase: LoadPhase): PhaseTotals => (phase === 'warmup' && warmup !== null ? warmup : run);
  const second = { offered: 0, ok: 0, errors: 0, overflow: 0, errorsByClass: {} as ErrorsByClass };
  const all = new LatencyHistogram();
  const perSecond = new LatencyHistogram();
  const windows = new StartupWindows(config.warmupMs);
  let snapshot: MemorySnapshot = memory.snapshot();
  const monitor = new MemoryMonitor({
    intervalMs: 1_000,
    windowMs: config.slopeWindowMs,
    maxSamples: Math.floor(config.slopeWindowMs / 1_000) + 2,
    sampler: () => snapshot,
  });
  let inFlight = 0;
  let issued = 0;
  let interrupted = false;
  let recyclesSeen = contender.recycles();
  let recyclesInSecond = 0;
  const t0 = performance.now();

  const fail = (kind: LoadKind, totals: PhaseTotals, code: string, errorClass: SoakErrorClass): void => {
    totals.errors += 1;
    totals.byKind[kind].errors += 1;
    totals.errorCodes[code] = (totals.errorCodes[code] ?? 0) + 1;
    countClass(totals.errorsByClass, errorClass);
    second.errors += 1;
    countClass(second.errorsByClass, errorClass);
  };
  const watchRecycles = (): void => {
    const recycles = contender.recycles();
    if (recycles === recyclesSeen) return;
    recyclesInSecond += recycles - recyclesSeen;
    recyclesSeen = recycles;
    windows.recycled(performance.now() - t0);
  };
  const issueDue = (): void => {
    if (config.settings.recycleAfter > 0) watchRecycles();
    const elapsed = performance.now() - t0;
    while (issued < schedule.totalCount && schedule.dueAt(issued) <= elapsed) {
      const dueAt = schedule.dueAt(issued);
      const phase = schedule.phaseOf(issued);
      issued += 1;
      const totals = totalsOf(phase);
      const { kind, target } = plan.next();
      totals.offered += 1;
      totals.byKind[kind].offered += 1;
      second.offered += 1;
      if (inFlight >= config.maxInFlight) {
        totals.overflow += 1;
        second.overflow += 1;
        fail(kind, totals, 'OVERFLOW', 'overflow');
        continue;
      }
      inFlight += 1;
      const window = windows.windowOf(dueAt, phase);
      contender.resolve(kind, target).then(
        () => {
          inFlight -= 1;
          // Latency from the due time (open loop): a stalled scheduler shows as latency too.
          const ms = performance.now() - t0 - dueAt;
          if (phase === 'run') all.record(ms);
          window?.record(ms);
          perSecond.record(ms);
          totals.ok += 1;
          totals.byKind[kind].ok += 1;
          second.ok += 1;
        },
        (error: unknown) => {
          inFlight -= 1;
          fail(kind, totals, errorCodeOf(error), failureKindOf(error));
        },
      );
    }
  };

  const ticker = setInterval(issueDue, TICK_MS);
  const stopped = stop.aborted ? Promise.resolve() : new Promise((resolve) => stop.addEventListener('abort', resolve, { once: true }));

  // One sample per second of real time. When the event loop is too busy to
  // wake on time (an overloaded contender), a sample covers the seconds it
  // missed: `t` is the real elapsed second and `seconds` the interval, so the
  // chart keeps real time and per-second rates stay true. A stop ends the
  // current sample at once.
  let t = 0;
  let lastAt = t0;
  while (t < totalSeconds) {
    let wake: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise((resolve) => {
        wake = setTimeout(resolve, Math.max(0, t0 + (t + 1) * 1_000 - performance.now()));
      }),
      stopped,
    ]);
    clearTimeout(wake);
    const now = performance.now();
    if (stop.aborted) {
      interrupted = true;
      clearInterval(ticker);
      issueDue();
      t = Math.round((now - t0) / 10) / 100;
    } else {
      t = Math.min(totalSeconds, Math.max(t + 1, Math.floor((now - t0) / 1_000)));
      if (t === totalSeconds) {
        clearInterval(ticker);
        issueDue();
      }
    }
    const intervalSeconds = Math.round(((now - lastAt) / 1_000) * 1_000) / 1_000;
    lastAt = now;
    snapshot = memory.snapshot();
    const stats = monitor.sample();
    if (config.settings.recycleAfter > 0) watchRecycles();
    const sample: SoakSample = {
      t,
      seconds: intervalSeconds,
      phase: t <= warmupSeconds ? 'warmup' : 'run',
      offered: second.offered,
      ok: second.ok,
      errors: second.errors,
      overflow: second.overflow,
      errorsByClass: second.errorsByClass,
      inFlight,
      openConnections: contender.openConnections(),
      mallocInUse: snapshot.malloc?.inUse ?? null,
      rss: snapshot.process.rss,
      heapUsed: snapshot.process.heapUsed,
      arrayBuffers: snapshot.process.arrayBuffers,
      slopeBytesPerSecond: stats.growthBytesPerSecond,
      p50Ms: perSecond.quantile(0.5),
      p99Ms: perSecond.quantile(0.99),
      recycles: recyclesInSecond,
    };
    recyclesInSecond = 0;
    second.offered = 0;
    second.ok = 0;
    second.errors = 0;
    second.overflow = 0;
    second.errorsByClass = {};
    perSecond.reset();
    await send({ type: 'sample', sample });
    if (interrupted) break;
  }

  // Drain: what was offered may finish; what cannot, counts as unfinished
  // (in the phase of the resolutions still running: the run, unless the
  // load was stopped during the warm-up).
  const drainUntil = performance.now() + (interrupted ? Math.min(STOP_DRAIN_MS, config.drainMs) : config.drainMs);
  while (inFlight > 0 && performance.now() < drainUntil) await new Promise((resolve) => setTimeout(resolve, 20));
  const lastPhase = issued > 0 ? schedule.phaseOf(issued - 1) : 'warmup';
  if (inFlight > 0) {
    const totals = totalsOf(lastPhase);
    totals.unfinished = inFlight;
    totals.errors += inFlight;
    totals.errorCodes['UNFINISHED'] = inFlight;
    countClass(totals.errorsByClass, 'unfinished', inFlight);
  }
  if (interrupted) {
    // The phases ran for what they ran.
    if (warmup !== null) warmup.seconds = Math.min(warmupSeconds, t);
    run.seconds = Math.max(0, t - warmupSeconds);
  }
  for (const totals of [run, warmup]) {
    if (totals !== null) totals.achievedPerSecond = totals.seconds > 0 ? totals.ok / totals.seconds : 0;
  }
  const extra: Record<string, unknown> = { memory: snapshot, monitor: monitor.stats() };
  await send({ type: 'done', totals: run, warmup, latencyMs: summary(all), startup: windows.figures(), interrupted, extra });
}

async function main(config: RunnerConfig, stop: AbortSignal): Promise<void> {
  let contender: Contender;
  try {
    const plan = new LoadPlan(config.mix, config.world);
    contender = await makeContender(config);
    await send({ type: 'ready', name: contender.name, plan: plan.counts });
    await runLoad(config, contender, plan, stop);
  } catch (error) {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    await send({ type: 'failed', error: message, ...(error instanceof MissingPeerError ? { missingPeer: error.packageName } : {}) });
    process.exit(1);
  }
  await Promise.race([contender.close().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, CLOSE_LIMIT_MS).unref())]);
  process.exit(0);
}

if (process.send === undefined) {
  process.stderr.write('atresolve load runner: must be started by atresolve soak (no IPC channel)\n');
  process.exit(2);
}
const stop = new AbortController();
let started = false;
process.on('message', (command: RunnerCommand) => {
  if (command.type === 'stop') {
    stop.abort();
  } else if (!started) {
    started = true;
    void main(command.config, stop.signal);
  }
});
// Ctrl-C is the parent's to handle (it sends `stop`); a terminal signals the whole group.
process.on('SIGINT', () => undefined);
// The parent went away: nothing left to report to.
process.on('disconnect', () => process.exit(1));
