import type { CacheStore } from '../cache/types.js';
import type { DidDocument } from '../document/did-document.js';
import { InvalidOptionsError } from '../errors.js';
import type { TransportOptions } from '../transport/options.js';
import type { Transport } from '../transport/types.js';
import { resolveDnsOptions, type DnsOptions, type ResolvedDnsOptions } from '../dns/options.js';
import { DAY_MS, resolveOptions, type OptionSpec } from '../util/options.js';
import { HANDLE_STRATEGIES, type HandleStrategy } from './handle-strategy.js';

/**
 * How the resolver uses DNS: the `DnsOptions` of its name resolution
 * (handle TXT lookups, and every host name of the transport it creates;
 * `transport.dns` fields win there), plus DNS-over-HTTPS for TXT.
 */
export interface ResolverDnsOptions extends DnsOptions {
  /**
   * A DNS-over-HTTPS endpoint (RFC 8484), e.g.
   * `https://cloudflare-dns.com/dns-query`; when set, TXT lookups go through
   * the resolver's transport instead of the DNS servers. Default none.
   */
  dohUrl?: string;
}

/** Bounds and freshness of the resolver's two caches (DID documents, handle → DID). */
export interface IdentityCacheOptions {
  /** Entries per cache. Default `100000`: the active accounts a relay sees in a day fit. */
  maxEntries?: number;
  /**
   * Approximate bytes per cache. Default `67108864` (64 MiB): 100k parsed
   * documents at ~600 bytes of JSON each, costed at three times their
   * JSON size, fit with headroom.
   */
  maxBytes?: number;
  /** A fresh entry is served as is for this long. Default `3600000` (1 h). */
  staleTtlMs?: number;
  /** No entry older than this is served; stale entries bridge origin outages up to it. Default `86400000` (24 h). */
  maxTtlMs?: number;
  /** A not-found answer is cached this long. Default `300000` (5 min). */
  negativeTtlMs?: number;
  /** Background refreshes at once, per cache. Default `32`. */
  maxConcurrentRefreshes?: number;
  /** A store for DID documents instead of the in-memory LRU (e.g. a shared Redis store). */
  didStore?: CacheStore<DidDocument>;
  /** A store for handle → DID answers instead of the in-memory LRU. */
  handleStore?: CacheStore<string>;
}

/** Options of `IdResolver` (and, in part, of `DidResolver` and `HandleResolver`). */
export interface IdResolverOptions {
  /** The PLC directory. Default `https://plc.directory`. */
  plcUrl?: string;
  /**
   * Time limit of one HTTP fetch (a DID document, a well-known file, a DoH
   * query) in ms. Default `3000` (3 s), as `@atproto/identity`: a relay
   * would rather retry later than hold a slot for a slow host.
   */
  timeoutMs?: number;
  /** Largest DID document accepted. Default `65536` (64 KiB): real documents are 1–3 KB. */
  maxDocumentBytes?: number;
  /** Largest `/.well-known/atproto-did` body. Default `2048`: a DID is at most 2,048 characters. */
  maxHandleBodyBytes?: number;
  /** Redirects followed for `/.well-known/atproto-did`, each re-checked. Default `3`. DID documents never follow redirects. */
  maxHandleRedirects?: number;
  /**
   * The HTTP transport: transport options (the resolver creates one with
   * `createTransport()`, owns it and closes it), or a `Transport` instance
   * (shared: the resolver never closes it). Default `{}`.
   */
  transport?: Transport | TransportOptions;
  /** Cache bounds and freshness, or `false` to turn caching off. Default `{}`. */
  cache?: false | IdentityCacheOptions;
  /** DNS: servers, time limits and bounds of every lookup, and DoH for handles. Default `{}`. */
  dns?: ResolverDnsOptions;
  /** How DNS and HTTPS are combined for handles. Default `'both'` (DNS wins a disagreement). */
  handleStrategy?: HandleStrategy;
  /** Resolve `.test` handles and did:web hosts (for local worlds). Default `false`. */
  allowTestTlds?: boolean;
  /** Resolve `did:web:localhost[%3A<port>]` (over `http` only if the transport allows `http`). Default `false`. */
  allowLocalhost?: boolean;
}

export interface ResolvedResolverDnsOptions extends ResolvedDnsOptions {
  dohUrl: string | undefined;
  /** The caller's `dns` options without `dohUrl`, for the transport the resolver creates. */
  given: DnsOptions;
}

export interface ResolvedCacheOptions {
  maxEntries: number;
  maxBytes: number;
  staleTtlMs: number;
  maxTtlMs: number;
  negativeTtlMs: number;
  maxConcurrentRefreshes: number;
  didStore: CacheStore<DidDocument> | undefined;
  handleStore: CacheStore<string> | undefined;
}

