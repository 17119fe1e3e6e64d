import { CurlTransport } from '../../src/transport/curl.js';
import type { TransportOptions } from '../../src/transport/options.js';
import type { TestServer } from './https-server.js';

/**
 * A `CurlTransport` that trusts the server's test CA, may connect to
 * loopback, and maps `*.web.test:443` to the server.
 */
export function curlFor(server: TestServer, options: TransportOptions = {}): CurlTransport {
  return new CurlTransport({
    caFile: server.ca.certFile,
    allowPrivateNetwork: true,
    connectTo: { '*.web.test:443': `127.0.0.1:${server.port}` },
    ...options,
  });
}
