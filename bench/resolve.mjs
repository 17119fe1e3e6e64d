#!/usr/bin/env node
// Resolver benchmark: atresolve's IdResolver (curl and undici transports)
// against @atproto/identity and @atcute/identity-resolver, on the same local
// world (a child process, so its CPU is not counted), caching off, in two
// scenarios:
//   plc  — the atproto data of distinct did:plc identities from one PLC
//          directory host, over keep-alive connections;
//   web  — the atproto data of distinct did:web identities, each on its own
//          h<i>.web.test host, so every resolution needs a new TCP + TLS
//          connection (as a relay sees).
// Each contender runs in its own child process (its own malloc, JIT and
// connection pools), closed-loop with BENCH_CONCURRENCY resolutions in
// flight, after a warm-up. Contenders alternate, BENCH_ROUNDS rounds; the
// best round is shown (the box may be shared). Prints resolutions/s and
// CPU-µs per resolution (process.cpuUsage, all threads of the client) and
// the ratios ours/peer. Figures only, no thresholds. Every loop is bounded
// in count and time. Run with `npm run bench:resolve`.
//
// Environment: BENCH_PLC (default 6000 resolutions), BENCH_WEB (default
// 2000), BENCH_CONCURRENCY (default 32), BENCH_ROUNDS (default 2),
// BENCH_LIMIT_MS (default 20000 per scenario).
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const PLC = Number(process.env.BENCH_PLC ?? 6_000);
const WEB = Number(process.env.BENCH_WEB ?? 2_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const LIMIT_MS = Number(process.env.BENCH_LIMIT_MS ?? 20_000);
const WARMUP = 300;
const IDENTITIES = 20_000;
const WEB_PERCENT = 50;

const CONTENDERS = [
  { id: 'curl', label: 'atresolve (curl)' },
  { id: 'undici', label: 'atresolve (undici)' },
  { id: 'atproto', label: '@atproto/identity' },
  { id: 'atcute', label: '@atcute/identity-resolver' },
];

/** Busy jiffies of the whole machine, to show how shared the box was. */
function machineBusy() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number);
  return { busy: f.reduce((a, b) => a + b, 0) - f[3] - f[4], at: performance.now() };
}

// ---- child: one contender ---------------------------------------------------
async function child(id, world) {
  const { LoadPlan } = await import('../dist/cli/load-plan.js');
  const settings = { cache: false, timeoutMs: 5_000, recycleAfter: 0, handleStrategy: 'dns-first' };
  let contender;
  try {
    if (id === 'curl' || id === 'undici') contender = (await import('../dist/cli/ours.js')).ourContender(id, world, settings);
    else if (id === 'atproto') contender = await (await import('../dist/cli/peers/atproto-identity.js')).atprotoIdentityContender(world, settings);
    else contender = await (await import('../dist/cli/peers/atcute.js')).atcuteContender(world, settings);
  } catch (error) {
    process.send({ skipped: error.message });
    return;
  }
  const plan = (kind) => {
    const p = new LoadPlan({ plc: kind === 'plc' ? 1 : 0, web: kind === 'web' ? 1 : 0, handle: 0 }, world);
    return () => p.next().target;
  };
  // Closed loop: `count` resolutions, CONCURRENCY at a time, at most LIMIT_MS.
  const run = async (kind, count, next) => {
    let started = 0;
    let ok = 0;
    let failed = 0;
    const codes = {};
    const deadline = performance.now() + LIMIT_MS;
    const cpu0 = process.cpuUsage();
    const m0 = machineBusy();
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (started < count && performance.now() < deadline) {
          started += 1;
          try {
            await contender.resolve(kind, next());
            ok += 1;
          } catch (error) {
            failed += 1;
            const code = error?.code ?? error?.name ?? 'Error';
            codes[code] = (codes[code] ?? 0) + 1;
          }
        }
      }),
    );
    const seconds = (performance.now() - t0) / 1_000;
    const cpu = process.cpuUsage(cpu0);
    const m1 = machineBusy();
    const machinePct = ((m1.busy - m0.busy) / ((m1.at - m0.at) / 1_000));
    return {
      ok,
      failed,
      codes,
      perSecond: ok / seconds,
      cpuUsPerResolution: (cpu.user + cpu.system) / Math.max(1, ok + failed),
      machinePct,
    };
  };
  const plcNext = plan('plc');
  await run('plc', WARMUP, plcNext);
  const plc = await run('plc', PLC, plcNext);
  const webNext = plan('web');
  await run('web', Math.min(WARMUP, WEB), webNext);
  const web = await run('web', WEB, webNext);
  await contender.close();
  process.send({ name: contender.name, plc, web });
}

