import { MemoryCacheStore } from '../cache/memory.js';
import { ResolutionCache } from '../cache/policy.js';
import type { CacheStore } from '../cache/types.js';
import type { DidDocument } from '../document/did-document.js';
import { ensureResolvableAtIdentifier } from '../syntax/at-identifier.js';
import { INVALID_HANDLE } from '../syntax/handle.js';
import { DnsResolver } from '../dns/resolver.js';
import { BaseTransport } from '../transport/base.js';
import { createTransport } from '../transport/create.js';
import type { DnsOptions } from '../dns/options.js';
import type { TransportOptions } from '../transport/options.js';
import type { Transport } from '../transport/types.js';
import { DidResolver, memoizedAtprotoData } from './did-resolver.js';
import { DidNotFoundError, HandleNotFoundError } from './errors.js';
import { createDnsTxtMethod, type HandleMethod } from './handle-dns.js';
import { createDohTxtMethod } from './handle-doh.js';
import { HandleResolver } from './handle-resolver.js';
import { createWellKnownMethod } from './handle-well-known.js';
import { isTransport, resolveIdResolverOptions, type IdResolverOptions, type ResolvedCacheOptions } from './options.js';
import { outcomeOf, ResolutionRecorder, type ResolutionListener } from './recorder.js';
import type { ResolverStats } from './types.js';

/** A verified atproto identity. */
export interface Identity {
  did: string;
  /**
   * The handle, verified both ways (the handle resolves to the DID and the
   * DID's document declares the handle), lowercase; `handle.invalid` when
   * the two do not agree or the handle could not be checked.
   */
  handle: string;
  /** The handle the document declares, verified or not; `undefined` when it declares none. */
  declaredHandle: string | undefined;
  /** The PDS origin, or `undefined` when the document has no usable one. */
  pds: string | undefined;
  /** The repo signing key as `did:key:…`, or `undefined` when the document has no valid one. */
  signingKey: string | undefined;
  /** The validated DID document. */
  doc: DidDocument;
}

/** Per-call options of `resolveIdentity()`. */
export interface ResolveIdentityOptions {
  /** Skip cache reads for the handle and the document (answers are still stored). Default `false`. */
  forceRefresh?: boolean;
  /** Cancels the call. */
  signal?: AbortSignal;
}

/**
 * atproto identity resolution for long-running processes: DIDs (`did:plc`,
 * `did:web`) and handles, verified both ways, behind bounded caches and a
 * bounded transport.
 *
 * The zero value is production-safe: `new IdResolver()` resolves against
 * `https://plc.directory`, the system DNS and the native libcurl transport
 * (or undici when the addon cannot load), with the default bounds.
 *
 * Raw steps are `did.resolve()` and `handle.resolve()` (not verified);
 * `resolveIdentity()` is the verified lookup; `purge()` drops an identity
 * from the caches.
 */
export class IdResolver implements AsyncDisposable {
  /** DID → document. */
  readonly did: DidResolver;
  /** Handle → claimed DID (not verified). */
  readonly handle: HandleResolver;
  /** The transport every request goes through. */
  readonly transport: Transport;

  readonly #ownsTransport: boolean;
  /** Name resolution for handle TXT lookups: the own transport's, else a resolver of our own (closed with us). */
  readonly #dns: DnsResolver;
  readonly #ownsDns: boolean;
  readonly #didCache: ResolutionCache<DidDocument> | undefined;
  readonly #handleCache: ResolutionCache<string> | undefined;
  readonly #recorder = new ResolutionRecorder();
  readonly #allowTestTlds: boolean;
  readonly #allowLocalhost: boolean;
  #closing: Promise<void> | undefined;

