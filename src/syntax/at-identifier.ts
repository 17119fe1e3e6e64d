import {
  ensureValidDid,
  isValidDid,
  resolvableDid,
  resolveDidResolutionOptions,
  type DidResolutionOptions,
  type ResolvableDid,
  type ResolvedDidResolutionOptions,
} from './did.js';
import { ensureValidHandle, isValidHandle, normalizeHandle, resolvableHandle } from './handle.js';
import { startsWithDidPrefix } from './scan.js';

/**
 * Classification of an "at-identifier" — the input of `resolveIdentity()`,
 * which is either a DID or a handle.
 *
 * An input whose first four characters are `did:` in any case is treated
 * as a DID, everything else as a handle. A handle can never start with
 * `did:` (`:` is not a hostname character), so the split loses nothing, and
 * it lets `DID:plc:…` fail as a bad DID (with a DID error) rather than as a
 * bad handle. No `@` prefix or `at://` form is accepted: the spec allows the
 * `@` only in user interfaces.
 */

/** A syntactically valid at-identifier, classified. Handles are normalized to lowercase. */
export type AtIdentifier =
  | { readonly kind: 'did'; readonly did: string }
  | { readonly kind: 'handle'; readonly handle: string };

/** An at-identifier that passed the resolution checks as well. */
export type ResolvableAtIdentifier =
  | ({ readonly kind: 'did' } & ResolvableDid)
  | { readonly kind: 'handle'; readonly handle: string };

/**
 * Options for {@link ensureResolvableAtIdentifier}: `allowTestTlds` applies
 * to handles and `did:web` hosts alike, `allowLocalhost` to `did:web`.
 */
export type AtIdentifierResolutionOptions = DidResolutionOptions;

/** Whether `input` would be classified as a DID (starts with `did:`, any case). */
export function looksLikeDid(input: string): boolean {
  // As `/^did:/i` (without the `u` flag, `i` never folds a non-ASCII
  // character to ASCII), without a regex.
  return startsWithDidPrefix(input);
}

/** Whether `input` is a syntactically valid DID or handle. Never throws. */
export function isValidAtIdentifier(input: unknown): input is string {
  if (typeof input !== 'string') return false;
  return looksLikeDid(input) ? isValidDid(input) : isValidHandle(input);
}

/**
 * Classify and syntax-check `input`; a handle comes back lowercase.
 *
 * @throws InvalidDidError (reason `syntax`) for an invalid DID-like input
 * @throws InvalidHandleError (reason `syntax`) for anything else that is not
 *   a valid handle, including non-strings
 */
export function parseAtIdentifier(input: unknown): AtIdentifier {
  if (typeof input === 'string' && looksLikeDid(input)) {
    ensureValidDid(input);
    return Object.freeze({ kind: 'did', did: input });
  }
  ensureValidHandle(input);
  return Object.freeze({ kind: 'handle', handle: normalizeHandle(input) });
}

/**
 * Classify `input` and apply the resolution checks of
 * {@link ensureResolvableDid} or {@link ensureResolvableHandle}: what
 * `resolveIdentity()` runs before any I/O.
 *
 * @throws InvalidDidError or InvalidHandleError with the refusing `reason`
 * @throws InvalidOptionsError for bad `options`
 */
export function ensureResolvableAtIdentifier(
  input: unknown,
  options?: AtIdentifierResolutionOptions,
): ResolvableAtIdentifier {
  return resolvableAtIdentifier(input, resolveDidResolutionOptions(options));
}

/**
 * {@link ensureResolvableAtIdentifier} with options already resolved, for
 * callers that check on every call (`resolveIdentity()`).
 *
 * @internal not part of the package API.
 */
export function resolvableAtIdentifier(input: unknown, resolution: ResolvedDidResolutionOptions): ResolvableAtIdentifier {
  if (typeof input === 'string' && looksLikeDid(input)) {
    return Object.freeze({ kind: 'did', ...resolvableDid(input, resolution) });
  }
  return Object.freeze({ kind: 'handle', handle: resolvableHandle(input, resolution.allowTestTlds) });
}
