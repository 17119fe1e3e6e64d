import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DidDocumentMismatchError, InvalidDidDocumentError } from '../../src/document/errors.js';
import { DidNotFoundError, HandleNotFoundError, ResolutionFailedError } from '../../src/resolve/errors.js';
import { InvalidDidError, InvalidHandleError, UnsupportedDidMethodError } from '../../src/syntax/errors.js';
import { NetworkError, ResponseTooLargeError, TimeoutError } from '../../src/transport/errors.js';
import { startWorld, type World } from '../../src/world/world.js';
import { resolverFor } from './support.js';

let world: World;

beforeAll(async () => {
  world = await startWorld({ identities: 100, webPercent: 20 });
});
afterAll(() => world.close());
afterEach(() => {
  world.setFaults({});
  world.resetCounters();
});

function httpsRequests(): number {
  const c = world.counters();
  return c.plc.requests + c.web.requests + c.handle.requests;
}

describe('resolveIdentity against the local world', () => {
  it('resolves a did:plc identity from its DID and verifies the handle both ways', async () => {
    await using resolver = resolverFor(world);
    const id = world.plcIdentity(0);
    const got = await resolver.resolveIdentity(id.did);
    expect(got).toMatchObject({
      did: id.did,
      handle: id.handle,
      declaredHandle: id.handle,
      pds: id.pdsEndpoint,
      signingKey: id.key.didKey,
    });
    expect(got.doc.id).toBe(id.did);
  });

  it('resolves a did:web identity from its handle, in any case', async () => {
    await using resolver = resolverFor(world);
    const id = world.webIdentity(1);
    const got = await resolver.resolveIdentity(id.handle.toUpperCase());
    expect(got).toMatchObject({ did: id.did, handle: id.handle, signingKey: id.key.didKey });
    expect(world.counters().web.ok).toBe(1);
  });

  it('counts resolutions by method and outcome and tells listeners', async () => {
    await using resolver = resolverFor(world);
    const events: string[] = [];
    const remove = resolver.addResolutionListener((e) => events.push(`${e.method}:${e.outcome}:${e.cache}`));
    await resolver.resolveIdentity(world.plcIdentity(2).did);
    remove();
    await resolver.resolveIdentity(world.plcIdentity(3).did);
    expect(events).toEqual(['plc:ok:miss', 'handle:ok:miss', 'identity:ok:bypass']);
    const stats = resolver.stats();
    expect(stats.resolutions.plc.ok).toBe(2);
    expect(stats.resolutions.identity.ok).toBe(2);
    expect(stats.transport.requests).toBeGreaterThanOrEqual(4);
  });

  it('serves repeated resolutions from the cache, and purge() drops the entry', async () => {
    await using resolver = resolverFor(world);
    const id = world.plcIdentity(4);
    await resolver.resolveIdentity(id.did);
    const after = httpsRequests();
    const again = await resolver.resolveIdentity(id.did);
    expect(again.handle).toBe(id.handle);
    expect(httpsRequests()).toBe(after);
    expect(resolver.stats().cache.did?.hits).toBe(1);

    await resolver.purge(id.did);
    await resolver.did.resolve(id.did);
    expect(world.counters().plc.requests).toBe(2);
  });

  it('fetches every time with cache: false, and with forceRefresh', async () => {
    await using uncached = resolverFor(world, { cache: false });
    const id = world.plcIdentity(5);
    await uncached.did.resolve(id.did);
    await uncached.did.resolve(id.did);
    expect(world.counters().plc.requests).toBe(2);
    expect(uncached.stats().cache).toEqual({ did: null, handle: null });

    await using cached = resolverFor(world);
    await cached.did.resolve(id.did);
    await cached.did.resolve(id.did, { forceRefresh: true });
    expect(world.counters().plc.requests).toBe(4);
  });

  it('resolves a handle through DNS alone and HTTPS alone', async () => {
    await using resolver = resolverFor(world);
    const id = world.plcIdentity(6);
    expect(await resolver.handle.resolveDns(id.handle)).toBe(id.did);
    expect(await resolver.handle.resolveHttp(id.handle)).toBe(id.did);
  });
});

