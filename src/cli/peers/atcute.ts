import type { WorldEndpoints } from '../../world/endpoints.js';
import { UnverifiedHandleError, type Contender, type ContenderSettings } from '../contender.js';
import type { LoadKind } from '../load-plan.js';
import { openSocketCount } from '../sockets.js';
import { importPeer } from './load.js';
import { useWorldNetwork } from './world-network.js';

const INSTALL = 'npm i -D @atcute/identity-resolver @atcute/identity-resolver-node';

/**
 * `@atcute/identity-resolver` (+ `-node` for DNS) as a bench contender,
 * pointed at the world through the process-global fetch dispatcher and DNS
 * servers. `plc`/`web` resolve the document and read its handle, PDS and
 * signing key (atcute does not check the key's curve point, ours does);
 * `handle` uses `LocalActorResolver`, which verifies both ways, with DNS
 * first. Caching is not offered by atcute's resolvers; `settings.cache` is
 * ignored.
 *
 * @throws MissingPeerError when the packages are not installed
 */
export async function atcuteContender(world: WorldEndpoints, settings: ContenderSettings): Promise<Contender> {
  const resolverLib = await importPeer('@atcute/identity-resolver', INSTALL, () => import('@atcute/identity-resolver'));
  const nodeLib = await importPeer('@atcute/identity-resolver-node', INSTALL, () => import('@atcute/identity-resolver-node'));
  const identityLib = await importPeer('@atcute/identity', INSTALL, () => import('@atcute/identity'));
  const agent = useWorldNetwork(world);
  const baseline = openSocketCount() ?? 0;
  const signal = (): AbortSignal => AbortSignal.timeout(settings.timeoutMs);
  const documents = new resolverLib.CompositeDidDocumentResolver({
    methods: {
      plc: new resolverLib.PlcDidDocumentResolver({ apiUrl: world.plcUrl }),
      web: new resolverLib.WebDidDocumentResolver(),
    },
  });
  const handles = new resolverLib.CompositeHandleResolver({
    strategy: 'dns-first',
    methods: {
      dns: new nodeLib.NodeDnsHandleResolver({ nameservers: [world.dnsServer] }),
      http: new resolverLib.WellKnownHandleResolver(),
    },
  });
  const actors = new resolverLib.LocalActorResolver({ handleResolver: handles, didDocumentResolver: documents });
  type AnyDid = Parameters<typeof documents.resolve>[0];
  type AnyActor = Parameters<typeof actors.resolve>[0];
  return {
    name: '@atcute/identity-resolver',
    async resolve(kind: LoadKind, target: string): Promise<void> {
      if (kind === 'handle') {
        const actor = await actors.resolve(target as AnyActor, { signal: signal() });
        if (actor.handle !== target) throw new UnverifiedHandleError(target);
        return;
      }
      const doc = await documents.resolve(target as AnyDid, { signal: signal() });
      identityLib.getAtprotoHandle(doc);
      identityLib.getPdsEndpoint(doc);
      identityLib.getAtprotoVerificationMaterial(doc);
    },
    openConnections: () => Math.max(0, (openSocketCount() ?? baseline) - baseline),
    recycles: () => 0,
    close: () => agent.close(),
  };
}
