import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResolutionCache } from '../../src/cache/policy.js';
import { RedisCache, type RedisCacheOptions } from '../../src/cache/redis.js';
import { startRedisCluster, type RedisClusterServers } from '../support/redis-server.mjs';
import { countingLoader } from './helpers.js';
import { waitFor } from '../support/async.js';
import { redisSkip, uniquePrefix } from './redis-support.js';
import { describeCacheStoreContract } from './store-contract.js';

/**
 * RedisCache against a real 3-master Redis Cluster (no replicas): the shared
 * store contract, and the slot design — the keys of one entry share a hash
 * slot, entries spread over every master, and no command is cross-slot.
 */
describe.skipIf(redisSkip !== undefined)('RedisCache on a Redis Cluster', () => {
  let cluster: RedisClusterServers;
  const open: RedisCache[] = [];

  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3 });
  });
  afterAll(async () => {
    await Promise.all(open.map((c) => c.close()));
    await cluster?.close();
  });

  async function connect(options: RedisCacheOptions = {}): Promise<RedisCache> {
    const cache = new RedisCache({ clusterNodes: cluster.rootNodes, keyPrefix: uniquePrefix(), ...options });
    open.push(cache);
    await cache.ready();
    return cache;
  }

  describeCacheStoreContract(
    'RedisCacheStore (cluster)',
    async ({ maxEntries, maxBytes, maxTtlMs, now }) => (await connect({ maxEntries, maxBytes, maxTtlMs, now })).store<string>('contract'),
    { sharedTier: true },
  );

  it('keeps the value, lock and wait keys of an entry in one slot, even for keys with braces', async () => {
    const prefix = uniquePrefix();
    const holder = await connect({ keyPrefix: prefix });
    const waiter = await connect({ keyPrefix: prefix });
    const keys = ['did:plc:abc', 'alice.bsky.social', 'odd{key}%7B'];
    for (const key of keys) expect(await holder.did.get(key)).toBeUndefined(); // takes the fill locks
    const waits = keys.map((key) => waiter.did.get(key)); // set the wait flags and wait
    await waitFor('the waiter to wait on every key', () => waiter.stats().fillWaits === keys.length);
    const node = cluster.nodes[0]!;
    const found = (await Promise.all(cluster.nodes.map((n) => n.cli('--scan', '--pattern', `${prefix}did:*`))))
      .flatMap((listing) => listing.split('\n'))
      .filter(Boolean);
    // Per entry: its lock and its wait flag so far.
    expect(found.length).toBe(keys.length * 2);
    for (const key of keys) await holder.store<string>('did').set(key, { value: 'doc', fetchedAt: Date.now(), size: 3 });
    expect((await Promise.all(waits)).map((e) => e?.value)).toEqual(['doc', 'doc', 'doc']);
    const byEntry = new Map<string, string[]>();
    for (const key of found) {
      const entry = key.replace(/:(lock|wait)$/, '');
      byEntry.set(entry, [...(byEntry.get(entry) ?? []), key]);
    }
    expect(byEntry.size).toBe(keys.length);
    for (const [entry, entryKeys] of byEntry) {
      // The value key and the entry's lock and wait keys: one slot.
      const slots = await Promise.all([entry, ...entryKeys].map((k) => node.cli('CLUSTER', 'KEYSLOT', k)));
      expect(new Set(slots).size, entry).toBe(1);
    }
    // After the writes only the values are left (locks released, wait flags consumed).
    const after = (await Promise.all(cluster.nodes.map((n) => n.cli('--scan', '--pattern', `${prefix}did:*`))))
      .flatMap((listing) => listing.split('\n'))
      .filter(Boolean);
    expect(after.sort()).toEqual([...byEntry.keys()].sort());
    // The braces of a key never open a second hash tag.
    expect([...byEntry.keys()]).toContain(`${prefix}did:{odd%7Bkey%7D%257B}`);
  });

  it('spreads entries over every master and runs reads, fills, claims, purges and clears without a cross-slot error', async () => {
    const prefix = uniquePrefix();
    const aCache = await connect({ keyPrefix: prefix });
    const bCache = await connect({ keyPrefix: prefix });
    const a = new ResolutionCache<string>({ store: aCache.handle });
    const b = new ResolutionCache<string>({ store: bCache.handle });
    const loader = countingLoader(() => 'did:plc:x');
    const keys = Array.from({ length: 60 }, (_, i) => `user${i}.test`);
    await Promise.all(keys.flatMap((k) => [a.resolve(k, loader.load), b.resolve(k, loader.load)]));
    // Fleet-wide: each key loaded once, by whichever process took its fill lock.
    expect(loader.calls()).toBe(keys.length);

    const perNode = await Promise.all(cluster.nodes.map((n) => n.cli('--scan', '--pattern', `${prefix}handle:*`)));
    for (const [i, listing] of perNode.entries()) expect(listing.split('\n').filter(Boolean).length, `keys on node ${i}`).toBeGreaterThan(0);

    expect(await aCache.handle.claimRefresh('user1.test', 1_000)).toBe(true);
    expect(await bCache.handle.claimRefresh('user1.test', 1_000)).toBe(false);
    await a.purge('user2.test');
    await waitFor('b to hear the purge', () => bCache.stats().invalidationsReceived === 1);
    await a.clear();
    await waitFor('b to hear the clear', () => bCache.stats().invalidationsReceived === 2);
    const left = await Promise.all(cluster.nodes.map((n) => n.cli('--scan', '--pattern', `${prefix}handle:*`)));
    expect(left.join('')).toBe('');
    expect(bCache.handle.stats().entries).toBe(0);
    expect(aCache.stats().redisErrors + bCache.stats().redisErrors).toBe(0);
    await a.close();
    await b.close();
  });
});
