import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DidNotFoundError } from '../../src/resolve/errors.js';
import type { IdResolver } from '../../src/resolve/id-resolver.js';
import { InvalidDidError } from '../../src/syntax/errors.js';
import { startWorld, type World } from '../../src/world/world.js';
import { resolverFor } from './support.js';

/**
 * `resolveIdentity()` of a did:plc whose document and handle the caches
 * hold: both entries are judged at one reading of the clock, an entry past
 * its TTL at that reading is not a hit, the answer is the one the handle
 * entry holds now, and a did:plc-shaped input the cache cannot hold is
 * refused as before.
 */

let world: World;

beforeAll(async () => {
  world = await startWorld({ identities: 12, webPercent: 0 });
});
afterAll(() => world.close());
afterEach(() => {
  vi.restoreAllMocks();
  world.setFaults({});
});

const STALE_TTL_MS = 60_000;

/**
 * `Date.now` under the test's control, installed before the resolver is
 * built (its caches take `Date.now` then). Stands still unless `step` is
 * set: then each reading returns the time and moves it on by `step` ms.
 */
function controlClock(): { at: (ms: number, step?: number) => void; readings: () => number } {
  let time = Date.now();
  let step = 0;
  let readings = 0;
  vi.spyOn(Date, 'now').mockImplementation(() => {
    readings++;
    const now = time;
    time += step;
    return now;
  });
  return {
    at(ms, s = 0) {
      time = ms;
      step = s;
    },
    readings: () => readings,
  };
}

/** HTTPS and DNS requests the world has answered so far. */
function requests(): number {
  const c = world.counters();
  return c.plc.requests + c.web.requests + c.handle.requests + c.dns.requests;
}

function listen(resolver: IdResolver): string[] {
  const events: string[] = [];
  resolver.addResolutionListener((e) => events.push(`${e.method}:${e.outcome}:${e.cache}`));
  return events;
}