export interface ResolvedIdResolverOptions {
  plcUrl: string;
  timeoutMs: number;
  maxDocumentBytes: number;
  maxHandleBodyBytes: number;
  maxHandleRedirects: number;
  transport: Transport | TransportOptions;
  cache: ResolvedCacheOptions | false;
  dns: ResolvedResolverDnsOptions;
  handleStrategy: HandleStrategy;
  allowTestTlds: boolean;
  allowLocalhost: boolean;
}

const resolverSpec = {
  plcUrl: { kind: 'string', default: 'https://plc.directory' },
  timeoutMs: { kind: 'integer', default: 3_000, min: 1, max: DAY_MS },
  maxDocumentBytes: { kind: 'integer', default: 65_536, min: 256, max: 16 * 1024 * 1024 },
  maxHandleBodyBytes: { kind: 'integer', default: 2_048, min: 64, max: 65_536 },
  maxHandleRedirects: { kind: 'integer', default: 3, min: 0, max: 10 },
  transport: { kind: 'opaque' },
  cache: { kind: 'opaque' },
  dns: { kind: 'opaque' },
  handleStrategy: { kind: 'string', default: 'both', oneOf: HANDLE_STRATEGIES },
  allowTestTlds: { kind: 'boolean', default: false },
  allowLocalhost: { kind: 'boolean', default: false },
} as const satisfies OptionSpec;

const cacheSpec = {
  maxEntries: { kind: 'integer', default: 100_000, min: 1, max: 100_000_000 },
  maxBytes: { kind: 'integer', default: 64 * 1024 * 1024, min: 1, max: 2 ** 40 },
  staleTtlMs: { kind: 'integer', default: 3_600_000, min: 0, max: DAY_MS },
  maxTtlMs: { kind: 'integer', default: DAY_MS, min: 1, max: DAY_MS },
  negativeTtlMs: { kind: 'integer', default: 300_000, min: 0, max: DAY_MS },
  maxConcurrentRefreshes: { kind: 'integer', default: 32, min: 1, max: 65_536 },
  didStore: { kind: 'opaque' },
  handleStore: { kind: 'opaque' },
} as const satisfies OptionSpec;

/**
 * Validate `IdResolverOptions` and fill in defaults, in one pass over the
 * three tables above.
 * @throws InvalidOptionsError naming the first bad option
 */
export function resolveIdResolverOptions(input: unknown, prefix = 'resolver'): ResolvedIdResolverOptions {
  const base = resolveOptions<Omit<ResolvedIdResolverOptions, 'dns' | 'cache'> & { dns: unknown; cache: unknown }>(
    resolverSpec,
    input,
    prefix,
  );
  try {
    const plc = new URL(base.plcUrl);
    if (plc.protocol !== 'https:' && plc.protocol !== 'http:') throw new Error('not http(s)');
  } catch {
    throw new InvalidOptionsError(`${prefix}.plcUrl`, `expected an http(s) URL, got '${base.plcUrl}'`);
  }
  const dns = resolveResolverDnsOptions(base.dns, `${prefix}.dns`);
  const cache = base.cache === false ? false : resolveOptions<ResolvedCacheOptions>(cacheSpec, base.cache, `${prefix}.cache`);
  if (cache && cache.staleTtlMs > cache.maxTtlMs) {
    throw new InvalidOptionsError(`${prefix}.cache.staleTtlMs`, 'must not exceed maxTtlMs');
  }
  const transport = base.transport ?? {};
  if (typeof transport !== 'object' || transport === null) {
    throw new InvalidOptionsError(`${prefix}.transport`, 'expected transport options or a Transport');
  }
  return { ...base, transport: transport as Transport | TransportOptions, dns, cache };
}

function resolveResolverDnsOptions(input: unknown, option: string): ResolvedResolverDnsOptions {
  if (input !== undefined && (typeof input !== 'object' || input === null || Array.isArray(input))) {
    throw new InvalidOptionsError(option, 'expected an options object');
  }
  const { dohUrl, ...given } = (input ?? {}) as ResolverDnsOptions;
  if (dohUrl !== undefined && (typeof dohUrl !== 'string' || !URL.canParse(dohUrl))) {
    throw new InvalidOptionsError(`${option}.dohUrl`, `expected a URL, got ${JSON.stringify(dohUrl)}`);
  }
  return { ...resolveDnsOptions(given, option), dohUrl, given };
}

/** Whether `value` is a `Transport` instance rather than transport options. */
export function isTransport(value: Transport | TransportOptions): value is Transport {
  return typeof (value as Partial<Transport>).request === 'function';
}
