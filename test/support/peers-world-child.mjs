// Child process for test/cli/peers-world.test.ts: a fresh process (the
// world network changes process-wide state) that binds node:dns/promises by
// name *before* the world network is set up, as an ES-module peer such as
// @atproto/identity 0.5 does, then starts an in-process world and does one
// thing, printing one JSON line. argv[2]: `dns` (a TXT lookup through the
// name-bound namespace) or `atproto-0.5` (one did:plc resolved and its
// handle resolved back with @atproto/identity 0.5 and its safe fetch).
// Environment: ATRESOLVE_TEST_DIST (dist/index.js).
import * as dns from 'node:dns/promises';
import { pathToFileURL } from 'node:url';

const dist = (path) => new URL(path, pathToFileURL(process.env.ATRESOLVE_TEST_DIST)).href;
const { startWorld } = await import(dist('./world/index.js'));
const { useWorldNetwork } = await import(dist('./cli/peers/world-network.js'));
const { atprotoIdentity05Resolver } = await import(dist('./cli/peers/atproto-identity-0.5.js'));

const world = await startWorld({ identities: 100 });
const identity = world.identity(50); // identities 20–99 of each 100 are did:plc
const out = { did: identity.did, handle: identity.handle };
try {
  if (process.argv[2] === 'dns') {
    const agent = useWorldNetwork(world);
    out.txt = (await dns.resolveTxt(`_atproto.${identity.handle}`)).map((chunks) => chunks.join(''));
    await agent.close();
  } else {
    const peer = await atprotoIdentity05Resolver(world, { cache: false, timeoutMs: 5_000, recycleAfter: 0, handleStrategy: 'dns-first' });
    out.version = peer.version;
    const data = await peer.resolver.did.resolveAtprotoData(identity.did);
    out.resolvedHandle = data.handle;
    out.handleBack = await peer.resolver.handle.resolveDns(data.handle);
    await peer.close();
  }
} catch (error) {
  out.error = { name: error.name, code: error.code, message: error.message };
}
await world.close();
console.log(JSON.stringify(out));
