import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totalFaults } from '../../src/world/counters.js';
import { startWorld, type World } from '../../src/world/world.js';
import { atprotoDocumentProblems } from '../support/did-document.js';
import { keepAliveAgent, worldGet, worldResolver } from '../support/world-client.js';

let world: World;

beforeAll(async () => {
  world = await startWorld({ identities: 300 });
});
afterAll(async () => {
  await world?.close();
});

describe('PLC directory on plc.test', () => {
  it('serves a valid atproto document for every did:plc identity, plain and percent-encoded', async () => {
    world.resetCounters();
    for (const k of [0, 1, 79, 80, 200]) {
      const id = world.plcIdentity(k);
      for (const path of [id.did, encodeURIComponent(id.did), id.did.replaceAll(':', '%3a')]) {
        const res = await worldGet(world, `${world.plcUrl}/${path}`);
        expect(res.status).toBe(200);
        expect(res.headers['content-type']).toBe('application/json');
        expect(atprotoDocumentProblems(JSON.parse(res.body.toString()), { did: id.did, handle: id.handle })).toEqual([]);
      }
    }
    expect(world.counters().plc).toMatchObject({ requests: 15, ok: 15, notFound: 0, rejected: 0 });
  });

  it('answers 404 for unknown DIDs and other paths, 400 for bad percent-encoding, 405 for other methods', async () => {
    world.resetCounters();
    const webDid = world.webIdentity(0).did;
    for (const path of [`did:plc:${'a'.repeat(24)}`, 'did:plc:short', encodeURIComponent(webDid), '', `${world.plcIdentity(0).did}/log`]) {
      const res = await worldGet(world, `${world.plcUrl}/${path}`);
      expect(res.status).toBe(404);
    }
    expect((await worldGet(world, `${world.plcUrl}/did%3Aplc%ZZ`)).status).toBe(400);
    const post = await worldGet(world, world.plcIdentity(0).documentUrl, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET');
    expect(world.counters().plc).toMatchObject({ requests: 7, ok: 0, notFound: 5, rejected: 2 });
  });
});

describe('did:web hosts h<i>.web.test', () => {
  it('serves /.well-known/did.json for did:web identities only', async () => {
    world.resetCounters();
    for (const k of [0, 19, 20, 59]) {
      const id = world.webIdentity(k);
      expect(id.documentUrl).toBe(`https://${id.webHost}/.well-known/did.json`);
      const res = await worldGet(world, id.documentUrl);
      expect(res.status).toBe(200);
      expect(atprotoDocumentProblems(JSON.parse(res.body.toString()), { did: id.did, handle: id.handle })).toEqual([]);
    }
    const plc = world.plcIdentity(0);
    expect((await worldGet(world, `https://h${plc.index}.web.test/.well-known/did.json`)).status).toBe(404);
    expect((await worldGet(world, 'https://h5000.web.test/.well-known/did.json')).status).toBe(404);
    expect((await worldGet(world, `https://${world.webIdentity(0).webHost}/did.json`)).status).toBe(404);
    expect(world.counters().web).toMatchObject({ requests: 7, ok: 4, notFound: 3 });
  });
});

describe('handle hosts u<i>.handle.test', () => {
  it('serves the DID as text/plain at /.well-known/atproto-did', async () => {
    world.resetCounters();
    for (const i of [0, 20, 299]) {
      const id = world.identity(i);
      const res = await worldGet(world, id.handleUrl);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/plain/);
      expect(res.body.toString()).toBe(id.did);
    }
    expect((await worldGet(world, 'https://u300.handle.test/.well-known/atproto-did')).status).toBe(404);
    const unroutable = await worldGet(world, 'https://u1.handle.test/.well-known/atproto-did', { hostHeader: 'unknown.example' });
    expect(unroutable.status).toBe(404);
    const counters = world.counters();
    expect(counters.handle).toMatchObject({ requests: 4, ok: 3, notFound: 1 });
    expect(counters.unroutable).toBe(1);
  });

  it('answers round trips both ways: handle → DID → document → handle', async () => {
    for (const i of [7, 42]) {
      const id = world.identity(i);
      const did = (await worldGet(world, id.handleUrl)).body.toString();
      const doc = JSON.parse((await worldGet(world, world.identity(i).documentUrl)).body.toString()) as {
        id: string;
        alsoKnownAs: string[];
      };
      expect(doc.id).toBe(did);
      expect(doc.alsoKnownAs).toEqual([`at://${id.handle}`]);
    }
  });
});

describe('DNS server', () => {
  it('answers TXT _atproto.u<i>.handle.test with did=<did>', async () => {
    world.resetCounters();
    const resolver = worldResolver(world);
    for (const i of [0, 20, 299]) {
      const id = world.identity(i);
      expect(await resolver.resolveTxt(id.dnsName)).toEqual([[`did=${id.did}`]]);
    }
    expect(world.counters().dns).toMatchObject({ requests: 3, ok: 3, notFound: 0 });
  });

  it('answers NXDOMAIN for unknown names and no data for other types of known names', async () => {
    world.resetCounters();
    const resolver = worldResolver(world);
    await expect(resolver.resolveTxt('_atproto.u300.handle.test')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    await expect(resolver.resolveTxt('example.com')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    await expect(resolver.resolve4('_atproto.u1.handle.test')).rejects.toMatchObject({ code: 'ENODATA' });
    expect(world.counters().dns).toMatchObject({ requests: 3, ok: 0, notFound: 3 });
    expect(totalFaults(world.counters())).toBe(0);
  });
});

describe('connections', () => {
  it('counts accepted connections and handshakes; keep-alive reuses one connection across hosts of the world', async () => {
    world.resetCounters();
    const agent = keepAliveAgent();
    try {
      for (let k = 0; k < 5; k += 1) {
        expect((await worldGet(world, world.plcIdentity(k).documentUrl, { agent })).status).toBe(200);
      }
      for (let k = 0; k < 3; k += 1) {
        expect((await worldGet(world, world.plcIdentity(k).documentUrl)).status).toBe(200);
      }
      const { connections } = world.counters();
      // One kept-alive connection for five requests, then three fresh ones.
      expect(connections.accepted).toBe(4);
      expect(connections.handshakes).toBe(4);
    } finally {
      agent.destroy();
    }
  });
});
