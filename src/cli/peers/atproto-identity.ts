import { createRequire } from 'node:module';
import type { WorldEndpoints } from '../../world/endpoints.js';
import { UnverifiedHandleError, type Contender, type ContenderSettings } from '../contender.js';
import { MissingPeerError } from '../errors.js';
import type { LoadKind } from '../load-plan.js';
import { openSocketCount } from '../sockets.js';
import { ATPROTO_IDENTITY_05_INSTALL, atprotoIdentity05Resolver, PeerNodeVersionError } from './atproto-identity-0.5.js';
import { importPeer, nodeMajor, peerManifest } from './load.js';
import { useWorldNetwork } from './world-network.js';

/**
 * The npm command that adds the peer this Node runs: 0.5 under its alias on
 * Node >= 22 (what `newestPeer` looks for first), else 0.4.
 */
export const ATPROTO_IDENTITY_INSTALL = nodeMajor() >= 22 ? ATPROTO_IDENTITY_05_INSTALL : 'npm i -D @atproto/identity@0.4';

/** The part of either version's `IdResolver` the soak calls. */
interface PeerIdResolver {
  readonly handle: { resolve(handle: string): Promise<string | undefined> };
  readonly did: { resolveAtprotoData(did: string): Promise<{ handle: string }> };
}

/** A peer resolver on the world, the version that runs, and how to release it. */
interface PeerOnWorld {
  readonly resolver: PeerIdResolver;
  readonly version: string;
  close(): Promise<void>;
}

/**
 * `@atproto/identity` (the reference TypeScript resolver) as a soak
 * contender: the newest version this Node runs. On Node >= 22 that is 0.5
 * (the `@atproto/identity-0.5` dev dependency) with the SSRF-protected
 * fetch it builds by default, routed to the world
 * (`atprotoIdentity05Resolver`); on Node 20, or without that alias, 0.4
 * (`@atproto/identity`) on the process-global fetch dispatcher. Both are
 * pointed at the world through the process-global dispatcher and DNS
 * servers (`useWorldNetwork`), so the process must run nothing else. The
 * name says which ran, e.g. `@atproto/identity 0.5.14 (Node 24.22.3)`;
 * `atresolve soak --compare --peer-node` picks the Node.
 *
 * `plc`/`web` call `did.resolveAtprotoData()`; `handle` calls
 * `handle.resolve()` then `did.resolveAtprotoData()` and requires the
 * document to name the handle back (the library has no one-call verified
 * lookup). Open connections are the process's socket fds above the
 * baseline taken here.
 *
 * @throws MissingPeerError when neither version is installed
 */
export async function atprotoIdentityContender(world: WorldEndpoints, settings: ContenderSettings): Promise<Contender> {
  const peer = await newestPeer(world, settings);
  const baseline = openSocketCount() ?? 0;
  const { resolver } = peer;
  return {
    name: `@atproto/identity ${peer.version} (Node ${process.versions.node})`,
    async resolve(kind: LoadKind, target: string): Promise<void> {
      if (kind === 'handle') {
        const did = await resolver.handle.resolve(target);
        if (did === undefined) throw Object.assign(new Error(`no DID for ${target}`), { code: 'HANDLE_NOT_FOUND' });
        const data = await resolver.did.resolveAtprotoData(did);
        if (data.handle !== target) throw new UnverifiedHandleError(target);
      } else {
        await resolver.did.resolveAtprotoData(target);
      }
    },
    openConnections: () => Math.max(0, (openSocketCount() ?? baseline) - baseline),
    recycles: () => 0,
    close: () => peer.close(),
  };
}

/** 0.5 where this Node runs it and it is installed, else 0.4. */
async function newestPeer(world: WorldEndpoints, settings: ContenderSettings): Promise<PeerOnWorld> {
  if (nodeMajor() >= 22) {
    try {
      return await atprotoIdentity05Resolver(world, settings);
    } catch (error) {
      if (!(error instanceof MissingPeerError) && !(error instanceof PeerNodeVersionError)) throw error;
    }
  }
  const peer = await importPeer('@atproto/identity', ATPROTO_IDENTITY_INSTALL, () => import('@atproto/identity'));
  const agent = useWorldNetwork(world);
  const resolver = new peer.IdResolver({
    plcUrl: world.plcUrl,
    timeout: settings.timeoutMs,
    ...(settings.cache ? { didCache: new peer.MemoryCache() } : {}),
  });
  const { version } = peerManifest(createRequire(import.meta.url).resolve('@atproto/identity'));
  return { resolver, version, close: () => agent.close() };
}
