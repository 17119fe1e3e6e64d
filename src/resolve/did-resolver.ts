import { entryCharge } from '../cache/memory.js';
import type { LookupCache } from '../cache/policy.js';
import type { CacheOutcome } from '../cache/types.js';
import { atprotoData, type AtprotoData } from '../document/atproto-data.js';
import type { DidDocument } from '../document/did-document.js';
import { DID_KEY_PREFIX, parseDidKey } from '../document/did-key.js';
import { MissingAtprotoDataError, type AtprotoField } from '../document/errors.js';
import {
  resolvableDid,
  resolveDidResolutionOptions,
  type ResolvableDid,
  type ResolvedDidResolutionOptions,
} from '../syntax/did.js';
import { InvalidDidError } from '../syntax/errors.js';
import { hasPlcDidShape } from '../syntax/scan.js';
import { resolveCallOptions, type ResolveCallOptions } from './call-options.js';
import { fetchDidDocument, type DidFetchContext } from './did-fetch.js';
import { didMethodLabel, didMethodOf, type DidMethodName } from './did-methods.js';
import { DidNotFoundError } from './errors.js';
import { outcomeOf, type ResolutionRecorder } from './recorder.js';

/**
 * Per-call options of the DID resolver. Every method also takes a
 * positional `forceRefresh` boolean instead, as `@atproto/identity` does.
 */
export type DidResolveOptions = ResolveCallOptions;

/** What a `DidResolver` is built from; `IdResolver` assembles it. */
export interface DidResolverParts {
  fetch: DidFetchContext;
  plcUrl: string;
  allowTestTlds: boolean;
  allowLocalhost: boolean;
  /**
   * The resolver's DID cache, or a pass-through when caching is off. Only
   * `#resolve()` stores into it, under DIDs that passed the syntax check
   * (`heldPlcDocument()` relies on it).
   */
  cache: LookupCache<DidDocument>;
  recorder: ResolutionRecorder;
}

/**
 * The atproto view with every field present: what `@atproto/identity`'s
 * `resolveAtprotoData()` returns, and what `ensureResolveAtprotoData()`
 * promises.
 */
export type CompleteAtprotoData = { readonly [K in keyof AtprotoData]-?: NonNullable<AtprotoData[K]> };

/**
 * A parsed JSON object costs roughly three times its text in V8 (object
 * headers, hidden classes, one string per field), so a document is charged
 * three times its body (a did:plc document measures ~2.4×).
 */
const PARSED_SIZE_FACTOR = 3;

/** atprotoData() checks a curve point (~30 µs); memoize it per cached document object. */
const atprotoDataMemo = new WeakMap<DidDocument, AtprotoData>();

/** The atproto view of `doc`, computed once per document object. */
export function memoizedAtprotoData(doc: DidDocument): AtprotoData {
  let data = atprotoDataMemo.get(doc);
  if (!data) {
    data = atprotoData(doc);
    atprotoDataMemo.set(doc, data);
  }
  return data;
}

/**
 * Resolves DIDs (each method in `DID_METHODS`: `did:plc` from the PLC
 * directory, `did:web` from `https://<host>/.well-known/did.json`) to
 * validated documents. Method names and their positional `forceRefresh`
 * follow `@atproto/identity`'s `DidResolver`.
 *
 * Obtain one from `IdResolver.did`.
 */
export class DidResolver {
  readonly #parts: DidResolverParts;
  readonly #resolution: ResolvedDidResolutionOptions;

  /** @internal built by `IdResolver` */
  constructor(parts: DidResolverParts) {
    this.#parts = parts;
    this.#resolution = resolveDidResolutionOptions({ allowTestTlds: parts.allowTestTlds, allowLocalhost: parts.allowLocalhost });
  }

  /**
   * Resolve a DID to its document, as published: every field of the JSON,
   * `@context` and unknown ones included, in fresh, bounded, frozen objects.
   *
   * @param options `{ forceRefresh, signal }`, or a `forceRefresh` boolean
   * @returns the document, or `null` when the PLC directory or did:web host
   *   says the DID does not exist (404/410; a did:web 4xx)
   * @throws InvalidDidError / UnsupportedDidMethodError before any I/O
   * @throws InvalidDidDocumentError / DidDocumentMismatchError for a bad document
   * @throws ResolutionFailedError for transient failures (never cached)
   * @throws AbortError when `signal` aborts
   */
  resolve(did: string, options?: DidResolveOptions | boolean): Promise<DidDocument | null> {
    // Not an async function: one that can await allocates its frame on
    // every call, a cache hit included.
    if (options === undefined || options === false) {
      const held = this.heldDocument(did);
      if (held !== undefined) return Promise.resolve(held);
    }
    return this.#resolve(did, options);
  }

