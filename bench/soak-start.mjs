#!/usr/bin/env node
// What makes the first seconds of `atresolve soak` slow? Each run starts a
// fresh local world (its own process) and, in a fresh process, an
// atresolve IdResolver that offers the soak's load open-loop (default mix,
// cache off, 20,000 identities) at BENCH_RATE/s for 10 s. It prints the
// p99 of the resolutions due in the first 5 s at full rate against the p99
// of the next 5 s (steady), the errors in the first 5 s, the CPU per
// resolution of the resolver's process and of the world and the world's TLS
// handshakes in each of the two windows (CPU figures hold on a shared box,
// where latency does not), and the busy CPU of the whole box during the
// run (200% = both cores of a 2-core box: other work shows there). Modes
// isolate one cause each:
//   cold        the world builds keys and documents on demand, the
//               resolver starts cold: JIT, empty pool (the soak before
//               issue 14)
//   precompute  the world builds every key and document before the load
//   jit-warm    precompute; the resolver first runs 5 s at 200/s on other
//               identities, then closes every connection: a warm JIT, an
//               empty pool
//   pool-warm   precompute; the resolver first opens 64 keep-alive
//               connections to the PLC host: a cold JIT, a warm pool
//   warm-up     precompute; the load ramps from 0 to full over 5 s first
//               (the soak's default --warmup 5s)
//   recycle     precompute and warm-up; after 10 s at full rate the
//               transport is reset (as --recycle-after does): the 5 s
//               after the reset against the 5 s before it
// Runs alternate between modes, BENCH_RUNS each; the median is shown.
// Figures only, no thresholds; every loop is bounded in count and time.
//
// Run with `npm run bench:soak-start`. Environment: BENCH_RATE (default
// 1000), BENCH_RUNS (default 3), BENCH_MODES (comma-separated, default
// all), BENCH_TRANSPORT (curl or undici, default curl when it loads).
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const RATE = Number(process.env.BENCH_RATE ?? 1_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const MODES = (process.env.BENCH_MODES ?? 'cold,precompute,jit-warm,pool-warm,warm-up,recycle').split(',');
const IDENTITIES = 20_000;
const WEB_PERCENT = 50;
const MIX = { plc: 50, web: 40, handle: 10 };
const WINDOW_MS = 5_000;
const RUN_LIMIT_MS = 90_000;

/** Busy CPU seconds of the whole machine. */
function machineBusySeconds() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number);
  return (f.reduce((a, b) => a + b, 0) - f[3] - f[4]) / 100;
}

