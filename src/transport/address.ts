import { isIPv4, isIPv6 } from 'node:net';

/**
 * The class of an IP address as the SSRF guard sees it. Only `public`
 * addresses may be connected to unless `allowPrivateNetwork` is set.
 *
 * The names and the table below are shared with the native engine's C
 * classifier (`engine_classify_address` in `native/src/address.c`), which
 * checks every socket libcurl opens. Both must agree on every address:
 * `test/transport/address.test.ts` runs one case table
 * (`test/fixtures/address-classes.txt`, read by the C suite too) and a
 * random sample through both, so a change here is made there too and
 * starts in that table.
 */
export type AddressClass =
  | 'public'
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'cgnat'
  | 'multicast'
  | 'documentation'
  | 'benchmarking'
  | 'reserved';

/** A row of the IPv4 table: `prefix/length` → class. */
interface V4Row {
  prefix: number;
  length: number;
  addressClass: Exclude<AddressClass, 'public'>;
}

/**
 * IPv6 rows either name a class or say where an IPv4 address is embedded,
 * in which case that IPv4 address is classified instead.
 */
interface V6Row {
  prefix: bigint;
  length: number;
  addressClass: Exclude<AddressClass, 'public'> | 'embedded-v4-low32' | 'embedded-v4-6to4';
}

function v4(text: string, length: number, addressClass: V4Row['addressClass']): V4Row {
  return { prefix: parseIpv4(text) ?? 0, length, addressClass };
}

function v6(text: string, length: number, addressClass: V6Row['addressClass']): V6Row {
  return { prefix: parseIpv6(text) ?? 0n, length, addressClass };
}

/** Non-public IPv4 ranges (IANA special-purpose registry). Rows do not overlap. */
const IPV4_TABLE: readonly V4Row[] = [
  v4('0.0.0.0', 8, 'unspecified'), // "this network"
  v4('10.0.0.0', 8, 'private'),
  v4('100.64.0.0', 10, 'cgnat'), // shared address space, RFC 6598
  v4('127.0.0.0', 8, 'loopback'),
  v4('169.254.0.0', 16, 'link-local'),
  v4('172.16.0.0', 12, 'private'),
  v4('192.0.0.0', 24, 'reserved'), // IETF protocol assignments
  v4('192.0.2.0', 24, 'documentation'), // TEST-NET-1
  v4('192.88.99.0', 24, 'reserved'), // deprecated 6to4 relay anycast
  v4('192.168.0.0', 16, 'private'),
  v4('198.18.0.0', 15, 'benchmarking'), // RFC 2544
  v4('198.51.100.0', 24, 'documentation'), // TEST-NET-2
  v4('203.0.113.0', 24, 'documentation'), // TEST-NET-3
  v4('224.0.0.0', 4, 'multicast'),
  v4('240.0.0.0', 4, 'reserved'), // future use, includes 255.255.255.255
];

/**
 * Non-public IPv6 ranges, checked in order (first match wins, so the
 * specific `::` and `::1` come before `::/96`). Anything that matches no row
 * and lies outside global unicast `2000::/3` is `reserved`.
 */
const IPV6_TABLE: readonly V6Row[] = [
  v6('::', 128, 'unspecified'),
  v6('::1', 128, 'loopback'),
  v6('::ffff:0:0', 96, 'embedded-v4-low32'), // IPv4-mapped
  v6('::', 96, 'reserved'), // deprecated IPv4-compatible
  v6('64:ff9b::', 96, 'embedded-v4-low32'), // NAT64 well-known prefix
  v6('64:ff9b:1::', 48, 'reserved'), // local-use NAT64, RFC 8215
  v6('100::', 64, 'reserved'), // discard-only
  v6('2001:db8::', 32, 'documentation'),
  v6('2001::', 23, 'reserved'), // IETF protocol assignments (Teredo, ORCHID, …)
  v6('2002::', 16, 'embedded-v4-6to4'),
  v6('3fff::', 20, 'documentation'), // RFC 9637
  v6('5f00::', 16, 'reserved'), // SRv6 SIDs (outside 2000::/3 too; listed to match the registry)
  v6('fc00::', 7, 'private'), // unique local
  v6('fe80::', 10, 'link-local'),
  v6('fec0::', 10, 'private'), // deprecated site-local: the old private range
  v6('ff00::', 8, 'multicast'),
];

