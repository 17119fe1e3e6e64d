import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CacheStats } from '../../src/cache/types.js';
import type { RedisCacheStats } from '../../src/cache/redis.js';
import { startWorld, type World } from '../../src/world/world.js';
import { distIndex, packagePath } from '../support/dist.js';
import { startRedis, type RedisServer } from '../support/redis-server.mjs';
import { waitFor } from '../support/async.js';
import { redisSkip, uniquePrefix } from './redis-support.js';

/**
 * Three resolver PROCESSES (test/support/redis-fleet-child.mjs, on the
 * compiled package) share one Redis against the local world. Origin load is
 * counted at the world's servers.
 */

interface Reply {
  id: number;
  error?: { name: string; code?: string; message: string };
  [key: string]: unknown;
}

interface Resolved {
  input: string;
  did?: string;
  handle?: string;
  error?: { code?: string; message: string };
}

interface Stats {
  redis: RedisCacheStats;
  cache: { did: CacheStats; handle: CacheStats };
}

/** One child process and a request/reply channel to it. */
class Member {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, (reply: Reply) => void>();
  #next = 0;

  constructor(child: ChildProcess) {
    this.#child = child;
    child.on('message', (message: Reply) => {
      this.#pending.get(message.id)?.(message);
      this.#pending.delete(message.id);
    });
  }

