// A 127.0.0.1 port nothing listens on right now: a probe socket bound to
// port 0, then closed. Connecting to it is refused; a server that needs a
// port it cannot pick itself (redis-server) is started on it. Plain ESM so
// that node-run helpers (redis-server.mjs) can use it too; types in
// free-port.d.mts.
import { once } from 'node:events';
import { createServer } from 'node:net';

export async function freePort() {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('no address');
  return address.port;
}
