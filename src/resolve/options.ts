import { memoryCacheStoreOptionSpec } from '../cache/memory.js';
import { checkCacheStore, fitFreshnessTtls, resolutionCacheOptionSpec, type IdentityCacheOptions } from '../cache/policy.js';
import type { CacheStore } from '../cache/types.js';
import type { DidDocument } from '../document/did-document.js';
import { InvalidOptionsError } from '../errors.js';
import type { TransportOptions } from '../transport/options.js';
import type { Transport } from '../transport/types.js';
import { resolveDnsOptions, type DnsOptions, type ResolvedDnsOptions } from '../dns/options.js';
import { DAY_MS, optionName, resolveOptions, type OptionSpec } from '../util/options.js';
import { HANDLE_STRATEGIES, type HandleStrategy } from './handle-strategy.js';

export type { IdentityCacheOptions } from '../cache/policy.js';

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

/** `IdentityCacheOptions` with every default filled in. */
export interface ResolvedCacheOptions extends Required<Omit<IdentityCacheOptions, 'didStore' | 'handleStore'>> {
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

/** The resolver's `cache` option: fields of the store's and the policy's tables, not restated. */
const cacheSpec = {
  maxEntries: memoryCacheStoreOptionSpec.maxEntries,
  maxBytes: memoryCacheStoreOptionSpec.maxBytes,
  staleTtlMs: resolutionCacheOptionSpec.staleTtlMs,
  maxTtlMs: resolutionCacheOptionSpec.maxTtlMs,
  negativeTtlMs: resolutionCacheOptionSpec.negativeTtlMs,
  maxConcurrentRefreshes: resolutionCacheOptionSpec.maxConcurrentRefreshes,
  didStore: { kind: 'opaque' },
  handleStore: { kind: 'opaque' },
} as const satisfies OptionSpec;

/**
 * Validate `IdResolverOptions` and fill in defaults, in one pass over the
 * three tables above, before the resolver starts anything. Options are
 * named as the caller wrote them (`timeoutMs`, `cache.maxEntries`).
 * Transport options are validated by the transport, which the resolver
 * creates last.
 * @throws InvalidOptionsError naming the first bad option
 */
export function resolveIdResolverOptions(input: unknown, prefix = ''): ResolvedIdResolverOptions {
  const base = resolveOptions<Omit<ResolvedIdResolverOptions, 'dns' | 'cache'> & { dns: unknown; cache: unknown }>(
    resolverSpec,
    input,
    prefix,
  );
  try {
    const plc = new URL(base.plcUrl);
    if (plc.protocol !== 'https:' && plc.protocol !== 'http:') throw new Error('not http(s)');
  } catch {
    throw new InvalidOptionsError(optionName(prefix, 'plcUrl'), `expected an http(s) URL, got '${base.plcUrl}'`);
  }
  const dns = resolveResolverDnsOptions(base.dns, optionName(prefix, 'dns'));
  const cache = base.cache === false ? false : resolveCacheOptions(base.cache, optionName(prefix, 'cache'));
  const transport = base.transport ?? {};
  if (typeof transport !== 'object' || transport === null) {
    throw new InvalidOptionsError(optionName(prefix, 'transport'), 'expected transport options or a Transport');
  }
  return { ...base, transport: transport as Transport | TransportOptions, dns, cache };
}

function resolveCacheOptions(input: unknown, prefix: string): ResolvedCacheOptions {
  const cache = resolveOptions<ResolvedCacheOptions>(cacheSpec, input, prefix);
  fitFreshnessTtls(cache, input, prefix);
  if (cache.didStore !== undefined) checkCacheStore(cache.didStore, optionName(prefix, 'didStore'));
  if (cache.handleStore !== undefined) checkCacheStore(cache.handleStore, optionName(prefix, 'handleStore'));
  return cache;
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
