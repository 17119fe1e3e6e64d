import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisCache } from '../../src/cache/redis.js';
import { ResolutionFailedError } from '../../src/resolve/errors.js';
import type { IdResolver } from '../../src/resolve/id-resolver.js';
import { startWorld, type World } from '../../src/world/world.js';
import { startRedis, type RedisServer } from '../support/redis-server.mjs';
import { resolverFor } from '../resolve/support.js';
import { redisSkip, uniquePrefix } from './redis-support.js';

/**
 * What an `IdResolver` writes to the shared tier, against the local world:
 * not-found answers are shared with their own TTL, transient failures
 * (server errors, timeouts) are never written.
 */
describe.skipIf(redisSkip !== undefined)('IdResolver on a RedisCache', () => {
  let world: World;
  let server: RedisServer;
  const resolvers: IdResolver[] = [];

  beforeAll(async () => {
    [world, server] = await Promise.all([startWorld({ identities: 50 }), startRedis()]);
  });
  afterEach(async () => {
    world.setFaults({});
    await Promise.all(resolvers.splice(0).map((r) => r.close()));
  });
  afterAll(async () => {
    await world?.close();
    await server?.close();
  });

  async function member(keyPrefix: string, timeoutMs?: number): Promise<{ cache: RedisCache; resolver: IdResolver }> {
    const cache = new RedisCache({ url: server.url, keyPrefix, negativeTtlMs: 120_000 });
    await cache.ready();
    const resolver = resolverFor(world, { cache: cache.identityCacheOptions(), ...(timeoutMs ? { timeoutMs } : {}) });
    resolvers.push(resolver);
    return { cache, resolver };
  }

  it('shares a not-found answer with its own TTL: the second process does not ask the origin', async () => {
    const prefix = uniquePrefix();
    const a = await member(prefix);
    const b = await member(prefix);
    const unknown = 'did:plc:aaaaaaaaaaaaaaaaaaaaaaaa';
    expect(await a.resolver.did.resolve(unknown)).toBeNull();
    const key = `${prefix}did:{${unknown}}`;
    expect(await server.cli('GET', key)).toMatch(/^1\|\d+\|\d+\|$/);
    const ttl = Number(await server.cli('PTTL', key));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(120_000);

    const plcBefore = world.counters().plc.requests;
    expect(await b.resolver.did.resolve(unknown)).toBeNull();
    expect(world.counters().plc.requests).toBe(plcBefore);
    expect(b.resolver.stats().cache.did).toMatchObject({ negativeHits: 1, misses: 0 });
  });

  it('reset() frees this process only: L1 empties, Redis keeps the entry for the fleet', async () => {
    const prefix = uniquePrefix();
    const a = await member(prefix);
    const id = world.plcIdentity(3);
    await a.resolver.did.resolve(id.did);
    expect(a.resolver.stats().cache.did?.entries).toBe(1);
    const key = `${prefix}did:{${id.did}}`;
    expect(await server.cli('EXISTS', key)).toBe('1');

    await a.resolver.reset();
    expect(a.resolver.stats().cache.did?.entries).toBe(0);
    expect(await server.cli('EXISTS', key)).toBe('1');
    const plcBefore = world.counters().plc.requests;
    expect(await a.resolver.did.resolve(id.did)).not.toBeNull();
    expect(world.counters().plc.requests).toBe(plcBefore);
  });

  it('never writes a transient failure: a 500 from the PLC directory leaves Redis untouched', async () => {
    const prefix = uniquePrefix();
    const a = await member(prefix);
    const b = await member(prefix);
    const id = world.plcIdentity(3);
    world.setFaults({ plc: { serverError: 100 } });
    await expect(a.resolver.did.resolve(id.did)).rejects.toBeInstanceOf(ResolutionFailedError);
    expect(await server.cli('EXISTS', `${prefix}did:{${id.did}}`)).toBe('0');

    world.setFaults({});
    const plcBefore = world.counters().plc.requests;
    expect((await b.resolver.did.resolve(id.did))?.id).toBe(id.did);
    expect(world.counters().plc.requests).toBe(plcBefore + 1);
    expect(await server.cli('EXISTS', `${prefix}did:{${id.did}}`)).toBe('1');
    expect(a.cache.stats().writes + a.cache.stats().writesSkipped).toBe(0);
  });

  it('a timeout (origin hangs) is not written either, and the next call loads again', async () => {
    const prefix = uniquePrefix();
    const a = await member(prefix, 200);
    const id = world.plcIdentity(4);
    world.setFaults({ plc: { timeout: 100 } });
    await expect(a.resolver.did.resolve(id.did)).rejects.toBeInstanceOf(ResolutionFailedError);
    expect(await server.cli('EXISTS', `${prefix}did:{${id.did}}`)).toBe('0');
    world.setFaults({});
    expect((await a.resolver.did.resolve(id.did))?.id).toBe(id.did);
  });
});
