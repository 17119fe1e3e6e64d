import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidOptionsError } from '../../src/errors.js';
import { FaultPlan, resolveFaults, type EndpointKind, type FaultName } from '../../src/world/faults.js';
import type { WorldIdentity } from '../../src/world/identities.js';
import { startWorld, type World } from '../../src/world/world.js';
import { FetchFailed, keepAliveAgent, worldGet, worldResolver } from '../support/world-client.js';

let world: World;

beforeAll(async () => {
  world = await startWorld({ identities: 400, seed: 7 });
});
afterAll(async () => {
  await world?.close();
});

/** Run `body` with `faults` set, from zeroed counters and restarted streams, then turn faults off. */
async function withFaults(faults: Parameters<World['setFaults']>[0], body: () => Promise<void>): Promise<void> {
  world.setFaults(faults);
  world.resetCounters();
  try {
    await body();
  } finally {
    world.setFaults({});
  }
}

describe('fault settings', () => {
  it.each([
    [{ plc: { explode: 5 } }, 'faults.plc.explode'],
    [{ dns: { oversized: 5 } }, 'faults.dns.oversized'],
    [{ dns: { reset: 1 } }, 'faults.dns.reset'],
    [{ web: { notFound: 60, serverError: 50 } }, 'faults.web'],
    [{ all: { slow: 60 }, handle: { timeout: 41 } }, 'faults.handle'],
    [{ plc: { notFound: -1 } }, 'faults.plc.notFound'],
    [{ plc: { notFound: 101 } }, 'faults.plc.notFound'],
    [{ plc: { notFound: '5' } }, 'faults.plc.notFound'],
    [{ plc: [] }, 'faults.plc'],
    [{ everything: {} }, 'faults.everything'],
    [{ slowMs: -1 }, 'faults.slowMs'],
    [{ oversizeBytes: 0 }, 'faults.oversizeBytes'],
  ])('rejects %j naming %s', (faults, option) => {
    const error = (() => {
      try {
        resolveFaults(faults);
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect((error as InvalidOptionsError).option).toBe(option);
  });

  it('merges `all` into every kind fault by fault; HTTPS-only faults skip dns', () => {
    const { mix, slowMs, oversizeBytes } = resolveFaults({ all: { serverError: 2, reset: 3 }, plc: { serverError: 0.5 } });
    expect(mix.plc.serverError).toBe(0.5);
    expect(mix.web.serverError).toBe(2);
    expect(mix.web.reset).toBe(3);
    expect(mix.dns.serverError).toBe(2);
    expect(mix.dns.reset).toBe(0);
    expect(slowMs).toBe(1_000);
    expect(oversizeBytes).toBe(1_048_576);
  });

  it('a rejected setFaults() leaves the previous settings in force', async () => {
    world.setFaults({ plc: { serverError: 100 } });
    try {
      expect(() => world.setFaults({ plc: { serverError: 200 } })).toThrow(InvalidOptionsError);
      expect(world.faults().plc).toEqual({ serverError: 100 });
      expect((await worldGet(world, world.plcIdentity(0).documentUrl)).status).toBe(500);
    } finally {
      world.setFaults({});
    }
  });
});

describe('HTTPS faults, one switch at a time (100%, exact counts)', () => {
  const N = 4;
  const cases: [EndpointKind, () => WorldIdentity, (id: WorldIdentity) => string][] = [
    ['plc', () => world.plcIdentity(5), (id) => id.documentUrl],
    ['web', () => world.webIdentity(5), (id) => id.documentUrl],
    ['handle', () => world.identity(5), (id) => id.handleUrl],
  ];

  it.each(cases)('%s: notFound → 404, serverError → 500', async (kind, pick, urlOf) => {
    const id = pick();
    for (const [fault, status] of [['notFound', 404], ['serverError', 500]] as const) {
      await withFaults({ [kind]: { [fault]: 100 } }, async () => {
        for (let n = 0; n < N; n += 1) expect((await worldGet(world, urlOf(id))).status).toBe(status);
        expect(world.counters()[kind]).toMatchObject({ requests: N, ok: 0, notFound: 0, faults: { [fault]: N } });
      });
    }
  });

  it.each(cases)('%s: wrongId names the next identity', async (kind, pick, urlOf) => {
    const id = pick();
    const other = world.identity(id.index + 1).did;
    await withFaults({ [kind]: { wrongId: 100 } }, async () => {
      for (let n = 0; n < N; n += 1) {
        const res = await worldGet(world, urlOf(id));
        expect(res.status).toBe(200);
        if (kind === 'handle') {
          expect(res.body.toString()).toBe(other);
        } else {
          const doc = JSON.parse(res.body.toString()) as { id: string; alsoKnownAs: string[] };
          expect(doc.id).toBe(other);
          expect(doc.alsoKnownAs).toEqual([`at://${id.handle}`]);
        }
      }
      expect(world.counters()[kind].faults.wrongId).toBe(N);
    });
  });

  it.each(cases)('%s: oversized bodies exceed oversizeBytes, with and without Content-Length', async (kind, pick, urlOf) => {
    const id = pick();
    const oversizeBytes = 100_000;
    for (const fault of ['oversized', 'oversizedChunked'] as const) {
      await withFaults({ [kind]: { [fault]: 100 }, oversizeBytes }, async () => {
        const res = await worldGet(world, urlOf(id));
        expect(res.status).toBe(200);
        expect(res.body.length).toBeGreaterThan(oversizeBytes);
        if (fault === 'oversized') {
          expect(Number(res.headers['content-length'])).toBe(res.body.length);
        } else {
          expect(res.headers['content-length']).toBeUndefined();
          expect(res.headers['transfer-encoding']).toBe('chunked');
        }
        // Still a valid answer: only a size cap can tell it from a good one.
        if (kind === 'handle') expect(res.body.toString().split('\n')[0]).toBe(id.did);
        else expect((JSON.parse(res.body.toString()) as { id: string }).id).toBe(id.did);
        expect(world.counters()[kind].faults[fault]).toBe(1);
      });
    }
  });

  it('oversized defaults to more than 1 MiB', async () => {
    await withFaults({ plc: { oversized: 100 } }, async () => {
      const res = await worldGet(world, world.plcIdentity(0).documentUrl);
      expect(res.body.length).toBeGreaterThan(1_048_576);
    });
  });

  it.each(cases)('%s: reset cuts the connection mid-body', async (kind, pick, urlOf) => {
    const id = pick();
    await withFaults({ [kind]: { reset: 100 } }, async () => {
      for (let n = 0; n < N; n += 1) {
        const error = await worldGet(world, urlOf(id)).then(
          () => undefined,
          (caught: unknown) => caught,
        );
        expect(error).toBeInstanceOf(FetchFailed);
        const { partial } = error as FetchFailed;
        expect(partial.status).toBe(200);
        expect(partial.bytes).toBeLessThan(Number(partial.headers?.['content-length']));
      }
      expect(world.counters()[kind].faults.reset).toBe(N);
    });
  });

  it('slow answers correctly after slowMs; timeout never answers', async () => {
    const id = world.plcIdentity(9);
    await withFaults({ plc: { slow: 100 }, slowMs: 150 }, async () => {
      const started = performance.now();
      const res = await worldGet(world, id.documentUrl);
      expect(performance.now() - started).toBeGreaterThanOrEqual(150);
      expect((JSON.parse(res.body.toString()) as { id: string }).id).toBe(id.did);
      expect(world.counters().plc.faults.slow).toBe(1);
    });
    await withFaults({ web: { timeout: 100 } }, async () => {
      const error = await worldGet(world, world.webIdentity(1).documentUrl, { timeoutMs: 200 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(FetchFailed);
      expect((error as FetchFailed).message).toBe('timeout');
      expect((error as FetchFailed).partial.status).toBeUndefined();
      expect(world.counters().web.faults.timeout).toBe(1);
    });
  });

  it('unknown names get their plain 404 and draw no fault', async () => {
    await withFaults({ all: { serverError: 100 } }, async () => {
      expect((await worldGet(world, `${world.plcUrl}/did:plc:${'a'.repeat(24)}`)).status).toBe(404);
      expect((await worldGet(world, 'https://u9999.handle.test/.well-known/atproto-did')).status).toBe(404);
      const counters = world.counters();
      expect(counters.plc).toMatchObject({ requests: 1, notFound: 1, faults: { serverError: 0 } });
      expect(counters.handle).toMatchObject({ requests: 1, notFound: 1, faults: { serverError: 0 } });
    });
  });
});

describe('DNS faults (100%, exact counts)', () => {
  const N = 3;
  it.each([
    ['notFound', 'ENOTFOUND'],
    ['serverError', 'ESERVFAIL'],
    ['timeout', 'ETIMEOUT'],
  ] as const)('%s → %s', async (fault, code) => {
    const resolver = worldResolver(world, 200);
    await withFaults({ dns: { [fault]: 100 } }, async () => {
      for (let n = 0; n < N; n += 1) {
        await expect(resolver.resolveTxt(world.identity(n).dnsName)).rejects.toMatchObject({ code });
      }
      expect(world.counters().dns).toMatchObject({ requests: N, ok: 0, faults: { [fault]: N } });
    });
  });

  it('wrongId answers the next identity; slow answers correctly later', async () => {
    const resolver = worldResolver(world, 2_000);
    await withFaults({ dns: { wrongId: 100 } }, async () => {
      expect(await resolver.resolveTxt(world.identity(3).dnsName)).toEqual([[`did=${world.identity(4).did}`]]);
    });
    await withFaults({ dns: { slow: 100 }, slowMs: 100 }, async () => {
      const started = performance.now();
      expect(await resolver.resolveTxt(world.identity(3).dnsName)).toEqual([[`did=${world.identity(3).did}`]]);
      expect(performance.now() - started).toBeGreaterThanOrEqual(100);
      expect(world.counters().dns.faults.slow).toBe(1);
    });
  });
});

describe('seeded mixes', () => {
  const MIX = { plc: { notFound: 10, serverError: 10, wrongId: 10 } };
  const COUNT = 150;

  /** Fetch COUNT documents in order and classify what the client saw. */
  async function observe(target: World, interleaveWeb: boolean): Promise<(FaultName | 'ok')[]> {
    const agent = keepAliveAgent();
    const seen: (FaultName | 'ok')[] = [];
    try {
      for (let n = 0; n < COUNT; n += 1) {
        const id = target.plcIdentity(n % target.identities.plcCount);
        if (interleaveWeb) await worldGet(target, target.webIdentity(n % 10).documentUrl, { agent });
        const res = await worldGet(target, id.documentUrl, { agent });
        if (res.status === 404) seen.push('notFound');
        else if (res.status === 500) seen.push('serverError');
        else seen.push((JSON.parse(res.body.toString()) as { id: string }).id === id.did ? 'ok' : 'wrongId');
      }
    } finally {
      agent.destroy();
    }
    return seen;
  }

  it('client-observed faults equal the counters and the seeded plan, in every run', async () => {
    world.setFaults(MIX);
    world.resetCounters();
    let first: (FaultName | 'ok')[];
    try {
      first = await observe(world, false);
    } finally {
      world.setFaults({});
    }
    const counters = world.counters().plc;
    const tally = (name: string): number => first.filter((o) => o === name).length;
    expect(counters.requests).toBe(COUNT);
    expect(counters.ok).toBe(tally('ok'));
    expect(counters.faults.notFound).toBe(tally('notFound'));
    expect(counters.faults.serverError).toBe(tally('serverError'));
    expect(counters.faults.wrongId).toBe(tally('wrongId'));
    expect(tally('ok')).toBeLessThan(COUNT);
    expect(tally('ok')).toBeGreaterThan(0);

    const plan = new FaultPlan(7, resolveFaults(MIX));
    expect(first).toEqual(Array.from({ length: COUNT }, () => plan.draw('plc') ?? 'ok'));

    // Same seed in another world, with did:web traffic interleaved: same plc sequence.
    const twin = await startWorld({ identities: 400, seed: 7, faults: MIX });
    try {
      expect(await observe(twin, true)).toEqual(first);
      expect(twin.counters().web.ok).toBe(COUNT);
    } finally {
      await twin.close();
    }
    const otherSeed = new FaultPlan(8, resolveFaults(MIX));
    expect(Array.from({ length: COUNT }, () => otherSeed.draw('plc') ?? 'ok')).not.toEqual(first);
  });
});

describe('run-time changes', () => {
  it('switches faults on and off while serving, per kind and globally', async () => {
    world.resetCounters();
    const agent = keepAliveAgent();
    const plc = world.plcIdentity(1).documentUrl;
    const web = world.webIdentity(1).documentUrl;
    const statuses = async (): Promise<number[]> => [
      (await worldGet(world, plc, { agent })).status,
      (await worldGet(world, web, { agent })).status,
    ];
    try {
      expect(await statuses()).toEqual([200, 200]);
      world.setFaults({ plc: { serverError: 100 } });
      expect(await statuses()).toEqual([500, 200]);
      world.setFaults({ all: { notFound: 100 }, web: { notFound: 0, serverError: 100 } });
      expect(await statuses()).toEqual([404, 500]);
      world.setFaults({});
      expect(await statuses()).toEqual([200, 200]);
    } finally {
      world.setFaults({});
      agent.destroy();
    }
    const counters = world.counters();
    expect(counters.plc).toMatchObject({ requests: 4, ok: 2, faults: { serverError: 1, notFound: 1 } });
    expect(counters.web).toMatchObject({ requests: 4, ok: 3, faults: { serverError: 1, notFound: 0 } });
  });
});
