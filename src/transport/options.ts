import { resolveDnsOptions, type DnsOptions, type ResolvedDnsOptions } from '../dns/options.js';
import { InvalidOptionsError } from '../errors.js';
import { checkOptions, DAY_MS, MAX_COUNT, resolveOptions, type OptionSpec } from '../util/options.js';

/**
 * Options shared by every transport. Every limit has a default chosen for a
 * relay resolving ~1,000 identities a second from many distinct hosts; the
 * comment on each field says why it is that number.
 */
export interface TransportOptions {
  /**
   * Total open sockets across all hosts. Default `256`: a relay at 1,000
   * resolutions/s with ~50 ms median latency needs ~50 concurrent
   * connections, so 256 leaves 5× headroom while bounding file descriptors
   * and TLS memory (~50–100 KB each) to ~25 MB.
   */
  maxConnections?: number;
  /**
   * Open sockets to one host:port. Default `32`: enough to keep a busy PLC
   * directory saturated over HTTP/1.1 without letting one host take the pool.
   */
  maxConnectionsPerHost?: number;
  /**
   * Idle connections kept for reuse. Default `64`: the PLC directory and the
   * hottest PDS hosts stay warm; thousands of one-off did:web hosts do not.
   */
  maxIdleConnections?: number;
  /**
   * An idle connection older than this is closed. Default `30000` (30 s),
   * under the keep-alive timeout of common servers (nginx 75 s, Node 5 s is
   * handled by the server closing first).
   */
  idleTimeoutMs?: number;
  /**
   * Any connection older than this is not reused. Default `300000` (5 min),
   * so DNS changes and server rotations are picked up.
   */
  maxConnectionLifetimeMs?: number;
  /**
   * The longest a DNS address answer is cached, whatever its TTL (the
   * default of `dns.maxTtlMs`). Default `60000` (60 s): a relay meets most
   * hosts once; a busy one is asked again at most once a minute.
   */
  dnsCacheTtlMs?: number;
  /**
   * How host names are resolved: servers, time limits, bounds and caches
   * (`DnsOptions`, see `docs/dns.md`). Default `{}`: the system's servers
   * and hosts file, bounded.
   */
  dns?: DnsOptions;
  /**
   * Requests allowed to wait for a connection beyond `maxConnections` in
   * flight; past that, `request()` rejects with `QueueFullError`.
   * Default `1024`: ~1 s of relay load, so a stalled network shows up as
   * errors instead of unbounded memory.
   */
  maxQueuedRequests?: number;
  /** Total time limit per request. Default `10000` (10 s). */
  timeoutMs?: number;
  /** Time limit to establish one connection (TCP + TLS). Default `5000` (5 s). */
  connectTimeoutMs?: number;
  /** Body size cap after content decoding. Default `1048576` (1 MiB). */
  maxResponseBytes?: number;
  /**
   * Cap on the size of a response's status line and headers (every byte of
   * every line, line ends included). Default `16384` (16 KiB). At most
   * `102400`: libcurl refuses a longer header line whatever the cap
   * (`CURL_MAX_HTTP_HEADER`), and both transports must agree.
   */
  maxHeaderBytes?: number;
  /** Redirects followed per request; `0` returns the 3xx response. Default `0`. */
  maxRedirects?: number;
  /** Allow `http:` URLs (and redirects to them). Default `false`: HTTPS only. */
  allowHttp?: boolean;
  /**
   * Allow connecting to loopback, private, link-local, CGNAT, multicast and
   * reserved addresses. Default `false`: the SSRF guard refuses them.
   */
  allowPrivateNetwork?: boolean;
  /**
   * Route `host:port` to `ip:port` without DNS, for tests and pinning.
   * A leading `*.` matches any subdomain (not the bare domain), e.g.
   * `{ '*.web.test:443': '127.0.0.1:8443' }`. The SSRF guard still applies
   * to the target. Default `{}`.
   */
  connectTo?: Record<string, string>;
  /**
   * A PEM file with an extra CA to trust in addition to the system roots.
   * Default none.
   */
  caFile?: string;
  /**
   * After this many requests, `reset()` automatically (in-flight requests
   * are not failed). `0` disables. Default `0`: bounded pools already keep
   * memory flat; set it to shed long-lived allocator state on a schedule.
   */
  recycleAfterRequests?: number;
  /** Value of the `User-Agent` header. Default `atresolve`. */
  userAgent?: string;
}

