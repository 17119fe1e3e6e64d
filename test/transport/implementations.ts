import { CurlTransport } from '../../src/transport/curl.js';
import type { TransportOptions } from '../../src/transport/options.js';
import type { Transport } from '../../src/transport/types.js';
import { UndiciTransport } from '../../src/transport/undici.js';

/**
 * Every transport implementation the conformance suite runs against. Each
 * entry builds a transport from plain `TransportOptions`; the cases only use
 * the `Transport` interface, so they run unchanged for every entry.
 */
export interface TransportImplementation {
  name: string;
  create(options: TransportOptions): Transport;
}

export const implementations: TransportImplementation[] = [
  { name: 'curl', create: (options) => new CurlTransport(options) },
  { name: 'undici', create: (options) => new UndiciTransport(options) },
];