// ---- child: one run ----------------------------------------------------------
async function child(mode) {
  const { startWorldProcess } = await import('../dist/world/process.js');
  const { IdResolver } = await import('../dist/resolve/id-resolver.js');
  const { createTransport } = await import('../dist/transport/create.js');
  const { CurlTransport } = await import('../dist/transport/curl.js');
  const { UndiciTransport } = await import('../dist/transport/undici.js');
  const { LoadPlan } = await import('../dist/cli/load-plan.js');
  const { LoadSchedule } = await import('../dist/cli/load-schedule.js');
  const { LatencyHistogram } = await import('../dist/cli/histogram.js');

  const world = await startWorldProcess({ identities: IDENTITIES, webPercent: WEB_PERCENT, precompute: mode !== 'cold' });
  const endpoints = { identities: IDENTITIES, webPercent: WEB_PERCENT };
  // As the soak's own contender (src/cli/ours.ts).
  const options = { caFile: world.caFile, connectTo: { ...world.connectTo }, allowPrivateNetwork: true, maxConnectionsPerHost: 256 };
  const kind = process.env.BENCH_TRANSPORT;
  const transport = kind === 'curl' ? new CurlTransport(options) : kind === 'undici' ? new UndiciTransport(options) : createTransport(options);
  const resolver = new IdResolver({
    plcUrl: world.plcUrl,
    allowTestTlds: true,
    timeoutMs: 3_000,
    cache: false,
    dns: { nameservers: [world.dnsServer] },
    handleStrategy: 'dns-first',
    transport,
  });
  const resolve = async (what, target) => {
    if (what === 'handle') await resolver.resolveIdentity(target);
    else await resolver.did.resolveAtprotoData(target);
  };

  /** CPU seconds of the world's process so far. */
  const worldCpu = () => {
    const stat = readFileSync(`/proc/${world.pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  };
  /** CPU of this process and of the world, and the world's TLS handshakes, now. */
  const snapshot = async () => {
    const own = process.cpuUsage();
    return { runner: (own.user + own.system) / 1e6, world: worldCpu(), handshakes: (await world.counters()).connections.handshakes };
  };

  /**
   * Open-loop load on `schedule`; each resolution's latency and failure go to
   * the window its due time falls in. Takes a `snapshot()` at each of `marks`
   * (ms from the start) and returns them.
   */
  async function load(plan, schedule, windowOf, onDue = () => undefined, marks = []) {
    const t0 = performance.now();
    const taken = marks.map((at) => new Promise((resolveMark) => setTimeout(() => resolveMark(snapshot()), at)));
    let issued = 0;
    let inFlight = 0;
    await new Promise((resolveLoad) => {
      const tick = setInterval(() => {
        const elapsed = performance.now() - t0;
        while (issued < schedule.totalCount && schedule.dueAt(issued) <= elapsed) {
          const dueAt = schedule.dueAt(issued);
          issued += 1;
          onDue(dueAt);
          const window = windowOf(dueAt);
          const { kind: what, target } = plan.next();
          inFlight += 1;
          resolve(what, target).then(
            () => {
              inFlight -= 1;
              window?.latency.record(performance.now() - t0 - dueAt);
            },
            () => {
              inFlight -= 1;
              if (window) window.errors += 1;
            },
          );
        }
        if (issued === schedule.totalCount) {
          clearInterval(tick);
          resolveLoad();
        }
      }, 2);
    });
    const until = performance.now() + 10_000;
    while (inFlight > 0 && performance.now() < until) await new Promise((r) => setTimeout(r, 20));
    return Promise.all(taken);
  }

  const window = () => ({ latency: new LatencyHistogram(), errors: 0 });
  // Other identities than the measured load's first ones: the plan starts far into its walk.
  const otherPlan = (mix) => {
    const plan = new LoadPlan(mix, endpoints);
    for (let i = 0; i < 12_000; i++) plan.next();
    return plan;
  };
  if (mode === 'jit-warm') {
    await load(otherPlan(MIX), new LoadSchedule(200, 0, 5_000), () => undefined);
    await transport.clearConnections();
  } else if (mode === 'pool-warm') {
    const plan = otherPlan({ plc: 1, web: 0, handle: 0 });
    await Promise.all(Array.from({ length: 64 }, () => resolve('plc', plan.next().target)));
  }

  const warmupMs = mode === 'warm-up' || mode === 'recycle' ? 5_000 : 0;
  const seconds = mode === 'recycle' ? 15 : 10;
  const first = window();
  const steady = window();
  const afterReset = window();
  const resetAt = warmupMs + 10_000;
  const windowOf = (dueAt) => {
    if (dueAt < warmupMs) return undefined;
    if (mode === 'recycle') return dueAt < resetAt - WINDOW_MS ? undefined : dueAt < resetAt ? steady : afterReset;
    return dueAt < warmupMs + WINDOW_MS ? first : steady;
  };
  const busyBefore = machineBusySeconds();
  const startedAt = performance.now();
  let reset = false;
  const resetWhenDue = (dueAt) => {
    if (mode !== 'recycle' || reset || dueAt < resetAt) return;
    reset = true;
    void transport.reset();
  };
  // The measured window and the steady one, each WINDOW_MS long: [a, b) and [b, c) or, for a recycle, [c, a) and [a, b).
  const marks = mode === 'recycle' ? [resetAt - WINDOW_MS, resetAt, resetAt + WINDOW_MS] : [warmupMs, warmupMs + WINDOW_MS, warmupMs + 2 * WINDOW_MS];
  const [m0, m1, m2] = await load(new LoadPlan(MIX, endpoints), new LoadSchedule(RATE, warmupMs, seconds * 1_000), windowOf, resetWhenDue, marks);
  const box = ((machineBusySeconds() - busyBefore) / ((performance.now() - startedAt) / 1_000)) * 100;
  const [firstSpan, steadySpan] = mode === 'recycle' ? [[m1, m2], [m0, m1]] : [[m0, m1], [m1, m2]];
  const perResolution = ([a, b], key) => ((b[key] - a[key]) * 1e6) / ((RATE * WINDOW_MS) / 1_000);
  const measured = mode === 'recycle' ? afterReset : first;
  process.send({
    mode,
    transport: transport.kind,
    firstP99: measured.latency.quantile(0.99),
    firstErrors: measured.errors,
    steadyP99: steady.latency.quantile(0.99),
    steadyErrors: steady.errors,
    cpu: {
      first: { runner: perResolution(firstSpan, 'runner'), world: perResolution(firstSpan, 'world'), handshakes: firstSpan[1].handshakes - firstSpan[0].handshakes },
      steady: { runner: perResolution(steadySpan, 'runner'), world: perResolution(steadySpan, 'world'), handshakes: steadySpan[1].handshakes - steadySpan[0].handshakes },
    },
    box,
  });
  await resolver.close();
  await transport.close();
  await world.close();
}

// ---- parent ------------------------------------------------------------------
function runOne(mode) {
  return new Promise((resolve) => {
    const proc = fork(fileURLToPath(import.meta.url), ['--child', mode], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let result;
    const limit = setTimeout(() => proc.kill('SIGKILL'), RUN_LIMIT_MS);
    proc.on('message', (m) => (result = m));
    proc.on('exit', () => {
      clearTimeout(limit);
      resolve(result ?? { mode, failed: true });
    });
  });
}

const median = (values) => {
  const v = values.filter((x) => x !== null && x !== undefined).sort((a, b) => a - b);
  return v.length === 0 ? null : v[Math.floor((v.length - 1) / 2)];
};
const fmt = (ms) => (ms === null ? 'n/a' : ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`);

if (process.argv[2] === '--child') {
  await child(process.argv[3]);
  process.exit(0);
} else {
  console.log(`soak start: ${RATE}/s open-loop, ${IDENTITIES} identities, mix plc=50,web=40,handle=10, cache off; ${RUNS} runs per mode`);
  const results = Object.fromEntries(MODES.map((m) => [m, []]));
  for (let run = 0; run < RUNS; run++) {
    for (const mode of MODES) {
      const r = await runOne(mode);
      results[mode].push(r);
      const ratio = r.firstP99 && r.steadyP99 ? (r.firstP99 / r.steadyP99).toFixed(1) : 'n/a';
      console.log(
        `  run ${run + 1} ${mode.padEnd(10)} ${r.failed ? 'FAILED' : `${r.transport}: first 5 s p99 ${fmt(r.firstP99)} (${r.firstErrors} errors), steady p99 ${fmt(r.steadyP99)} (${r.steadyErrors} errors), ratio ${ratio}; ` +
          `CPU-µs per resolution first/steady: runner ${Math.round(r.cpu.first.runner)}/${Math.round(r.cpu.steady.runner)}, world ${Math.round(r.cpu.first.world)}/${Math.round(r.cpu.steady.world)}; ` +
          `handshakes ${r.cpu.first.handshakes}/${r.cpu.steady.handshakes}; box ${Math.round(r.box)}%`}`,
      );
    }
  }
  console.log('\nmode        first 5 s p99   steady p99   ratio   errors in first 5 s   runner CPU-µs/res first, steady   world, first, steady   handshakes first, steady   box CPU   (medians)');
  for (const mode of MODES) {
    const rs = results[mode].filter((r) => !r.failed);
    const first = median(rs.map((r) => r.firstP99));
    const steady = median(rs.map((r) => r.steadyP99));
    const ratio = median(rs.map((r) => (r.firstP99 && r.steadyP99 ? r.firstP99 / r.steadyP99 : null)));
    console.log(
      `${mode.padEnd(11)} ${fmt(first).padStart(13)} ${fmt(steady).padStart(12)} ${ratio === null ? '  n/a' : `${ratio.toFixed(1)}×`.padStart(7)} ${String(median(rs.map((r) => r.firstErrors))).padStart(21)} ` +
        `${`${Math.round(median(rs.map((r) => r.cpu.first.runner)))}, ${Math.round(median(rs.map((r) => r.cpu.steady.runner)))}`.padStart(34)} ` +
        `${`${Math.round(median(rs.map((r) => r.cpu.first.world)))}, ${Math.round(median(rs.map((r) => r.cpu.steady.world)))}`.padStart(22)} ` +
        `${`${median(rs.map((r) => r.cpu.first.handshakes))}, ${median(rs.map((r) => r.cpu.steady.handshakes))}`.padStart(26)} ${`${Math.round(median(rs.map((r) => r.box)))}%`.padStart(9)}`,
    );
  }
}