/** `TransportOptions` with every default filled in. */
export type ResolvedTransportOptions = Required<Omit<TransportOptions, 'caFile' | 'dns'>> & {
  caFile: string | undefined;
  dns: ResolvedDnsOptions;
};

/** The single table that validates and defaults `TransportOptions`. */
export const transportOptionSpec = {
  maxConnections: { kind: 'integer', default: 256, min: 1, max: 65_536 },
  maxConnectionsPerHost: { kind: 'integer', default: 32, min: 1, max: 65_536 },
  maxIdleConnections: { kind: 'integer', default: 64, min: 0, max: 65_536 },
  idleTimeoutMs: { kind: 'integer', default: 30_000, min: 1_000, max: DAY_MS },
  maxConnectionLifetimeMs: { kind: 'integer', default: 300_000, min: 1_000, max: DAY_MS },
  dnsCacheTtlMs: { kind: 'integer', default: 60_000, min: 0, max: DAY_MS },
  dns: { kind: 'opaque' },
  maxQueuedRequests: { kind: 'integer', default: 1024, min: 0, max: 1_000_000 },
  timeoutMs: { kind: 'integer', default: 10_000, min: 1, max: DAY_MS },
  connectTimeoutMs: { kind: 'integer', default: 5_000, min: 1, max: DAY_MS },
  maxResponseBytes: { kind: 'integer', default: 1_048_576, min: 0, max: 2 ** 30 },
  // At most libcurl's CURL_MAX_HTTP_HEADER (100 KiB), its limit per line.
  maxHeaderBytes: { kind: 'integer', default: 16_384, min: 256, max: 102_400 },
  maxRedirects: { kind: 'integer', default: 0, min: 0, max: 20 },
  allowHttp: { kind: 'boolean', default: false },
  allowPrivateNetwork: { kind: 'boolean', default: false },
  connectTo: { kind: 'string-record' },
  caFile: { kind: 'optional-string' },
  recycleAfterRequests: { kind: 'integer', default: 0, min: 0, max: MAX_COUNT },
  userAgent: { kind: 'string', default: 'atresolve' },
} as const satisfies OptionSpec;

/**
 * Validate transport options and fill in defaults.
 * @param extraSpec fields only one implementation accepts (validated in the same pass)
 */
export function resolveTransportOptions<Extra extends object = Record<never, never>>(
  input: unknown,
  extraSpec: OptionSpec = {},
  prefix = 'transport',
): ResolvedTransportOptions & Extra {
  const resolved = resolveOptions<ResolvedTransportOptions & Extra & { dns: unknown }>(
    { ...transportOptionSpec, ...extraSpec },
    input,
    prefix,
  );
  return { ...resolved, dns: resolveDnsOptions(resolved.dns, `${prefix}.dns`, resolved.dnsCacheTtlMs) };
}

/**
 * The table of per-request options (`Transport.request()`): the limits are
 * the transport's own fields, with their ranges; an absent field takes the
 * transport's setting.
 */
const requestOptionSpec = {
  method: { kind: 'string', default: 'GET', oneOf: ['GET', 'HEAD', 'POST'] },
  headers: { kind: 'string-record' },
  body: { kind: 'opaque' },
  timeoutMs: transportOptionSpec.timeoutMs,
  connectTimeoutMs: transportOptionSpec.connectTimeoutMs,
  maxResponseBytes: transportOptionSpec.maxResponseBytes,
  maxRedirects: transportOptionSpec.maxRedirects,
  signal: { kind: 'signal' },
} as const satisfies OptionSpec;

/**
 * Validate the options of one request as constructor options are, naming
 * the field (`request.timeoutMs`).
 * @throws InvalidOptionsError for an unknown field or a bad value
 */
export function checkRequestOptions(options: unknown): void {
  checkOptions(requestOptionSpec, options, 'request');
  const body = (options as { body?: unknown } | undefined)?.body;
  if (body !== undefined && typeof body !== 'string' && !(body instanceof Uint8Array)) {
    throw new InvalidOptionsError('request.body', 'expected a string or a Uint8Array');
  }
}
