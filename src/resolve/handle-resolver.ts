import type { ResolutionCache } from '../cache/policy.js';
import { ensureResolvableHandle, normalizeHandle } from '../syntax/handle.js';
import type { HandleMethod } from './types.js';
import { HandleNotFoundError } from './errors.js';
import { combineHandleMethods, type HandleStrategy } from './handle-strategy.js';
import { outcomeOf, type ResolutionRecorder } from './recorder.js';
import type { CacheOutcome } from '../cache/types.js';

/** Per-call options of the handle resolver. */
export interface HandleResolveOptions {
  /** Skip the cache read (the answer is still stored). Default `false`. */
  forceRefresh?: boolean;
  /** Cancels this call (with a cache, only this caller's wait). */
  signal?: AbortSignal;
}

/** What a `HandleResolver` is built from; `IdResolver` assembles it. */
export interface HandleResolverParts {
  dns: HandleMethod;
  https: HandleMethod;
  strategy: HandleStrategy;
  allowTestTlds: boolean;
  cache: ResolutionCache<string> | undefined;
  recorder: ResolutionRecorder;
}

/** Cache size of a handle → DID entry: two short strings and their record. */
const HANDLE_ENTRY_OVERHEAD = 160;

/**
 * Resolves a handle to the DID it claims, by DNS TXT `_atproto.<handle>`
 * and HTTPS `https://<handle>/.well-known/atproto-did`. The answer is NOT
 * verified: the DID's document must name the handle back, which
 * `IdResolver.resolveIdentity()` checks. Method names follow
 * `@atproto/identity`'s `HandleResolver`.
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
   * Resolve a handle (any case) to the DID it claims.
   *
   * @returns the DID, or `undefined` when neither DNS nor HTTPS names one
   * @throws InvalidHandleError before any I/O (bad syntax, reserved TLD, `.test` unless allowed)
   * @throws AmbiguousHandleError when DNS names several different DIDs
   * @throws ResolutionFailedError when no answer could be had for a transient reason
   */
  async resolve(handle: string, options: HandleResolveOptions = {}): Promise<string | undefined> {
    const startedAt = performance.now();
    const { cache, recorder } = this.#parts;
    let outcome: CacheOutcome = cache ? 'miss' : 'bypass';
    try {
      const normalized = ensureResolvableHandle(handle, { allowTestTlds: this.#parts.allowTestTlds });
      let did: string | null;
      if (cache) {
        const result = await cache.resolve(
          normalized,
          async () => {
            const found = await this.#lookup(normalized, undefined);
            return { value: found ?? null, size: HANDLE_ENTRY_OVERHEAD + 2 * (normalized.length + (found?.length ?? 0)) };
          },
          { forceRefresh: options.forceRefresh, signal: options.signal },
        );
        did = result.value;
        outcome = result.cache;
      } else {
        did = (await this.#lookup(normalized, options.signal)) ?? null;
      }
      recorder.record('handle', startedAt, did ? 'ok' : 'not_found', outcome);
      return did ?? undefined;
    } catch (error) {
      recorder.record('handle', startedAt, outcomeOf(error), outcome, error);
      throw error;
    }
  }

  /**
   * Like `resolve()`, but a handle without a DID is an error.
   * @throws HandleNotFoundError when neither DNS nor HTTPS names a DID
   */
  async ensureResolve(handle: string, options?: HandleResolveOptions): Promise<string> {
    const did = await this.resolve(handle, options);
    if (!did) throw new HandleNotFoundError(handle);
    return did;
  }

  /** The DNS TXT method alone (no cache). `undefined` when DNS names no DID. */
  resolveDns(handle: string, options: { signal?: AbortSignal } = {}): Promise<string | undefined> {
    return this.#parts.dns(ensureResolvableHandle(handle, { allowTestTlds: this.#parts.allowTestTlds }), options.signal);
  }

  /** The HTTPS well-known method alone (no cache). `undefined` when it names no DID. */
  resolveHttp(handle: string, options: { signal?: AbortSignal } = {}): Promise<string | undefined> {
    return this.#parts.https(ensureResolvableHandle(handle, { allowTestTlds: this.#parts.allowTestTlds }), options.signal);
  }

  /** Drop the handle from the cache. */
  async purge(handle: string): Promise<void> {
    await this.#parts.cache?.purge(normalizeHandle(handle));
  }

  async #lookup(handle: string, signal: AbortSignal | undefined): Promise<string | undefined> {
    const { dns, https, strategy } = this.#parts;
    const result = await combineHandleMethods(handle, strategy, dns, https, signal);
    if (result.conflict) this.#conflicts += 1;
    return result.did;
  }
}
