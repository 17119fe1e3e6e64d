import { InvalidOptionsError } from '../errors.js';
import { DAY_MS, resolveOptions, type OptionSpec } from '../util/options.js';
import { parseNameservers } from './nameservers.js';

/**
 * How host names are resolved (A/AAAA for every connection, TXT for
 * handles). One `DnsResolver` per transport serves both transports and the
 * handle TXT lookups; see `docs/dns.md`.
 */
export interface DnsOptions {
  /**
   * DNS servers as `ip`, `ip:port`, `[v6]` or `[v6]:port`. Default `[]`:
   * the system's, from `/etc/resolv.conf` (re-read when it changes).
   */
  nameservers?: string[];
  /**
   * Time for one try of one query, in ms. Default `1000`: a recursive
   * resolver that has not answered in a second is usually not going to.
   */
  timeoutMs?: number;
  /**
   * Tries per query. Default `2`: one retry covers a lost UDP packet. A
   * lookup never takes longer than `timeoutMs × tries`, nor than the
   * deadline of the request that needs it.
   */
  tries?: number;
  /**
   * Queries in flight at once, counting queries whose caller gave up until
   * the DNS server answers or the query times out. Default `1024`: far more
   * than a relay's cold-host rate × a dead name's life (2 s), and few
   * enough that a burst cannot flood a local resolver. Beyond it a lookup
   * fails at once with `DnsError` reason `OVERLOADED`; it never waits.
   */
  maxInFlight?: number;
  /**
   * Lookups at once under one domain (its registrable domain, e.g.
   * `example.co.uk`) whose last lookup timed out or failed with SERVFAIL.
   * Default `2`. Further names of that domain wait behind those (within
   * their own deadlines); names of other domains never wait.
   */
  maxInFlightPerFailingDomain?: number;
  /** Host names whose answers are cached. Default `10000`: a relay's cold hosts for several minutes. */
  cacheEntries?: number;
  /**
   * The longest an address answer is cached, whatever its TTL, in ms.
   * Default: the transport's `dnsCacheTtlMs` (`60000`).
   */
  maxTtlMs?: number;
  /**
   * How long "no such name" / "no address" (NXDOMAIN, NODATA) is cached,
   * in ms. Default `30000`.
   */
  negativeTtlMs?: number;
  /**
   * How long a failed lookup (timeout, SERVFAIL) is remembered, in ms, so a
   * dead name is not asked again at once (RFC 9520 asks for at least 1 s).
   * Default `2000`. `0` remembers nothing.
   */
  failureTtlMs?: number;
  /** The hosts file consulted before DNS (re-read when it changes). Default `'/etc/hosts'`; `false` for none. */
  hostsFile?: string | false;
  /**
   * Address families asked: `0` both (A and AAAA at once; IPv4 addresses
   * are tried first), `4` or `6` only. Default `0`.
   */
  family?: 0 | 4 | 6;
}

/** `DnsOptions` with every default filled in. */
export interface ResolvedDnsOptions {
  nameservers: string[];
  timeoutMs: number;
  tries: number;
  maxInFlight: number;
  maxInFlightPerFailingDomain: number;
  cacheEntries: number;
  maxTtlMs: number;
  negativeTtlMs: number;
  failureTtlMs: number;
  hostsFile: string | false;
  family: 0 | 4 | 6;
}

/** The default of `maxTtlMs` when no transport sets `dnsCacheTtlMs`. */
export const DEFAULT_DNS_MAX_TTL_MS = 60_000;

/** The one table of `DnsOptions`. */
export const dnsSpec = {
  nameservers: { kind: 'string-list', default: [] },
  timeoutMs: { kind: 'integer', default: 1_000, min: 1, max: 60_000 },
  tries: { kind: 'integer', default: 2, min: 1, max: 10 },
  maxInFlight: { kind: 'integer', default: 1_024, min: 1, max: 65_536 },
  maxInFlightPerFailingDomain: { kind: 'integer', default: 2, min: 1, max: 65_536 },
  cacheEntries: { kind: 'integer', default: 10_000, min: 1, max: 10_000_000 },
  maxTtlMs: { kind: 'integer', default: DEFAULT_DNS_MAX_TTL_MS, min: 0, max: DAY_MS },
  negativeTtlMs: { kind: 'integer', default: 30_000, min: 0, max: DAY_MS },
  failureTtlMs: { kind: 'integer', default: 2_000, min: 0, max: 300_000 },
  hostsFile: { kind: 'opaque' },
  family: { kind: 'opaque' },
} as const satisfies OptionSpec;

/**
 * Validate `DnsOptions` and fill in defaults.
 * @param input the caller's options
 * @param option how the caller named them, e.g. `resolver.dns`
 * @param maxTtlMs the default of `maxTtlMs` (the transport's `dnsCacheTtlMs`)
 * @throws InvalidOptionsError naming the first bad option
 */
export function resolveDnsOptions(input: unknown, option: string, maxTtlMs = DEFAULT_DNS_MAX_TTL_MS): ResolvedDnsOptions {
  const o = resolveOptions<Omit<ResolvedDnsOptions, 'hostsFile' | 'family'> & { hostsFile: unknown; family: unknown }>(
    dnsSpec,
    input,
    option,
  );
  const given = (input ?? {}) as { maxTtlMs?: unknown };
  const hostsFile = o.hostsFile ?? '/etc/hosts';
  if (hostsFile !== false && (typeof hostsFile !== 'string' || hostsFile === '')) {
    throw new InvalidOptionsError(`${option}.hostsFile`, 'expected a file path or false');
  }
  const family = o.family ?? 0;
  if (family !== 0 && family !== 4 && family !== 6) {
    throw new InvalidOptionsError(`${option}.family`, `must be 0, 4 or 6, got ${String(family)}`);
  }
  return {
    ...o,
    nameservers: parseNameservers(o.nameservers, `${option}.nameservers`),
    maxTtlMs: given.maxTtlMs === undefined ? maxTtlMs : o.maxTtlMs,
    hostsFile,
    family,
  };
}
