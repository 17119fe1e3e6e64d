import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

/**
 * Count this process's open TCP sockets connected to `remotePort`, from the
 * kernel's view: every `/proc/self/fd` entry that is a `socket:[inode]`
 * whose inode `/proc/net/tcp{,6}` lists with that remote port. This sees
 * sockets of any implementation (JS or native) and ignores the test server's
 * own accepted sockets (whose *local* port is the server port), so a test can
 * assert a client-side connection cap exactly. Linux only.
 */
export function socketsConnectedTo(remotePort: number): number {
  const inodes = inodesWithRemotePort(remotePort);
  if (inodes.size === 0) return 0;
  let count = 0;
  for (const inode of socketInodesOfThisProcess()) {
    if (inodes.has(inode)) count += 1;
  }
  return count;
}

/** Every socket inode this process holds an fd for. */
export function socketInodesOfThisProcess(): string[] {
  const inodes: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    let link: string;
    try {
      link = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // closed between readdir and readlink
    }
    const match = /^socket:\[(\d+)\]$/.exec(link);
    if (match?.[1]) inodes.push(match[1]);
  }
  return inodes;
}

function inodesWithRemotePort(port: number): Set<string> {
  const wanted = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const remote = fields[2];
      const inode = fields[9];
      if (remote === undefined || inode === undefined || inode === '0') continue;
      if (remote.slice(remote.indexOf(':') + 1) === wanted) inodes.add(inode);
    }
  }
  return inodes;
}
