#!/usr/bin/env node
// Overload benchmark: does atresolve keep its goodput when offered twice
// what the box can do, and how fast does it come back when the load drops?
// For each transport (curl, undici), against a fresh local world (its own
// process, as in `atresolve soak`), a load runner (a child process) offers
// the soak's load open-loop (src/cli/load-plan.ts: the default mix
// plc=50,web=40,handle=10, cache off; the soak's contender,
// src/cli/ours.ts) and changes its rate by phases, in one run:
//   warm-up   a ramp from 0 to BENCH_START_RATE over 5 s;
//   steps     BENCH_START_RATE, then × BENCH_STEP_GROWTH every
//             BENCH_STEP_SECONDS, until a step fails (of what it offered
//             after its first second, less than 95% succeeded by its end
//             or more than 1% failed); then BENCH_REFINE_STEPS more, each
//             after a drain, at the geometric midpoint of the highest rate
//             that passed and the lowest that failed (bisection);
//   drain     nothing offered until what is in flight has ended. The
//             capacity is the best achieved rate (successes/s of what a
//             step offered after its first second) of any step, and the
//             sustained capacity that of the steps that passed;
//   normal    BENCH_NORMAL_FRACTION × capacity for 10 s; the median of the
//             p50 of its last 5 seconds is the normal p50;
//   overload  2 × capacity for BENCH_OVERLOAD_SECONDS;
//   recovery  the normal rate again, for BENCH_RECOVERY_SECONDS.
// A resolution counts in the phase and the second it was due in, however
// late it ends: a phase's achieved rate is what became of the load it
// offered, and a second's p50 is the latency a resolution due then met
// (from its due time: open loop). Live lines count what ended in each
// second, and the new connections made in it to repeat routes (hot hosts:
// the PLC directory) and first-seen ones (one-off hosts). Prints, per
// transport: the steps; per phase the offered and achieved rates, errors
// by code, p50 and p99, and the load runner's CPU in the phase per
// success, in total and on its JS thread (under overload
// this includes the work spent on what failed); the goodput during the
// overload as a fraction of the capacity; and how long after the load
// dropped the p50 of each second was back within 1.5× the normal p50 (at
// least +2 ms) for 3 seconds in a row. The same two figures by
// completion time too: capacity as the most successes per second that
// *ended* within a step's judged seconds, and the successes that ended
// within the overload phase. (By due time, a failed step's successes that
// end during the drain after it count towards the capacity: up to its
// timeout of work done outside the step's own seconds.) Then the ratios
// curl/undici. Figures only, no thresholds; every phase is bounded in time
// and the number of resolutions outstanding is bounded (4 × the rate, as
// the soak's --max-in-flight; beyond it a due resolution counts as an
// OVERFLOW error). Run with `npm run bench:overload`.
//
// `atresolve soak --rate 1000,3000,1000` offers fixed steps, each for an
// equal part of the run; here the overload rate depends on the capacity
// measured earlier in the same run, so this benchmark drives the soak's
// building blocks (its contender, load plan, latency histogram and error
// labels) with a scheduler of its own.
//
// Environment: BENCH_TRANSPORTS (default curl,undici), BENCH_HOSTS (world
// identities, default 5000), BENCH_START_RATE (500), BENCH_STEP_GROWTH
// (1.25), BENCH_STEP_SECONDS (5), BENCH_REFINE_STEPS (2), BENCH_MAX_RATE (20000), BENCH_NORMAL_FRACTION
// (0.5), BENCH_OVERLOAD_SECONDS (10), BENCH_RECOVERY_SECONDS (15),
// BENCH_TIMEOUT_MS (3000, the soak's --timeout).
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { cpuMeter, n0, n1 } from './measure.mjs';

