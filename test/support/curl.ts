import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
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

/** Socket file descriptors of this process (`socket:[inode]` links in /proc/self/fd). */
export function socketInodes(): string[] {
  const out: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    let link: string;
    try {
      link = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // closed between readdir and readlink
    }
    const match = /^socket:\[(\d+)\]$/.exec(link);
    if (match?.[1]) out.push(match[1]);
  }
  return out;
}

/**
 * Client-side TCP sockets of this process connected to `port`: socket fds
 * whose inode is a /proc/self/net/tcp{,6} entry with that remote port. The
 * test server runs in the same process, so a plain socket-fd count would
 * also see its accepted sockets (and libcurl's internal socketpairs).
 */
export function clientSocketsTo(port: number): number {
  const inodes = new Set<string>();
  for (const file of ['/proc/self/net/tcp', '/proc/self/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      const remote = cols[2];
      const inode = cols[9];
      if (remote === undefined || inode === undefined || inode === '0') continue;
      if (Number.parseInt(remote.split(':')[1] ?? '', 16) === port) inodes.add(inode);
    }
  }
  return socketInodes().filter((inode) => inodes.has(inode)).length;
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
