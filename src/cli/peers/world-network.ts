import { setServers } from 'node:dns';
import { syncBuiltinESMExports } from 'node:module';
import { Agent, buildConnector, setGlobalDispatcher } from 'undici';
import { ConnectToMap } from '../../transport/connect-to.js';
import type { WorldEndpoints } from '../../world/endpoints.js';

/** How the peers' global fetch connects. */
export interface WorldNetworkOptions {
  /**
   * Connections per origin of the global undici Agent. Default: undici's
   * own (no limit), which is what a peer using global `fetch` gets.
   */
  connectionsPerOrigin?: number;
  /**
   * Idle keep-alive time of a connection, ms. Default: undici's own (4 s,
   * shortened by the server's `Keep-Alive` hint), as global `fetch` has.
   */
  keepAliveTimeoutMs?: number;
}

/**
 * Point this process's global `fetch` and default DNS resolver at a local
 * world, for peers that take no transport of their own (`@atproto/identity`
 * uses global `fetch` and `node:dns/promises`; atcute takes a `fetch`).
 *
 * Installs a global undici dispatcher (`setGlobalDispatcher`, which Node's
 * built-in `fetch` also reads) whose `connect` trusts the world's CA and
 * routes the world's hosts (`plc.test`, `*.web.test`, `*.handle.test`) to
 * its port, keeping the host as the TLS server name; and sets the default
 * DNS servers to the world's, for CommonJS and ES module callers alike.
 * Meant for a load-runner child that does nothing else: it changes
 * process-wide state and returns the Agent so the caller can close it.
 */
export function useWorldNetwork(world: WorldEndpoints, options: WorldNetworkOptions = {}): Agent {
  const routes = new ConnectToMap(world.connectTo, 'world.connectTo');
  const connector = buildConnector({ ca: world.caPem });
  // Only `connect` differs from Node's global dispatcher: the peer is
  // measured with the pooling it has in production.
  const agent = new Agent({
    ...(options.connectionsPerOrigin === undefined ? {} : { connections: options.connectionsPerOrigin }),
    ...(options.keepAliveTimeoutMs === undefined ? {} : { keepAliveTimeout: options.keepAliveTimeoutMs }),
    connect: (opts, callback) => {
      const to = routes.lookup(opts.hostname, Number(opts.port || 443));
      if (to === undefined) {
        callback(new Error(`no route to ${opts.hostname} in the local world`), null);
        return;
      }
      connector({ ...opts, hostname: to.ip, port: String(to.port), servername: opts.hostname }, callback);
    },
  });
  setGlobalDispatcher(agent);
  setServers([world.dnsServer]);
  // setServers rebinds the functions of node:dns and node:dns/promises to a
  // new default resolver, but an ES module that imported them by name
  // (`import * as dns from 'node:dns/promises'`, as @atproto/identity 0.5
  // does) keeps the old bindings until the built-in namespaces are synced.
  syncBuiltinESMExports();
  return agent;
}