const TRANSPORTS = (process.env.BENCH_TRANSPORTS ?? 'curl,undici').split(',');
const HOSTS = Number(process.env.BENCH_HOSTS ?? 5_000);
const START_RATE = Number(process.env.BENCH_START_RATE ?? 500);
const STEP_GROWTH = Number(process.env.BENCH_STEP_GROWTH ?? 1.25);
const STEP_SECONDS = Number(process.env.BENCH_STEP_SECONDS ?? 5);
const REFINE_STEPS = Number(process.env.BENCH_REFINE_STEPS ?? 2);
const MAX_RATE = Number(process.env.BENCH_MAX_RATE ?? 20_000);
const NORMAL_FRACTION = Number(process.env.BENCH_NORMAL_FRACTION ?? 0.5);
const NORMAL_SECONDS = 10;
const OVERLOAD_SECONDS = Number(process.env.BENCH_OVERLOAD_SECONDS ?? 10);
const RECOVERY_SECONDS = Number(process.env.BENCH_RECOVERY_SECONDS ?? 15);
const TIMEOUT_MS = Number(process.env.BENCH_TIMEOUT_MS ?? 3_000);
const WARMUP_SECONDS = 5;
// The soak's own defaults (its mix and its world's share of did:web), not copies.
const { DEFAULT_MIX } = await import('../dist/cli/soak-config.js');
const { parseMix } = await import('../dist/cli/args.js');
const { LOAD_KINDS, SOAK_WEB_PERCENT: WEB_PERCENT } = await import('../dist/cli/load-plan.js');
const MIX = parseMix('DEFAULT_MIX', DEFAULT_MIX, LOAD_KINDS);
/** A step passes when at least this share of what it offered succeeded… */
const STEP_MIN_ACHIEVED = 0.95;
/** …and at most this share failed. */
const STEP_MAX_ERRORS = 0.01;
/** Recovered: p50 within this factor of the normal p50 (and at least RECOVERY_SLACK_MS above it)… */
const RECOVERY_FACTOR = 1.5;
const RECOVERY_SLACK_MS = 2;
/** …for this many seconds in a row. */
const RECOVERY_RUN = 3;
/** How often the scheduler issues what is due, ms (as the soak's load runner). */
const TICK_MS = 2;
/** After the last phase, how long resolutions still running may finish. */
const DRAIN_MS = 3 * TIMEOUT_MS + 2_000;

