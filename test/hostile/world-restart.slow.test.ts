import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResolutionFailedError } from '../../src/resolve/errors.js';
import { IdResolver } from '../../src/resolve/id-resolver.js';
import { memory } from '../../src/telemetry/memory.js';
import type { Transport } from '../../src/transport/types.js';
import { startWorldProcess, type WorldProcess } from '../../src/world/process.js';
import { socketsConnectedTo } from '../support/proc-sockets.js';
import { startTcpFront, type TcpFront } from '../support/tcp-front.js';
import { implementations } from '../transport/implementations.js';
import { eventually } from '../support/async.js';
import { failOnUnhandledRejections, TIME_SLACK_MS } from './support.js';

/**
 * Kill the world (SIGKILL of its process) while resolutions are in flight,
 * then bring a fresh world process up behind the same address: in-flight
 * resolutions settle within the time limit, each either with a typed error
 * or answered by the replacement (libcurl retries a GET once on a fresh
 * connection when a reused one dies before any byte of the answer, as
 * RFC 9110 §9.2.2 allows for idempotent requests; undici does not), the next
 * ones succeed, and neither sockets nor malloc'd memory grow over the cycles.
 *
 * A world's ports and CA are per process, so the resolver talks to a TCP
 * front on a stable port (like a load balancer) and trusts the CAs of every
 * world of the run (started up front, one per cycle). Worlds are
 * deterministic: each serves the same identities.
 */

failOnUnhandledRejections();

const CYCLES = 3;
const MAX_CONNECTIONS = 16;
const MAX_IDLE_CONNECTIONS = 16;
/** The transport's socket bound: requests in flight plus idle keep-alive connections. */
const MAX_SOCKETS = MAX_CONNECTIONS + MAX_IDLE_CONNECTIONS;
const TIMEOUT_MS = 4_000;
const SLOW_MS = 2_500;
const BATCH = 120;
/**
 * Bound on malloc growth from the end of the first cycle to the end of the
 * last: every pool and cache here is bounded (32 sockets, no resolver
 * cache, TLS session caches of at most a few entries), so what may differ is
 * allocator noise and V8's own malloc'd heap pages. 24 MiB is far below
 * what one leaked connection or response per request would cost over
 * 700 resolutions and 3 kills (TLS state ~50-100 KB per connection).
 */
const MALLOC_GROWTH_BOUND = 24 * 1024 * 1024;

let worlds: WorldProcess[] = [];
let front: TcpFront;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'atresolve-restart-'));
  front = await startTcpFront(undefined);
});

afterAll(async () => {
  await front?.close();
  await Promise.all(worlds.map((w) => w.close()));
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Resolve `count` identities starting at `from`, 16 at a time; every outcome, settled. */
async function batch(resolver: IdResolver, from: number, count: number): Promise<PromiseSettledResult<unknown>[]> {
  const results: PromiseSettledResult<unknown>[] = new Array(count);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      results[i] = await resolver.did.resolve(worlds[0]!.identity((from + i) % 2_000).did).then(
        (value) => ({ status: 'fulfilled' as const, value }),
        (reason: unknown) => ({ status: 'rejected' as const, reason }),
      );
    }
  };
  await Promise.all(Array.from({ length: MAX_CONNECTIONS }, worker));
  return results;
}

function mallocInUse(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return memory.snapshot().malloc?.inUse ?? 0;
}

