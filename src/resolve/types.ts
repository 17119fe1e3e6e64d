import type { CacheOutcome, CacheStats } from '../cache/types.js';
import type { TransportStats } from '../transport/types.js';
import { DID_METHOD_NAMES, type DidMethodName } from './did-methods.js';

/**
 * What was resolved: a DID document of one of the `DID_METHODS` (`plc`,
 * `web`), `other` (a DID input of a method atresolve does not resolve, such
 * as `did:key`, or not a DID at all: always `invalid`), a handle, or a
 * verified identity.
 */
export type ResolutionMethod = DidMethodName | 'other' | 'handle' | 'identity';

/** Every `ResolutionMethod`, in the order counters and metrics list them. */
export const RESOLUTION_METHODS: readonly ResolutionMethod[] = Object.freeze([...DID_METHOD_NAMES, 'other', 'handle', 'identity']);

/**
 * How a resolution ended: `ok`; `not_found` (the authority said so);
 * `invalid` (bad input or a bad document); `error` (transient: network,
 * timeout, server error).
 */
export type ResolutionOutcome = 'ok' | 'not_found' | 'invalid' | 'error';

/**
 * One handle lookup method (DNS TXT, DNS-over-HTTPS, HTTPS well-known): the
 * DID the handle claims, `undefined` for an authoritative "none", or a
 * thrown error for a transient failure.
 */
export type HandleMethod = (handle: string, signal?: AbortSignal) => Promise<string | undefined>;

/** Emitted once per finished resolution to listeners added with `addResolutionListener()`. */
export interface ResolutionEvent {
  method: ResolutionMethod;
  outcome: ResolutionOutcome;
  cache: CacheOutcome;
  /** Wall time of the resolution in milliseconds. */
  durationMs: number;
  /** The error `code` when `outcome` is not `ok`. */
  errorCode?: string;
}

/** A snapshot of a resolver and everything it owns. */
export interface ResolverStats {
  /** Finished resolutions by method and outcome (counters). */
  resolutions: Record<ResolutionMethod, Record<ResolutionOutcome, number>>;
  /** Handle lookups where DNS and HTTPS named different DIDs (DNS was used). */
  handleConflicts: number;
  /** Cache statistics, `null` when caching is off. */
  cache: { did: CacheStats | null; handle: CacheStats | null };
  transport: TransportStats;
}
