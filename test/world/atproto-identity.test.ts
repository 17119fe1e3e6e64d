import { getServers, setServers } from 'node:dns';
import { IdResolver, PoorlyFormattedDidDocumentError } from '@atproto/identity';
import { Agent, buildConnector, getGlobalDispatcher, setGlobalDispatcher, type Dispatcher } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectToMap } from '../../src/transport/connect-to.js';
import { startWorld, type World } from '../../src/world/world.js';

// The reference implementation (@atproto/identity) resolves against the world
// with global fetch and the global DNS servers, redirected to loopback here:
// this file runs in its own fork, so the globals do not leak.
let world: World;
let previousDispatcher: Dispatcher;
let previousServers: string[];
let agent: Agent;

beforeAll(async () => {
  world = await startWorld({ identities: 200 });
  const routes = new ConnectToMap(world.connectTo);
  const connector = buildConnector({ ca: world.caPem });
  agent = new Agent({
    connect: (options, callback) => {
      const to = routes.lookup(options.hostname, Number(options.port || 443));
      if (to === undefined) {
        callback(new Error(`no route to ${options.hostname}`), null);
        return;
      }
      connector({ ...options, hostname: to.ip, port: String(to.port), servername: options.hostname }, callback);
    },
  });
  previousDispatcher = getGlobalDispatcher();
  setGlobalDispatcher(agent);
  previousServers = getServers();
  setServers([world.dnsServer]);
});

afterAll(async () => {
  setGlobalDispatcher(previousDispatcher);
  if (previousServers) setServers(previousServers);
  await agent?.close();
  await world?.close();
});

describe('@atproto/identity against the world', () => {
  it.each([
    ['did:plc', () => world.plcIdentity(3)],
    ['did:web', () => world.webIdentity(3)],
  ])('resolves a %s identity both ways and reads its atproto data', async (_method, pick) => {
    const id = pick();
    const resolver = new IdResolver({ plcUrl: world.plcUrl, timeout: 5_000 });
    world.resetCounters();
    expect(await resolver.handle.resolve(id.handle)).toBe(id.did);
    const data = await resolver.did.resolveAtprotoData(id.did, true);
    expect(data).toEqual({ did: id.did, signingKey: id.key.didKey, handle: id.handle, pds: 'https://pds.test' });
    const counters = world.counters();
    expect(counters.dns.ok).toBe(1);
    expect(counters[id.method].ok).toBe(1);
  });

  it('falls back to the HTTPS well-known when DNS fails, and sees the wrong DID of a wrongId fault', async () => {
    const id = world.plcIdentity(10);
    const resolver = new IdResolver({ plcUrl: world.plcUrl, timeout: 5_000 });
    world.setFaults({ dns: { serverError: 100 } });
    try {
      world.resetCounters();
      expect(await resolver.handle.resolve(id.handle)).toBe(id.did);
      expect(world.counters().dns.faults.serverError).toBeGreaterThan(0);
      expect(world.counters().handle.ok).toBe(1);
      world.setFaults({ plc: { wrongId: 100 } });
      await expect(resolver.did.resolve(id.did, true)).rejects.toThrow(PoorlyFormattedDidDocumentError);
      expect(world.counters().plc.faults.wrongId).toBe(1);
    } finally {
      world.setFaults({});
    }
  });
});
