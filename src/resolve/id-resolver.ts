import { MemoryCacheStore } from '../cache/memory.js';
import { PassThroughCache } from '../cache/pass-through.js';
import { ResolutionCache, type LookupCache } from '../cache/policy.js';
import type { CacheStore } from '../cache/types.js';
import type { AtprotoData } from '../document/atproto-data.js';
import { resolveDidDocumentOptions, type DidDocument } from '../document/did-document.js';
import { AbortError } from '../errors.js';
import { resolvableAtIdentifier } from '../syntax/at-identifier.js';
import { isPlcDid, resolvableDid, resolveDidResolutionOptions, type ResolvedDidResolutionOptions } from '../syntax/did.js';
import { InvalidDidError, InvalidHandleError, UnsupportedDidMethodError } from '../syntax/errors.js';
import { INVALID_HANDLE, resolvableHandle } from '../syntax/handle.js';
import { DnsResolver } from '../dns/resolver.js';
import { BaseTransport } from '../transport/base.js';
import { createTransport } from '../transport/create.js';
import type { DnsOptions } from '../dns/options.js';
import type { TransportOptions } from '../transport/options.js';
import type { Transport } from '../transport/types.js';
import type { DidMethodName } from './did-methods.js';
import { DidResolver, memoizedAtprotoData } from './did-resolver.js';
import { NO_CALL_OPTIONS, resolveCallOptions, type ResolveCallOptions } from './call-options.js';
import { AmbiguousHandleError, DidNotFoundError, HandleNotFoundError } from './errors.js';
import { createDnsTxtMethod } from './handle-dns.js';
import { createDohTxtMethod } from './handle-doh.js';
import { HandleResolver } from './handle-resolver.js';
import { createWellKnownMethod } from './handle-well-known.js';
import { isTransport, resolveIdResolverOptions, type IdResolverOptions, type ResolvedCacheOptions } from './options.js';
import { outcomeOf, ResolutionRecorder, type ResolutionListener } from './recorder.js';
import type { HandleMethod, ResolverStats } from './types.js';

/**
 * How `resolveIdentity()` checked the handle (`handle` is the verified
 * handle only for `verified`, else `handle.invalid`):
 * - `verified`: the handle and the DID point at each other;
 * - `mismatch`: an authoritative "no": the handle names another DID or
 *   none, DNS names several, the declared handle may not be resolved (e.g.
 *   a reserved TLD), or (from a handle) the document declares another one;
 * - `undeclared`: the document declares no valid handle;
 * - `unavailable`: the declared handle could not be resolved for a
 *   transient reason (timeout, SERVFAIL, refused connection, untrusted
 *   certificate, server error); nothing was cached, `handleError` says
 *   why, and a later call may verify it. Only from a DID: from a handle,
 *   such a failure is thrown.
 */
export type HandleCheck = 'verified' | 'mismatch' | 'undeclared' | 'unavailable';

/** A verified atproto identity. */
export interface Identity {
  did: string;
  /**
   * The handle, verified both ways (the handle resolves to the DID and the
   * DID's document declares the handle), lowercase; `handle.invalid` when
   * the two do not agree or the handle could not be checked (`handleCheck`
   * says which).
   */
  handle: string;
  /** How the handle was checked; see `HandleCheck`. */
  handleCheck: HandleCheck;
  /** Why the handle could not be checked (`handleCheck: 'unavailable'`), else `undefined`. */
  handleError: unknown;
  /** The handle the document declares, verified or not; `undefined` when it declares none. */
  declaredHandle: string | undefined;
  /** The PDS origin, or `undefined` when the document has no usable one. */
  pds: string | undefined;
  /** The repo signing key as `did:key:…`, or `undefined` when the document has no valid one. */
  signingKey: string | undefined;
  /** The DID document, as published (see `DidResolver.resolve()`). */
  doc: DidDocument;
}