// ---- child: the load runner --------------------------------------------------------
async function child(transport, world) {
  const { ourContender } = await import('../dist/cli/ours.js');
  const { LoadPlan } = await import('../dist/cli/load-plan.js');
  const { LatencyHistogram } = await import('../dist/cli/histogram.js');
  const { errorCodeOf } = await import('../dist/cli/contender.js');
  const contender = ourContender(transport, world, { cache: false, timeoutMs: TIMEOUT_MS, recycleAfter: 0, handleStrategy: 'dns-first' });
  const plan = new LoadPlan(MIX, world);
  const send = (message) => new Promise((resolve) => process.send(message, resolve));
  const counts = () => ({ offered: 0, ok: 0, errors: 0, codes: {} });
  const fail = (c, code) => {
    c.errors += 1;
    c.codes[code] = (c.codes[code] ?? 0) + 1;
  };

  // Open loop at a rate that changes by phase: in a phase started at time
  // T, resolution n is due at T + n / rate. Each resolution counts in the
  // phase and the second it was due in (so a phase's figures are what
  // became of the load it offered, however late), and in the live line of
  // the second it ended in.
  const t0 = performance.now();
  const seconds = [];
  /** Successes by the second they *ended* in (completion time). */
  const endedOk = [];
  /** Successes per second that ended within [fromMs, toMs) of the run, whole seconds only. */
  const endedOkRate = (fromMs, toMs) => {
    const first = Math.ceil(fromMs / 1_000);
    const last = Math.floor(toMs / 1_000);
    let ok = 0;
    for (let s = first; s < last; s++) ok += endedOk[s] ?? 0;
    return last > first ? ok / (last - first) : 0;
  };
  const live = { ...counts(), latency: new LatencyHistogram() };
  let current;
  let inFlight = 0;
  const startPhase = (name, rate) => {
    current = { name, rate, startMs: performance.now() - t0, endMs: 0, issued: 0, ...counts(), latency: new LatencyHistogram(), judged: counts() };
    return current;
  };
  const issueDue = () => {
    const p = current;
    if (p === undefined || p.rate <= 0) return;
    const elapsed = performance.now() - t0;
    const maxInFlight = Math.max(100, 4 * p.rate);
    while (p.startMs + (p.issued * 1_000) / p.rate <= elapsed) {
      const dueAt = p.startMs + (p.issued * 1_000) / p.rate;
      p.issued += 1;
      const second = (seconds[Math.floor(dueAt / 1_000)] ??= { ...counts(), latency: new LatencyHistogram() });
      // A step is judged on what was due after its first second.
      const judged = dueAt >= p.startMs + 1_000 ? p.judged : null;
      const all = judged ? [p, second, judged] : [p, second];
      for (const c of all) c.offered += 1;
      live.offered += 1;
      if (inFlight >= maxInFlight) {
        for (const c of all) fail(c, 'OVERFLOW');
        fail(live, 'OVERFLOW');
        continue;
      }
      inFlight += 1;
      const { kind, target } = plan.next();
      contender.resolve(kind, target).then(
        () => {
          inFlight -= 1;
          const endMs = performance.now() - t0;
          const ms = endMs - dueAt;
          endedOk[Math.floor(endMs / 1_000)] = (endedOk[Math.floor(endMs / 1_000)] ?? 0) + 1;
          for (const c of all) c.ok += 1;
          live.ok += 1;
          p.latency.record(ms);
          second.latency.record(ms);
          live.latency.record(ms);
        },
        (error) => {
          inFlight -= 1;
          const code = errorCodeOf(error);
          for (const c of all) fail(c, code);
          fail(live, code);
        },
      );
    }
  };
  const ticker = setInterval(issueDue, TICK_MS);

  // Hold a phase for `length` seconds of real time, sending one live sample
  // per second (a late wake-up makes a longer sample, never a lost one).
  let t = 0;
  const hold = async (name, rate, length) => {
    const p = startPhase(name, rate);
    const cpu = cpuMeter();
    const end = t + length;
    let lastAt = performance.now();
    let lastCpu = cpuMeter();
    let lastNew = contender.newConnectionsByRoute();
    while (t < end) {
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, t0 + (t + 1) * 1_000 - performance.now())));
      const now = performance.now();
      t = Math.min(end, Math.max(t + 1, Math.floor((now - t0) / 1_000)));
      const interval = (now - lastAt) / 1_000;
      lastAt = now;
      const used = lastCpu.read();
      lastCpu = cpuMeter();
      const made = contender.newConnectionsByRoute();
      const newRepeat = made.repeat - lastNew.repeat;
      const newFirstSeen = made.firstSeen - lastNew.firstSeen;
      lastNew = made;
      await send({
        type: 'sample',
        sample: {
          phase: name, t, seconds: interval, offered: live.offered, ok: live.ok, errors: live.errors,
          p50: live.latency.quantile(0.5), p99: live.latency.quantile(0.99), inFlight, connections: contender.openConnections(),
          newRepeat, newFirstSeen,
          cpuPct: used.totalUs / 10_000 / interval, jsPct: used.jsUs === null ? null : used.jsUs / 10_000 / interval,
        },
      });
      Object.assign(live, counts());
      live.latency.reset();
    }
    p.endMs = performance.now() - t0;
    const used = cpu.read();
    p.cpuUs = used.totalUs / Math.max(1, p.ok);
    p.jsUs = used.jsUs === null ? null : used.jsUs / Math.max(1, p.ok);
    return p;
  };
  /** Offer nothing until what is in flight has ended (at most DRAIN_MS); seconds taken. */
  const drain = async () => {
    startPhase('drain', 0);
    const from = performance.now();
    while (inFlight > 0 && performance.now() - from < DRAIN_MS) await new Promise((resolve) => setTimeout(resolve, 20));
    const took = (performance.now() - from) / 1_000;
    t = Math.ceil((performance.now() - t0) / 1_000);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, t0 + t * 1_000 - performance.now())));
    return took;
  };
  const judgedSeconds = (p) => (p.endMs - p.startMs - 1_000) / 1_000;

  // The profile.
  for (let k = 1; k <= WARMUP_SECONDS; k++) await hold('warm-up', Math.round((START_RATE * k) / WARMUP_SECONDS), 1);
  const steps = [];
  const step = async (rate) => {
    const p = await hold('step', rate, STEP_SECONDS);
    // Still running at the end of the step counts as not achieved (yet).
    p.passed = p.judged.ok >= STEP_MIN_ACHIEVED * p.judged.offered && p.judged.errors <= STEP_MAX_ERRORS * p.judged.offered;
    // Completions within the judged seconds of the step, whatever was due when.
    p.completedRate = endedOkRate(p.startMs + 1_000, p.endMs);
    steps.push(p);
    await send({ type: 'step', step: { rate, offered: p.judged.offered / judgedSeconds(p), achieved: p.judged.ok / judgedSeconds(p), completed: p.completedRate, errors: p.judged.errors, passed: p.passed } });
    return p.passed;
  };
  let lastPassed = 0;
  let firstFailed = 0;
  for (let rate = START_RATE; rate <= MAX_RATE; rate = Math.round(rate * STEP_GROWTH)) {
    if (!(await step(rate))) {
      firstFailed = rate;
      break;
    }
    lastPassed = rate;
  }
  // Refine between the last step that passed and the one that failed
  // (geometric midpoints), each from an idle start after a drain.
  for (let k = 0; k < REFINE_STEPS && lastPassed > 0 && firstFailed > 0; k++) {
    await drain();
    const rate = Math.round(Math.sqrt(lastPassed * firstFailed));
    if (rate <= lastPassed || rate >= firstFailed) break;
    if (await step(rate)) lastPassed = rate;
    else firstFailed = rate;
  }
  const searchDrainSeconds = await drain();
  // The most a step that passed achieved: a rate the box sustained.
  const sustainedCapacity = Math.max(0, ...steps.filter((p) => p.passed).map((p) => p.judged.ok / judgedSeconds(p)));
  // Final counts: the failed step's late successes count too.
  const capacity = Math.max(...steps.map((p) => p.judged.ok / judgedSeconds(p)));
  // The same by completion time: successes that ended within a step's judged seconds.
  const completedCapacity = Math.max(...steps.map((p) => p.completedRate));
  const normalRate = Math.max(1, Math.round(NORMAL_FRACTION * capacity));
  const phase = (p) => ({ name: p.name, rate: p.rate, seconds: (p.endMs - p.startMs) / 1_000, offered: p.offered, ok: p.ok, errors: p.errors,
    codes: p.codes, p50: p.latency.quantile(0.5), p99: p.latency.quantile(0.99), cpuUs: p.cpuUs, jsUs: p.jsUs });
  /** `figure(second)` for each second of phase `p`, by due time (`undefined` for a second nothing was due in). */
  const bySecond = (p, figure) => {
    const out = [];
    for (let s = Math.round(p.startMs / 1_000); s < Math.round(p.endMs / 1_000); s++) out.push(figure(seconds[s]));
    return out;
  };
  const p50s = (p) => bySecond(p, (second) => second?.latency.quantile(0.5) ?? null);
  await send({ type: 'capacity', capacity, searchDrainSeconds });
  const normal = await hold('normal', normalRate, NORMAL_SECONDS);
  const overload = await hold('overload', Math.max(1, Math.round(2 * capacity)), OVERLOAD_SECONDS);
  const recovery = await hold('recovery', normalRate, RECOVERY_SECONDS);
  await drain();
  clearInterval(ticker);
  await send({
    type: 'done',
    result: {
      capacity, sustainedCapacity, completedCapacity, overloadCompleted: endedOkRate(overload.startMs, overload.endMs), searchDrainSeconds, unfinished: inFlight,
      steps: steps.map((p) => ({ rate: p.rate, achieved: p.judged.ok / judgedSeconds(p), errors: p.judged.errors, passed: p.passed })),
      normal: phase(normal), overload: phase(overload), recovery: phase(recovery),
      normalP50s: p50s(normal), overloadP50s: p50s(overload), recoveryP50s: p50s(recovery),
      overloadOkPerSecond: bySecond(overload, (second) => second?.ok ?? 0),
    },
  });
  await Promise.race([contender.close(), new Promise((resolve) => setTimeout(resolve, 5_000))]);
}

