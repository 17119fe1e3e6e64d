import type { ResolutionCache } from '../cache/policy.js';
import { atprotoData, type AtprotoData } from '../document/atproto-data.js';
import type { DidDocument } from '../document/did-document.js';
import { ensureResolvableDid, type ResolvableDid } from '../syntax/did.js';
import type { CacheOutcome } from '../cache/types.js';
import type { ResolutionMethod } from './types.js';
import { fetchDidDocument, type DidFetchContext, type FetchedDidDocument } from './did-fetch.js';
import { DidNotFoundError } from './errors.js';
import { outcomeOf, type ResolutionRecorder } from './recorder.js';

/** Per-call options of the DID resolver. */
export interface DidResolveOptions {
  /** Skip the cache read (the answer is still stored). Default `false`. */
  forceRefresh?: boolean;
  /** Cancels this call (with a cache, only this caller's wait). */
  signal?: AbortSignal;
}

/** What a `DidResolver` is built from; `IdResolver` assembles it. */
export interface DidResolverParts {
  fetch: DidFetchContext;
  plcUrl: string;
  allowTestTlds: boolean;
  allowLocalhost: boolean;
  cache: ResolutionCache<DidDocument> | undefined;
  recorder: ResolutionRecorder;
}

/**
 * A parsed JSON object costs roughly three times its text in V8 (object
 * headers, hidden classes, one string per field), so a document's cache
 * size is three times its body.
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
 * Resolves `did:plc` (from the PLC directory) and `did:web` (from
 * `https://<host>/.well-known/did.json`) DIDs to validated documents.
 * Method names follow `@atproto/identity`'s `DidResolver`.
 *
 * Obtain one from `IdResolver.did`.
 */
export class DidResolver {
  readonly #parts: DidResolverParts;

  /** @internal built by `IdResolver` */
  constructor(parts: DidResolverParts) {
    this.#parts = parts;
  }

  /**
   * Resolve a DID to its document.
   *
   * @returns the document, or `null` when the PLC directory or did:web host
   *   says the DID does not exist (404/410)
   * @throws InvalidDidError / UnsupportedDidMethodError before any I/O
   * @throws InvalidDidDocumentError / DidDocumentMismatchError for a bad document
   * @throws ResolutionFailedError for transient failures (never cached)
   */
  async resolve(did: string, options: DidResolveOptions = {}): Promise<DidDocument | null> {
    const startedAt = performance.now();
    const method: ResolutionMethod = typeof did === 'string' && did.startsWith('did:web:') ? 'web' : 'plc';
    let cache: CacheOutcome = this.#parts.cache ? 'miss' : 'bypass';
    try {
      const info = ensureResolvableDid(did, {
        allowTestTlds: this.#parts.allowTestTlds,
        allowLocalhost: this.#parts.allowLocalhost,
      });
      let doc: DidDocument | null;
      const store = this.#parts.cache;
      if (store) {
        const result = await store.resolve(
          info.did,
          async () => sized(await this.#fetch(info, undefined)),
          { forceRefresh: options.forceRefresh, signal: options.signal },
        );
        doc = result.value;
        cache = result.cache;
      } else {
        doc = (await this.#fetch(info, options.signal)).doc;
      }
      this.#parts.recorder.record(method, startedAt, doc ? 'ok' : 'not_found', cache);
      return doc;
    } catch (error) {
      this.#parts.recorder.record(method, startedAt, outcomeOf(error), cache, error);
      throw error;
    }
  }

  /**
   * Like `resolve()`, but a missing DID is an error.
   * @throws DidNotFoundError when the DID does not exist
   */
  async ensureResolve(did: string, options?: DidResolveOptions): Promise<DidDocument> {
    const doc = await this.resolve(did, options);
    if (!doc) throw new DidNotFoundError(did);
    return doc;
  }

  /**
   * The atproto view of the DID's document: declared handle (not verified),
   * PDS origin and signing key, each `undefined` when the document has no
   * usable one.
   * @throws DidNotFoundError when the DID does not exist
   */
  async resolveAtprotoData(did: string, options?: DidResolveOptions): Promise<AtprotoData> {
    return memoizedAtprotoData(await this.ensureResolve(did, options));
  }

  /**
   * The DID's atproto signing key as `did:key:…`.
   * @throws DidNotFoundError when the DID does not exist or has no valid signing key
   */
  async resolveAtprotoKey(did: string, options?: DidResolveOptions): Promise<string> {
    const data = await this.resolveAtprotoData(did, options);
    if (!data.signingKey) throw new DidNotFoundError(did, { cause: new Error('the document has no valid #atproto key') });
    return data.signingKey;
  }

  /** Drop the DID from the cache (e.g. on a firehose `#identity` event). */
  async purge(did: string): Promise<void> {
    await this.#parts.cache?.purge(did);
  }

  #fetch(info: ResolvableDid, signal: AbortSignal | undefined): Promise<FetchedDidDocument> {
    const { fetch, plcUrl } = this.#parts;
    if (info.method === 'plc') {
      const url = `${plcUrl.replace(/\/+$/, '')}/${encodeURIComponent(info.did)}`;
      // PLC: 404 is an unknown DID, 410 a tombstoned one.
      return fetchDidDocument(fetch, info.did, url, (s) => s === 404 || s === 410, signal);
    }
    const scheme = info.isLocalhost ? 'http' : 'https';
    const url = `${scheme}://${info.authority}/.well-known/did.json`;
    // did:web: a client error from the host means it has no document for
    // this DID, except 408 and 429, which say "try again later".
    return fetchDidDocument(fetch, info.did, url, (s) => s >= 400 && s < 500 && s !== 408 && s !== 429, signal);
  }
}

function sized(fetched: FetchedDidDocument): { value: DidDocument | null; size: number } {
  return { value: fetched.doc, size: fetched.doc ? fetched.bodyBytes * PARSED_SIZE_FACTOR + 256 : 64 };
}
