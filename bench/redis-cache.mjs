// Hit latency of the fleet cache (atresolve/redis), in microseconds:
//   L1      the in-process LRU in front (store.get, and through the policy),
//   L2      Redis behind it, on a single node and on a 3-master cluster
//           (an L1 miss answered by Redis: one EVALSHA round trip on loopback).
//   npm run bench:redis      (builds dist/, starts its own redis-server instances)
// Every loop is bounded in count and in time; nothing here asserts.
import { RedisCache } from '../dist/redis.js';
import { ResolutionCache } from '../dist/cache/index.js';
import { redisSkipReason, startRedis, startRedisCluster } from '../test/support/redis-server.mjs';

const ENTRIES = 2_000;
const L1_GETS = 200_000;
const L2_GETS = 20_000;
const LOOP_MS = 5_000;
const CONCURRENCY = 32;

const skip = redisSkipReason();
if (skip) {
  console.log(`bench:redis skipped: ${skip}`);
  process.exit(0);
}

/** A did:plc-sized document (~600 bytes of JSON). */
function doc(i) {
  const did = `did:plc:${String(i).padStart(24, 'a')}`;
  return {
    '@context': ['https://www.w3.org/ns/did/v1', 'https://w3id.org/security/multikey/v1', 'https://w3id.org/security/suites/secp256k1-2019/v1'],
    id: did,
    alsoKnownAs: [`at://u${i}.bsky.social`],
    verificationMethod: [{ id: `${did}#atproto`, type: 'Multikey', controller: did, publicKeyMultibase: 'zQ3shXjHeiBuRCKmM36cuYnm7YEMzhGnCmCyW92sRJ9pribSF' }],
    service: [{ id: '#atproto_pds', type: 'AtprotoPersonalDataServer', serviceEndpoint: 'https://morel.us-east.host.bsky.network' }],
  };
}
const keyOf = (i) => doc(i).id;

function summary(samples, total, elapsedMs) {
  samples.sort((a, b) => a - b);
  const at = (q) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))];
  const us = (ms) => (ms * 1000).toFixed(1);
  return `mean ${us(elapsedMs / total)} µs, p50 ${us(at(0.5))} µs, p99 ${us(at(0.99))} µs (${total} gets)`;
}

/** Sequential gets: per-get latency. Timed one by one for a sample, in bulk for the mean. */
async function sequential(count, get) {
  const samples = [];
  const deadline = performance.now() + LOOP_MS;
  const started = performance.now();
  let done = 0;
  while (done < count && performance.now() < deadline) {
    const t = performance.now();
    const entry = await get(done);
    if (done % 10 === 0) samples.push(performance.now() - t);
    if (entry === undefined) throw new Error(`miss at ${done}`);
    done++;
  }
  return summary(samples, done, performance.now() - started);
}

/** `CONCURRENCY` lanes of gets: throughput. */
async function concurrent(count, get) {
  let next = 0;
  const deadline = performance.now() + LOOP_MS;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < count && performance.now() < deadline) await get(next++);
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return `${Math.round(next / seconds)} gets/s with ${CONCURRENCY} in flight`;
}

async function fill(cache) {
  const store = cache.store('bench');
  const now = Date.now();
  for (let i = 0; i < ENTRIES; i++) {
    const value = doc(i);
    await store.set(keyOf(i), { value, fetchedAt: now, size: 3 * JSON.stringify(value).length });
  }
}

async function benchL2(label, options) {
  const keyPrefix = `bench-${process.pid}:`;
  const writer = new RedisCache({ ...options, keyPrefix });
  // A reader whose L1 holds one entry: cycling over ENTRIES keys, every get misses L1 and reads Redis.
  const reader = new RedisCache({ ...options, keyPrefix, maxEntries: 1 });
  await Promise.all([writer.ready(), reader.ready()]);
  await fill(writer);
  const store = reader.store('bench');
  const l2 = (n) => store.get(keyOf(n % ENTRIES));
  await sequential(1_000, l2); // warm-up: connections, script cache (EVALSHA)
  console.log(`L2 hit, ${label}: ${await sequential(L2_GETS, l2)}`);
  console.log(`L2 hit, ${label}: ${await concurrent(L2_GETS * 2, l2)}`);
  const s = reader.stats();
  console.log(`  (reader: ${s.l2Hits} Redis hits, ${s.redisErrors} Redis errors)`);
  await Promise.all([writer.close(), reader.close()]);
}

console.log(`node ${process.version}, ${ENTRIES} did:plc-sized entries (~${JSON.stringify(doc(0)).length} bytes of JSON each)`);

const single = await startRedis();
try {
  // L1: everything fits in process.
  const cache = new RedisCache({ url: single.url, keyPrefix: `bench-l1-${process.pid}:` });
  await cache.ready();
  await fill(cache);
  const store = cache.store('bench');
  const l1 = (n) => store.get(keyOf(n % ENTRIES));
  await sequential(10_000, l1);
  console.log(`L1 hit (store.get): ${await sequential(L1_GETS, l1)}`);
  const policy = new ResolutionCache({ store });
  const neverCalled = () => Promise.reject(new Error('loader called on a hit'));
  const viaPolicy = (n) => policy.resolve(keyOf(n % ENTRIES), neverCalled).then((r) => r.value);
  await sequential(10_000, viaPolicy);
  console.log(`L1 hit (ResolutionCache.resolve): ${await sequential(L1_GETS, viaPolicy)}`);
  console.log(`  (L1 hits made ${cache.stats().l2Hits} Redis reads)`);
  await policy.close();

  await benchL2('single node', { url: single.url });
} finally {
  await single.close();
}

const cluster = await startRedisCluster({ masters: 3 });
try {
  await benchL2('cluster (3 masters)', { clusterNodes: cluster.rootNodes });
} finally {
  await cluster.close();
}