// ---- parent --------------------------------------------------------------------------
const ms = (v) => (v === null || v === undefined ? '-' : v >= 100 ? `${n0(v)} ms` : `${n1(v)} ms`);
const codes = (c) => Object.entries(c).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';

/** Median of the defined values. */
function median(values) {
  const v = values.filter((x) => x !== null).sort((a, b) => a - b);
  return v.length === 0 ? null : v[Math.floor(v.length / 2)];
}

/**
 * Seconds after the drop until the p50 of the resolutions due in each
 * second stays within `bound` for RECOVERY_RUN seconds in a row (the start
 * of that run), or null.
 */
function recoverySeconds(p50s, bound) {
  let run = 0;
  for (let s = 0; s < p50s.length; s++) {
    run = p50s[s] !== null && p50s[s] <= bound ? run + 1 : 0;
    if (run >= RECOVERY_RUN) return s + 1 - RECOVERY_RUN;
  }
  return null;
}

async function runTransport(transport) {
  const { startWorldProcess } = await import('../dist/world/index.js');
  const { processCpuMeter, machineCpuMeter } = await import('../dist/cli/cpu.js');
  const world = await startWorldProcess({ identities: HOSTS, webPercent: WEB_PERCENT, precompute: true });
  const worldCpu = processCpuMeter(world.pid);
  const boxCpu = machineCpuMeter();
  const endpoints = {
    plcUrl: world.plcUrl, connectTo: world.connectTo, caFile: world.caFile, caPem: world.caPem,
    dnsServer: world.dnsServer, httpsPort: world.httpsPort, dnsPort: world.dnsPort,
    identities: world.options.identities, webPercent: world.options.webPercent,
  };
  const label = `atresolve (${transport})`;
  try {
    return await new Promise((resolve, reject) => {
      const proc = fork(fileURLToPath(import.meta.url), ['--child', transport], { execArgv: [], serialization: 'json' });
      let result;
      proc.on('message', (m) => {
        if (m.type === 'sample') {
          const s = m.sample;
          if (s.phase === 'normal' || s.phase === 'overload' || s.phase === 'recovery') {
            console.log(`  [${transport}] ${String(s.t).padStart(3)}s ${s.phase.padEnd(8)} offered ${n0(s.offered / s.seconds).padStart(6)}/s  ok ${n0(s.ok / s.seconds).padStart(6)}/s  ` +
              `err ${String(s.errors).padStart(5)}  p50 ${ms(s.p50).padStart(9)}  p99 ${ms(s.p99).padStart(9)}  in flight ${String(s.inFlight).padStart(5)}  ` +
              `conns ${String(s.connections).padStart(3)} (new: repeat ${String(s.newRepeat).padStart(4)}, first-seen ${String(s.newFirstSeen).padStart(4)})  cpu ${n0(s.cpuPct)}% (JS ${n0(s.jsPct)}%) world ${n0(worldCpu())}% box ${n0(boxCpu())}%`);
          } else {
            worldCpu();
            boxCpu();
          }
        } else if (m.type === 'step') {
          const st = m.step;
          console.log(`  [${transport}] step ${n0(st.rate).padStart(6)}/s: by its end ${n0(st.achieved)}/s of ${n0(st.offered)}/s offered succeeded, ${st.errors} failed; ${n0(st.completed)}/s ended within it: ${st.passed ? 'pass' : 'FAIL (end of the search)'}`);
        } else if (m.type === 'capacity') {
          console.log(`  [${transport}] capacity ${n0(m.capacity)} res/s; what was in flight after the failed step ended within ${n1(m.searchDrainSeconds)} s`);
        } else if (m.type === 'done') {
          result = m.result;
        }
      });
      proc.once('exit', (code) => (result ? resolve({ label, ...result }) : reject(new Error(`${label}: the load runner exited (${code}) without a result`))));
      proc.send(endpoints);
    });
  } finally {
    await world.close();
  }
}

