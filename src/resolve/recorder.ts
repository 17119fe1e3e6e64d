import type { CacheOutcome } from '../cache/types.js';
import { failureKindOf, type FailureKind } from './failure-kind.js';
import { RESOLUTION_METHODS as METHODS, type ResolutionEvent, type ResolutionMethod, type ResolutionOutcome } from './types.js';

/** A listener for finished resolutions. */
export type ResolutionListener = (event: ResolutionEvent) => void;

const OUTCOMES: readonly ResolutionOutcome[] = ['ok', 'not_found', 'invalid', 'error'];

/**
 * Counts finished resolutions by method and outcome and tells listeners.
 * One recorder is shared by an `IdResolver` and its DID and handle
 * resolvers, so `stats()` and metrics see every resolution once.
 */
export class ResolutionRecorder {
  readonly #counts = Object.fromEntries(
    METHODS.map((m) => [m, Object.fromEntries(OUTCOMES.map((o) => [o, 0]))]),
  ) as Record<ResolutionMethod, Record<ResolutionOutcome, number>>;
  readonly #listeners = new Set<ResolutionListener>();

  /** Add a listener; returns a function that removes it. A throwing listener is removed and reported as a warning. */
  addListener(listener: ResolutionListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /**
   * Whether any listener is registered. A resolution that completes
   * without yielding (a cache hit) reads the clock only when one is: no
   * listener can be added before it records.
   */
  get listening(): boolean {
    return this.#listeners.size > 0;
  }

  /**
   * Record a resolution that started at `startedAt` (a `performance.now()`
   * value; only read when a listener is registered).
   */
  record(method: ResolutionMethod, startedAt: number, outcome: ResolutionOutcome, cache: CacheOutcome, error?: unknown): void {
    rowOf(this.#counts, method)[outcome] += 1;
    if (this.#listeners.size === 0) return;
    const event: ResolutionEvent = { method, outcome, cache, durationMs: performance.now() - startedAt };
    const code = (error as { code?: unknown } | undefined)?.code;
    if (typeof code === 'string') event.errorCode = code;
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (listenerError) {
        this.#listeners.delete(listener);
        process.emitWarning(`atresolve: a resolution listener threw and was removed: ${String(listenerError)}`, 'AtresolveWarning');
      }
    }
  }

  /** A copy of the counters. */
  counts(): Record<ResolutionMethod, Record<ResolutionOutcome, number>> {
    return Object.fromEntries(METHODS.map((m) => [m, { ...this.#counts[m] }])) as Record<
      ResolutionMethod,
      Record<ResolutionOutcome, number>
    >;
  }
}

/**
 * The counters of `method`. A switch rather than `counts[method]`:
 * `record()` runs on every cache hit, and a property load keyed by five
 * different names is megamorphic (a lookup in V8's global stub cache each
 * time); a new method makes this switch fail to compile until it is added.
 */
function rowOf(
  counts: Record<ResolutionMethod, Record<ResolutionOutcome, number>>,
  method: ResolutionMethod,
): Record<ResolutionOutcome, number> {
  switch (method) {
    case 'plc':
      return counts.plc;
    case 'web':
      return counts.web;
    case 'other':
      return counts.other;
    case 'handle':
      return counts.handle;
    case 'identity':
      return counts.identity;
  }
}

/** The metric outcome of each kind of failure: bad input and unusable answers are `invalid`. */
const OUTCOME_OF_FAILURE: Record<FailureKind, ResolutionOutcome> = {
  invalid_input: 'invalid',
  not_found: 'not_found',
  bad_answer: 'invalid',
  timeout: 'error',
  unavailable: 'error',
  unexpected: 'error',
};

/** The outcome an error stands for: bad input or data is `invalid`, an authoritative miss `not_found`, anything else `error`. */
export function outcomeOf(error: unknown): ResolutionOutcome {
  return OUTCOME_OF_FAILURE[failureKindOf(error)];
}
