#!/usr/bin/env node
// Transport benchmark: CurlTransport and UndiciTransport (atresolve's two
// transports) vs undici's plain Agent (what a Node client uses by default)
// on one local HTTPS
// server (a child process, so its CPU is not counted), two scenarios:
//   keep-alive  — every request to one host over pooled connections
//   new-host    — every request to a distinct host name (h<i>.web.test,
//                 mapped to 127.0.0.1: connectTo for curl, a custom
//                 lookup for undici), so every request needs a new
//                 TCP + TLS connection
//   new-host-dns — the same, but every name is resolved by the system's
//                 DNS (a DNS server child on 127.0.0.1:53), each
//                 transport with its own resolver: only inside the
//                 network namespace of scripts/netns-run.mjs
//                 (`node scripts/netns-run.mjs npm run bench:transport`)
// Prints requests/s, CPU µs per request (process.cpuUsage over the run,
// all threads), peak open sockets (socket fds in /proc/self/fd) and malloc
// growth (glibc mallinfo2 uordblks + hblkhd via koffi) per contender, and
// the ratios against the plain Agent. Contenders run alternately, twice
// each. Figures only, no thresholds. Run with `npm run bench:transport`.
//
// Environment: BENCH_KEEPALIVE (default 20000 requests), BENCH_NEWHOST
// (default 4000), BENCH_CONCURRENCY (default 64), BENCH_ROUNDS (default 2).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import koffi from 'koffi';
import { Agent, request as undiciRequest } from 'undici';
import { CurlTransport, UndiciTransport, loadNativeAddon } from '../dist/transport/index.js';

const KEEPALIVE = Number(process.env.BENCH_KEEPALIVE ?? 20_000);
const NEWHOST = Number(process.env.BENCH_NEWHOST ?? 4_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const BODY = 256;

// ---- malloc accounting (glibc) -------------------------------------------
const libc = koffi.load('libc.so.6');
const MallInfo2 = koffi.struct('mallinfo2', {
  arena: 'size_t', ordblks: 'size_t', smblks: 'size_t', hblks: 'size_t', hblkhd: 'size_t',
  usmblks: 'size_t', fsmblks: 'size_t', uordblks: 'size_t', fordblks: 'size_t', keepcost: 'size_t',
});
const mallinfo2 = libc.func('mallinfo2', MallInfo2, []);
const mallocInUse = () => {
  const m = mallinfo2();
  return Number(m.uordblks) + Number(m.hblkhd);
};

function socketFds() {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:')) n += 1;
    } catch {
      // closed meanwhile
    }
  }
  return n;
}

// ---- the server (child process) ------------------------------------------
const serverScript = fileURLToPath(new URL('../native/test/server.mjs', import.meta.url));
const server = spawn(process.execPath, [serverScript], { stdio: ['pipe', 'pipe', 'inherit'] });
const [line] = await once(createInterface({ input: server.stdout }), 'line');
const { port, ca } = JSON.parse(line);
const caPem = readFileSync(ca);

// ---- contenders: add one entry to compare another transport --------------
/**
 * Each contender makes a client with the same connection cap and returns
 * { get(url) → Promise<body length>, close() }.
 */
/** Both atresolve transports get the same options. */
const atresolveOptions = (viaDns) => ({
  caFile: ca,
  allowPrivateNetwork: true,
  maxConnections: CONCURRENCY,
  maxConnectionsPerHost: CONCURRENCY,
  maxIdleConnections: CONCURRENCY,
  maxQueuedRequests: 100_000,
  timeoutMs: 120_000,
  ...(viaDns ? { dnsCacheTtlMs: 0 } : { connectTo: { [`*.web.test:${port}`]: `127.0.0.1:${port}` } }),
});
const viaTransport = (t) => ({ get: async (url) => (await t.request(url)).body.length, close: () => t.close() });

