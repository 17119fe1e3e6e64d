#!/usr/bin/env node
// Transport benchmark: CurlTransport and UndiciTransport (atresolve's two
// transports) vs undici's plain Agent (what a Node client uses by default)
// on one local HTTPS server (a child process, so its CPU is not counted),
// in scenarios:
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
// Each contender runs each scenario in a child process of its own (its own
// malloc, JIT and pools), after a warm-up, on the Node running this script
// and on Node 24 when BENCH_NODE24 names its binary (see bench/nodes.mjs).
// Prints requests/s; CPU µs per request of the whole client process
// (process.cpuUsage: every thread, curl's engine worker included) and of
// its JS thread alone (/proc/self/task/<pid>/schedstat); peak open sockets
// (socket fds in /proc/self/fd) and malloc growth (glibc mallinfo2 uordblks
// + hblkhd via koffi) per contender, and the ratios against the plain
// Agent on the same Node. Contenders alternate, BENCH_ROUNDS rounds each;
// figures add up over the rounds. Figures only, no thresholds. Run with
// `npm run bench:transport`.
//
// Environment: BENCH_KEEPALIVE (default 20000 requests), BENCH_NEWHOST
// (default 4000), BENCH_CONCURRENCY (default 64), BENCH_ROUNDS (default 2),
// BENCH_NODE24 (path of a Node 24 binary).
import { fork, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { cpuMeter, n1 } from './measure.mjs';
import { benchNodes, nodeMajor } from './nodes.mjs';

const KEEPALIVE = Number(process.env.BENCH_KEEPALIVE ?? 20_000);
const NEWHOST = Number(process.env.BENCH_NEWHOST ?? 4_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const BODY = 256;
/** Untimed requests before each measured run (JIT, engine start, pool). */
const WARMUP = { 'keep-alive': 1_000, 'new-host': 200, 'new-host-dns': 200 };
const CONTENDERS = ['curl', 'undici', 'agent'];

const SCENARIOS = [
  { id: 'keep-alive', name: 'keep-alive one host', count: KEEPALIVE },
  { id: 'new-host', name: 'new host per request', count: NEWHOST },
];
if (process.env.ATRESOLVE_NETNS === '1') {
  SCENARIOS.push({ id: 'new-host-dns', name: 'new host per request, resolved by the system DNS', count: NEWHOST, viaDns: true });
}

/** The URL of request `i` of a scenario. */
function urlOf(scenario, port, i, salt) {
  if (scenario.id === 'keep-alive') return `https://h0.web.test:${port}/bytes/${BODY}`;
  const prefix = scenario.viaDns ? 'd' : 'n';
  return `https://${prefix}${i}-${salt}.web.test:${port}/bytes/${BODY}`;
}

// ---- child: one contender, one scenario ------------------------------------------
async function child({ contender: name, scenario, port, ca }) {
  const koffi = (await import('koffi')).default;
  const { Agent, request: undiciRequest } = await import('undici');
  const { CurlTransport, UndiciTransport } = await import('../dist/transport/index.js');
  const caPem = readFileSync(ca);

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
  const socketFds = () => {
    let n = 0;
    for (const fd of readdirSync('/proc/self/fd')) {
      try {
        if (readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:')) n += 1;
      } catch {
        // closed meanwhile
      }
    }
    return n;
  };

  // Each contender makes a client with the same connection cap:
  // { get(url) → Promise<body length>, close() }.
  const viaDns = scenario.viaDns === true;
  const atresolveOptions = {
    caFile: ca,
    allowPrivateNetwork: true,
    maxConnections: CONCURRENCY,
    maxConnectionsPerHost: CONCURRENCY,
    maxIdleConnections: CONCURRENCY,
    maxQueuedRequests: 100_000,
    timeoutMs: 120_000,
    ...(viaDns ? { dnsCacheTtlMs: 0 } : { connectTo: { [`*.web.test:${port}`]: `127.0.0.1:${port}` } }),
  };
  const viaTransport = (t) => ({ get: async (url) => (await t.request(url)).body.length, close: () => t.close() });
  const make = {
    curl: () => viaTransport(new CurlTransport(atresolveOptions)),
    undici: () => viaTransport(new UndiciTransport(atresolveOptions)),
    agent: () => {
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
  };

  // Sockets and malloc are counted from before the client exists: its pool and warm-up count too.
  globalThis.gc();
  const baseFds = socketFds();
  const mallocBefore = mallocInUse();
  const client = make[name]();
  const salt = Math.random().toString(36).slice(2, 8);
  const run = async (from, count) => {
    let next = from;
    let bytes = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < from + count) {
          const n = await client.get(urlOf(scenario, port, next++, salt));
          bytes += n;
        }
      }),
    );
    if (bytes !== count * BODY) throw new Error(`${name}: got ${bytes} bytes, expected ${count * BODY}`);
  };
  const warmup = WARMUP[scenario.id];
  await run(0, warmup);

  let peakSockets = 0;
  let peakMalloc = 0;
  const sampler = setInterval(() => {
    peakSockets = Math.max(peakSockets, socketFds() - baseFds);
    peakMalloc = Math.max(peakMalloc, mallocInUse() - mallocBefore);
  }, 10);
  const cpu = cpuMeter();
  const started = performance.now();
  await run(warmup, scenario.count);
  const seconds = (performance.now() - started) / 1000;
  const used = cpu.read();
  clearInterval(sampler);
  peakSockets = Math.max(peakSockets, socketFds() - baseFds);
  const mallocEnd = mallocInUse() - mallocBefore;
  await client.close();
  return { seconds, cpuUs: used.totalUs, jsUs: used.jsUs, peakSockets, peakMalloc: Math.max(peakMalloc, mallocEnd), mallocEnd };
}

