// The resolvers bench/resolve.mjs compares, each pointed at the local world
// and built as a user would build it (defaults, except what reaching the
// world needs). Each maker runs in a child process of its own and returns
//   { name, atprotoData(did), identity(did, handle), hits, close() }
// where
//   name         what ran, with versions: `@atproto/identity 0.4.12`;
//   atprotoData  the atproto data of a DID (document fetched, parsed, its
//                handle, PDS and signing key read);
//   identity     a DID resolved to an identity verified both ways (the
//                document's handle resolves back to the DID); throws
//                unless it verifies to `handle`;
//   hits         cache reads by name ({ 'did.resolve': fn, ... }), or a
//                string saying why the contender has none; only with
//                `cache: true`.
// atresolve is set up as `atresolve soak` sets it up (src/cli/ours.ts), the
// peers as the soak's adapters do (src/cli/peers/).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

/** The installed version of a package, from the package.json above its entry point (some export no ./package.json). */
function versionOf(name) {
  let dir = dirname(fileURLToPath(import.meta.resolve(name)));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      if (pkg.name === name) return pkg.version;
    } catch {
      // no package.json here
    }
    if (dirname(dir) === dir) return '?';
    dir = dirname(dir);
  }
}

/** Thrown when an identity does not verify both ways (never expected from the world). */
class UnverifiedError extends Error {
  code = 'UNVERIFIED';
}

/** atresolve's `IdResolver` on its curl or undici transport. */
async function atresolve(transportKind, world, { cache, timeoutMs }) {
  const { IdResolver } = await import('../dist/resolve/id-resolver.js');
  const { CurlTransport, UndiciTransport, loadNativeAddon } = await import('../dist/transport/index.js');
  const options = {
    caFile: world.caFile,
    connectTo: { ...world.connectTo },
    allowPrivateNetwork: true,
    // As the soak (src/cli/ours.ts): the PLC directory is one route.
    maxConnectionsPerHost: 256,
  };
  const transport = transportKind === 'curl' ? new CurlTransport(options) : new UndiciTransport(options);
  const resolver = new IdResolver({
    plcUrl: world.plcUrl,
    allowTestTlds: true,
    timeoutMs,
    cache: cache ? {} : false,
    dns: { nameservers: [world.dnsServer] },
    handleStrategy: 'dns-first',
    transport,
  });
  const load = loadNativeAddon();
  return {
    name: `atresolve ${require('../package.json').version} (${transportKind}${transportKind === 'curl' && load.ok ? `, libcurl ${load.addon.curlVersion}` : ''})`,
    atprotoData: (did) => resolver.did.resolveAtprotoData(did),
    async identity(did, handle) {
      const identity = await resolver.resolveIdentity(did);
      if (identity.handleCheck !== 'verified' || identity.handle !== handle) throw new UnverifiedError(`${did}: ${identity.handleCheck}`);
    },
    hits: {
      'did.resolve': (did) => resolver.did.resolve(did),
      resolveIdentity: (did) => resolver.resolveIdentity(did),
    },
    async close() {
      await resolver.close();
      await transport.close();
    },
  };
}

/**
 * `@atproto/identity`'s `IdResolver` (0.4 from `@atproto/identity` on the
 * world's global fetch dispatcher; 0.5 from the `@atproto/identity-0.5`
 * alias with its default safe fetch routed to the world, or with
 * `fetch: globalThis.fetch` as 0.5 documents for tests, see
 * src/cli/peers/atproto-identity-0.5.ts). The library has no one-call
 * verified lookup: `identity` is `did.resolveAtprotoData` then
 * `handle.resolve` of the document's handle, as its users write it. Its
 * cache is for DID documents only (`MemoryCache`), so a verified identity
 * always resolves the handle again.
 */
