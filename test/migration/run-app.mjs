// Runs the compiled test/migration/identity-app.ts (APP, a file path) against
// a local world, on the library it imports: LIB=atproto (@atproto/identity,
// which uses global fetch and the global DNS servers, so both are routed to
// the world here) or LIB=atresolve (given the world through `local`
// options). Prints one JSON line of results; test/migration/migration.test.ts
// compares the two. ATRESOLVE_TEST_DIST is dist/index.js (for the world).
import { setServers } from 'node:dns';
import { pathToFileURL } from 'node:url';
import { Secp256k1Keypair } from '@atproto/crypto';
import { Agent, buildConnector, setGlobalDispatcher } from 'undici';

const dist = pathToFileURL(process.env.ATRESOLVE_TEST_DIST);
const { startWorld, didDocument } = await import(new URL('./world/index.js', dist).href);
const { ConnectToMap } = await import(new URL('./transport/connect-to.js', dist).href);
const app = await import(pathToFileURL(process.env.APP).href);

const world = await startWorld({ identities: 50, webPercent: 20 });
let local = {};
if (process.env.LIB === 'atproto') {
  const routes = new ConnectToMap(world.connectTo);
  const connector = buildConnector({ ca: world.caPem });
  setGlobalDispatcher(
    new Agent({
      connect: (options, callback) => {
        const to = routes.lookup(options.hostname, Number(options.port || 443));
        if (to === undefined) callback(new Error(`no route to ${options.hostname}`), null);
        else connector({ ...options, hostname: to.ip, port: String(to.port), servername: options.hostname }, callback);
      },
    }),
  );
  setServers([world.dnsServer]);
} else {
  local = {
    allowTestTlds: true,
    dns: { nameservers: [world.dnsServer], tries: 1 },
    transport: { caFile: world.caFile, connectTo: { ...world.connectTo }, allowPrivateNetwork: true },
  };
}

/** A service JWT from `issuer`, signed with `signer`'s key. */
async function serviceJwt(issuer, signer) {
  const keypair = await Secp256k1Keypair.import(signer.key.privateKeyHex);
  const encode = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const header = encode({ alg: 'ES256K', typ: 'JWT' });
  const payload = encode({ iss: issuer.did, aud: 'did:web:feeds.example.com', exp: Math.floor(Date.now() / 1000) + 60 });
  const sig = await keypair.sign(Buffer.from(`${header}.${payload}`));
  return `${header}.${payload}.${Buffer.from(sig).toString('base64url')}`;
}

const plcRequests = () => world.counters().plc.requests;
const outcome = (promise) => promise.then((value) => ({ value }), (error) => ({ error: error.constructor.name }));

const resolver = app.createResolver(world.plcUrl, local);
const plc = world.plcIdentity(1);
const web = world.webIdentity(1);
const results = {};

world.resetCounters();
results.feedKeys = [
  await app.getSigningKey(resolver, plc.did, false),
  await app.getSigningKey(resolver, plc.did, false),
  await app.getSigningKey(resolver, web.did, false),
];
results.feedKeyRequests = { plc: plcRequests(), web: world.counters().web.requests };
results.didKey = await app.getSigningKey(resolver, plc.key.didKey, false);

const signer = world.plcIdentity(2);
world.resetCounters();
results.jwtGood = await outcome(app.verifyJwt(resolver, await serviceJwt(signer, signer)));
results.jwtGoodRequests = plcRequests();
const impostor = world.plcIdentity(4);
world.resetCounters();
results.jwtBad = await outcome(app.verifyJwt(resolver, await serviceJwt(world.plcIdentity(3), impostor)));
results.jwtBadRequests = plcRequests();

results.byDid = await app.getIdentityByDid(resolver, plc.did);
results.byDidWeb = await app.getIdentityByDid(resolver, web.did);
results.byDidUnknown = await app.getIdentityByDid(resolver, 'did:plc:aaaaaaaaaaaaaaaaaaaaaaaa');
results.byHandle = await app.getIdentityByHandle(resolver, plc.handle);
results.byHandleUnknown = await app.getIdentityByHandle(resolver, 'nobody.handle.test');
results.indexHandle = [await app.indexHandle(resolver, plc.did), await app.indexHandle(resolver, web.did)];
results.repoHost = await app.repoHost(resolver, web.did);
results.expected = {
  plcKey: plc.key.didKey,
  webKey: web.key.didKey,
  signer: signer.did,
  plcHandle: plc.handle,
  webHandle: web.handle,
  plcDocument: didDocument(plc),
  pds: web.pdsEndpoint,
};

process.stdout.write(`${JSON.stringify(results)}\n`);
await resolver.close?.();
await world.close();
process.exit(0);
