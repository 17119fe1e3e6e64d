import { entryCharge } from '../cache/memory.js';
import { abortError, type LookupCache } from '../cache/policy.js';
import type { CacheOutcome } from '../cache/types.js';
import { normalizeHandle, resolvableHandle } from '../syntax/handle.js';
import { untilAborted } from '../util/abort.js';
import { resolveCallOptions, type ResolveCallOptions } from './call-options.js';
import { HandleNotFoundError } from './errors.js';
import { combineHandleMethods, type HandleStrategy } from './handle-strategy.js';
import { outcomeOf, type ResolutionRecorder } from './recorder.js';
import type { HandleMethod } from './types.js';

/** Per-call options of the handle resolver (a positional `forceRefresh` boolean is accepted too). */
export type HandleResolveOptions = ResolveCallOptions;

/** What a `HandleResolver` is built from; `IdResolver` assembles it. */
export interface HandleResolverParts {
  dns: HandleMethod;
  https: HandleMethod;
  strategy: HandleStrategy;
  allowTestTlds: boolean;
  /** The resolver's handle cache, or a pass-through when caching is off. */
  cache: LookupCache<string>;
  recorder: ResolutionRecorder;
}

/**
 * Resolves a handle to the DID it claims, by DNS TXT `_atproto.<handle>`
 * and HTTPS `https://<handle>/.well-known/atproto-did`. The answer is NOT
 * verified: the DID's document must name the handle back, which
 * `IdResolver.resolveIdentity()` checks. Method names follow
 * `@atproto/identity`'s `HandleResolver`.
 *
 * "Not found" is only an authoritative answer: NXDOMAIN or no TXT record
 * for `_atproto.<handle>`, and for the well-known an NXDOMAIN for the host,
 * an HTTP 404, or a body that is not a DID. Anything else (refused
 * connection, untrusted certificate, SERVFAIL, timeout, another status) is
 * a transient failure: thrown as `ResolutionFailedError`, never cached.
 *
 * Obtain one from `IdResolver.handle`.
 */
export class HandleResolver {
  readonly #parts: HandleResolverParts;
  #conflicts = 0;

  /** @internal built by `IdResolver` */
  constructor(parts: HandleResolverParts) {
    this.#parts = parts;
  }

  /** How many lookups found different DIDs in DNS and HTTPS (DNS was used). */
  get conflicts(): number {
    return this.#conflicts;
  }

  /**
   * Resolve a handle (any case) to the DID it claims. The DID is returned
   * as the handle's records name it, whatever its method.
   *
   * @param options `{ forceRefresh, signal }`, or a `forceRefresh` boolean
   * @returns the DID, or `undefined` when DNS and HTTPS both answered that
   *   the handle names none
   * @throws InvalidHandleError before any I/O (bad syntax, reserved TLD, `.test` unless allowed)
   * @throws AmbiguousHandleError when DNS names several different DIDs
   * @throws ResolutionFailedError when no DID was found and a method failed
   *   for a transient reason (never cached)
   * @throws AbortError when `signal` aborts
   */
  resolve(handle: string, options?: HandleResolveOptions | boolean): Promise<string | undefined> {
    // Not an async function: one that can await allocates its frame on
    // every call, a cache hit included.
    if (options === undefined || options === false) {
      const held = this.heldDid(handle);
      if (held !== undefined) return Promise.resolve(held ?? undefined);
    }
    return this.#resolve(handle, options);
  }

