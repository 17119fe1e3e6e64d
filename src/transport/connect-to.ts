import { isIP } from 'node:net';
import { InvalidOptionsError } from '../errors.js';

/** Where a `connectTo` rule sends a connection: an IP literal and a port. */
export interface ConnectTarget {
  /** IPv4 or IPv6 literal, without brackets. */
  ip: string;
  port: number;
}

/**
 * Compiled `connectTo` rules: `host:port` → `ip:port`, where a pattern with a
 * leading `*.` matches any subdomain of the rest (but not the bare domain).
 * An exact rule wins over a wildcard; a longer wildcard wins over a shorter.
 */
export class ConnectToMap {
  readonly #exact = new Map<string, ConnectTarget>();
  readonly #wildcard = new Map<string, ConnectTarget>();

  /**
   * @param rules e.g. `{ '*.web.test:443': '127.0.0.1:8443' }`
   * @param optionName option name used in error messages
   * @throws InvalidOptionsError for a malformed pattern or target
   */
  constructor(rules: Readonly<Record<string, string>>, optionName = 'transport.connectTo') {
    for (const [pattern, target] of Object.entries(rules)) {
      const name = `${optionName}['${pattern}']`;
      const from = splitHostPort(pattern);
      if (!from || from.host.length === 0) {
        throw new InvalidOptionsError(name, "pattern must be 'host:port' or '*.domain:port'");
      }
      const to = splitHostPort(target);
      if (!to || isIP(to.host) === 0) {
        throw new InvalidOptionsError(name, `target must be 'ip:port' (IPv6 in brackets), got '${target}'`);
      }
      const host = from.host.toLowerCase();
      const value = { ip: to.host, port: to.port };
      if (host.startsWith('*.')) {
        const suffix = host.slice(2);
        if (suffix.length === 0 || suffix.includes('*')) {
          throw new InvalidOptionsError(name, "a wildcard must be a leading '*.' before a domain");
        }
        this.#wildcard.set(`${suffix}:${from.port}`, value);
      } else {
        if (host.includes('*')) throw new InvalidOptionsError(name, "a wildcard must be a leading '*.'");
        this.#exact.set(`${host}:${from.port}`, value);
      }
    }
  }

  /** Number of rules. */
  get size(): number {
    return this.#exact.size + this.#wildcard.size;
  }

  /**
   * The target for `host:port`, or `undefined` when no rule matches.
   * @param host a URL hostname (lower case; IPv6 without brackets)
   */
  lookup(host: string, port: number): ConnectTarget | undefined {
    if (this.size === 0) return undefined;
    const lower = host.toLowerCase();
    const exact = this.#exact.get(`${lower}:${port}`);
    if (exact) return exact;
    // Walk up the labels: a.b.web.test tries b.web.test, web.test, test.
    let dot = lower.indexOf('.');
    while (dot !== -1) {
      const hit = this.#wildcard.get(`${lower.slice(dot + 1)}:${port}`);
      if (hit) return hit;
      dot = lower.indexOf('.', dot + 1);
    }
    return undefined;
  }
}

/** Split `host:port` or `[v6]:port`; `undefined` unless the port is 1–65535. */
export function splitHostPort(value: string): { host: string; port: number } | undefined {
  let host: string;
  let portText: string;
  if (value.startsWith('[')) {
    const close = value.indexOf(']');
    if (close === -1 || value[close + 1] !== ':') return undefined;
    host = value.slice(1, close);
    portText = value.slice(close + 2);
  } else {
    const colon = value.lastIndexOf(':');
    if (colon === -1) return undefined;
    host = value.slice(0, colon);
    portText = value.slice(colon + 1);
    if (host.includes(':')) return undefined;
  }
  if (!/^[0-9]{1,5}$/.test(portText)) return undefined;
  const port = Number(portText);
  if (port < 1 || port > 65_535) return undefined;
  return { host, port };
}