function runChild(id, world) {
  return new Promise((resolve) => {
    const proc = fork(fileURLToPath(import.meta.url), ['--child', id], { execArgv: [], serialization: 'json' });
    let result = { skipped: 'the child exited without a result' };
    proc.on('message', (message) => {
      result = message;
    });
    proc.once('exit', () => resolve(result));
    proc.send(world);
  });
}

// ---- parent -----------------------------------------------------------------
async function main() {
  const { startWorldProcess } = await import('../dist/world/index.js');
  const world = await startWorldProcess({ identities: IDENTITIES, webPercent: WEB_PERCENT });
  const endpoints = {
    plcUrl: world.plcUrl, connectTo: world.connectTo, caFile: world.caFile, caPem: world.caPem,
    dnsServer: world.dnsServer, httpsPort: world.httpsPort, dnsPort: world.dnsPort,
    identities: IDENTITIES, webPercent: WEB_PERCENT,
  };
  console.log(`resolver bench: ${PLC} did:plc (keep-alive) and ${WEB} did:web (new host each) resolutions per round, ` +
    `concurrency ${CONCURRENCY}, ${ROUNDS} rounds, cache off; node ${process.version}`);
  const best = {};
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      for (const c of CONTENDERS) {
        const r = await runChild(c.id, endpoints);
        if (r.skipped) {
          console.log(`  round ${round} ${c.label}: skipped (${r.skipped})`);
          continue;
        }
        const line = (s) => `${Math.round(s.perSecond)}/s ${Math.round(s.cpuUsPerResolution)} CPU-µs` +
          `${s.failed ? ` (${s.failed} failed: ${JSON.stringify(s.codes)})` : ''} [box ${Math.round(s.machinePct)}%]`;
        console.log(`  round ${round} ${c.label.padEnd(26)} plc ${line(r.plc)}   web ${line(r.web)}`);
        const b = (best[c.id] ??= { label: c.label });
        for (const kind of ['plc', 'web']) {
          const prev = b[kind];
          b[kind] = {
            perSecond: Math.max(prev?.perSecond ?? 0, r[kind].perSecond),
            cpu: Math.min(prev?.cpu ?? Infinity, r[kind].cpuUsPerResolution),
          };
        }
      }
    }
  } finally {
    await world.close();
  }
  console.log('\nbest of rounds (client process only; the world runs in its own process):');
  console.log(`  ${'contender'.padEnd(26)} ${'plc res/s'.padStart(10)} ${'plc CPU-µs'.padStart(11)} ${'web res/s'.padStart(10)} ${'web CPU-µs'.padStart(11)}`);
  for (const c of CONTENDERS) {
    const b = best[c.id];
    if (!b) continue;
    console.log(`  ${c.label.padEnd(26)} ${String(Math.round(b.plc.perSecond)).padStart(10)} ${String(Math.round(b.plc.cpu)).padStart(11)} ` +
      `${String(Math.round(b.web.perSecond)).padStart(10)} ${String(Math.round(b.web.cpu)).padStart(11)}`);
  }
  console.log('\nratios ours/peer (res/s: higher is better for us; CPU-µs: lower is better for us):');
  for (const ours of ['curl', 'undici']) {
    for (const peer of ['atproto', 'atcute']) {
      const o = best[ours];
      const p = best[peer];
      if (!o || !p) continue;
      const f = (x) => x.toFixed(2);
      console.log(`  ${o.label} / ${p.label}: plc ${f(o.plc.perSecond / p.plc.perSecond)}× res/s, ${f(o.plc.cpu / p.plc.cpu)}× CPU; ` +
        `web ${f(o.web.perSecond / p.web.perSecond)}× res/s, ${f(o.web.cpu / p.web.cpu)}× CPU`);
    }
  }
}

if (process.argv[2] === '--child') {
  process.once('message', (world) => {
    child(process.argv[3], world).then(
      () => process.exit(0),
      (error) => {
        process.send({ skipped: `failed: ${error?.stack ?? error}` }, () => process.exit(1));
      },
    );
  });
} else {
  await main();
}
