import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import type { Agent } from 'undici';
import { AtresolveError } from '../../errors.js';
import type { WorldEndpoints } from '../../world/endpoints.js';
import type { ContenderSettings } from '../contender.js';
import { MissingPeerError } from '../errors.js';
import { importPeer, nodeMajor, peerManifest } from './load.js';
import { useWorldNetwork } from './world-network.js';

/** The alias under which `@atproto/identity` 0.5 is installed, next to 0.4 (which still runs on Node 20). */
export const ATPROTO_IDENTITY_05 = '@atproto/identity-0.5';

/** The npm command that adds it. */
export const ATPROTO_IDENTITY_05_INSTALL = `npm i -D ${ATPROTO_IDENTITY_05}@npm:@atproto/identity@^0.5`;

type Peer = typeof import('@atproto/identity-0.5');
type PeerFetch = NonNullable<ConstructorParameters<Peer['IdResolver']>[0]>['fetch'];

/** The part of `@atproto-labs/fetch-node` used here: the SSRF-protected fetch 0.5 builds by default. */
interface FetchNode {
  safeFetchWrap(options: {
    fetch: typeof globalThis.fetch;
    allowIpHost: boolean;
    allowImplicitRedirect: boolean;
  }): PeerFetch;
}

/** A peer library is installed but cannot run on this Node (the message says why). */
export class PeerNodeVersionError extends AtresolveError {
  readonly code = 'PEER_NODE_VERSION';
}

/** `@atproto/identity` 0.5, pointed at the world (see `atprotoIdentity05Resolver`). */
export interface AtprotoIdentity05 {
  /** Its `IdResolver`, on the world. */
  readonly resolver: InstanceType<Peer['IdResolver']>;
  /** The version installed, from its package.json. */
  readonly version: string;
  /** Close the world Agent. */
  close(): Promise<void>;
}

/** How the 0.5 resolver fetches. */
export interface AtprotoIdentity05Options {
  /**
   * `true`: the SSRF-protected fetch 0.5 builds by default, routed to the
   * world (see `atprotoIdentity05Resolver`). `false`: the global `fetch` on
   * the world Agent, which 0.5 documents for tests and local stacks
   * (`new IdResolver({ fetch: globalThis.fetch })`). Default `true`: what
   * a user of 0.5 runs.
   */
  safeFetch?: boolean;
}

/**
 * `@atproto/identity` 0.5 (installed as `@atproto/identity-0.5`) on the
 * local world, for benchmarks: an `IdResolver` with a `MemoryCache` when
 * `settings.cache`, and by default the fetch 0.5 builds routed to the world.
 *
 * 0.5 resolves through an SSRF-protected fetch of `@atproto-labs/fetch-node`
 * (`safeFetchWrap`: explicit-redirect check, host and protocol policy, a
 * timeout, a response size cap, and an undici Agent whose DNS lookup
 * refuses non-public names and addresses). The world is `.test` names on
 * 127.0.0.1 with its own CA, which that Agent refuses by design; so the
 * same `safeFetchWrap` with the same options as 0.5's own `createDefaultFetch`
 * is built here, but the request goes out on the world Agent
 * (`useWorldNetwork`) instead of the guarded one. Everything but the
 * connect-time lookup check of 0.5's production path is measured.
 *
 * @throws MissingPeerError when the alias is not installed
 * @throws PeerNodeVersionError on a Node older than its `engines` field
 *   allows (Node 22)
 */
export async function atprotoIdentity05Resolver(
  world: WorldEndpoints,
  settings: ContenderSettings,
  options: AtprotoIdentity05Options = {},
): Promise<AtprotoIdentity05> {
  const require = createRequire(import.meta.url);
  let identityPath: string;
  try {
    identityPath = require.resolve(ATPROTO_IDENTITY_05);
  } catch (error) {
    throw new MissingPeerError(ATPROTO_IDENTITY_05, `${ATPROTO_IDENTITY_05} is not installed; add it with: ${ATPROTO_IDENTITY_05_INSTALL}`, { cause: error });
  }
  const { version, engines } = peerManifest(identityPath);
  // Checked before loading: on Node 20 the load fails, and Node 20's ES
  // module loader then also rethrows the failure as an uncaught exception.
  const floor = Number(/^>=\s*(\d+)/.exec(engines?.node ?? '')?.[1] ?? 0);
  if (nodeMajor() < floor) {
    throw new PeerNodeVersionError(
      `@atproto/identity ${version} needs Node ${engines?.node} (its engines field: its fetch, undici 8, needs zlib's zstd); this is Node ${process.versions.node}`,
    );
  }
  const peer = await importPeer(ATPROTO_IDENTITY_05, ATPROTO_IDENTITY_05_INSTALL, () => import('@atproto/identity-0.5'));
  // @atproto-labs/fetch-node is 0.5's own dependency: load the copy it resolves.
  const fetchNode = (await import(pathToFileURL(createRequire(identityPath).resolve('@atproto-labs/fetch-node')).href)) as FetchNode;
  const agent: Agent = useWorldNetwork(world);
  // The safe fetch passes its guarded Agent as `dispatcher`; the world Agent replaces it.
  const toWorld: typeof globalThis.fetch = (input, init) => globalThis.fetch(input, { ...init, dispatcher: agent as unknown } as RequestInit);
  const fetch = options.safeFetch === false ? globalThis.fetch : fetchNode.safeFetchWrap({ fetch: toWorld, allowIpHost: false, allowImplicitRedirect: false });
  const resolver = new peer.IdResolver({
    plcUrl: world.plcUrl,
    timeout: settings.timeoutMs,
    fetch,
    ...(settings.cache ? { didCache: new peer.MemoryCache() } : {}),
  });
  return { resolver, version, close: () => agent.close() };
}