function report(r) {
  const normalP50 = median(r.normalP50s.slice(-5));
  const bound = normalP50 === null ? null : Math.max(normalP50 * RECOVERY_FACTOR, normalP50 + RECOVERY_SLACK_MS);
  const back = bound === null ? null : recoverySeconds(r.recoveryP50s, bound);
  const goodput = r.overload.ok / r.overload.seconds;
  const lastHalf = r.overloadOkPerSecond.slice(Math.floor(r.overloadOkPerSecond.length / 2));
  const goodputLastHalf = lastHalf.reduce((a, b) => a + b, 0) / Math.max(1, lastHalf.length);
  const atLeast = r.steps.every((s) => s.passed) ? `at least (no step failed up to ${MAX_RATE}/s) ` : '';
  console.log(`\n${r.label}: capacity ${atLeast}${n0(r.capacity)} res/s (steps, offered→achieved: ${r.steps.map((s) => `${n0(s.rate)}→${n0(s.achieved)}${s.passed ? '' : ' failed'}`).join(', ')})`);
  console.log('  by the phase a resolution was due in:');
  console.log(`  phase      offered/s  achieved/s  achieved/offered  p50        p99        CPU µs/ok  JS µs/ok  errors`);
  for (const p of [r.normal, r.overload, r.recovery]) {
    console.log(`  ${p.name.padEnd(9)} ${n0(p.offered / p.seconds).padStart(10)} ${n0(p.ok / p.seconds).padStart(11)} ${`${((100 * p.ok) / Math.max(1, p.offered)).toFixed(1)}%`.padStart(17)}  ` +
      `${ms(p.p50).padEnd(9)}  ${ms(p.p99).padEnd(9)}  ${n1(p.cpuUs).padStart(9)}  ${n1(p.jsUs).padStart(8)}  ${codes(p.codes)}`);
  }
  console.log(`  goodput during the overload (2× capacity): ${n0(goodput)} res/s = ${((100 * goodput) / r.capacity).toFixed(1)}% of capacity ` +
    `(its last ${lastHalf.length} s: ${((100 * goodputLastHalf) / r.capacity).toFixed(1)}%)`);
  console.log(`  against the best step that passed (a rate the box sustained, ${n0(r.sustainedCapacity)} res/s): ` +
    `${((100 * goodput) / r.sustainedCapacity).toFixed(1)}%`);
  console.log(`  by completion time (successes that ended within the window): capacity ${n0(r.completedCapacity)} res/s, ` +
    `overload ${n0(r.overloadCompleted)} res/s = ${((100 * r.overloadCompleted) / r.completedCapacity).toFixed(1)}% of it`);
  console.log(`  normal p50 ${ms(normalP50)}; after the load dropped, the p50 of what was due each second was within ${ms(bound)} for ${RECOVERY_RUN} s in a row ` +
    (back === null ? `: not within ${RECOVERY_SECONDS} s` : `after ${back} s`));
  console.log(`  p50 per second due — overload: ${r.overloadP50s.map(ms).join(', ')}`);
  console.log(`                     recovery: ${r.recoveryP50s.map(ms).join(', ')}`);
  if (r.unfinished > 0) console.log(`  ${r.unfinished} resolutions still running ${DRAIN_MS} ms after the end`);
  return { capacity: r.capacity, goodputFraction: goodput / r.capacity, back, normalP50 };
}

