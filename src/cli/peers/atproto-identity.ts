import type { WorldEndpoints } from '../../world/endpoints.js';
import { UnverifiedHandleError, type Contender, type ContenderSettings } from '../contender.js';
import type { LoadKind } from '../load-plan.js';
import { openSocketCount } from '../sockets.js';
import { useWorldNetwork } from './world-network.js';
import { importPeer } from './load.js';

/** The npm command that adds the peer (0.5.x needs Node >= 22; 0.4.x runs on Node 20). */
export const ATPROTO_IDENTITY_INSTALL =
  Number(process.versions.node.split('.')[0]) >= 22 ? 'npm i -D @atproto/identity' : 'npm i -D @atproto/identity@0.4';

/**
 * `@atproto/identity` (the reference TypeScript resolver) as a soak or
 * bench contender, pointed at the world through the process-global fetch
 * dispatcher and DNS servers (see `useWorldNetwork`): so the process must
 * run nothing else. `plc`/`web` call `did.resolveAtprotoData()`; `handle`
 * calls `handle.resolve()` then `did.resolveAtprotoData()` and requires the
 * document to name the handle back (the library has no one-call verified
 * lookup). Open connections are the process's socket fds above the
 * baseline taken here.
 *
 * @throws MissingPeerError when the package is not installed
 */
export async function atprotoIdentityContender(world: WorldEndpoints, settings: ContenderSettings): Promise<Contender> {
  const peer = await importPeer('@atproto/identity', ATPROTO_IDENTITY_INSTALL, () => import('@atproto/identity'));
  const agent = useWorldNetwork(world);
  const baseline = openSocketCount() ?? 0;
  const resolver = new peer.IdResolver({
    plcUrl: world.plcUrl,
    timeout: settings.timeoutMs,
    ...(settings.cache ? { didCache: new peer.MemoryCache() } : {}),
  });
  return {
    name: '@atproto/identity',
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
    close: () => agent.close(),
  };
}
