// Figures for the local world: start-up time with 20,000 identities, and
// requests/s it serves (child process) to simple bounded client loops.
//   npm run build:ts && node bench/world.mjs
// Every loop is bounded in count and in time; nothing here asserts.
import { readFileSync } from 'node:fs';
import { Resolver } from 'node:dns/promises';
import { request as httpsRequest } from 'node:https';
import { Agent, buildConnector, request } from 'undici';
import { startWorld, startWorldProcess } from '../dist/world/index.js';
import { ConnectToMap } from '../dist/transport/connect-to.js';

const IDENTITIES = 20_000;
const LOOP_MS = 8_000;

function rssMiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return (Number(/VmRSS:\s+(\d+)/.exec(status)[1]) / 1024).toFixed(1);
}

/** User+system CPU time of `pid` in ms (from /proc, 100 Hz ticks). */
function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Run `worker(n)` with `concurrency` lanes for at most `count` calls and `ms` milliseconds. */
async function loop(count, concurrency, ms, worker) {
  let next = 0;
  let done = 0;
  let failed = 0;
  const deadline = performance.now() + ms;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count && performance.now() < deadline) {
        const n = next++;
        try {
          await worker(n);
          done += 1;
        } catch {
          failed += 1;
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { done, failed, seconds, perSecond: Math.round(done / seconds) };
}

function undiciAgent(world, options) {
  const routes = new ConnectToMap(world.connectTo);
  const connector = buildConnector({ ca: world.caPem });
  return new Agent({
    ...options,
    connect: (opts, callback) => {
      const to = routes.lookup(opts.hostname, Number(opts.port || 443));
      connector({ ...opts, hostname: to.ip, port: String(to.port), servername: opts.hostname }, callback);
    },
  });
}

async function fetchBody(agent, url) {
  const res = await request(url, { dispatcher: agent });
  await res.body.arrayBuffer();
  if (res.statusCode !== 200) throw new Error(String(res.statusCode));
}

function freshConnection(world, url) {
  const target = new URL(url);
  const to = new ConnectToMap(world.connectTo).lookup(target.hostname, 443);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: to.ip, port: to.port, servername: target.hostname, headers: { host: target.host }, path: target.pathname, ca: world.caPem, agent: false },
      (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(String(res.statusCode)))));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

// 1. Start-up.
for (let run = 0; run < 3; run += 1) {
  const t0 = performance.now();
  const world = await startWorld({ identities: IDENTITIES });
  const started = performance.now() - t0;
  const t1 = performance.now();
  await world.close();
  console.log(`startWorld(${IDENTITIES}) ${started.toFixed(0)} ms, close ${(performance.now() - t1).toFixed(0)} ms`);
}
{
  const t0 = performance.now();
  const world = await startWorldProcess({ identities: IDENTITIES });
  console.log(`startWorldProcess(${IDENTITIES}) ${(performance.now() - t0).toFixed(0)} ms, child RSS ${rssMiB(world.pid)} MiB`);
  await world.close();
}

// 2. In-process cost of first-touch work (documents and pooled keys).
{
  const world = await startWorld({ identities: IDENTITIES });
  const t0 = performance.now();
  for (let i = 0; i < 256; i += 1) world.identities.keys.forIdentity(i);
  const keysMs = performance.now() - t0;
  const t1 = performance.now();
  for (let i = 0; i < IDENTITIES; i += 1) world.identity(i);
  console.log(`derive 256 pool keys ${keysMs.toFixed(0)} ms (${((keysMs / 256) * 1000).toFixed(0)} µs/key); identity(i) ×${IDENTITIES} ${(performance.now() - t1).toFixed(0)} ms`);
  await world.close();
}

// 3. Throughput against a world in a child process.
const world = await startWorldProcess({ identities: IDENTITIES });
const plcUrls = Array.from({ length: world.identities.plcCount }, (_, k) => world.plcIdentity(k).documentUrl);
const handleUrls = Array.from({ length: IDENTITIES }, (_, i) => world.identity(i).handleUrl);
const webUrls = Array.from({ length: world.identities.webCount }, (_, k) => world.webIdentity(k).documentUrl);

for (const [label, urls] of [
  ['keep-alive PLC, first touch of each document', plcUrls],
  ['keep-alive PLC, memoized documents', plcUrls],
  ['keep-alive did:web, distinct hosts', webUrls],
]) {
  const agent = undiciAgent(world, { connections: 16 });
  await world.resetCounters();
  const cpu0 = cpuMs(world.pid);
  const r = await loop(urls.length, 32, LOOP_MS, (n) => fetchBody(agent, urls[n % urls.length]));
  const serverCpu = cpuMs(world.pid) - cpu0;
  const c = await world.counters();
  console.log(
    `${label}: ${r.done} ok, ${r.failed} failed in ${r.seconds.toFixed(2)} s = ${r.perSecond} req/s; ` +
      `world CPU ${((serverCpu / r.done) * 1000).toFixed(0)} µs/req, server connections ${c.connections.accepted}, ` +
      `child RSS ${rssMiB(world.pid)} MiB, documents memoized ${c.memo.documents}`,
  );
  await agent.close();
}
{
  await world.resetCounters();
  const cpu0 = cpuMs(world.pid);
  const r = await loop(4_000, 16, LOOP_MS, (n) => freshConnection(world, handleUrls[n % handleUrls.length]));
  const serverCpu = cpuMs(world.pid) - cpu0;
  const c = await world.counters();
  console.log(
    `fresh TLS connection per request, distinct handle hosts: ${r.done} ok, ${r.failed} failed in ${r.seconds.toFixed(2)} s = ${r.perSecond} req/s; ` +
      `world CPU ${((serverCpu / r.done) * 1000).toFixed(0)} µs/req, handshakes ${c.connections.handshakes} (resumed ${c.connections.resumed})`,
  );
}
{
  const resolver = new Resolver({ timeout: 2_000, tries: 1 });
  resolver.setServers([world.dnsServer]);
  await world.resetCounters();
  const names = Array.from({ length: IDENTITIES }, (_, i) => world.identity(i).dnsName);
  const cpu0 = cpuMs(world.pid);
  const r = await loop(IDENTITIES, 32, LOOP_MS, (n) => resolver.resolveTxt(names[n]));
  const serverCpu = cpuMs(world.pid) - cpu0;
  const c = await world.counters();
  console.log(
    `DNS TXT, distinct names: ${r.done} ok, ${r.failed} failed in ${r.seconds.toFixed(2)} s = ${r.perSecond} q/s; ` +
      `world CPU ${((serverCpu / r.done) * 1000).toFixed(0)} µs/query, server ok ${c.dns.ok}`,
  );
}
await world.close();
