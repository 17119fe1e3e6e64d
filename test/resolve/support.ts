import type { TransportOptions } from '../../src/transport/options.js';
import { IdResolver } from '../../src/resolve/id-resolver.js';
import type { IdResolverOptions } from '../../src/resolve/options.js';
import type { WorldEndpoints } from '../../src/world/endpoints.js';

/** Transport options that reach a world: its CA, its connectTo map, loopback allowed. */
export function worldTransportOptions(world: WorldEndpoints, extra: TransportOptions = {}): TransportOptions {
  return { caFile: world.caFile, connectTo: { ...world.connectTo }, allowPrivateNetwork: true, ...extra };
}

/**
 * An `IdResolver` pointed at a world: its PLC directory, its DNS server,
 * `.test` allowed, on a transport the resolver creates and owns.
 */
export function resolverFor(world: WorldEndpoints, options: IdResolverOptions = {}, transport: TransportOptions = {}): IdResolver {
  return new IdResolver({
    plcUrl: world.plcUrl,
    allowTestTlds: true,
    dns: { nameservers: [world.dnsServer], tries: 1 },
    transport: worldTransportOptions(world, transport),
    ...options,
  });
}
