#!/usr/bin/env node
// Where a did:plc resolution's JS-thread time goes: the resolver's own work
// against the transport's. One process, one local world (a child process:
// its CPU is not counted), cache off, 32 resolutions in flight, every
// identity with its own signing key. Two resolvers on the same answers:
//   curl    atresolve's IdResolver on the curl transport (as bench:resolve);
//   replay  the same IdResolver whose transport answers each request from a
//           recording of the curl run, in-process (no socket, no thread, no
//           N-API): the resolver's whole path (syntax, the transport's
//           policy and admission, parsing and checking the document, the
//           key and its curve check, the atproto view) with a dispatch that
//           costs nothing.
// The difference is what the transport's own exchange costs the JS thread;
// the replay row is the floor no transport can go below. They alternate,
// BENCH_ROUNDS rounds of BENCH_PLC resolutions each, after a warm-up; the
// best round of each is shown (µs per resolution: whole process / JS
// thread, from /proc/self/task/<pid>/schedstat). Figures only, no
// thresholds; every loop is bounded in count. Run with `npm run
// bench:floor`; on Node 24 with `npm run build:ts && <node24> bench/resolver-floor.mjs`.
//
// Environment: BENCH_PLC (default 20000), BENCH_ROUNDS (3), BENCH_CONCURRENCY (32).
import { cpuMeter, n0, n1 } from './measure.mjs';

const { startWorldProcess } = await import('../dist/world/index.js');
const { IdentityScheme } = await import('../dist/world/identities.js');
const { IdResolver } = await import('../dist/resolve/id-resolver.js');
const { CurlTransport, loadNativeAddon } = await import('../dist/transport/index.js');

const COUNT = Number(process.env.BENCH_PLC ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);

const load = loadNativeAddon();
if (!load.ok) {
  console.log(`bench:floor needs the curl transport: ${load.reason}`);
  process.exit(1);
}

const identities = COUNT + 100;
const world = await startWorldProcess({ identities, webPercent: 0, keyPoolSize: identities, precompute: true });
const scheme = new IdentityScheme({ identities, webPercent: 0, keyPoolSize: 1 });
const dids = Array.from({ length: COUNT }, (_, i) => scheme.didOf(i));

/** Each hop's response, by URL, as the curl transport gave it. */
const recorded = new Map();

/** The curl transport, keeping a copy of every response. */
class RecordingTransport extends CurlTransport {
  async dispatch(request) {
    const response = await super.dispatch(request);
    recorded.set(request.url.href, response);
    return response;
  }
}

/** The curl transport's policy and bookkeeping, with every hop answered from the recording. */
class ReplayTransport extends CurlTransport {
  dispatch(request) {
    const response = recorded.get(request.url.href);
    if (response === undefined) return Promise.reject(new Error(`not recorded: ${request.url.href}`));
      // A fresh body each time, as a transport hands out.
    return Promise.resolve({ ...response, body: Buffer.from(response.body) });
  }
}

const transportOptions = { caFile: world.caFile, connectTo: { ...world.connectTo }, allowPrivateNetwork: true, maxConnectionsPerHost: 256 };
/** An IdResolver on `transport`; its close() closes both (the resolver leaves a given transport open). */
function resolverOn(transport) {
  const resolver = new IdResolver({ plcUrl: world.plcUrl, allowTestTlds: true, timeoutMs: 5_000, cache: false, dns: { nameservers: [world.dnsServer] }, transport });
  return { did: resolver.did, close: async () => { await resolver.close(); await transport.close(); } };
}

async function closedLoop(resolver, count) {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < count) await resolver.did.resolveAtprotoData(dids[next++]);
    }),
  );
}

const recording = resolverOn(new RecordingTransport(transportOptions));
await closedLoop(recording, COUNT);
await recording.close();

const contenders = [
  { name: 'curl', resolver: resolverOn(new CurlTransport(transportOptions)), best: undefined },
  { name: 'replay', resolver: resolverOn(new ReplayTransport(transportOptions)), best: undefined },
];
for (const c of contenders) await closedLoop(c.resolver, Math.min(2_000, COUNT));
for (let round = 0; round < ROUNDS; round++) {
  for (const c of contenders) {
    const meter = cpuMeter();
    const t0 = performance.now();
    await closedLoop(c.resolver, COUNT);
    const seconds = (performance.now() - t0) / 1_000;
    const cpu = meter.read();
    const figures = { perSecond: COUNT / seconds, totalUs: cpu.totalUs / COUNT, jsUs: cpu.jsUs === null ? null : cpu.jsUs / COUNT };
    if (c.best === undefined || figures.totalUs < c.best.totalUs) c.best = figures;
  }
}

console.log(`bench:floor on Node ${process.versions.node}, libcurl ${load.addon.curlVersion}: did:plc atproto data, cache off, ${CONCURRENCY} in flight, best of ${ROUNDS} rounds of ${COUNT}`);
console.log('resolver              res/s   CPU µs (process / JS thread)');
for (const c of contenders) {
  console.log(`${c.name.padEnd(20)} ${n0(c.best.perSecond).padStart(7)}   ${n1(c.best.totalUs)} / ${c.best.jsUs === null ? 'n/a' : n1(c.best.jsUs)}`);
}
const [curl, replay] = contenders.map((c) => c.best);
if (curl.jsUs !== null && replay.jsUs !== null) {
  console.log(`the transport's exchange: ${n1(curl.jsUs - replay.jsUs)} µs of the JS thread and ${n1(curl.totalUs - replay.totalUs)} µs in all; the resolver's own work: ${n1(replay.jsUs)} µs (${n0((100 * replay.jsUs) / curl.jsUs)}% of the JS thread)`);
}
for (const c of contenders) await c.resolver.close();
await world.close();
