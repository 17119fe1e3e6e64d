import { isIPv4, isIPv6 } from 'node:net';
import { InvalidOptionsError } from '../errors.js';

/**
 * Parse one DNS server address as a caller writes it: `ip`, `ip:port`,
 * `[v6]` or `[v6]:port` (an IPv6 address without brackets takes no port).
 * Returns it in the form `dns.Resolver#setServers()` accepts, or throws
 * `InvalidOptionsError` naming `option` with what is wrong. Ports are
 * 1–65535: Node's resolver takes any number and wraps it (99999 became
 * 34463), and port 0 aborts the process inside c-ares.
 */
export function parseNameserver(entry: unknown, option: string): string {
  if (typeof entry !== 'string' || entry.length === 0) {
    throw new InvalidOptionsError(option, `expected 'ip' or 'ip:port', got ${typeof entry === 'string' ? 'an empty string' : typeof entry}`);
  }
  const shown = entry.length > 60 ? `${entry.slice(0, 60)}…` : entry;
  const bad = (why: string): InvalidOptionsError => new InvalidOptionsError(option, `${why}: '${shown}'`);
  let host: string;
  let portText: string | undefined;
  if (entry.startsWith('[')) {
    const close = entry.indexOf(']');
    if (close < 0) throw bad('unclosed [ in an IPv6 address');
    host = entry.slice(1, close);
    const rest = entry.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) throw bad('expected :port after ]');
    portText = rest === '' ? undefined : rest.slice(1);
    if (!isIPv6(host)) throw bad('not an IPv6 address');
  } else if (isIPv6(entry)) {
    return entry;
  } else {
    const colon = entry.lastIndexOf(':');
    host = colon < 0 ? entry : entry.slice(0, colon);
    portText = colon < 0 ? undefined : entry.slice(colon + 1);
    if (!isIPv4(host)) throw bad('not an IP address (host names cannot be DNS servers)');
  }
  if (portText === undefined) return entry;
  if (!/^[0-9]{1,5}$/.test(portText)) throw bad('the port is not a number');
  const port = Number(portText);
  if (port < 1 || port > 65_535) throw bad('the port must be between 1 and 65535');
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Parse every entry of a nameserver list (see `parseNameserver`); `option` names the list. */
export function parseNameservers(entries: readonly unknown[], option: string): string[] {
  return entries.map((entry, i) => parseNameserver(entry, `${option}[${i}]`));
}
