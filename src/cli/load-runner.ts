/**
 * Entry point of a load-runner child (`atresolve soak` forks one per
 * contender, so each has its own malloc): builds the contender, offers
 * resolutions open-loop at the configured rate, and reports one sample per
 * second and the totals over IPC (see `soak-ipc.ts`). The measured process
 * holds nothing that grows with the run: counters, two fixed histograms and
 * the memory monitor's bounded ring.
 */
import { memory, type MemorySnapshot } from '../telemetry/memory.js';
import { MemoryMonitor } from '../telemetry/monitor.js';
import { errorCodeOf, type Contender } from './contender.js';
import { MissingPeerError } from './errors.js';
import { LatencyHistogram } from './histogram.js';
import { LOAD_KINDS, LoadPlan, type LoadKind } from './load-plan.js';
import type { LatencySummary, OutcomeCounts, RunnerCommand, RunnerConfig, RunnerMessage, RunnerTotals, SoakSample } from './soak-ipc.js';

/** How often the scheduler issues what is due, ms. Small against a second; a late tick issues its backlog at once. */
const TICK_MS = 2;
/** How long closing the contender may take after the run. */
const CLOSE_LIMIT_MS = 5_000;

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

/** Run the load described by `config` against `contender`; resolves when drained. */
async function runLoad(config: RunnerConfig, contender: Contender, plan: LoadPlan): Promise<void> {
  const seconds = Math.round(config.durationMs / 1_000);
  const totalDue = Math.floor((config.rate * config.durationMs) / 1_000);
  const intervalMs = 1_000 / config.rate;
  const kinds = (): Record<LoadKind, OutcomeCounts> =>
    Object.fromEntries(LOAD_KINDS.map((k) => [k, { offered: 0, ok: 0, errors: 0 }])) as Record<LoadKind, OutcomeCounts>;
  const totals: RunnerTotals = {
    offered: 0, ok: 0, errors: 0, overflow: 0, unfinished: 0, byKind: kinds(), errorCodes: {}, seconds, achievedPerSecond: 0,
  };
  const second = { offered: 0, ok: 0, errors: 0, overflow: 0 };
  const all = new LatencyHistogram();
  const perSecond = new LatencyHistogram();
  let snapshot: MemorySnapshot = memory.snapshot();
  const monitor = new MemoryMonitor({
    intervalMs: 1_000,
    windowMs: config.slopeWindowMs,
    maxSamples: Math.floor(config.slopeWindowMs / 1_000) + 2,
    sampler: () => snapshot,
  });
  let inFlight = 0;
  let issued = 0;
  let lastRecycles = contender.recycles();

  const fail = (kind: LoadKind, code: string): void => {
    totals.errors += 1;
    totals.byKind[kind].errors += 1;
    totals.errorCodes[code] = (totals.errorCodes[code] ?? 0) + 1;
    second.errors += 1;
  };
  const issueDue = (due: number, t0: number): void => {
    while (issued < due) {
      const scheduledAt = t0 + issued * intervalMs;
      issued += 1;
      const { kind, target } = plan.next();
      totals.offered += 1;
      totals.byKind[kind].offered += 1;
      second.offered += 1;
      if (inFlight >= config.maxInFlight) {
        totals.overflow += 1;
        second.overflow += 1;
        fail(kind, 'OVERFLOW');
        continue;
      }
      inFlight += 1;
      contender.resolve(kind, target).then(
        () => {
          inFlight -= 1;
          // Latency from the scheduled time (open loop): a stalled scheduler shows as latency too.
          const ms = performance.now() - scheduledAt;
          all.record(ms);
          perSecond.record(ms);
          totals.ok += 1;
          totals.byKind[kind].ok += 1;
          second.ok += 1;
        },
        (error: unknown) => {
          inFlight -= 1;
          fail(kind, errorCodeOf(error));
        },
      );
    }
  };

  const t0 = performance.now();
  const ticker = setInterval(() => {
    issueDue(Math.min(totalDue, Math.floor(((performance.now() - t0) * config.rate) / 1_000)), t0);
  }, TICK_MS);

  // One sample per second of real time. When the event loop is too busy to
  // wake on time (an overloaded contender), a sample covers the seconds it
  // missed: `t` is the real elapsed second and `seconds` the interval, so the
  // chart keeps real time and per-second rates stay true.
  let t = 0;
  let lastAt = t0;
  while (t < seconds) {
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, t0 + (t + 1) * 1_000 - performance.now())));
    const now = performance.now();
    t = Math.min(seconds, Math.max(t + 1, Math.floor((now - t0) / 1_000)));
    if (t === seconds) {
      clearInterval(ticker);
      issueDue(totalDue, t0);
    }
    const intervalSeconds = Math.round(((now - lastAt) / 1_000) * 1_000) / 1_000;
    lastAt = now;
    snapshot = memory.snapshot();
    const stats = monitor.sample();
    const recycles = contender.recycles();
    const sample: SoakSample = {
      t,
      seconds: intervalSeconds,
      offered: second.offered,
      ok: second.ok,
      errors: second.errors,
      overflow: second.overflow,
      inFlight,
      openConnections: contender.openConnections(),
      mallocInUse: snapshot.malloc?.inUse ?? null,
      rss: snapshot.process.rss,
      heapUsed: snapshot.process.heapUsed,
      arrayBuffers: snapshot.process.arrayBuffers,
      slopeBytesPerSecond: stats.growthBytesPerSecond,
      p50Ms: perSecond.quantile(0.5),
      p99Ms: perSecond.quantile(0.99),
      recycles: recycles - lastRecycles,
    };
    lastRecycles = recycles;
    second.offered = 0;
    second.ok = 0;
    second.errors = 0;
    second.overflow = 0;
    perSecond.reset();
    await send({ type: 'sample', sample });
  }

  // Drain: what was offered during the run may finish; what cannot, counts as unfinished.
  const drainUntil = performance.now() + config.drainMs;
  while (inFlight > 0 && performance.now() < drainUntil) await new Promise((resolve) => setTimeout(resolve, 20));
  if (inFlight > 0) {
    totals.unfinished = inFlight;
    totals.errors += inFlight;
    totals.errorCodes['UNFINISHED'] = inFlight;
  }
  totals.achievedPerSecond = totals.ok / seconds;
  const extra: Record<string, unknown> = { memory: snapshot, monitor: monitor.stats() };
  await send({ type: 'done', totals, latencyMs: summary(all), extra });
}

async function main(config: RunnerConfig): Promise<void> {
  let contender: Contender;
  try {
    const plan = new LoadPlan(config.mix, config.world);
    contender = await makeContender(config);
    await send({ type: 'ready', name: contender.name, plan: plan.counts });
    await runLoad(config, contender, plan);
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
process.once('message', (command: RunnerCommand) => {
  if (command.type === 'start') void main(command.config);
});
// The parent went away: nothing left to report to.
process.on('disconnect', () => process.exit(1));
