import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbortError, InvalidOptionsError } from '../../src/errors.js';
import { DidNotFoundError } from '../../src/resolve/errors.js';
import type { IdResolver } from '../../src/resolve/id-resolver.js';
import { InvalidDidError, InvalidHandleError } from '../../src/syntax/errors.js';
import { startWorld, type World } from '../../src/world/world.js';
import { resolverFor } from './support.js';

/**
 * Cache hits from the in-process tier are served without a promise chain
 * (`peekFresh`): what a caller sees must be what the full path gives —
 * counters, listener events, per-call options, negative entries, staleness
 * and input errors.
 */

let world: World;

beforeAll(async () => {
  world = await startWorld({ identities: 20, webPercent: 0 });
});
afterAll(() => world.close());

/** HTTPS requests the world has answered so far. */
function requests(): number {
  const c = world.counters();
  return c.plc.requests + c.web.requests + c.handle.requests;
}

function listen(resolver: IdResolver): string[] {
  const events: string[] = [];
  resolver.addResolutionListener((e) => events.push(`${e.method}:${e.outcome}:${e.cache}`));
  return events;
}

const UNKNOWN_DID = `did:plc:${'z'.repeat(24)}`;

describe('a cached hit', () => {
  it('did.resolve and handle.resolve: counted, told to listeners, no request, the cached frozen document', async () => {
    await using resolver = resolverFor(world);
    const id = world.plcIdentity(0);
    const first = await resolver.did.resolve(id.did);
    expect(await resolver.handle.resolve(id.handle)).toBe(id.did);
    const before = requests();
    const events = listen(resolver);
    const again = await resolver.did.resolve(id.did);
    expect(await resolver.handle.resolve(id.handle.toUpperCase())).toBe(id.did);
    expect(await resolver.did.resolve(id.did, false)).toBe(first);
    expect(again).toBe(first);
    expect(Object.isFrozen(again)).toBe(true);
    expect(requests()).toBe(before);
    expect(events).toEqual(['plc:ok:hit', 'handle:ok:hit', 'plc:ok:hit']);
    const stats = resolver.stats();
    expect(stats.cache.did?.hits).toBe(2);
    expect(stats.cache.handle?.hits).toBe(1);
    expect(stats.resolutions.plc.ok).toBe(3);
    expect(stats.resolutions.handle.ok).toBe(2);
  });

  it('resolveIdentity, from a DID and from a handle: both lookups counted as hits, a fresh Identity object per call', async () => {
    await using resolver = resolverFor(world);
    const id = world.plcIdentity(1);
    const first = await resolver.resolveIdentity(id.did);
    const before = requests();
    const events = listen(resolver);
    const fromDid = await resolver.resolveIdentity(id.did);
    const fromHandle = await resolver.resolveIdentity(id.handle);
    expect(requests()).toBe(before);
    expect(fromDid).toEqual(first);
    expect(fromHandle).toEqual(first);
    expect(fromDid).not.toBe(first);
    expect(fromDid.handleCheck).toBe('verified');
    expect(fromDid.doc).toBe(first.doc);
    expect(events).toEqual([
      'plc:ok:hit',
      'handle:ok:hit',
      'identity:ok:bypass',
      'handle:ok:hit',
      'plc:ok:hit',
      'identity:ok:bypass',
    ]);
    expect(resolver.stats().resolutions.identity.ok).toBe(3);
  });

  it('a negative entry is a hit too: null, DidNotFoundError from resolveIdentity, no request', async () => {
    await using resolver = resolverFor(world);
    expect(await resolver.did.resolve(UNKNOWN_DID)).toBeNull();
    const before = requests();
    const events = listen(resolver);
    expect(await resolver.did.resolve(UNKNOWN_DID)).toBeNull();
    await expect(resolver.resolveIdentity(UNKNOWN_DID)).rejects.toBeInstanceOf(DidNotFoundError);
    expect(requests()).toBe(before);
    expect(events).toEqual(['plc:not_found:hit', 'plc:not_found:hit', 'identity:not_found:bypass']);
    expect(resolver.stats().cache.did?.negativeHits).toBe(2);
  });

  it('per-call options on a held key are honoured: forceRefresh goes to the origin, an abort rejects, a bad option throws', async () => {
    await using resolver = resolverFor(world);
    const id = world.plcIdentity(2);
    await resolver.resolveIdentity(id.did);
    const events = listen(resolver);

    let before = requests();
    await resolver.did.resolve(id.did, { forceRefresh: true });
    await resolver.did.resolve(id.did, true);
    expect(requests()).toBe(before + 2);
    before = world.counters().plc.requests;
    await resolver.resolveIdentity(id.did, { forceRefresh: true });
    expect(world.counters().plc.requests).toBe(before + 1);
    expect(events.slice(0, 2)).toEqual(['plc:ok:bypass', 'plc:ok:bypass']);

    const aborted = new AbortController();
    aborted.abort(new Error('gone'));
    await expect(resolver.did.resolve(id.did, { signal: aborted.signal })).rejects.toBeInstanceOf(AbortError);
    await expect(resolver.resolveIdentity(id.did, { signal: aborted.signal })).rejects.toBeInstanceOf(AbortError);

    // An abort right after the call, before the caller awaits, still wins over a held entry.
    const late = new AbortController();
    const pending = resolver.did.resolve(id.did, { signal: late.signal });
    late.abort(new Error('gone'));
    await expect(pending).rejects.toBeInstanceOf(AbortError);
    const lateIdentity = new AbortController();
    const pendingIdentity = resolver.resolveIdentity(id.did, { signal: lateIdentity.signal });
    lateIdentity.abort(new Error('gone'));
    await expect(pendingIdentity).rejects.toBeInstanceOf(AbortError);

    // A live signal and forceRefresh: false are a plain hit.
    before = requests();
    expect((await resolver.resolveIdentity(id.did, { signal: new AbortController().signal, forceRefresh: false })).handleCheck).toBe('verified');
    expect(requests()).toBe(before);

    await expect(resolver.did.resolve(id.did, { forceRefresh: 'yes' } as never)).rejects.toBeInstanceOf(InvalidOptionsError);
    await expect(resolver.resolveIdentity(id.did, { refresh: true } as never)).rejects.toBeInstanceOf(InvalidOptionsError);
  });

  it('a stale entry is not a plain hit: served as stale while one background refresh runs', async () => {
    await using resolver = resolverFor(world, { cache: { staleTtlMs: 0 } });
    const id = world.plcIdentity(3);
    await resolver.did.resolve(id.did);
    const events = listen(resolver);
    await resolver.did.resolve(id.did);
    expect(events).toEqual(['plc:ok:stale']);
    const stats = resolver.stats().cache.did;
    expect(stats?.staleHits).toBe(1);
    expect(stats?.hits).toBe(0);
    expect(stats?.refreshes).toBe(1);
  });

  it('a purge ends the hits: the next call loads', async () => {
    await using resolver = resolverFor(world);
    const id = world.plcIdentity(4);
    await resolver.did.resolve(id.did);
    await resolver.purge(id.did);
    const events = listen(resolver);
    await resolver.did.resolve(id.did);
    expect(events).toEqual(['plc:ok:miss']);
  });

  it('bad input is refused with the typed error, as without a cache, and counted as invalid', async () => {
    await using resolver = resolverFor(world);
    const id = world.plcIdentity(5);
    await resolver.resolveIdentity(id.did);
    const upper = `did:plc:${id.did.slice('did:plc:'.length).toUpperCase()}`;
    await expect(resolver.did.resolve(upper)).rejects.toBeInstanceOf(InvalidDidError);
    await expect(resolver.resolveIdentity(upper)).rejects.toBeInstanceOf(InvalidDidError);
    await expect(resolver.resolveIdentity('alice.local')).rejects.toBeInstanceOf(InvalidHandleError);
    await expect(resolver.handle.resolve('alice..test')).rejects.toBeInstanceOf(InvalidHandleError);
    await expect(resolver.did.resolve(42 as never)).rejects.toBeInstanceOf(InvalidDidError);
    const counts = resolver.stats().resolutions;
    expect(counts.plc.invalid).toBe(1);
    expect(counts.identity.invalid).toBe(2);
    expect(counts.handle.invalid).toBe(1);
    expect(counts.other.invalid).toBe(1);
  });

  it('with the cache off nothing is held: every call loads', async () => {
    await using resolver = resolverFor(world, { cache: false });
    const id = world.plcIdentity(6);
    await resolver.did.resolve(id.did);
    const before = requests();
    const events = listen(resolver);
    await resolver.did.resolve(id.did);
    expect(requests()).toBe(before + 1);
    expect(events).toEqual(['plc:ok:bypass']);
  });
});
