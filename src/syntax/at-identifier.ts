import {
  ensureResolvableDid,
  ensureValidDid,
  isValidDid,
  resolveDidResolutionOptions,
  type DidResolutionOptions,
  type ResolvableDid,
} from './did.js';
import { ensureResolvableHandle, ensureValidHandle, isValidHandle, normalizeHandle } from './handle.js';

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
  // Without the `u` flag, `i` never folds a non-ASCII character to ASCII.
  return /^did:/i.test(input);
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
  const resolved = resolveDidResolutionOptions(options);
  if (typeof input === 'string' && looksLikeDid(input)) {
    return Object.freeze({ kind: 'did', ...ensureResolvableDid(input, resolved) });
  }
  const handle = ensureResolvableHandle(input, { allowTestTlds: resolved.allowTestTlds });
  return Object.freeze({ kind: 'handle', handle });
}