  /** @throws InvalidOptionsError naming the first bad option */
  constructor(options: IdResolverOptions = {}) {
    const o = resolveIdResolverOptions(options);
    this.#allowTestTlds = o.allowTestTlds;
    this.#allowLocalhost = o.allowLocalhost;
    this.#ownsTransport = !isTransport(o.transport);
    this.transport = isTransport(o.transport) ? o.transport : createTransport(withDns(o.transport, o.dns.given));
    // One DnsResolver serves the transport's host names and the handle TXT lookups.
    this.#ownsDns = !(this.#ownsTransport && this.transport instanceof BaseTransport);
    this.#dns = this.transport instanceof BaseTransport && this.#ownsTransport ? this.transport.dns : new DnsResolver(o.dns);

    this.#didCache = o.cache ? makeCache<DidDocument>(o.cache, o.cache.didStore) : undefined;
    this.#handleCache = o.cache ? makeCache<string>(o.cache, o.cache.handleStore) : undefined;

    const document = { maxDocumentBytes: o.maxDocumentBytes, maxEntries: 64, maxStringLength: 2048 };
    this.did = new DidResolver({
      fetch: { transport: this.transport, timeoutMs: o.timeoutMs, document },
      plcUrl: o.plcUrl,
      allowTestTlds: o.allowTestTlds,
      allowLocalhost: o.allowLocalhost,
      cache: this.#didCache,
      recorder: this.#recorder,
    });
    const dns: HandleMethod = o.dns.dohUrl
      ? createDohTxtMethod({ url: o.dns.dohUrl, transport: this.transport, timeoutMs: o.timeoutMs, maxResponseBytes: 65_535 })
      : createDnsTxtMethod(this.#dns);
    const https = createWellKnownMethod({
      transport: this.transport,
      timeoutMs: o.timeoutMs,
      maxResponseBytes: o.maxHandleBodyBytes,
      maxRedirects: o.maxHandleRedirects,
    });
    this.handle = new HandleResolver({
      dns,
      https,
      strategy: o.handleStrategy,
      allowTestTlds: o.allowTestTlds,
      cache: this.#handleCache,
      recorder: this.#recorder,
    });
  }

  /**
   * Resolve a DID or a handle to a verified identity.
   *
   * From a DID: the document, then its declared handle must resolve back to
   * the DID. From a handle: the DID it claims, then that DID's document
   * must declare the handle. When the check fails (or the handle cannot be
   * resolved), `handle` is `handle.invalid`; the rest is still returned.
   *
   * @throws InvalidDidError / InvalidHandleError / UnsupportedDidMethodError before any I/O
   * @throws DidNotFoundError / HandleNotFoundError when the authority has no such identity
   * @throws AmbiguousHandleError, InvalidDidDocumentError, DidDocumentMismatchError, ResolutionFailedError
   */
  async resolveIdentity(input: string, options: ResolveIdentityOptions = {}): Promise<Identity> {
    const startedAt = performance.now();
    try {
      const identity = await this.#resolveIdentity(input, options);
      this.#recorder.record('identity', startedAt, 'ok', 'bypass');
      return identity;
    } catch (error) {
      this.#recorder.record('identity', startedAt, outcomeOf(error), 'bypass', error);
      throw error;
    }
  }

  async #resolveIdentity(input: string, options: ResolveIdentityOptions): Promise<Identity> {
    const id = ensureResolvableAtIdentifier(input, { allowTestTlds: this.#allowTestTlds, allowLocalhost: this.#allowLocalhost });
    if (id.kind === 'did') {
      const doc = await this.did.ensureResolve(id.did, options);
      const data = memoizedAtprotoData(doc);
      let verified = false;
      if (data.handle !== undefined) {
        try {
          verified = (await this.handle.resolve(data.handle, options)) === id.did;
        } catch (error) {
          // The identity stands without a verified handle; only a cancel ends the call.
          if (options.signal?.aborted) throw error;
        }
      }
      return identityOf(doc, verified);
    }
    const did = await this.handle.resolve(id.handle, options);
    if (did === undefined) throw new HandleNotFoundError(id.handle);
    const doc = await this.did.resolve(did, options);
    if (!doc) throw new DidNotFoundError(did);
    return identityOf(doc, memoizedAtprotoData(doc).handle === id.handle);
  }

  /**
   * Drop a DID or handle from the caches, e.g. on a firehose `#identity`
   * event. Loads already running for it do not write their answer back.
   * Input that is neither a valid DID nor a valid handle is ignored.
   */
  async purge(didOrHandle: string): Promise<void> {
    if (typeof didOrHandle !== 'string') return;
    if (didOrHandle.startsWith('did:')) await this.did.purge(didOrHandle);
    else await this.handle.purge(didOrHandle);
  }

  /**
   * Add a listener called once per finished resolution (DID, handle and
   * identity), e.g. for a latency histogram. Returns its remover.
   */
  addResolutionListener(listener: ResolutionListener): () => void {
    return this.#recorder.addListener(listener);
  }

  /** Counters of resolutions by method and outcome, cache and transport figures. */
  stats(): ResolverStats {
    return {
      resolutions: this.#recorder.counts(),
      handleConflicts: this.handle.conflicts,
      cache: { did: this.#didCache?.stats() ?? null, handle: this.#handleCache?.stats() ?? null },
      transport: this.transport.stats(),
    };
  }

  /** Close every pooled connection of the transport (DNS and TLS caches are kept). */
  clearConnections(): Promise<void> {
    return this.transport.clearConnections();
  }

  /**
   * Return this process to its post-construction memory: reset the
   * transport (fresh pools and caches; in-flight requests finish) and empty
   * both caches' in-process tier. A shared store (e.g. Redis) keeps its
   * entries for the rest of the fleet.
   */
  async reset(): Promise<void> {
    if (this.#ownsDns) this.#dns.clear();
    await Promise.all([this.transport.reset(), this.#didCache?.clearLocal(), this.#handleCache?.clearLocal()]);
  }

  /**
   * Close the caches and, when the resolver created it, the transport
   * (waiting for in-flight requests). Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= Promise.all([
      this.#didCache?.close(),
      this.#handleCache?.close(),
      this.#ownsTransport ? this.transport.close() : undefined,
    ]).then(() => {
      if (this.#ownsDns) this.#dns.close();
    });
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** Transport options with the resolver's `dns` options under the transport's own `dns` fields. */
function withDns(transport: TransportOptions, dns: DnsOptions): TransportOptions {
  if (Object.keys(dns).length === 0) return transport;
  return { ...transport, dns: { ...dns, ...transport.dns } };
}

function makeCache<V>(o: ResolvedCacheOptions, store: CacheStore<V> | undefined): ResolutionCache<V> {
  return new ResolutionCache<V>({
    store: store ?? new MemoryCacheStore<V>({ maxEntries: o.maxEntries, maxBytes: o.maxBytes, maxTtlMs: o.maxTtlMs }),
    staleTtlMs: o.staleTtlMs,
    maxTtlMs: o.maxTtlMs,
    negativeTtlMs: o.negativeTtlMs,
    maxConcurrentRefreshes: o.maxConcurrentRefreshes,
  });
}

function identityOf(doc: DidDocument, handleVerified: boolean): Identity {
  const data = memoizedAtprotoData(doc);
  return {
    did: data.did,
    handle: handleVerified && data.handle !== undefined ? data.handle : INVALID_HANDLE,
    declaredHandle: data.handle,
    pds: data.pds,
    signingKey: data.signingKey,
    doc,
  };
}