/** Per-call options of `resolveIdentity()`: `forceRefresh` skips cache reads for the handle and the document. */
export type ResolveIdentityOptions = ResolveCallOptions;

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
  readonly #didCache: LookupCache<DidDocument>;
  readonly #handleCache: LookupCache<string>;
  readonly #recorder = new ResolutionRecorder();
  readonly #resolution: ResolvedDidResolutionOptions;
  /** Per document object: what an identity needs of it, computed once (`#factsOf`). */
  readonly #documentFacts = new WeakMap<DidDocument, DocumentFacts>();
  /** Whether the caches can be read synchronously (`LookupCache.peekFresh`): caching is on. */
  readonly #peeks: boolean;
  /**
   * The clock of both caches and of the stores the resolver creates, so one
   * reading serves every lookup of a synchronous turn (`peekFresh`'s `now`).
   */
  readonly #clock: () => number = Date.now;
  #closing: Promise<void> | undefined;

  /**
   * Every option is validated before anything starts; the transport (the
   * only part that starts a thread or sockets) is created last.
   * @throws InvalidOptionsError naming the first bad option as written (`cache.maxEntries`)
   */
  constructor(options: IdResolverOptions = {}) {
    const o = resolveIdResolverOptions(options);
    this.#resolution = resolveDidResolutionOptions({ allowTestTlds: o.allowTestTlds, allowLocalhost: o.allowLocalhost });
    this.#didCache = o.cache ? makeCache<DidDocument>(o.cache, o.cache.didStore, this.#clock) : new PassThroughCache();
    this.#handleCache = o.cache ? makeCache<string>(o.cache, o.cache.handleStore, this.#clock) : new PassThroughCache();
    this.#peeks = this.#didCache.peekFresh !== undefined;

    this.#ownsTransport = !isTransport(o.transport);
    this.transport = isTransport(o.transport) ? o.transport : createTransport(withDns(o.transport, o.dns.given));
    // One DnsResolver serves the transport's host names and the handle TXT lookups.
    this.#ownsDns = !(this.#ownsTransport && this.transport instanceof BaseTransport);
    this.#dns = this.transport instanceof BaseTransport && this.#ownsTransport ? this.transport.dns : new DnsResolver(o.dns);

    const document = resolveDidDocumentOptions({ maxDocumentBytes: o.maxDocumentBytes });
    this.did = new DidResolver({
      fetch: { transport: this.transport, timeoutMs: o.timeoutMs, document },
      plcUrl: o.plcUrl,
      ...this.#resolution,
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
   * must declare the handle. When the check fails, or (from a DID) the
   * handle cannot be resolved for now, `handle` is `handle.invalid` and the
   * rest is still returned; `handleCheck` says which.
   *
   * @param options `{ forceRefresh, signal }`, or a `forceRefresh` boolean
   * @throws InvalidDidError / InvalidHandleError / UnsupportedDidMethodError
   *   before any I/O, for the input only
   * @throws DidNotFoundError / HandleNotFoundError when the authority has no
   *   such identity; `HandleNotFoundError` also when the handle names a DID
   *   that cannot be resolved (another method such as `did:key`, bad
   *   syntax), with that DID in `claimedDid`
   * @throws AmbiguousHandleError, InvalidDidDocumentError, DidDocumentMismatchError, ResolutionFailedError
   * @throws AbortError when `signal` aborts
   */
  resolveIdentity(input: string, options?: ResolveIdentityOptions | boolean): Promise<Identity> {
    // Not an async function: one that can await allocates its frame on
    // every call, a cache hit included.
    // The calls resolveCallOptions() gives no options (NO_CALL_OPTIONS).
    if (options === undefined || options === null || options === false) {
      const held = this.#identityOfHeldPlc(input);
      if (held !== undefined) return held;
    }
    return this.#resolveIdentityAndRecord(input, options);
  }

  /**
   * The path of a call without options whose input is a `did:plc` the DID
   * cache holds fresh, kept apart from the full path so that the optimizing
   * compiler sees only it: one clock reading for both lookups, no syntax
   * check (see `DidResolver.heldPlcDocument()`), the handle from its cache
   * or else resolved. `undefined` when the document is not held (nothing
   * was counted): the full path runs.
   */
  #identityOfHeldPlc(input: string): Promise<Identity> | undefined {
    if (!this.#peeks) return undefined;
    const recorder = this.#recorder;
    const startedAt = recorder.listening ? performance.now() : 0;
    const now = this.#clock();
    const doc = this.did.heldPlcDocument(input, now);
    if (doc === undefined) return undefined;
    if (doc === null) {
      const error = new DidNotFoundError(input);
      recorder.record('identity', startedAt, outcomeOf(error), 'bypass', error);
      return Promise.reject(error);
    }
    const identity = this.#identityFromDocument(input, doc, NO_CALL_OPTIONS, true, now);
    if (identity instanceof Promise) return this.#recordIdentity(identity, startedAt === 0 ? performance.now() : startedAt);
    recorder.record('identity', startedAt, 'ok', 'bypass');
    return Promise.resolve(identity);
  }

  #resolveIdentityAndRecord(input: string, options: ResolveIdentityOptions | boolean | undefined): Promise<Identity> {
    const recorder = this.#recorder;
    // A resolution served from the caches completes without yielding: the
    // clock is read only for a listener (none can be added meanwhile).
    const startedAt = recorder.listening ? performance.now() : 0;
    let identity: Identity | Promise<Identity>;
    try {
      const call = resolveCallOptions(options);
      identity = this.#resolveIdentity(input, call, call === NO_CALL_OPTIONS);
    } catch (error) {
      recorder.record('identity', startedAt, outcomeOf(error), 'bypass', error);
      return Promise.reject(error);
    }
    // Some step needs I/O; what ran before took well under a microsecond.
    if (identity instanceof Promise) return this.#recordIdentity(identity, startedAt === 0 ? performance.now() : startedAt);
    recorder.record('identity', startedAt, 'ok', 'bypass');
    return Promise.resolve(identity);
  }

  async #recordIdentity(pending: Promise<Identity>, startedAt: number): Promise<Identity> {
    try {
      const identity = await pending;
      this.#recorder.record('identity', startedAt, 'ok', 'bypass');
      return identity;
    } catch (error) {
      this.#recorder.record('identity', startedAt, outcomeOf(error), 'bypass', error);
      throw error;
    }
  }

  // The steps of resolveIdentity() return the identity at once when every
  // answer they need is held fresh in this process's caches (`plain`: the
  // call has no per-call options), else a promise. Errors of the synchronous
  // part are thrown, those after I/O reject.
  //
  // `now` is one reading of the caches' clock (`#clock`) for every lookup
  // of the same synchronous turn; a step that runs after an await passes
  // `undefined`, so each lookup there reads the clock itself.

  #resolveIdentity(input: string, options: ResolveCallOptions, plain: boolean): Identity | Promise<Identity> {
    const now = plain && this.#peeks ? this.#clock() : undefined;
    let did: string;
    let method: DidMethodName;
    if (isPlcDid(input)) {
      did = input;
      method = 'plc';
    } else {
      const id = resolvableAtIdentifier(input, this.#resolution);
      if (id.kind === 'handle') return this.#identityFromHandle(id.handle, options, plain, now);
      did = id.did;
      method = id.method;
    }
    // resolveIdentity() has looked a did:plc up (#identityOfHeldPlc).
    const held = now !== undefined && method !== 'plc' ? this.did.heldDocumentOf(did, method, now) : undefined;
    if (held === null) throw new DidNotFoundError(did);
    if (held !== undefined) return this.#identityFromDocument(did, held, options, plain, now);
    return this.did.ensureResolve(did, options).then((doc) => this.#identityFromDocument(did, doc, options, plain, undefined));
  }

  /** From a DID's document: its declared handle must resolve back to the DID. */
  #identityFromDocument(
    did: string,
    doc: DidDocument,
    options: ResolveCallOptions,
    plain: boolean,
    now: number | undefined,
  ): Identity | Promise<Identity> {
    const facts = this.#factsOf(doc);
    const declared = facts.data.handle;
    if (declared === undefined) return identityOf(facts.data, doc, 'undeclared');
    // A cached "names none" (null) is a mismatch, as resolve()'s undefined is.
    const held = plain && facts.handleKey !== null ? this.handle.heldDidOf(facts.handleKey, now) : undefined;
    if (held !== undefined) return identityOf(facts.data, doc, held === did ? 'verified' : 'mismatch');
    return this.#checkDeclaredHandle(did, doc, facts.data, options);
  }

  /**
   * What an identity needs of `doc`: its atproto data and its declared
   * handle as a handle-cache key (`null` when it declares none or one not
   * resolvable here; then `handle.resolve()` says why). Computed once per
   * document object, so a cached document costs one lookup per identity.
   */
  #factsOf(doc: DidDocument): DocumentFacts {
    let facts = this.#documentFacts.get(doc);
    if (facts === undefined) {
      const data = memoizedAtprotoData(doc);
      let handleKey: string | null = null;
      if (data.handle !== undefined) {
        try {
          handleKey = resolvableHandle(data.handle, this.#resolution.allowTestTlds);
        } catch {
          // Not resolvable here: handle.resolve() throws the typed error.
        }
      }
      facts = { data, handleKey };
      this.#documentFacts.set(doc, facts);
    }
    return facts;
  }

  async #checkDeclaredHandle(did: string, doc: DidDocument, data: AtprotoData, options: ResolveCallOptions): Promise<Identity> {
    try {
      const claimed = await this.handle.resolve(data.handle as string, options);
      return identityOf(data, doc, claimed === did ? 'verified' : 'mismatch');
    } catch (error) {
      if (options.signal?.aborted || error instanceof AbortError) throw error;
      // An authoritative "no" is a mismatch; anything else says nothing
      // about the handle yet, and nothing of it was cached.
      if (error instanceof AmbiguousHandleError || error instanceof InvalidHandleError) return identityOf(data, doc, 'mismatch');
      return identityOf(data, doc, 'unavailable', error);
    }
  }

  /** From a handle: the DID it claims, whose document must declare the handle. */
  #identityFromHandle(handle: string, options: ResolveCallOptions, plain: boolean, now: number | undefined): Identity | Promise<Identity> {
    const held = plain ? this.handle.heldDidOf(handle, now) : undefined;
    if (held !== undefined) return this.#identityFromClaim(handle, held ?? undefined, options, plain, now);
    return this.handle.resolve(handle, options).then((claimed) => this.#identityFromClaim(handle, claimed, options, plain, undefined));
  }

  #identityFromClaim(
    handle: string,
    claimed: string | undefined,
    options: ResolveCallOptions,
    plain: boolean,
    now: number | undefined,
  ): Identity | Promise<Identity> {
    if (claimed === undefined) throw new HandleNotFoundError(handle);
    let did: string;
    let method: DidMethodName;
    try {
      if (isPlcDid(claimed)) {
        did = claimed;
        method = 'plc';
      } else {
        ({ did, method } = resolvableDid(claimed, this.#resolution));
      }
    } catch (error) {
      // The caller's input was fine; the handle's answer is unusable.
      if (error instanceof InvalidDidError || error instanceof UnsupportedDidMethodError) {
        throw new HandleNotFoundError(handle, { cause: error, claimedDid: claimed });
      }
      throw error;
    }
    const held = plain ? this.did.heldDocumentOf(did, method, now) : undefined;
    if (held !== undefined) return identityFromClaimedDocument(handle, did, held);
    return this.did.resolve(did, options).then((doc) => identityFromClaimedDocument(handle, did, doc));
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
      cache: { did: this.#didCache.stats(), handle: this.#handleCache.stats() },
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
    await Promise.all([this.transport.reset(), this.#didCache.clearLocal(), this.#handleCache.clearLocal()]);
  }

  /**
   * Close the caches and, when the resolver created it, the transport
   * (waiting for in-flight requests). Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= Promise.all([
      this.#didCache.close(),
      this.#handleCache.close(),
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

function makeCache<V>(o: ResolvedCacheOptions, store: CacheStore<V> | undefined, now: () => number): ResolutionCache<V> {
  return new ResolutionCache<V>({
    store: store ?? new MemoryCacheStore<V>({ maxEntries: o.maxEntries, maxBytes: o.maxBytes, maxTtlMs: o.maxTtlMs, now }),
    now,
    staleTtlMs: o.staleTtlMs,
    maxTtlMs: o.maxTtlMs,
    negativeTtlMs: o.negativeTtlMs,
    maxConcurrentRefreshes: o.maxConcurrentRefreshes,
  });
}

/** From a handle: the claimed DID's document must declare the handle. */
function identityFromClaimedDocument(handle: string, did: string, doc: DidDocument | null): Identity {
  if (!doc) throw new DidNotFoundError(did);
  const data = memoizedAtprotoData(doc);
  const declared = data.handle;
  return identityOf(data, doc, declared === undefined ? 'undeclared' : declared === handle ? 'verified' : 'mismatch');
}

/** What `resolveIdentity()` needs of one document object; see `IdResolver.#factsOf`. */
interface DocumentFacts {
  readonly data: AtprotoData;
  readonly handleKey: string | null;
}

function identityOf(data: AtprotoData, doc: DidDocument, handleCheck: HandleCheck, handleError?: unknown): Identity {
  return {
    did: data.did,
    handle: handleCheck === 'verified' && data.handle !== undefined ? data.handle : INVALID_HANDLE,
    handleCheck,
    handleError,
    declaredHandle: data.handle,
    pds: data.pds,
    signingKey: data.signingKey,
    doc,
  };
}
