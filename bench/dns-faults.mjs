#!/usr/bin/env node
// DNS faults benchmark (`npm run bench:dns-faults`): what dead DNS names
// cost healthy ones. For each transport (curl, undici) and each number of
// dead names kept in flight (0, 50, 500 — names whose nameserver never
// answers, each in its own domain, re-issued as they time out), a closed
// loop of healthy requests, each to a new host (DNS lookup + TCP + TLS),
// runs for BENCH_SECONDS. Prints healthy requests/s, p50 and p99 latency,
// the DNS lookups in flight and the process's threads, and each figure as a
// ratio to the same transport with no dead names. Servers (HTTPS, DNS) run
// in child processes. Figures only, no thresholds.
//
// Environment: BENCH_SECONDS (default 5), BENCH_CONCURRENCY (default 16).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { CurlTransport, UndiciTransport, loadNativeAddon } from '../dist/transport/index.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const DEAD = [0, 50, 500];

async function child(script, args = []) {
  const proc = spawn(process.execPath, [fileURLToPath(new URL(script, import.meta.url)), ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const [line] = await once(createInterface({ input: proc.stdout }), 'line');
  return { proc, info: JSON.parse(line) };
}

const https = await child('../native/test/server.mjs');
const dns = await child('./dns-server.mjs');
const { port, ca } = https.info;

const threads = () => readdirSync('/proc/self/task').length;
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
let serial = 0;

async function run(Transport, dead) {
  const t = new Transport({
    caFile: ca,
    allowPrivateNetwork: true,
    maxConnections: 64,
    maxIdleConnections: 64,
    maxQueuedRequests: 10_000,
    timeoutMs: 5_000,
    dns: { nameservers: [dns.info.address], hostsFile: false },
  });
  let stop = false;
  const deadLoops = Array.from({ length: dead }, async () => {
    while (!stop) {
      serial += 1;
      await t.request(`https://dead${serial}.d${serial}.test:${port}/`, { timeoutMs: 3_000 }).catch(() => undefined);
    }
  });
  await new Promise((resolve) => setTimeout(resolve, 200));
  const latencies = [];
  let errors = 0;
  let inFlightMax = 0;
  let threadsMax = 0;
  const end = performance.now() + SECONDS * 1000;
  const sampler = setInterval(() => {
    inFlightMax = Math.max(inFlightMax, t.stats().dns.inFlight);
    threadsMax = Math.max(threadsMax, threads());
  }, 50);
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (performance.now() < end) {
      serial += 1;
      const started = performance.now();
      try {
        await t.request(`https://ok${serial}.web.test:${port}/bytes/64`);
        latencies.push(performance.now() - started);
      } catch {
        errors += 1;
      }
    }
  }));
  clearInterval(sampler);
  stop = true;
  await t.destroy();
  await Promise.all(deadLoops);
  latencies.sort((a, b) => a - b);
  return {
    rps: latencies.length / SECONDS,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    errors,
    inFlightMax,
    threadsMax,
  };
}

const load = loadNativeAddon();
console.log(`node ${process.version}, libcurl ${load.ok ? load.addon.curlVersion : 'unavailable'}; ` +
  `${SECONDS} s per row, ${CONCURRENCY} healthy requests at once, each to a new host (DNS + TCP + TLS)`);
console.log('transport  dead in flight  healthy req/s   p50 ms   p99 ms  errors  DNS lookups in flight (max)  threads (max)  vs 0 dead: req/s  p50   p99');
for (const [name, Transport] of [['curl', CurlTransport], ['undici', UndiciTransport]]) {
  let base;
  for (const dead of DEAD) {
    const r = await run(Transport, dead);
    base ??= r;
    console.log(`${name.padEnd(9)}  ${String(dead).padStart(14)}  ${r.rps.toFixed(0).padStart(13)}  ${r.p50.toFixed(1).padStart(7)}  ` +
      `${r.p99.toFixed(1).padStart(7)}  ${String(r.errors).padStart(6)}  ${String(r.inFlightMax).padStart(27)}  ${String(r.threadsMax).padStart(13)}  ` +
      `${(r.rps / base.rps).toFixed(2).padStart(16)}  ${(r.p50 / base.p50).toFixed(2)}  ${(r.p99 / base.p99).toFixed(2)}`);
  }
}

https.proc.stdin.end();
dns.proc.stdin.end();
await Promise.all([once(https.proc, 'exit'), once(dns.proc, 'exit')]);