const contenders = [
  { name: 'curl', make: (viaDns) => viaTransport(new CurlTransport(atresolveOptions(viaDns))) },
  { name: 'undici', make: (viaDns) => viaTransport(new UndiciTransport(atresolveOptions(viaDns))) },
  {
    name: 'agent',
    make: (viaDns) => {
      const lookup = (hostname, options, callback) => {
        if (options?.all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
        else callback(null, '127.0.0.1', 4);
      };
      const agent = new Agent({
        connections: CONCURRENCY, // per origin; the JS window caps in-flight requests overall
        keepAliveTimeout: 30_000,
        // With viaDns, Node's default dns.lookup (getaddrinfo on libuv's thread pool).
        connect: viaDns ? { ca: caPem } : { ca: caPem, lookup },
      });
      return {
        get: async (url) => {
          const res = await undiciRequest(url, { dispatcher: agent });
          return (await res.body.arrayBuffer()).byteLength;
        },
        close: () => agent.close(),
      };
    },
  },
];

const scenarios = [
  { name: 'keep-alive one host', count: KEEPALIVE, url: () => `https://h0.web.test:${port}/bytes/${BODY}` },
  { name: 'new host per request', count: NEWHOST, url: (i) => `https://n${i}-${Math.random().toString(36).slice(2, 8)}.web.test:${port}/bytes/${BODY}` },
];
let dnsServer;
if (process.env.ATRESOLVE_NETNS === '1') {
  const script = fileURLToPath(new URL('./dns-server.mjs', import.meta.url));
  dnsServer = spawn(process.execPath, [script, '127.0.0.1', '53'], { stdio: ['pipe', 'pipe', 'inherit'] });
  await once(createInterface({ input: dnsServer.stdout }), 'line');
  scenarios.push({
    name: 'new host per request, resolved by the system DNS',
    count: NEWHOST,
    viaDns: true,
    url: (i) => `https://d${i}-${Math.random().toString(36).slice(2, 8)}.web.test:${port}/bytes/${BODY}`,
  });
} else {
  console.log('(new host resolved by the system DNS: skipped; run inside the namespace: node scripts/netns-run.mjs npm run bench:transport)');
}

async function measure(contender, scenario) {
  globalThis.gc?.();
  const client = contender.make(scenario.viaDns === true);
  const baseFds = socketFds();
  const mallocBefore = mallocInUse();
  let peakSockets = 0;
  let peakMalloc = 0;
  const sampler = setInterval(() => {
    peakSockets = Math.max(peakSockets, socketFds() - baseFds);
    peakMalloc = Math.max(peakMalloc, mallocInUse() - mallocBefore);
  }, 10);
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  let next = 0;
  let bytes = 0;
  const worker = async () => {
    while (next < scenario.count) {
      const i = next++;
      const n = await client.get(scenario.url(i));
      bytes += n;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  clearInterval(sampler);
  peakSockets = Math.max(peakSockets, socketFds() - baseFds);
  const mallocEnd = mallocInUse() - mallocBefore;
  await client.close();
  if (bytes !== scenario.count * BODY) throw new Error(`${contender.name}: got ${bytes} bytes`);
  return {
    seconds,
    cpuUs: cpu.user + cpu.system,
    peakSockets,
    peakMalloc: Math.max(peakMalloc, mallocEnd),
    mallocEnd,
  };
}

const load = loadNativeAddon();
console.log(`node ${process.version}, libcurl ${load.ok ? load.addon.curlVersion : `unavailable: ${load.reason}`}, ` +
  `concurrency ${CONCURRENCY}, rounds ${ROUNDS} (alternating order), body ${BODY} B`);

const results = new Map();
for (const scenario of scenarios) {
  for (let round = 0; round < ROUNDS; round += 1) {
    const order = round % 2 === 0 ? contenders : [...contenders].reverse();
    for (const contender of order) {
      const r = await measure(contender, scenario);
      const key = `${scenario.name}|${contender.name}`;
      const acc = results.get(key) ?? { seconds: 0, cpuUs: 0, count: 0, peakSockets: 0, peakMalloc: 0, mallocEnd: 0 };
      acc.seconds += r.seconds;
      acc.cpuUs += r.cpuUs;
      acc.count += scenario.count;
      acc.peakSockets = Math.max(acc.peakSockets, r.peakSockets);
      acc.peakMalloc = Math.max(acc.peakMalloc, r.peakMalloc);
      acc.mallocEnd = Math.max(acc.mallocEnd, r.mallocEnd);
      results.set(key, acc);
    }
  }
}

const mib = (n) => `${(n / 1048576).toFixed(1)} MiB`;
for (const scenario of scenarios) {
  console.log(`\n${scenario.name} (${scenario.count} requests × ${ROUNDS} rounds per contender)`);
  console.log('  contender   req/s    CPU µs/req  peak sockets  peak malloc growth  malloc growth at end');
  console.log('  (curl, undici: atresolve transports; agent: undici Agent with default pooling)');
  const figures = {};
  for (const contender of contenders) {
    const r = results.get(`${scenario.name}|${contender.name}`);
    const rps = r.count / r.seconds;
    const cpu = r.cpuUs / r.count;
    figures[contender.name] = { rps, cpu, sockets: r.peakSockets, malloc: r.peakMalloc };
    console.log(`  ${contender.name.padEnd(10)} ${rps.toFixed(0).padStart(6)}  ${cpu.toFixed(1).padStart(10)}  ` +
      `${String(r.peakSockets).padStart(12)}  ${mib(r.peakMalloc).padStart(18)}  ${mib(r.mallocEnd).padStart(20)}`);
  }
  const base = figures['agent'];
  for (const name of ['curl', 'undici']) {
    const a = figures[name];
    if (!a || !base) continue;
    console.log(`  ratio ${name}/agent: req/s ${(a.rps / base.rps).toFixed(2)}, CPU/req ${(a.cpu / base.cpu).toFixed(2)}, ` +
      `peak sockets ${(a.sockets / Math.max(1, base.sockets)).toFixed(2)}, peak malloc ${(a.malloc / Math.max(1, base.malloc)).toFixed(2)}`);
  }
}

server.stdin.end();
await once(server, 'exit');
dnsServer?.stdin.end();
