import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AbortError, InvalidOptionsError } from '../../src/errors.js';
import { InvalidDidError } from '../../src/syntax/errors.js';
import { didDocument } from '../../src/world/documents.js';
import { startWorld, type World } from '../../src/world/world.js';
import { resolverFor } from './support.js';
import { sleep } from '../support/async.js';

/**
 * The call shapes `@atproto/identity` users write, against the local
 * world: a positional `forceRefresh` boolean, `resolveAtprotoKey` on a
 * did:key, documents as published, and the same abort with or without a
 * cache.
 */

let world: World;
beforeAll(async () => {
  world = await startWorld({ identities: 100, webPercent: 20 });
});
afterAll(() => world.close());
afterEach(() => {
  world.setFaults({});
  world.resetCounters();
});

describe('a positional forceRefresh boolean, as @atproto/identity takes it', () => {
  it('resolveAtprotoKey(did, true) refetches: the PLC directory sees 2 requests (verifyJwt after a bad signature)', async () => {
    await using resolver = resolverFor(world);
    const id = world.plcIdentity(1);
    expect(await resolver.did.resolveAtprotoKey(id.did, false)).toBe(id.key.didKey);
    expect(await resolver.did.resolveAtprotoKey(id.did, false)).toBe(id.key.didKey);
    expect(world.counters().plc.requests).toBe(1);
    expect(await resolver.did.resolveAtprotoKey(id.did, true)).toBe(id.key.didKey);
    expect(world.counters().plc.requests).toBe(2);
  });

  it.each(['resolve', 'ensureResolve', 'resolveAtprotoData', 'ensureResolveAtprotoData', 'resolveAtprotoKey'] as const)(
    'did.%s(did, true) bypasses the cache',
    async (method) => {
      await using resolver = resolverFor(world);
      const did = world.plcIdentity(2).did;
      await resolver.did[method](did);
      await resolver.did[method](did, true);
      await resolver.did[method](did, { forceRefresh: true });
      expect(world.counters().plc.requests).toBe(3);
    },
  );

  it('handle.resolve(handle, true) and resolveIdentity(input, true) bypass the cache too', async () => {
    await using resolver = resolverFor(world);
    const id = world.plcIdentity(3);
    await resolver.resolveIdentity(id.handle);
    await resolver.handle.resolve(id.handle, true);
    await resolver.resolveIdentity(id.handle, true);
    expect(world.counters().dns.requests).toBe(3);
    expect(world.counters().plc.requests).toBe(2);
  });

  it('validates the options as constructor options are', async () => {
    await using resolver = resolverFor(world);
    const did = world.plcIdentity(4).did;
    await expect(resolver.did.resolve(did, { forceRefresh: 'yes' } as never)).rejects.toMatchObject({ option: 'options.forceRefresh' });
    await expect(resolver.did.resolve(did, { signal: 'stop' } as never)).rejects.toBeInstanceOf(InvalidOptionsError);
    await expect(resolver.handle.resolve(world.plcIdentity(4).handle, { refresh: true } as never)).rejects.toMatchObject({
      option: 'options.refresh',
    });
    expect(world.counters().plc.requests + world.counters().dns.requests).toBe(0);
  });
});

describe('atproto data', () => {
  it('resolveAtprotoKey(did:key) returns it unchanged without any request, as @atproto/identity does', async () => {
    await using resolver = resolverFor(world);
    const key = world.plcIdentity(5).key.didKey;
    expect(await resolver.did.resolveAtprotoKey(key)).toBe(key);
    expect(await resolver.did.resolveAtprotoKey(key, true)).toBe(key);
    await expect(resolver.did.resolveAtprotoKey('did:key:zNotAKey')).rejects.toBeInstanceOf(InvalidDidError);
    expect(world.counters().plc.requests).toBe(0);
  });

  it('ensureResolveAtprotoData returns every field, or names the one the document lacks', async () => {
    await using resolver = resolverFor(world);
    const id = world.plcIdentity(6);
    expect(await resolver.did.ensureResolveAtprotoData(id.did)).toEqual({
      did: id.did,
      handle: id.handle,
      pds: id.pdsEndpoint,
      signingKey: id.key.didKey,
    });
  });
});

describe('documents as published', () => {
  it('did.resolve() returns the document the directory served, @context included', async () => {
    await using resolver = resolverFor(world);
    for (const id of [world.plcIdentity(8), world.webIdentity(2)]) {
      const doc = await resolver.did.resolve(id.did);
      expect(doc).toStrictEqual(JSON.parse(JSON.stringify(didDocument(id))));
      expect(doc?.['@context']).toBeDefined();
      expect(Object.isFrozen(doc)).toBe(true);
    }
  });
});

describe('an aborted call rejects with AbortError, with or without a cache', () => {
  it.each([{ cache: false as const }, {}])('cache %o: did.resolve, handle.resolve and resolveIdentity', async (options) => {
    await using resolver = resolverFor(world, options);
    world.setFaults({ plc: { timeout: 100 }, dns: { timeout: 100 }, handle: { timeout: 100 } });
    const reason = new Error('shutting down');
    for (const call of [
      (signal: AbortSignal) => resolver.did.resolve(world.plcIdentity(9).did, { signal }),
      (signal: AbortSignal) => resolver.handle.resolve(world.plcIdentity(9).handle, { signal }),
      (signal: AbortSignal) => resolver.resolveIdentity(world.plcIdentity(9).did, { signal }),
      (signal: AbortSignal) => resolver.handle.resolveDns(world.plcIdentity(9).handle, signal),
      (signal: AbortSignal) => resolver.handle.resolveHttp(world.plcIdentity(9).handle, { signal }),
    ]) {
      const controller = new AbortController();
      const pending = call(controller.signal).catch((e: unknown) => e);
      await sleep(20);
      controller.abort(reason);
      const error = await pending;
      expect(error).toBeInstanceOf(AbortError);
      expect((error as AbortError).code).toBe('ABORTED');
      expect((error as AbortError).cause).toBe(reason);
      // Already aborted: rejected at once, the same way.
      const early = await call(controller.signal).catch((e: unknown) => e);
      expect(early).toBeInstanceOf(AbortError);
      expect((early as AbortError).cause).toBe(reason);
    }
  });
});

describe('metric labels', () => {
  it('counts a did:key input as method "other", not "plc"', async () => {
    await using resolver = resolverFor(world);
    const events: string[] = [];
    resolver.addResolutionListener((e) => events.push(`${e.method}:${e.outcome}`));
    await resolver.did.resolve(world.plcIdentity(10).key.didKey).catch(() => undefined);
    await resolver.did.resolve('not a did').catch(() => undefined);
    await resolver.did.resolve('did:plc:UPPERCASE').catch(() => undefined);
    expect(events).toEqual(['other:invalid', 'other:invalid', 'plc:invalid']);
    expect(resolver.stats().resolutions).toMatchObject({ other: { invalid: 2 }, plc: { invalid: 1 } });
  });
});
