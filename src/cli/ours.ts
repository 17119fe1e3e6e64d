import { IdResolver } from '../resolve/id-resolver.js';
import { CurlTransport } from '../transport/curl.js';
import type { TransportOptions } from '../transport/options.js';
import type { Transport } from '../transport/types.js';
import { UndiciTransport } from '../transport/undici.js';
import type { WorldEndpoints } from '../world/endpoints.js';
import { UnverifiedHandleError, type Contender, type ContenderSettings } from './contender.js';
import type { LoadKind } from './load-plan.js';

/**
 * atresolve itself as a soak contender: an `IdResolver` on the given
 * transport, pointed at the world (its CA, its `connectTo` map, loopback
 * allowed, `.test` names allowed, its DNS server), with the transport's
 * default bounds. `plc`/`web` call `did.resolveAtprotoData()`, `handle`
 * calls `resolveIdentity()` and requires the handle to verify.
 */
export function ourContender(kind: 'curl' | 'undici', world: WorldEndpoints, settings: ContenderSettings): Contender {
  const options: TransportOptions = {
    caFile: world.caFile,
    connectTo: { ...world.connectTo },
    allowPrivateNetwork: true,
    recycleAfterRequests: settings.recycleAfter,
    // The world's PLC directory is one route carrying half the load, as
    // plc.directory is for a relay. At the default 32 exchanges per route,
    // a step up in load queues the PLC requests behind that cap and
    // bench:overload's capacity halved (1,219 against 2,219–2,382 res/s,
    // docs/soak.md); a relay at these rates raises it the same way.
    maxConnectionsPerHost: 256,
  };
  const transport: Transport = kind === 'curl' ? new CurlTransport(options) : new UndiciTransport(options);
  const resolver = new IdResolver({
    plcUrl: world.plcUrl,
    allowTestTlds: true,
    timeoutMs: settings.timeoutMs,
    cache: settings.cache ? {} : false,
    dns: { nameservers: [world.dnsServer] },
    handleStrategy: settings.handleStrategy,
    transport,
  });
  return {
    name: `atresolve (${kind})`,
    async resolve(what: LoadKind, target: string): Promise<void> {
      if (what === 'handle') {
        const identity = await resolver.resolveIdentity(target);
        if (identity.handle !== target) throw new UnverifiedHandleError(target);
      } else {
        await resolver.did.resolveAtprotoData(target);
      }
    },
    openConnections: () => transport.stats().openConnections,
    recycles: () => transport.stats().recycles,
    newConnectionsByRoute: () => {
      const { repeat, firstSeen } = transport.stats().connectionsByRoute;
      return { repeat: repeat.newConnections, firstSeen: firstSeen.newConnections };
    },
    async close(): Promise<void> {
      await resolver.close();
      await transport.close();
    },
  };
}