  static async start(config: object): Promise<Member> {
    const child = fork(packagePath('test', 'support', 'redis-fleet-child.mjs'), [], {
      env: { ...process.env, ATRESOLVE_TEST_DIST: distIndex, FLEET_CONFIG: JSON.stringify(config) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const [message] = (await Promise.race([
      once(child, 'message'),
      once(child, 'exit').then(([code]) => {
        throw new Error(`fleet child exited early (${String(code)})`);
      }),
    ])) as [{ ready?: boolean }];
    if (!message.ready) throw new Error('fleet child did not report ready');
    return new Member(child);
  }

  async ask<T>(message: object): Promise<T> {
    const id = this.#next++;
    const reply = await new Promise<Reply>((resolve) => {
      this.#pending.set(id, resolve);
      this.#child.send({ id, ...message });
    });
    if (reply.error) throw new Error(`child: ${reply.error.message}`);
    return reply as unknown as T;
  }

  async resolve(inputs: string[], concurrency = 4): Promise<Resolved[]> {
    return (await this.ask<{ results: Resolved[] }>({ op: 'resolve', inputs, concurrency })).results;
  }

  stats(): Promise<Stats> {
    return this.ask<Stats>({ op: 'stats' });
  }

  async close(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = once(this.#child, 'exit');
    await this.ask({ op: 'close' }).catch(() => this.#child.kill('SIGKILL'));
    await exited;
  }
}

describe.skipIf(redisSkip !== undefined)('a fleet of three resolver processes sharing one Redis', () => {
  let world: World;
  let server: RedisServer;
  let fleet: Member[] = [];

  beforeAll(async () => {
    [world, server] = await Promise.all([startWorld({ identities: 400, webPercent: 20 }), startRedis()]);
    const config = {
      redisUrl: server.url,
      keyPrefix: uniquePrefix(),
      world: { plcUrl: world.plcUrl, dnsServer: world.dnsServer, caFile: world.caFile, connectTo: world.connectTo },
      // A generous wait for a peer's fill and command timeout: a loaded CI
      // machine must not turn a slow peer into an extra origin fetch.
      redisOptions: { fillWaitMs: 10_000, commandTimeoutMs: 1_000, reconnectMinMs: 20, reconnectMaxMs: 200 },
    };
    fleet = await Promise.all([0, 1, 2].map(() => Member.start(config)));
  });
  afterAll(async () => {
    await Promise.all(fleet.map((m) => m.close()));
    await world?.close();
    await server?.close();
  });

  /** Handles of identities `from` … `to - 1` and what the origin should see for them when fetched once each. */
  function batch(from: number, to: number): { handles: string[]; dids: string[]; plc: number; web: number } {
    const ids = Array.from({ length: to - from }, (_, k) => world.identity(from + k));
    return {
      handles: ids.map((id) => id.handle),
      dids: ids.map((id) => id.did),
      plc: ids.filter((id) => id.did.startsWith('did:plc:')).length,
      web: ids.filter((id) => id.did.startsWith('did:web:')).length,
    };
  }

  function origin(): { plc: number; web: number; handle: number; dns: number } {
    const c = world.counters();
    return { plc: c.plc.requests, web: c.web.requests, handle: c.handle.requests, dns: c.dns.requests };
  }

  function delta(before: ReturnType<typeof origin>): ReturnType<typeof origin> {
    const now = origin();
    return { plc: now.plc - before.plc, web: now.web - before.web, handle: now.handle - before.handle, dns: now.dns - before.dns };
  }

  async function resolveEverywhere(handles: string[], dids: string[]): Promise<void> {
    const results = await Promise.all(fleet.map((m) => m.resolve(handles, 8)));
    for (const result of results) {
      expect(result.map((r) => r.error)).toEqual(handles.map(() => undefined));
      expect(result.map((r) => r.did)).toEqual(dids);
      expect(result.map((r) => r.handle)).toEqual(handles);
    }
  }

  it('fetches each identity from the origin once, not three times', async () => {
    const { handles, dids, plc, web } = batch(10, 50);
    expect(plc).toBeGreaterThan(0);
    expect(web).toBeGreaterThan(0);
    const before = origin();
    await resolveEverywhere(handles, dids);
    // One DNS TXT and one HTTPS well-known per handle ('both' strategy), one document per DID.
    expect(delta(before)).toEqual({ plc, web, handle: handles.length, dns: handles.length });
    const stats = await Promise.all(fleet.map((m) => m.stats()));
    expect(stats.reduce((n, s) => n + s.redis.redisErrors, 0)).toBe(0);
    // Every lookup any process made was answered: by its own fetch, by Redis, or by a peer's fill.
    expect(stats.reduce((n, s) => n + s.redis.l2Hits + s.redis.fillWaitHits, 0)).toBeGreaterThan(0);
  });

  it('a purge in one process is seen by the others', async () => {
    const id = world.plcIdentity(100);
    await resolveEverywhere([id.handle], [id.did]);
    const [p0, p1, p2] = fleet as [Member, Member, Member];
    expect(await p1.ask({ op: 'resolveDid', did: id.did })).toMatchObject({ did: id.did, cache: 'hit' });

    const heard = await Promise.all([p1, p2].map(async (m) => (await m.stats()).redis.invalidationsReceived));
    await p0.ask({ op: 'purge', key: id.did });
    await waitFor('p1 and p2 to hear the purge', async () => {
      const now = await Promise.all([p1, p2].map(async (m) => (await m.stats()).redis.invalidationsReceived));
      return now[0]! > heard[0]! && now[1]! > heard[1]!;
    });

    const before = origin();
    const answers = await Promise.all([p1, p2].map((m) => m.ask<{ did: string; cache: string }>({ op: 'resolveDid', did: id.did })));
    expect(answers.map((a) => a.did)).toEqual([id.did, id.did]);
    // Neither served its old L1 entry: one fetched (fleet-wide once), the other got that fetch.
    expect(answers.map((a) => a.cache).sort()).toEqual(['hit', 'miss']);
    expect(delta(before)).toMatchObject({ plc: 1 });
  });

  it('keeps resolving when Redis is killed mid-run, counting errors, and uses the cache again after a restart', async () => {
    const errors = async (): Promise<number[]> => (await Promise.all(fleet.map((m) => m.stats()))).map((s) => s.redis.redisErrors);
    const errorsBefore = await errors();

    // Kill Redis while the batch is in flight.
    const first = batch(150, 190);
    const beforeKill = origin();
    const running = Promise.all(fleet.map((m) => m.resolve(first.handles, 4)));
    await waitFor('the batch to reach the origin', () => delta(beforeKill).dns > 0, 20_000);
    await server.stop();
    for (const result of await running) expect(result.map((r) => r.did)).toEqual(first.dids);

    // While Redis is down every process fetches for itself: three times each.
    const down = batch(200, 210);
    const beforeDown = origin();
    await resolveEverywhere(down.handles, down.dids);
    expect(delta(beforeDown)).toEqual({ plc: 3 * down.plc, web: 3 * down.web, handle: 3 * down.handles.length, dns: 3 * down.handles.length });
    const errorsDown = await errors();
    for (const [i, n] of errorsDown.entries()) expect(n, `process ${i} redis errors`).toBeGreaterThan(errorsBefore[i]!);

    await server.start();
    await waitFor('every process to reconnect and resubscribe', async () =>
      (await Promise.all(fleet.map((m) => m.stats()))).every((s) => s.redis.connected && s.redis.subscribed),
    );
    const up = batch(250, 280);
    const beforeUp = origin();
    await resolveEverywhere(up.handles, up.dids);
    expect(delta(beforeUp)).toEqual({ plc: up.plc, web: up.web, handle: up.handles.length, dns: up.handles.length });
    // No new errors once Redis is back.
    const errorsUp = await errors();
    expect(errorsUp).toEqual(errorsDown);
  });
});
