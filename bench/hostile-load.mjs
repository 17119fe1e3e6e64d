#!/usr/bin/env node
// Hostile load benchmark: 100,000 DID resolutions against the local world
// (a child process) with 20% of did:plc and did:web answers faulty — not
// found, server errors, wrong ids, oversized documents (with and without
// Content-Length), connections reset mid-body, and requests that are never
// answered — through IdResolver with caching off, so every resolution is
// one HTTPS exchange. Per transport it prints:
//   - outcomes by class next to the faults the world injected, and whether
//     every count matches exactly;
//   - peak open sockets (the transport's gauge and the kernel's view of
//     this process's sockets to the world) against maxConnections;
//   - malloc in use (glibc mallinfo2 via koffi, after gc) every 10,000
//     resolutions, and its growth from the end of warm-up (the first
//     10,000) to the end, against the stated bound;
//   - unhandled rejections (must be 0), rate and RSS.
// Figures only, no thresholds enforced; the summary line says whether each
// stated bound held. Run with `npm run bench:hostile`.
//
// Environment: BENCH_RESOLUTIONS (default 100000), BENCH_CONCURRENCY (64),
// BENCH_TRANSPORTS (curl,undici), BENCH_MAX_CONNECTIONS (64).
import { readdirSync, readlinkSync, readFileSync } from 'node:fs';
import { DidDocumentMismatchError, InvalidDidDocumentError, NetworkError, TimeoutError } from '../dist/index.js';
import { memory } from '../dist/telemetry/index.js';
import { IdResolver } from '../dist/resolve/id-resolver.js';
import { ResolutionFailedError } from '../dist/resolve/errors.js';
import { startWorldProcess } from '../dist/world/index.js';

const RESOLUTIONS = Number(process.env.BENCH_RESOLUTIONS ?? 100_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const MAX_CONNECTIONS = Number(process.env.BENCH_MAX_CONNECTIONS ?? 64);
const TRANSPORTS = (process.env.BENCH_TRANSPORTS ?? 'curl,undici').split(',');
const IDENTITIES = 20_000;
const WARMUP = Math.min(10_000, Math.floor(RESOLUTIONS / 10));
/**
 * Long enough that no answer the world did send arrives after it, even
 * with client and world sharing 2 cores (at 400 ms, ~1 in 10,000 did, and
 * was counted as a timeout the world never injected); the injected
 * timeouts cost TIMEOUT_MS × 1,000 / CONCURRENCY ≈ 23 s of the run.
 */
const TIMEOUT_MS = 1_500;
/**
 * The stated bound on malloc growth after warm-up. Every structure on the
 * path is bounded (64 connections, no cache, bounded DNS/TLS session
 * caches, pooled easy handles), so growth is allocator noise; 16 MiB is
 * far below what a leak of one body (≥ 600 bytes), one connection
 * (~50-100 KB of TLS state) or one error object per faulty resolution
 * would add over 90,000 resolutions (≥ 10 MiB per leaked byte-kilobyte).
 */
const MALLOC_BOUND = 16 * 1024 * 1024;

/** 20% faulty in all, for did:plc (PLC directory) and did:web hosts alike. */
const MIX = { notFound: 4, serverError: 4, wrongId: 4, oversized: 2, oversizedChunked: 2, reset: 3, timeout: 1 };
const FAULTS = { plc: MIX, web: MIX, oversizeBytes: 70_000 };

const unhandled = [];
process.on('unhandledRejection', (reason) => unhandled.push(reason));

const mib = (n) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
function mallocInUse() {
  globalThis.gc?.();
  return memory.snapshot().malloc?.inUse ?? NaN;
}

/** This process's TCP sockets connected to `port` (kernel view, like test/support/proc-sockets.ts). */
function socketsTo(port) {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[2]?.endsWith(`:${hex}`) && f[9] !== '0') inodes.add(f[9]);
    }
  }
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (m && inodes.has(m[1])) n += 1;
    } catch {
      // closed meanwhile
    }
  }
  return n;
}

function classify(outcome) {
  if (outcome.ok) return outcome.value === null ? 'notFound' : 'ok';
  const e = outcome.error;
  if (e instanceof DidDocumentMismatchError) return 'wrongId';
  if (e instanceof InvalidDidDocumentError) return 'oversized';
  if (e instanceof ResolutionFailedError) {
    if (e.status === 500) return 'serverError';
    if (e.cause instanceof TimeoutError) return 'timeout';
    if (e.cause instanceof NetworkError) return 'reset';
  }
  return `unexpected:${e?.name ?? typeof e}`;
}

