import { checkOptions, type OptionSpec } from '../util/options.js';

/**
 * Per-call options of every resolver method (`did.resolve()`,
 * `handle.resolve()`, `resolveIdentity()`, …).
 */
export interface ResolveCallOptions {
  /** Skip the cache read (the answer is still stored). Default `false`. */
  forceRefresh?: boolean;
  /**
   * Cancels this call: it rejects with `AbortError` (`cause` = the signal's
   * reason), with or without a cache. With a cache only this caller's wait
   * ends; a load other callers share runs on. Default none.
   */
  signal?: AbortSignal;
}

const callOptionSpec = {
  forceRefresh: { kind: 'boolean', default: false },
  signal: { kind: 'signal' },
} as const satisfies OptionSpec;

/** The options of a call that gave none (or `forceRefresh: false` positionally), shared by every such call. */
export const NO_CALL_OPTIONS: ResolveCallOptions = Object.freeze({});
const FORCE_REFRESH: ResolveCallOptions = Object.freeze({ forceRefresh: true });

/**
 * The call's options, given as an options object or, as
 * `@atproto/identity` takes it, a positional `forceRefresh` boolean
 * (`did.resolveAtprotoKey(did, true)`), validated like constructor options.
 * No options (or `false`) is a shared frozen empty object: nothing to
 * validate or allocate.
 *
 * @param name how error messages name the argument, e.g. `options`
 * @throws InvalidOptionsError for an unknown field or a value of the wrong type
 */
export function resolveCallOptions(options: ResolveCallOptions | boolean | undefined, name = 'options'): ResolveCallOptions {
  if (options === undefined || options === false) return NO_CALL_OPTIONS;
  if (options === true) return FORCE_REFRESH;
  checkOptions(callOptionSpec, options, name);
  return options ?? NO_CALL_OPTIONS;
}