async function atprotoIdentity(major, world, { cache, timeoutMs }, safeFetch = true) {
  let resolver;
  let name;
  let close;
  if (major === '0.4') {
    const peer = await import('@atproto/identity');
    const { useWorldNetwork } = await import('../dist/cli/peers/world-network.js');
    const agent = useWorldNetwork(world);
    resolver = new peer.IdResolver({ plcUrl: world.plcUrl, timeout: timeoutMs, ...(cache ? { didCache: new peer.MemoryCache() } : {}) });
    name = `@atproto/identity ${versionOf('@atproto/identity')}`;
    close = () => agent.close();
  } else {
    const { atprotoIdentity05Resolver } = await import('../dist/cli/peers/atproto-identity-0.5.js');
    const peer = await atprotoIdentity05Resolver(world, { cache, timeoutMs, recycleAfter: 0, handleStrategy: 'dns-first' }, { safeFetch });
    resolver = peer.resolver;
    name = `@atproto/identity ${peer.version} (${safeFetch ? 'its safe fetch' : 'global fetch'})`;
    close = () => peer.close();
  }
  return {
    name,
    atprotoData: (did) => resolver.did.resolveAtprotoData(did),
    async identity(did, handle) {
      const data = await resolver.did.resolveAtprotoData(did);
      if (data.handle !== handle) throw new UnverifiedError(`${did}: document names ${data.handle}`);
      const back = await resolver.handle.resolve(data.handle);
      if (back !== did) throw new UnverifiedError(`${handle} resolves to ${back}`);
    },
    hits: { 'did.resolve': (did) => resolver.did.resolve(did), resolveIdentity: 'no handle cache' },
    close,
  };
}

/**
 * `@atcute/identity-resolver` (+ `-node` for DNS): documents through a
 * composite plc/web resolver, identities through `LocalActorResolver`
 * (verifies both ways), DNS first, each call with its own timeout signal.
 * atcute reads the signing key but does not check its curve point (ours
 * does). Its resolvers keep no cache.
 */
async function atcute(world, { timeoutMs }) {
  const lib = await import('@atcute/identity-resolver');
  const nodeLib = await import('@atcute/identity-resolver-node');
  const identityLib = await import('@atcute/identity');
  const { useWorldNetwork } = await import('../dist/cli/peers/world-network.js');
  const agent = useWorldNetwork(world);
  const signal = () => AbortSignal.timeout(timeoutMs);
  const documents = new lib.CompositeDidDocumentResolver({
    methods: { plc: new lib.PlcDidDocumentResolver({ apiUrl: world.plcUrl }), web: new lib.WebDidDocumentResolver() },
  });
  const handles = new lib.CompositeHandleResolver({
    strategy: 'dns-first',
    methods: { dns: new nodeLib.NodeDnsHandleResolver({ nameservers: [world.dnsServer] }), http: new lib.WellKnownHandleResolver() },
  });
  const actors = new lib.LocalActorResolver({ handleResolver: handles, didDocumentResolver: documents });
  return {
    name: `@atcute/identity-resolver ${versionOf('@atcute/identity-resolver')}`,
    async atprotoData(did) {
      const doc = await documents.resolve(did, { signal: signal() });
      identityLib.getAtprotoHandle(doc);
      identityLib.getPdsEndpoint(doc);
      identityLib.getAtprotoVerificationMaterial(doc);
    },
    async identity(did, handle) {
      const actor = await actors.resolve(did, { signal: signal() });
      if (actor.handle !== handle) throw new UnverifiedError(`${did}: ${actor.handle}`);
    },
    hits: 'no cache',
    close: () => agent.close(),
  };
}

/** The contenders by id: `make(world, { cache, timeoutMs })`. */
export const CONTENDERS = {
  curl: { label: 'atresolve (curl)', make: (world, settings) => atresolve('curl', world, settings) },
  undici: { label: 'atresolve (undici)', make: (world, settings) => atresolve('undici', world, settings) },
  'atproto-0.4': { label: '@atproto/identity 0.4', make: (world, settings) => atprotoIdentity('0.4', world, settings) },
  'atproto-0.5': { label: '@atproto/identity 0.5', make: (world, settings) => atprotoIdentity('0.5', world, settings) },
  'atproto-0.5-global-fetch': {
    label: '@atproto/identity 0.5 (global fetch)',
    make: (world, settings) => atprotoIdentity('0.5', world, settings, false),
  },
  atcute: { label: '@atcute/identity-resolver', make: (world, settings) => atcute(world, settings) },
};