  async #resolve(did: string, options: DidResolveOptions | boolean | undefined): Promise<DidDocument | null> {
    const startedAt = performance.now();
    const method = didMethodLabel(did);
    const { cache, recorder } = this.#parts;
    let outcome: CacheOutcome = 'miss';
    try {
      const call = resolveCallOptions(options);
      if (call.forceRefresh) outcome = 'bypass';
      const info = resolvableDid(did, this.#resolution);
      const result = await cache.resolve(info.did, (signal) => this.#load(info, signal), call);
      outcome = result.cache;
      recorder.record(method, startedAt, result.value ? 'ok' : 'not_found', outcome);
      return result.value;
    } catch (error) {
      recorder.record(method, startedAt, outcomeOf(error), cache.caching ? outcome : 'bypass', error);
      throw error;
    }
  }

  /**
   * The answer for `did` when this process's cache holds it fresh: the
   * document, or `null` for a cached not-found, served with no I/O and no
   * promise, counted and recorded as a cache hit exactly as `resolve()`
   * would. `undefined` when `resolve()` has to run: nothing fresh held
   * here, caching off, or `did` not a resolvable DID (then `resolve()`
   * throws the typed error). For calls without per-call options. Never
   * throws.
   *
   * A `did:plc` is looked up before its syntax check (`heldPlcDocument`).
   *
   * @internal used by `resolve()` and `IdResolver.resolveIdentity()`.
   */
  heldDocument(did: string): DidDocument | null | undefined {
    if (this.#parts.cache.peekFresh === undefined) return undefined;
    if (hasPlcDidShape(did)) return this.heldDocumentOf(did, 'plc');
    try {
      return this.heldDocumentOf(did, resolvableDid(did, this.#resolution).method);
    } catch {
      return undefined;
    }
  }

  /**
   * `heldDocument()` for an input with the shape of a `did:plc`
   * (`hasPlcDidShape`), looked up without the syntax check: the cache holds
   * a `did:plc` only under a key that passed it when the answer was stored
   * (`#resolve()` stores under the checked DID, and the check takes no
   * options), so an input the cache holds is a valid `did:plc`, and one it
   * does not hold goes through `resolve()`, which checks it. `undefined`
   * for any other input. `now`: as for `heldDocumentOf()`.
   *
   * @internal used by `IdResolver.resolveIdentity()`.
   */
  heldPlcDocument(input: unknown, now?: number): DidDocument | null | undefined {
    return hasPlcDidShape(input) ? this.heldDocumentOf(input, 'plc', now) : undefined;
  }

  /**
   * `heldDocument()` for a DID the caller already found resolvable, of
   * method `method`. `now`: a reading of the cache's clock taken in the
   * same synchronous turn (`LookupCache.peekFresh`), else read here.
   *
   * @internal used by `IdResolver.resolveIdentity()`.
   */
  heldDocumentOf(did: string, method: DidMethodName, now?: number): DidDocument | null | undefined {
    const { cache, recorder } = this.#parts;
    // No await comes before the record below: the clock is read only for a listener.
    const startedAt = recorder.listening ? performance.now() : 0;
    const entry = cache.peekFresh?.(did, now);
    if (entry === undefined) return undefined;
    recorder.record(method, startedAt, entry.value === null ? 'not_found' : 'ok', 'hit');
    return entry.value;
  }

  /**
   * Like `resolve()`, but a missing DID is an error.
   * @throws DidNotFoundError when the DID does not exist
   */
  async ensureResolve(did: string, options?: DidResolveOptions | boolean): Promise<DidDocument> {
    const doc = await this.resolve(did, options);
    if (!doc) throw new DidNotFoundError(did);
    return doc;
  }

  /**
   * The atproto view of the DID's document: declared handle (not verified),
   * PDS origin and signing key, each `undefined` when the document has no
   * usable one (`ensureResolveAtprotoData()` throws instead).
   * @throws DidNotFoundError when the DID does not exist
   */
  async resolveAtprotoData(did: string, options?: DidResolveOptions | boolean): Promise<AtprotoData> {
    return memoizedAtprotoData(await this.ensureResolve(did, options));
  }

  /**
   * The atproto view with every field present, as `@atproto/identity`'s
   * `resolveAtprotoData()` returns it.
   * @throws DidNotFoundError when the DID does not exist
   * @throws MissingAtprotoDataError naming the first field the document lacks
   */
  async ensureResolveAtprotoData(did: string, options?: DidResolveOptions | boolean): Promise<CompleteAtprotoData> {
    const data = await this.resolveAtprotoData(did, options);
    for (const field of ['signingKey', 'handle', 'pds'] as const satisfies readonly AtprotoField[]) {
      if (data[field] === undefined) throw new MissingAtprotoDataError(data.did, field);
    }
    return data as CompleteAtprotoData;
  }

  /**
   * The DID's atproto signing key as `did:key:…`. A `did:key:…` is its own
   * key and is returned unchanged without I/O (service-auth tokens may be
   * issued by one), as `@atproto/identity` does; unlike it, the key must
   * parse (a compressed secp256k1 or P-256 point on its curve).
   * @throws InvalidDidError for a `did:key:…` that is not a valid key
   * @throws DidNotFoundError when the DID does not exist
   * @throws MissingAtprotoDataError when its document has no valid `#atproto` key
   */
  async resolveAtprotoKey(did: string, options?: DidResolveOptions | boolean): Promise<string> {
    if (typeof did === 'string' && did.startsWith(DID_KEY_PREFIX)) {
      resolveCallOptions(options);
      if (parseDidKey(did) === undefined) {
        throw new InvalidDidError(did, 'method-syntax', 'not a valid did:key (a compressed secp256k1 or P-256 public key)');
      }
      return did;
    }
    const data = await this.resolveAtprotoData(did, options);
    if (!data.signingKey) throw new MissingAtprotoDataError(data.did, 'signingKey');
    return data.signingKey;
  }

  /** Drop the DID from the cache (e.g. on a firehose `#identity` event). */
  async purge(did: string): Promise<void> {
    await this.#parts.cache.purge(did);
  }

  async #load(info: ResolvableDid, signal: AbortSignal | undefined): Promise<{ value: DidDocument | null; size: number }> {
    const { fetch, plcUrl } = this.#parts;
    const method = didMethodOf(info);
    const fetched = await fetchDidDocument(fetch, info.did, method.documentUrl(info, { plcUrl }), method.notFound, signal);
    return { value: fetched.doc, size: entryCharge(info.did, fetched.doc ? fetched.bodyBytes * PARSED_SIZE_FACTOR : 0) };
  }
}