function runChild(node, job) {
  return new Promise((resolve, reject) => {
    const proc = fork(fileURLToPath(import.meta.url), ['--child'], { execPath: node.path, execArgv: ['--expose-gc'], serialization: 'json' });
    let result;
    proc.on('message', (message) => {
      result = message;
    });
    proc.once('exit', (code) => {
      if (result?.error) reject(new Error(`${job.contender} on Node ${node.version}: ${result.error}`));
      else if (result) resolve(result);
      else reject(new Error(`${job.contender} on Node ${node.version}: the child exited (${code}) without a result`));
    });
    proc.send(job);
  });
}

// ---- parent ---------------------------------------------------------------------
async function main() {
  const { loadNativeAddon } = await import('../dist/transport/index.js');
  const serverScript = fileURLToPath(new URL('../native/test/server.mjs', import.meta.url));
  const server = spawn(process.execPath, [serverScript], { stdio: ['pipe', 'pipe', 'inherit'] });
  const [line] = await once(createInterface({ input: server.stdout }), 'line');
  const { port, ca } = JSON.parse(line);
  let dnsServer;
  if (process.env.ATRESOLVE_NETNS === '1') {
    const script = fileURLToPath(new URL('./dns-server.mjs', import.meta.url));
    dnsServer = spawn(process.execPath, [script, '127.0.0.1', '53'], { stdio: ['pipe', 'pipe', 'inherit'] });
    await once(createInterface({ input: dnsServer.stdout }), 'line');
  } else {
    console.log('(new host resolved by the system DNS: skipped; run inside the namespace: node scripts/netns-run.mjs npm run bench:transport)');
  }
  const nodes = benchNodes();
  const load = loadNativeAddon();
  console.log(`Node ${nodes.map((n) => n.version).join(' and ')}, libcurl ${load.ok ? load.addon.curlVersion : `unavailable: ${load.reason}`}, ` +
    `concurrency ${CONCURRENCY}, rounds ${ROUNDS} (alternating order), body ${BODY} B, each contender in its own process`);

  const results = new Map();
  try {
    for (const scenario of SCENARIOS) {
      for (let round = 0; round < ROUNDS; round += 1) {
        const order = round % 2 === 0 ? CONTENDERS : [...CONTENDERS].reverse();
        for (const node of nodes) {
          for (const contender of order) {
            const r = await runChild(node, { contender, scenario, port, ca });
            const key = `${scenario.id}|${contender}|${node.version}`;
            const acc = results.get(key) ?? { seconds: 0, cpuUs: 0, jsUs: 0, count: 0, peakSockets: 0, peakMalloc: 0, mallocEnd: 0 };
            acc.seconds += r.seconds;
            acc.cpuUs += r.cpuUs;
            acc.jsUs = acc.jsUs === null || r.jsUs === null ? null : acc.jsUs + r.jsUs;
            acc.count += scenario.count;
            acc.peakSockets = Math.max(acc.peakSockets, r.peakSockets);
            acc.peakMalloc = Math.max(acc.peakMalloc, r.peakMalloc);
            acc.mallocEnd = Math.max(acc.mallocEnd, r.mallocEnd);
            results.set(key, acc);
          }
        }
      }
    }
  } finally {
    server.stdin.end();
    dnsServer?.stdin.end();
  }

  const mib = (n) => `${(n / 1048576).toFixed(1)} MiB`;
  for (const scenario of SCENARIOS) {
    console.log(`\n${scenario.name} (${scenario.count} requests × ${ROUNDS} rounds per contender)`);
    console.log('  contender  node       req/s   CPU µs/req  JS µs/req  peak sockets  peak malloc growth  malloc growth at end');
    for (const node of nodes) {
      const figures = {};
      for (const contender of CONTENDERS) {
        const r = results.get(`${scenario.id}|${contender}|${node.version}`);
        const rps = r.count / r.seconds;
        const cpu = r.cpuUs / r.count;
        const js = r.jsUs === null ? null : r.jsUs / r.count;
        figures[contender] = { rps, cpu, js, sockets: r.peakSockets, malloc: r.peakMalloc };
        console.log(`  ${contender.padEnd(10)} ${node.version.padEnd(8)} ${rps.toFixed(0).padStart(7)}  ${cpu.toFixed(1).padStart(10)}  ${n1(js).padStart(9)}  ` +
          `${String(r.peakSockets).padStart(12)}  ${mib(r.peakMalloc).padStart(18)}  ${mib(r.mallocEnd).padStart(20)}`);
      }
      const base = figures.agent;
      for (const name of ['curl', 'undici']) {
        const a = figures[name];
        const js = a.js !== null && base.js !== null ? `, JS CPU/req ${(a.js / base.js).toFixed(2)}` : '';
        console.log(`  ratio ${name}/agent on Node ${nodeMajor(node.version)}: req/s ${(a.rps / base.rps).toFixed(2)}, CPU/req ${(a.cpu / base.cpu).toFixed(2)}${js}, ` +
          `peak sockets ${(a.sockets / Math.max(1, base.sockets)).toFixed(2)}, peak malloc ${(a.malloc / Math.max(1, base.malloc)).toFixed(2)}`);
      }
    }
  }
  console.log('\n(curl, undici: atresolve transports; agent: undici Agent with default pooling. CPU: the whole client process; JS: its JS thread alone.)');
}

if (process.argv[2] === '--child') {
  process.once('message', (job) => {
    child(job).then(
      (result) => process.send(result, () => process.exit(0)),
      (error) => process.send({ error: String(error?.stack ?? error) }, () => process.exit(1)),
    );
  });
} else {
  await main();
}
