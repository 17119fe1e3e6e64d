import { AtresolveError } from '../errors.js';
import { keptInput, previewInput } from '../util/preview.js';

/**
 * Why a DID was refused.
 *
 * - `syntax`: not a DID at all under the atproto DID syntax (the string is
 *   not a string, too long, bad characters, bad method, bad `%`-escape…).
 * - `method-syntax`: a well-formed DID of a supported method whose
 *   method-specific part is malformed (a `did:plc` that is not 24 base32
 *   characters, a `did:web` with a path, a port on a host other than
 *   `localhost`, a host that is not a valid hostname or not lowercase).
 * - `reserved-tld`: a `did:web` host under a reserved top-level domain
 *   (`.local`, `.onion`, …) that must fail resolution.
 * - `test-tld`: a `did:web` host under `.test` while `allowTestTlds` is off.
 * - `localhost`: a `did:web:localhost` DID while `allowLocalhost` is off.
 */
export type InvalidDidReason =
  | 'syntax'
  | 'method-syntax'
  | 'reserved-tld'
  | 'test-tld'
  | 'localhost';

/**
 * Why a handle was refused.
 *
 * - `syntax`: not a handle under the atproto handle syntax.
 * - `reserved-tld`: valid syntax, but under a reserved top-level domain
 *   (`.alt .arpa .example .internal .invalid .local .localhost .onion`),
 *   which must fail resolution. This includes the special `handle.invalid`.
 * - `test-tld`: valid syntax under `.test` while `allowTestTlds` is off.
 */
export type InvalidHandleReason = 'syntax' | 'reserved-tld' | 'test-tld';

/**
 * A DID was refused before any I/O: bad syntax, an unsupported method, or
 * a `did:web` host that may not be resolved. `reason` says which.
 *
 * The error keeps at most the first 256 code units of the offending input
 * in `input` and shows at most 64 (escaped) in its message, so a 10 KB or
 * NUL-laden input is never echoed in full.
 */
export class InvalidDidError extends AtresolveError {
  readonly code = 'INVALID_DID';
  /** Which rule refused the DID. */
  readonly reason: InvalidDidReason;
  /** The offending input, truncated; `undefined` when it was not a string. */
  readonly input: string | undefined;
  /** Length of the offending input in UTF-16 code units (0 for non-strings). */
  readonly inputLength: number;

  /**
   * @param input the refused value (any type; only a bounded preview is kept)
   * @param reason which rule refused it
   * @param detail one sentence saying what is wrong
   */
  constructor(input: unknown, reason: InvalidDidReason, detail: string, options?: { cause?: unknown }) {
    super(`invalid DID ${previewInput(input)}: ${detail}`, options);
    this.reason = reason;
    this.input = keptInput(input);
    this.inputLength = typeof input === 'string' ? input.length : 0;
  }
}

/**
 * A handle was refused before any I/O: bad syntax, or valid syntax under a
 * top-level domain that must not be resolved. `reason` says which.
 *
 * Like {@link InvalidDidError}, the error keeps only a bounded preview of
 * the input.
 */
export class InvalidHandleError extends AtresolveError {
  readonly code = 'INVALID_HANDLE';
  /** Which rule refused the handle. */
  readonly reason: InvalidHandleReason;
  /** The offending input, truncated; `undefined` when it was not a string. */
  readonly input: string | undefined;
  /** Length of the offending input in UTF-16 code units (0 for non-strings). */
  readonly inputLength: number;

  /**
   * @param input the refused value (any type; only a bounded preview is kept)
   * @param reason which rule refused it
   * @param detail one sentence saying what is wrong
   */
  constructor(input: unknown, reason: InvalidHandleReason, detail: string, options?: { cause?: unknown }) {
    super(`invalid handle ${previewInput(input)}: ${detail}`, options);
    this.reason = reason;
    this.input = keptInput(input);
    this.inputLength = typeof input === 'string' ? input.length : 0;
  }
}

/**
 * A well-formed DID of a method atresolve does not resolve (it resolves
 * `SUPPORTED_DID_METHODS`: `plc` and `web`). The atproto DID spec asks
 * implementations to keep this case distinct from bad syntax, so it is its
 * own class.
 */
export class UnsupportedDidMethodError extends AtresolveError {
  readonly code = 'UNSUPPORTED_DID_METHOD';
  /** The DID, truncated like `InvalidDidError.input`. */
  readonly input: string | undefined;
  /** The method name, at most 32 characters. */
  readonly method: string;

  /** @param supported the methods that are resolved, named in the message */
  constructor(did: string, method: string, supported: readonly string[] = ['plc', 'web']) {
    const shown = method.length > 32 ? `${method.slice(0, 32)}…` : method;
    const list = supported.length > 1 ? `${supported.slice(0, -1).join(', ')} and ${supported.at(-1)}` : supported.join('');
    super(`unsupported DID method "${shown}" in ${previewInput(did)} (only ${list})`);
    this.input = keptInput(did);
    this.method = shown;
  }
}