async function main() {
  const { loadNativeAddon } = await import('../dist/transport/index.js');
  const load = loadNativeAddon();
  console.log(`overload bench: ${HOSTS} hosts, mix plc=${MIX.plc},web=${MIX.web},handle=${MIX.handle}, cache off, timeout ${TIMEOUT_MS} ms; ` +
    `steps from ${START_RATE}/s × ${STEP_GROWTH} every ${STEP_SECONDS} s; normal ${NORMAL_FRACTION} × capacity; overload 2 × capacity for ${OVERLOAD_SECONDS} s; ` +
    `Node ${process.versions.node}, libcurl ${load.ok ? load.addon.curlVersion : 'unavailable'}`);
  const figures = {};
  for (const transport of TRANSPORTS) {
    if (transport === 'curl' && !load.ok) {
      console.log(`atresolve (curl): not run (${load.reason})`);
      continue;
    }
    const r = await runTransport(transport);
    figures[transport] = report(r);
  }
  const [a, b] = TRANSPORTS.map((t) => figures[t]);
  if (a && b) {
    console.log(`\nratios ${TRANSPORTS[0]}/${TRANSPORTS[1]}: capacity ${(a.capacity / b.capacity).toFixed(2)}, ` +
      `goodput fraction under overload ${(a.goodputFraction / b.goodputFraction).toFixed(2)}` +
      (a.back !== null && b.back !== null && b.back > 0 ? `, time back to normal p50 ${(a.back / b.back).toFixed(2)}` : ''));
  }
}

if (process.argv[2] === '--child') {
  process.once('message', (world) => {
    child(process.argv[3], world).then(
      () => process.exit(0),
      (error) => {
        process.stderr.write(`load runner failed: ${error?.stack ?? error}\n`);
        process.exit(1);
      },
    );
  });
} else {
  await main();
}
