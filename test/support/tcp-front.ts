import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';

/**
 * A TCP front on a stable 127.0.0.1 port that forwards every connection to
 * whatever port it currently points at (TLS passes through untouched), as a
 * load balancer in front of a service would. When the backend dies, the
 * client side of each of its connections is destroyed too; `pointAt()`
 * sends new connections to a restarted backend. Used to kill and restart
 * the world under a running resolver without changing its `connectTo`.
 */
export interface TcpFront {
  readonly port: number;
  /** Pairs of sockets open right now (client side). */
  readonly open: number;
  /** Send new connections to `port` on 127.0.0.1 (`undefined`: refuse them). */
  pointAt(port: number | undefined): void;
  close(): Promise<void>;
}

/**
 * @param initial the backend port, or `undefined` to drop connections until `pointAt()`
 * @param port the front's own port; default 0 (any free port). A test that
 *   needs "connection refused, then the host is back" picks a free port,
 *   connects to it while nothing listens, then starts the front on it.
 */
export async function startTcpFront(initial: number | undefined, port = 0): Promise<TcpFront> {
  let target = initial;
  const pairs = new Set<Socket>();
  const server = createServer((client) => {
    client.on('error', () => {});
    if (target === undefined) {
      client.destroy();
      return;
    }
    pairs.add(client);
    const upstream = connect(target, '127.0.0.1');
    upstream.on('error', () => {});
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      pairs.delete(client);
    };
    client.on('close', drop);
    upstream.on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return {
    port: address.port,
    get open() {
      return pairs.size;
    },
    pointAt(port) {
      target = port;
    },
    async close() {
      for (const socket of pairs) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}
