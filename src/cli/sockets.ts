import { readdirSync, readlinkSync } from 'node:fs';

/**
 * Sockets this process holds open, counted from `/proc/self/fd` (every fd
 * whose link is `socket:[…]`): TCP, UDP and the IPC channel alike, so
 * callers subtract a baseline taken before any request. Works for any
 * library, JS or native. Linux only; `null` where `/proc` is missing.
 * Costs one `readlink` per open fd.
 */
export function openSocketCount(): number | null {
  let fds: string[];
  try {
    fds = readdirSync('/proc/self/fd');
  } catch {
    return null;
  }
  let sockets = 0;
  for (const fd of fds) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:')) sockets += 1;
    } catch {
      // closed between readdir and readlink
    }
  }
  return sockets;
}
