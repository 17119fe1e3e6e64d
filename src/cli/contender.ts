import { causeChain, chainLabel } from './causes.js';
import type { LoadKind } from './load-plan.js';

/**
 * One resolver under load: ours on either transport, or a peer library
 * pointed at the same local world. The load runner only sees this shape.
 */
export interface Contender {
  /** Shown in the status line, the report and the chart, e.g. `atresolve (curl)`. */
  readonly name: string;
  /**
   * One resolution of `kind` (see `LoadKind`). Resolves when the identity
   * was resolved (and, for handles, verified both ways); rejects otherwise.
   */
  resolve(kind: LoadKind, target: string): Promise<void>;
  /** Sockets open now (ours: the transport's gauge; peers: socket fds of the process). */
  openConnections(): number;
  /** Transport recycles so far (`recycleAfterRequests`); 0 for peers, which have none. */
  recycles(): number;
  /**
   * Ours only: new connections made so far, to repeat routes (hosts kept
   * warm) and to first-seen routes (one-off hosts); see
   * `TransportStats.connectionsByRoute`.
   */
  newConnectionsByRoute?(): { repeat: number; firstSeen: number };
  /** Release everything (waits for in-flight work; the runner bounds the wait). */
  close(): Promise<void>;
}

/** The contenders `atresolve soak` knows. */
export const CONTENDER_IDS = ['curl', 'undici', 'atproto'] as const;

/** `curl`/`undici`: atresolve on that transport; `atproto`: `@atproto/identity`. */
export type ContenderId = (typeof CONTENDER_IDS)[number];

/** Settings every contender gets from the soak. */
export interface ContenderSettings {
  /** Keep a resolution cache (ours: the default bounded caches; `@atproto/identity`: its MemoryCache). */
  cache: boolean;
  /** Time limit of one HTTP fetch, ms. */
  timeoutMs: number;
  /** Ours only: `recycleAfterRequests` of the transport (0 = off). */
  recycleAfter: number;
  /** Ours only: how DNS and HTTPS are combined for handles. */
  handleStrategy: 'both' | 'dns-first' | 'https-first' | 'race';
}

/** Thrown when a handle resolves but does not verify both ways (never expected from the world). */
export class UnverifiedHandleError extends Error {
  readonly code = 'HANDLE_UNVERIFIED';

  constructor(handle: string) {
    super(`handle ${handle} did not verify both ways`);
    this.name = 'UnverifiedHandleError';
  }
}

/**
 * A stable label for a failure: the error's `code` when it is a short
 * string, else its class name; when the error has a `cause` with a code of
 * its own (e.g. `RESOLUTION_FAILED` caused by a transport `TIMEOUT`), both,
 * as `RESOLUTION_FAILED/TIMEOUT`. Two levels keep the set of labels small.
 */
export function errorCodeOf(error: unknown): string {
  return chainLabel(causeChain(error), 2);
}
