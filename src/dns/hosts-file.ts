import { readFileSync, statSync } from 'node:fs';
import { isIP } from 'node:net';

/** How often, at most, the file's modification time is checked. */
const CHECK_INTERVAL_MS = 5_000;
/** A hosts file larger than this is not read (a relay's is a few lines). */
const MAX_BYTES = 1 << 20;

/** Addresses of one name in the hosts file, IPv4 and IPv6 apart, in file order. */
export interface HostsEntry {
  v4: string[];
  v6: string[];
}

/**
 * `/etc/hosts` (or another file in its format): `address name [alias…]`
 * per line, `#` comments. Read at first use and again when its
 * modification time changes (checked at most every 5 s on lookup). A file
 * that cannot be read counts as empty, as glibc treats a missing one.
 */
export class HostsFile {
  readonly #path: string;
  readonly #checkIntervalMs: number;
  #names = new Map<string, HostsEntry>();
  #mtimeMs = -1;
  #checkedAt = -Infinity;

  constructor(path: string, checkIntervalMs = CHECK_INTERVAL_MS) {
    this.#path = path;
    this.#checkIntervalMs = checkIntervalMs;
  }

  /** The entry for a lower-case host name, or `undefined`. */
  lookup(hostname: string): HostsEntry | undefined {
    this.#refresh();
    return this.#names.get(hostname);
  }

  #refresh(): void {
    const now = performance.now();
    if (now - this.#checkedAt < this.#checkIntervalMs) return;
    this.#checkedAt = now;
    let mtimeMs: number;
    let size: number;
    try {
      ({ mtimeMs, size } = statSync(this.#path));
    } catch {
      this.#names = new Map();
      this.#mtimeMs = -1;
      return;
    }
    if (mtimeMs === this.#mtimeMs) return;
    this.#mtimeMs = mtimeMs;
    try {
      this.#names = size > MAX_BYTES ? new Map() : parseHosts(readFileSync(this.#path, 'utf8'));
    } catch {
      this.#names = new Map();
    }
  }
}

/** Parse hosts-file text into lower-case name → addresses. */
export function parseHosts(text: string): Map<string, HostsEntry> {
  const names = new Map<string, HostsEntry>();
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') continue;
    const [address, ...hostnames] = line.split(/\s+/);
    if (address === undefined) continue;
    // A zone index (fe80::1%eth0) is not an address we can connect to by name.
    const family = address.includes('%') ? 0 : isIP(address);
    if (family === 0) continue;
    for (const name of hostnames) {
      const key = name.toLowerCase().replace(/\.$/, '');
      let entry = names.get(key);
      if (!entry) {
        entry = { v4: [], v6: [] };
        names.set(key, entry);
      }
      const list = family === 4 ? entry.v4 : entry.v6;
      if (!list.includes(address)) list.push(address);
    }
  }
  return names;
}
