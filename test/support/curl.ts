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

/** Wait until `check()` is true, polling every 10 ms, at most `timeoutMs`. */
export async function waitFor(check: () => boolean, timeoutMs = 5_000): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return true;
}