async function run(kind) {
  const world = await startWorldProcess({ identities: IDENTITIES, seed: 7, faults: FAULTS });
  const resolver = new IdResolver({
    plcUrl: world.plcUrl,
    allowTestTlds: true,
    cache: false,
    timeoutMs: TIMEOUT_MS,
    transport: {
      caFile: world.caFile,
      connectTo: world.connectTo,
      allowPrivateNetwork: true,
      maxConnections: MAX_CONNECTIONS,
      maxConnectionsPerHost: MAX_CONNECTIONS,
    },
  });
  if (resolver.transport.kind !== kind) {
    await resolver.close();
    await world.close();
    return `${kind}: not available (got ${resolver.transport.kind}); set ${'ATRESOLVE_TRANSPORT'}`;
  }
  const counts = {};
  let peakGauge = 0;
  let peakKernel = 0;
  const sampler = setInterval(() => {
    peakGauge = Math.max(peakGauge, resolver.transport.stats().openConnections);
    peakKernel = Math.max(peakKernel, socketsTo(world.httpsPort));
  }, 50);
  const checkpoints = [];
  let warm = NaN;
  let next = 0;
  let done = 0;
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  const worker = async () => {
    while (next < RESOLUTIONS) {
      const i = next++;
      const did = world.identity(i % IDENTITIES).did;
      const outcome = await resolver.did.resolve(did).then(
        (value) => ({ ok: true, value }),
        (error) => ({ ok: false, error }),
      );
      const k = classify(outcome);
      counts[k] = (counts[k] ?? 0) + 1;
      done += 1;
      if (done % WARMUP === 0) {
        const inUse = mallocInUse();
        if (done === WARMUP) warm = inUse;
        checkpoints.push(`${done / 1000}k ${mib(inUse)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  clearInterval(sampler);
  const end = mallocInUse();
  const c = await world.counters();
  const injected = {};
  for (const name of Object.keys(MIX)) injected[name] = (c.plc.faults[name] ?? 0) + (c.web.faults[name] ?? 0);
  injected.oversized += injected.oversizedChunked;
  delete injected.oversizedChunked;
  const requests = c.plc.requests + c.web.requests;
  const rows = Object.keys(injected).map((name) => ({ name, injected: injected[name], seen: counts[name] ?? 0 }));
  const unexpected = Object.keys(counts).filter((k) => k.startsWith('unexpected'));
  const match = rows.every((r) => r.injected === r.seen) && unexpected.length === 0 && (counts.ok ?? 0) === c.plc.ok + c.web.ok;
  const totalFaults = rows.reduce((s, r) => s + r.injected, 0);
  await resolver.close();
  await world.close();
  const growth = end - warm;
  return [
    `== ${kind}: ${RESOLUTIONS.toLocaleString('en')} resolutions, concurrency ${CONCURRENCY}, maxConnections ${MAX_CONNECTIONS}, timeoutMs ${TIMEOUT_MS} ==`,
    `time ${seconds.toFixed(1)} s, ${(RESOLUTIONS / seconds).toFixed(0)} resolutions/s, CPU ${((cpu.user + cpu.system) / RESOLUTIONS).toFixed(0)} µs/resolution (this process, all threads)`,
    `world requests ${requests.toLocaleString('en')} (plc ${c.plc.requests}, web ${c.web.requests}); faults injected ${totalFaults} (${((100 * totalFaults) / requests).toFixed(1)}%)`,
    `outcome        injected      seen`,
    `ok             ${String(c.plc.ok + c.web.ok).padStart(8)}  ${String(counts.ok ?? 0).padStart(8)}`,
    ...rows.map((r) => `${r.name.padEnd(14)} ${String(r.injected).padStart(8)}  ${String(r.seen).padStart(8)}`),
    ...unexpected.map((k) => `${k}: ${counts[k]}`),
    `error counts match the faults injected: ${match ? 'yes' : 'NO'}`,
    `peak open sockets: gauge ${peakGauge}, kernel ${peakKernel} (maxConnections ${MAX_CONNECTIONS}): ${Math.max(peakGauge, peakKernel) <= MAX_CONNECTIONS ? 'within' : 'OVER'}`,
    `malloc in use: ${checkpoints.join(', ')}`,
    `malloc growth after warm-up (${WARMUP / 1000}k → end): ${mib(growth)} (bound ${mib(MALLOC_BOUND)}): ${growth <= MALLOC_BOUND ? 'within' : 'OVER'}`,
    `RSS ${mib(process.memoryUsage().rss)}; unhandled rejections ${unhandled.length}`,
  ].join('\n');
}

if (typeof globalThis.gc !== 'function') console.log('(run with --expose-gc for stable malloc figures)');
for (const kind of TRANSPORTS) {
  process.env.ATRESOLVE_TRANSPORT = kind;
  console.log(await run(kind));
}