describe('failures are typed', () => {
  it('a DID the directory does not know: resolve() is null, resolveIdentity() throws DidNotFoundError', async () => {
    await using resolver = resolverFor(world);
    world.setFaults({ plc: { notFound: 100 } });
    const id = world.plcIdentity(10);
    expect(await resolver.did.resolve(id.did)).toBeNull();
    await expect(resolver.resolveIdentity(id.did)).rejects.toBeInstanceOf(DidNotFoundError);
    // The second lookup is a cached negative answer, counted as not_found too.
    expect(resolver.stats().resolutions.plc.not_found).toBe(2);
    expect(resolver.stats().cache.did?.negativeHits).toBe(1);
    expect(world.counters().plc.requests).toBe(1);
  });

  it('a server error is a ResolutionFailedError with the status, and is not cached', async () => {
    await using resolver = resolverFor(world);
    world.setFaults({ plc: { serverError: 100 } });
    const id = world.plcIdentity(11);
    const error = await resolver.did.resolve(id.did).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResolutionFailedError);
    expect((error as ResolutionFailedError).status).toBe(500);
    world.setFaults({});
    expect(await resolver.did.resolve(id.did)).not.toBeNull();
    expect(world.counters().plc.requests).toBe(2);
  });

  it('a document with the wrong id is a DidDocumentMismatchError', async () => {
    await using resolver = resolverFor(world);
    world.setFaults({ web: { wrongId: 100 } });
    await expect(resolver.did.resolve(world.webIdentity(0).did)).rejects.toBeInstanceOf(DidDocumentMismatchError);
    expect(resolver.stats().resolutions.web.invalid).toBe(1);
  });

  it.each(['oversized', 'oversizedChunked'] as const)('an %s document is an InvalidDidDocumentError', async (fault) => {
    await using resolver = resolverFor(world);
    world.setFaults({ plc: { [fault]: 100 } });
    const error = await resolver.did.resolve(world.plcIdentity(12).did).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidDidDocumentError);
    expect((error as Error).cause).toBeInstanceOf(ResponseTooLargeError);
  });

  it('a server that never answers fails after timeoutMs with a TimeoutError cause', async () => {
    await using resolver = resolverFor(world, { timeoutMs: 300 });
    world.setFaults({ plc: { timeout: 100 } });
    const error = await resolver.did.resolve(world.plcIdentity(13).did).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResolutionFailedError);
    expect((error as Error).cause).toBeInstanceOf(TimeoutError);
  });

  it('a connection reset mid-body fails with a NetworkError cause', async () => {
    await using resolver = resolverFor(world);
    world.setFaults({ plc: { reset: 100 } });
    const error = await resolver.did.resolve(world.plcIdentity(14).did).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResolutionFailedError);
    expect((error as Error).cause).toBeInstanceOf(NetworkError);
  });

  it('a handle neither DNS nor HTTPS knows is a HandleNotFoundError', async () => {
    await using resolver = resolverFor(world);
    world.setFaults({ dns: { notFound: 100 }, handle: { notFound: 100 } });
    await expect(resolver.resolveIdentity(world.plcIdentity(15).handle)).rejects.toBeInstanceOf(HandleNotFoundError);
    expect(await resolver.handle.resolve(world.plcIdentity(16).handle)).toBeUndefined();
  });

  it('DNS failing while HTTPS says "none" is a transient failure, not a not-found', async () => {
    await using resolver = resolverFor(world);
    world.setFaults({ dns: { serverError: 100 }, handle: { notFound: 100 } });
    await expect(resolver.handle.resolve(world.plcIdentity(17).handle)).rejects.toBeInstanceOf(ResolutionFailedError);
  });

  it('falls back to HTTPS when DNS fails, and to DNS when HTTPS fails', async () => {
    await using resolver = resolverFor(world);
    world.setFaults({ dns: { serverError: 100 } });
    expect(await resolver.handle.resolve(world.plcIdentity(18).handle)).toBe(world.plcIdentity(18).did);
    world.setFaults({ handle: { serverError: 100 } });
    expect(await resolver.handle.resolve(world.plcIdentity(19).handle)).toBe(world.plcIdentity(19).did);
  });

  it('refuses bad input before any I/O', async () => {
    await using resolver = resolverFor(world);
    await expect(resolver.resolveIdentity('did:plc:NOT-VALID')).rejects.toBeInstanceOf(InvalidDidError);
    await expect(resolver.resolveIdentity('did:key:zQ3shZc2QzApp2oymGvQbzP8eKheVshBHbU4ZYjeXqwSKEn6N')).rejects.toBeInstanceOf(
      UnsupportedDidMethodError,
    );
    await expect(resolver.resolveIdentity('no_underscores.example.com')).rejects.toBeInstanceOf(InvalidHandleError);
    await expect(resolver.resolveIdentity('alice.local')).rejects.toMatchObject({ reason: 'reserved-tld' });
    await expect(resolver.resolveIdentity(`${'a'.repeat(10_000)}.com`)).rejects.toBeInstanceOf(InvalidHandleError);
    await expect(resolver.resolveIdentity('a\u0000b.com')).rejects.toBeInstanceOf(InvalidHandleError);
    expect(httpsRequests()).toBe(0);
    expect(resolver.stats().resolutions.identity.invalid).toBe(6);
  });

  it('refuses .test handles and did:web hosts unless allowTestTlds', async () => {
    await using resolver = resolverFor(world, { allowTestTlds: false });
    await expect(resolver.resolveIdentity(world.plcIdentity(0).handle)).rejects.toMatchObject({ reason: 'test-tld' });
    await expect(resolver.did.resolve(world.webIdentity(0).did)).rejects.toMatchObject({ reason: 'test-tld' });
  });
});