  async #resolve(handle: string, options: HandleResolveOptions | boolean | undefined): Promise<string | undefined> {
    const startedAt = performance.now();
    const { cache, recorder } = this.#parts;
    let outcome: CacheOutcome = 'miss';
    try {
      const call = resolveCallOptions(options);
      if (call.forceRefresh) outcome = 'bypass';
      const normalized = resolvableHandle(handle, this.#parts.allowTestTlds);
      const result = await cache.resolve(normalized, (signal) => this.#load(normalized, signal), call);
      outcome = result.cache;
      recorder.record('handle', startedAt, result.value ? 'ok' : 'not_found', outcome);
      return result.value ?? undefined;
    } catch (error) {
      recorder.record('handle', startedAt, outcomeOf(error), cache.caching ? outcome : 'bypass', error);
      throw error;
    }
  }

  /**
   * The answer for `handle` when this process's cache holds it fresh: the
   * DID, or `null` for a cached "names none", served with no I/O and no
   * promise, counted and recorded as a cache hit exactly as `resolve()`
   * would. `undefined` when `resolve()` has to run: nothing fresh held
   * here, caching off, or `handle` not resolvable (then `resolve()` throws
   * the typed error). For calls without per-call options. Never throws.
   *
   * @internal used by `resolve()` and `IdResolver.resolveIdentity()`.
   */
  heldDid(handle: string): string | null | undefined {
    if (this.#parts.cache.peekFresh === undefined) return undefined;
    let normalized: string;
    try {
      normalized = resolvableHandle(handle, this.#parts.allowTestTlds);
    } catch {
      return undefined;
    }
    return this.heldDidOf(normalized);
  }

  /**
   * `heldDid()` for a handle the caller already normalized and found
   * resolvable (`resolvableHandle()` with this resolver's `allowTestTlds`).
   * `now`: a reading of the cache's clock taken in the same synchronous
   * turn (`LookupCache.peekFresh`), else read here.
   *
   * @internal used by `IdResolver.resolveIdentity()`.
   */
  heldDidOf(normalized: string, now?: number): string | null | undefined {
    const { cache, recorder } = this.#parts;
    // No await comes before the record below: the clock is read only for a listener.
    const startedAt = recorder.listening ? performance.now() : 0;
    const entry = cache.peekFresh?.(normalized, now);
    if (entry === undefined) return undefined;
    recorder.record('handle', startedAt, entry.value === null ? 'not_found' : 'ok', 'hit');
    return entry.value;
  }

  /**
   * Like `resolve()`, but a handle without a DID is an error.
   * @throws HandleNotFoundError when neither DNS nor HTTPS names a DID
   */
  async ensureResolve(handle: string, options?: HandleResolveOptions | boolean): Promise<string> {
    const did = await this.resolve(handle, options);
    if (!did) throw new HandleNotFoundError(handle);
    return did;
  }

  /**
   * The DNS TXT method alone (no cache). `undefined` when DNS says the
   * handle names no DID (NXDOMAIN, no TXT record, no `did=` record); a
   * transient failure is thrown, an abort rejects with `AbortError`.
   * @param options `{ signal }`, or the signal itself as `@atproto/identity` takes it
   */
  resolveDns(handle: string, options?: { signal?: AbortSignal } | AbortSignal): Promise<string | undefined> {
    return this.#raw(this.#parts.dns, handle, options);
  }

  /**
   * The HTTPS well-known method alone (no cache). `undefined` when the host
   * does not exist (NXDOMAIN), answers 404, or answers with a body that is
   * not a DID; transient failures are thrown, an abort rejects with `AbortError`.
   * @param options `{ signal }`, or the signal itself as `@atproto/identity` takes it
   */
  resolveHttp(handle: string, options?: { signal?: AbortSignal } | AbortSignal): Promise<string | undefined> {
    return this.#raw(this.#parts.https, handle, options);
  }

  /** Drop the handle from the cache. */
  async purge(handle: string): Promise<void> {
    await this.#parts.cache.purge(normalizeHandle(handle));
  }

  /** One method alone, with the same input checks and abort behaviour as `resolve()`. */
  async #raw(method: HandleMethod, handle: string, options: { signal?: AbortSignal } | AbortSignal | undefined): Promise<string | undefined> {
    const signal = signalOf(options);
    const normalized = resolvableHandle(handle, this.#parts.allowTestTlds);
    if (signal?.aborted) throw abortError(signal);
    return untilAborted(method(normalized, signal), signal, abortError);
  }

  async #load(handle: string, signal: AbortSignal | undefined): Promise<{ value: string | null; size: number }> {
    const { dns, https, strategy } = this.#parts;
    const result = await combineHandleMethods(handle, strategy, dns, https, signal);
    if (result.conflict) this.#conflicts += 1;
    // A flat copy: the DID is a slice of a TXT record or of a body, and a
    // sliced string keeps its parent alive (uncharged) and compares slowly
    // with the DID on every verified identity served from the cache.
    const did = result.did === undefined ? null : Buffer.from(result.did, 'utf8').toString('utf8');
    // The DID string is the value: two bytes a character at most, plus a string header.
    return { value: did, size: entryCharge(handle, did === null ? 0 : 16 + 2 * did.length) };
  }
}

/** A raw method's signal, from `{ signal }` or a positional `AbortSignal`. */
function signalOf(options: { signal?: AbortSignal } | AbortSignal | undefined): AbortSignal | undefined {
  if (options === undefined) return undefined;
  if (typeof AbortSignal !== 'undefined' && options instanceof AbortSignal) return options;
  return resolveCallOptions(options as { signal?: AbortSignal }).signal;
}