const GLOBAL_UNICAST = v6('2000::', 3, 'reserved');

/**
 * Classify an IP literal for the SSRF guard.
 *
 * Accepts IPv4 dotted quads and IPv6 in any RFC 4291 text form, optionally
 * in brackets and with a zone (`fe80::1%eth0`). IPv4 embedded in IPv6
 * (IPv4-mapped `::ffff:a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`) is
 * classified by the embedded IPv4 address, so `::ffff:127.0.0.1` is
 * `loopback` while `64:ff9b::8.8.8.8` is `public`.
 *
 * Pure and total: input that is not an IP literal (a host name, an empty
 * string, `127.1`) is `reserved`, so a caller that forgets to resolve first
 * fails closed.
 */
export function classifyAddress(ip: string): AddressClass {
  let text = ip;
  if (text.startsWith('[') && text.endsWith(']')) text = text.slice(1, -1);
  const zone = text.indexOf('%');
  if (zone !== -1) {
    if (zone === text.length - 1 || !text.includes(':')) return 'reserved';
    text = text.slice(0, zone);
  }
  if (isIPv4(text)) return classifyIpv4(parseIpv4(text) ?? 0);
  if (isIPv6(text)) {
    const value = parseIpv6(text);
    if (value !== undefined) return classifyIpv6(value);
  }
  return 'reserved';
}

function classifyIpv4(value: number): AddressClass {
  for (const row of IPV4_TABLE) {
    const shift = 32 - row.length;
    if (value >>> shift === row.prefix >>> shift) return row.addressClass;
  }
  return 'public';
}

function classifyIpv6(value: bigint): AddressClass {
  for (const row of IPV6_TABLE) {
    if (!inPrefix(value, row)) continue;
    switch (row.addressClass) {
      case 'embedded-v4-low32':
        return classifyIpv4(Number(value & 0xffff_ffffn));
      case 'embedded-v4-6to4':
        return classifyIpv4(Number((value >> 80n) & 0xffff_ffffn));
      default:
        return row.addressClass;
    }
  }
  return inPrefix(value, GLOBAL_UNICAST) ? 'public' : 'reserved';
}

function inPrefix(value: bigint, row: V6Row): boolean {
  const shift = BigInt(128 - row.length);
  return value >> shift === row.prefix >> shift;
}

/** Dotted quad → unsigned 32-bit integer; `undefined` unless exactly four decimal octets 0–255. */
function parseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^[0-9]{1,3}$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

/**
 * IPv6 text → 128-bit integer. Handles `::` compression and a trailing
 * dotted quad; `undefined` for anything malformed. Zones and brackets must be
 * stripped by the caller.
 */
function parseIpv6(text: string): bigint | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] === '' ? [] : (halves[0] ?? '').split(':');
  const tail = halves.length === 2 ? (halves[1] === '' ? [] : (halves[1] ?? '').split(':')) : [];
  const groups: number[] = [];
  // A dotted quad may only be the very last piece, and stands for two groups.
  const last = tail.length > 0 ? tail[tail.length - 1] : halves.length === 1 ? head[head.length - 1] : undefined;
  let embedded: number | undefined;
  if (last !== undefined && last.includes('.')) {
    embedded = parseIpv4(last);
    if (embedded === undefined) return undefined;
    if (tail.length > 0) tail.pop();
    else head.pop();
  }
  const parseGroups = (pieces: string[]): boolean => {
    for (const piece of pieces) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(piece)) return false;
      groups.push(parseInt(piece, 16));
    }
    return true;
  };
  const embeddedGroups = embedded === undefined ? 0 : 2;
  const explicit = head.length + tail.length + embeddedGroups;
  if (halves.length === 1 && explicit !== 8) return undefined;
  if (halves.length === 2 && explicit > 7) return undefined;
  if (!parseGroups(head)) return undefined;
  const zeros = 8 - explicit;
  for (let i = 0; i < (halves.length === 2 ? zeros : 0); i += 1) groups.push(0);
  if (!parseGroups(tail)) return undefined;
  if (embedded !== undefined) groups.push(embedded >>> 16, embedded & 0xffff);
  if (groups.length !== 8) return undefined;
  let value = 0n;
  for (const group of groups) value = (value << 16n) | BigInt(group);
  return value;
}