describe('resolveIdentity from held entries', () => {
  it('judges the document and the handle at one reading of the clock', async () => {
    const clock = controlClock();
    const t0 = Date.now();
    await using resolver = resolverFor(world, { cache: { staleTtlMs: STALE_TTL_MS } });
    const id = world.plcIdentity(0);
    await resolver.resolveIdentity(id.did);
    const events = listen(resolver);
    const before = requests();

    // One millisecond before both entries turn stale, with a clock that moves
    // on at every reading: a second reading would find the handle stale.
    clock.at(t0 + STALE_TTL_MS - 1, 1_000);
    const readingsBefore = clock.readings();
    const pending = resolver.resolveIdentity(id.did);
    expect(clock.readings() - readingsBefore).toBe(1);
    clock.at(t0 + STALE_TTL_MS - 1);
    const identity = await pending;

    expect(identity.handleCheck).toBe('verified');
    expect(identity.handle).toBe(id.handle);
    expect(events).toEqual(['plc:ok:hit', 'handle:ok:hit', 'identity:ok:bypass']);
    expect(requests()).toBe(before);
    const stats = resolver.stats().cache;
    expect(stats.did).toMatchObject({ hits: 1, staleHits: 0 });
    expect(stats.handle).toMatchObject({ hits: 1, staleHits: 0 });
  });

  it('a handle entry past its fresh TTL at that reading is served stale while it refreshes; the document counts one hit', async () => {
    const clock = controlClock();
    const t0 = Date.now();
    await using resolver = resolverFor(world, { cache: { staleTtlMs: STALE_TTL_MS } });
    const id = world.plcIdentity(1);
    await resolver.resolveIdentity(id.did);
    // The document is fetched again later, so at t0 + STALE_TTL_MS it is fresh and the handle is not.
    clock.at(t0 + STALE_TTL_MS / 2);
    await resolver.did.resolve(id.did, { forceRefresh: true });
    clock.at(t0 + STALE_TTL_MS);
    const events = listen(resolver);

    const identity = await resolver.resolveIdentity(id.did);

    expect(identity.handleCheck).toBe('verified');
    expect(events).toEqual(['plc:ok:hit', 'handle:ok:stale', 'identity:ok:bypass']);
    const stats = resolver.stats().cache;
    expect(stats.did).toMatchObject({ hits: 1, staleHits: 0 });
    expect(stats.handle).toMatchObject({ hits: 0, staleHits: 1 });
    await vi.waitFor(() => expect(resolver.stats().cache.handle?.refreshes).toBe(1));
  });

  it('a document past its fresh TTL is not a hit: served stale by the full path, its handle still from the cache', async () => {
    const clock = controlClock();
    const t0 = Date.now();
    await using resolver = resolverFor(world, { cache: { staleTtlMs: STALE_TTL_MS } });
    const id = world.plcIdentity(2);
    await resolver.resolveIdentity(id.did);
    clock.at(t0 + STALE_TTL_MS / 2);
    await resolver.handle.resolve(id.handle, true);
    clock.at(t0 + STALE_TTL_MS);
    const events = listen(resolver);

    const identity = await resolver.resolveIdentity(id.did);

    expect(identity.handleCheck).toBe('verified');
    expect(events).toEqual(['plc:ok:stale', 'handle:ok:hit', 'identity:ok:bypass']);
    expect(resolver.stats().cache.did).toMatchObject({ hits: 0, staleHits: 1 });
  });

  it('answers with what the handle entry names now: another DID, none, then the DID again', async () => {
    await using resolver = resolverFor(world);
    const id = world.plcIdentity(3);
    expect((await resolver.resolveIdentity(id.did)).handleCheck).toBe('verified');

    world.setFaults({ dns: { wrongId: 100 }, handle: { wrongId: 100 } });
    expect(await resolver.handle.resolve(id.handle, true)).not.toBe(id.did);
    let before = requests();
    const moved = await resolver.resolveIdentity(id.did);
    expect(moved).toMatchObject({ did: id.did, handle: 'handle.invalid', handleCheck: 'mismatch', declaredHandle: id.handle });
    expect(requests()).toBe(before);

    world.setFaults({ dns: { notFound: 100 }, handle: { notFound: 100 } });
    expect(await resolver.handle.resolve(id.handle, true)).toBeUndefined();
    before = requests();
    expect((await resolver.resolveIdentity(id.did)).handleCheck).toBe('mismatch');
    expect(requests()).toBe(before);

    world.setFaults({});
    expect(await resolver.handle.resolve(id.handle, true)).toBe(id.did);
    before = requests();
    expect(await resolver.resolveIdentity(id.did)).toMatchObject({ handle: id.handle, handleCheck: 'verified' });
    expect(requests()).toBe(before);
    expect(resolver.stats().cache.handle).toMatchObject({ hits: 2, negativeHits: 1 });
  });

  it('a cached not-found document rejects with DidNotFoundError, counted as a negative hit', async () => {
    await using resolver = resolverFor(world);
    const unknown = `did:plc:${'q'.repeat(24)}`;
    await expect(resolver.resolveIdentity(unknown)).rejects.toBeInstanceOf(DidNotFoundError);
    const events = listen(resolver);
    await expect(resolver.resolveIdentity(unknown)).rejects.toBeInstanceOf(DidNotFoundError);
    expect(events).toEqual(['plc:not_found:hit', 'identity:not_found:bypass']);
    expect(resolver.stats().cache.did?.negativeHits).toBe(1);
  });

  it('a did:plc-shaped input that is not a valid did:plc is refused with InvalidDidError, cache or not', async () => {
    await using resolver = resolverFor(world);
    const id = world.plcIdentity(4);
    await resolver.resolveIdentity(id.did);
    const suffix = id.did.slice('did:plc:'.length);
    // Same length and prefix; a digit outside base32 (0, 1, 8, 9), a capital, a space.
    const bad = [`did:plc:0${suffix.slice(1)}`, `did:plc:${suffix.slice(0, 23)}8`, `did:plc:${suffix.toUpperCase()}`, `did:plc: ${suffix.slice(1)}`];
    for (const input of bad) {
      await expect(resolver.resolveIdentity(input)).rejects.toBeInstanceOf(InvalidDidError);
      await expect(resolver.did.resolve(input)).rejects.toBeInstanceOf(InvalidDidError);
    }
    const counts = resolver.stats().resolutions;
    expect(counts.identity.invalid).toBe(bad.length);
    expect(counts.plc.invalid).toBe(bad.length);
  });
});
