import { AmbiguousHandleError, ResolutionFailedError } from './errors.js';
import type { HandleMethod } from './types.js';

/**
 * How the DNS and HTTPS methods are combined for a handle:
 * - `both` (default): run both at once and wait for both; DNS wins when they
 *   disagree (the disagreement is counted), HTTPS answers when DNS has none.
 * - `dns-first`: DNS, then HTTPS only if DNS had no answer.
 * - `https-first`: HTTPS, then DNS only if HTTPS had no answer.
 * - `race`: run both; the first DID found wins and the other is cancelled.
 */
export type HandleStrategy = 'both' | 'dns-first' | 'https-first' | 'race';

export const HANDLE_STRATEGIES: readonly HandleStrategy[] = ['both', 'dns-first', 'https-first', 'race'];

/** The outcome of one method. */
type Settled =
  | { kind: 'found'; did: string }
  | { kind: 'none' }
  | { kind: 'failed'; error: unknown };

/** What the combination found, and whether the two methods disagreed. */
export interface CombinedHandleResult {
  did: string | undefined;
  /** DNS and HTTPS named different DIDs (DNS was used). */
  conflict: boolean;
}

/**
 * Combine the DNS and HTTPS methods for `handle` per `strategy`.
 *
 * @returns the DID, or `undefined` when every method answered "none"
 * @throws AmbiguousHandleError when DNS names several DIDs
 * @throws ResolutionFailedError when no method found a DID and at least one failed transiently
 */
export async function combineHandleMethods(
  handle: string,
  strategy: HandleStrategy,
  dns: HandleMethod,
  https: HandleMethod,
  signal?: AbortSignal,
): Promise<CombinedHandleResult> {
  switch (strategy) {
    case 'both': {
      const [d, h] = await Promise.all([settle(dns, handle, signal), settle(https, handle, signal)]);
      return decide(handle, d, h, signal);
    }
    case 'dns-first': {
      const d = await settle(dns, handle, signal);
      if (d.kind === 'found') return { did: d.did, conflict: false };
      rethrowAmbiguousOrAbort(d, signal);
      return decide(handle, d, await settle(https, handle, signal), signal);
    }
    case 'https-first': {
      const h = await settle(https, handle, signal);
      if (h.kind === 'found') return { did: h.did, conflict: false };
      rethrowAmbiguousOrAbort(h, signal);
      return decide(handle, await settle(dns, handle, signal), h, signal);
    }
    case 'race':
      return race(handle, dns, https, signal);
  }
}

async function race(handle: string, dns: HandleMethod, https: HandleMethod, signal: AbortSignal | undefined): Promise<CombinedHandleResult> {
  const dnsAbort = linkedController(signal);
  const httpsAbort = linkedController(signal);
  try {
    const dnsRun = settle(dns, handle, dnsAbort.signal);
    const httpsRun = settle(https, handle, httpsAbort.signal);
    // The first DID found wins; the loser is cancelled.
    const first = await Promise.race([
      dnsRun.then((s) => ({ from: 'dns' as const, s })),
      httpsRun.then((s) => ({ from: 'https' as const, s })),
    ]);
    if (first.s.kind === 'found') {
      (first.from === 'dns' ? httpsAbort : dnsAbort).abort();
      return { did: first.s.did, conflict: false };
    }
    const [d, h] = await Promise.all([dnsRun, httpsRun]);
    return decide(handle, d, h, signal);
  } finally {
    dnsAbort.dispose();
    httpsAbort.dispose();
  }
}

function decide(handle: string, d: Settled, h: Settled, signal: AbortSignal | undefined): CombinedHandleResult {
  rethrowAmbiguousOrAbort(d, signal);
  if (d.kind === 'found') return { did: d.did, conflict: h.kind === 'found' && h.did !== d.did };
  if (h.kind === 'found') return { did: h.did, conflict: false };
  rethrowAmbiguousOrAbort(h, signal);
  if (d.kind === 'none' && h.kind === 'none') return { did: undefined, conflict: false };
  const failure = d.kind === 'failed' ? d.error : h.kind === 'failed' ? h.error : undefined;
  if (failure instanceof ResolutionFailedError) throw failure;
  throw new ResolutionFailedError(handle, 'no method produced an answer', { cause: failure });
}

function rethrowAmbiguousOrAbort(s: Settled, signal: AbortSignal | undefined): void {
  if (s.kind !== 'failed') return;
  if (s.error instanceof AmbiguousHandleError) throw s.error;
  if (signal?.aborted) throw s.error;
}

async function settle(method: HandleMethod, handle: string, signal: AbortSignal | undefined): Promise<Settled> {
  try {
    const did = await method(handle, signal);
    return did === undefined ? { kind: 'none' } : { kind: 'found', did };
  } catch (error) {
    return { kind: 'failed', error };
  }
}

/** An AbortController that also aborts when `parent` does; `dispose()` unlinks it. */
function linkedController(parent: AbortSignal | undefined): AbortController & { dispose(): void } {
  const controller = new AbortController() as AbortController & { dispose(): void };
  if (!parent) {
    controller.dispose = () => {};
    return controller;
  }
  const onAbort = (): void => controller.abort(parent.reason);
  if (parent.aborted) onAbort();
  else parent.addEventListener('abort', onAbort, { once: true });
  controller.dispose = () => parent.removeEventListener('abort', onAbort);
  return controller;
}