describe.each(implementations)('$name transport: kill and restart the world mid-run', ({ name, create }) => {
  let transport: Transport;
  let resolver: IdResolver;

  beforeAll(async () => {
    // One world per cycle plus the last replacement, all up front: their CAs go in one bundle.
    await Promise.all(worlds.map((w) => w.close()));
    worlds = await Promise.all(Array.from({ length: CYCLES + 1 }, () => startWorldProcess({ identities: 2_000, seed: 1 })));
    const bundle = join(dir, `cas-${name}.pem`);
    await writeFile(bundle, worlds.map((w) => w.caPem).join('\n'));
    front.pointAt(worlds[0]?.httpsPort);
    const target = `127.0.0.1:${front.port}`;
    transport = create({
      caFile: bundle,
      allowPrivateNetwork: true,
      connectTo: { 'plc.test:443': target, '*.web.test:443': target, '*.handle.test:443': target },
      maxConnections: MAX_CONNECTIONS,
      maxIdleConnections: MAX_IDLE_CONNECTIONS,
    });
    resolver = new IdResolver({ transport, plcUrl: 'https://plc.test', allowTestTlds: true, cache: false, timeoutMs: TIMEOUT_MS });
  });
  afterAll(async () => {
    await resolver?.close();
    await transport?.destroy();
  });

  it('settles in-flight resolutions (a typed error or a retry), serves the next ones, and grows nothing', async () => {
    let warmMalloc = 0;
    const peaks: number[] = [];
    const killed: string[] = [];
    for (let cycle = 0; cycle < CYCLES; cycle += 1) {
      const current = worlds[cycle]!;
      const replacement = worlds[cycle + 1]!;
      front.pointAt(current.httpsPort);
      // Healthy traffic first.
      const healthy = await batch(resolver, cycle * 500, BATCH);
      expect(healthy.filter((r) => r.status === 'rejected')).toEqual([]);

      // Half the answers are slow, so requests are in flight when the world dies.
      await current.setFaults({ plc: { slow: 50 }, web: { slow: 50 }, slowMs: SLOW_MS });
      let peak = 0;
      const sampler = setInterval(() => {
        peak = Math.max(peak, socketsConnectedTo(front.port), transport.stats().openConnections);
      }, 10);
      const running = batch(resolver, cycle * 500 + BATCH, BATCH);
      await sleep(300);
      expect(transport.stats().inFlight).toBeGreaterThan(0);
      const killedAt = performance.now();
      process.kill(current.pid!, 'SIGKILL');
      await current.exited;
      front.pointAt(replacement.httpsPort);
      const outcomes = await running;
      clearInterval(sampler);
      peaks.push(peak);
      // Everything settled within the limit (a request sent just before the kill may
      // run its full timeout against a dead upstream at worst).
      expect(performance.now() - killedAt).toBeLessThanOrEqual(TIMEOUT_MS + SLOW_MS + TIME_SLACK_MS);
      const failed = outcomes.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (transport.kind === 'undici') expect(failed.length).toBeGreaterThan(0);
      killed.push(`${failed.length}/${BATCH}`);
      for (const f of failed) {
        expect(f.reason).toBeInstanceOf(ResolutionFailedError);
        expect(['NetworkError', 'TlsError', 'ConnectError', 'TimeoutError']).toContain((f.reason as Error).cause?.constructor.name);
      }

      // The restarted world serves the next resolutions, every one of them.
      const after = await batch(resolver, cycle * 500 + 2 * BATCH, BATCH);
      expect(after.filter((r) => r.status === 'rejected')).toEqual([]);
      expect(peak).toBeLessThanOrEqual(MAX_SOCKETS);
      expect(transport.stats()).toMatchObject({ inFlight: 0, queued: 0 });
      if (cycle === 0) warmMalloc = mallocInUse();
    }
    const grown = mallocInUse() - warmMalloc;
    console.log(
      `world restart (${transport.kind}): failed in flight per kill ${killed.join(', ')}; ` +
        `peak sockets per cycle ${peaks.join(', ')} (max ${MAX_SOCKETS}); ` +
        `malloc growth after warm-up ${(grown / 1024 / 1024).toFixed(1)} MiB (bound ${MALLOC_GROWTH_BOUND / 1024 / 1024} MiB)`,
    );
    expect(grown).toBeLessThanOrEqual(MALLOC_GROWTH_BOUND);
    await transport.clearConnections();
    expect(await eventually(() => socketsConnectedTo(front.port), (n) => n === 0)).toBe(0);
    expect(await eventually(() => transport.stats().openConnections, (n) => n === 0)).toBe(0);
  }, 180_000);
});
