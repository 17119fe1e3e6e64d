import { resolveOptions, type OptionSpec } from '../util/options.js';
import { InvalidHandleError } from './errors.js';
import { hasAsciiUpper, scanHandle } from './scan.js';

/**
 * Handle syntax and the resolution-time TLD rules, per
 * https://atproto.com/specs/handle.
 *
 * Two layers, kept apart on purpose:
 * - syntax (`isValidHandle`, `ensureValidHandle`): what a Lexicon `handle`
 *   string may look like. Reserved TLDs such as `.local` pass this layer.
 * - resolution (`isResolvableHandle`, `ensureResolvableHandle`): syntax plus
 *   the rule that reserved TLDs (and `.test`, unless allowed) must fail any
 *   resolution attempt before I/O.
 */

/** Longest handle in characters (the DNS name limit). */
export const HANDLE_MAX_LENGTH = 253;

/** Longest label (dot-separated segment) of a handle in characters. */
export const HANDLE_LABEL_MAX_LENGTH = 63;

/**
 * The special value used in place of a handle that is not bidirectionally
 * verified. It is valid syntax but never resolvable (`.invalid` is reserved).
 */
export const INVALID_HANDLE = 'handle.invalid';

/**
 * Top-level domains that are valid handle syntax but must fail resolution
 * (spec: "Additional Non-Syntax Restrictions"). Lowercase, without the dot.
 */
export const RESERVED_TLDS: readonly string[] = Object.freeze([
  'alt',
  'arpa',
  'example',
  'internal',
  'invalid',
  'local',
  'localhost',
  'onion',
]);

/** The TLD for testing and development, refused unless `allowTestTlds`. */
export const TEST_TLD = 'test';

// The accepted set is the spec's reference regex plus the length bound,
// checked by `scanHandle` (./scan.ts) without a regex; this only says why a
// refused handle was refused.
const DISALLOWED_CHAR_RE = /[^a-zA-Z0-9.-]/;

/**
 * Whether `input` is a syntactically valid handle: ASCII letters, digits,
 * hyphens and dots only, at most 253 characters, at least two labels of 1 to
 * 63 characters, no label starting or ending with a hyphen, and a last label
 * (TLD) starting with a letter. Case is not significant. Reserved TLDs are
 * valid syntax; see {@link isResolvableHandle}.
 *
 * Never throws; any non-string is `false`.
 */
export function isValidHandle(input: unknown): input is string {
  return typeof input === 'string' && scanHandle(input, HANDLE_MAX_LENGTH);
}

/**
 * Throw {@link InvalidHandleError} (reason `syntax`) unless `input` is a
 * syntactically valid handle, with a message naming the first rule broken.
 * Accepts exactly what {@link isValidHandle} accepts.
 */
export function ensureValidHandle(input: unknown): asserts input is string {
  if (typeof input === 'string' && scanHandle(input, HANDLE_MAX_LENGTH)) return;
  const fail = (detail: string): never => {
    throw new InvalidHandleError(input, 'syntax', detail);
  };
  if (typeof input !== 'string') fail('a handle must be a string');
  const handle = input as string;
  if (handle.length > HANDLE_MAX_LENGTH) fail(`a handle is at most ${HANDLE_MAX_LENGTH} characters`);
  const bad = DISALLOWED_CHAR_RE.exec(handle);
  if (bad) {
    const cp = handle.codePointAt(bad.index) ?? 0;
    fail(
      `character U+${cp.toString(16).toUpperCase().padStart(4, '0')} at index ${bad.index} is not allowed ` +
        '(ASCII letters, digits, hyphens and dots only)',
    );
  }
  const labels = handle.split('.');
  if (labels.length < 2) fail('a handle needs at least two dot-separated labels');
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i] as string;
    if (label.length === 0) fail('a handle label cannot be empty (no leading, trailing or double dots)');
    if (label.length > HANDLE_LABEL_MAX_LENGTH) fail(`a handle label is at most ${HANDLE_LABEL_MAX_LENGTH} characters`);
    if (label.startsWith('-') || label.endsWith('-')) fail('a handle label cannot start or end with a hyphen');
    if (i === labels.length - 1 && !/^[a-zA-Z]/.test(label)) fail('the last label (TLD) must start with a letter');
  }
  // The scanner is the rule; the checks above only name the first break.
  fail('not a valid handle');
}

/**
 * Lowercase the ASCII letters of a handle (`A-Z` → `a-z`), the spec's
 * normalization. Only ASCII is touched: `String.prototype.toLowerCase`
 * would map some non-ASCII characters to ASCII (KELVIN SIGN U+212A becomes
 * `k`), which would let an invalid input normalize into a valid handle.
 * Validate before or after; the result is valid exactly when the input is.
 */
export function normalizeHandle(handle: string): string {
  return hasAsciiUpper(handle) ? handle.replace(/[A-Z]+/g, (s) => s.toLowerCase()) : handle;
}

/** Options for the resolution-time handle and hostname checks. */
export interface HandleResolutionOptions {
  /**
   * Allow handles (and `did:web` hosts) under `.test`. Default `false`: the
   * spec reserves `.test` for testing and development and says it should fail
   * in real-world environments.
   */
  allowTestTlds?: boolean;
}

const HANDLE_RESOLUTION_SPEC: OptionSpec = {
  allowTestTlds: { kind: 'boolean', default: false },
};

interface ResolvedHandleResolutionOptions {
  allowTestTlds: boolean;
}

const DEFAULT_HANDLE_RESOLUTION: ResolvedHandleResolutionOptions = Object.freeze({ allowTestTlds: false });

function handleResolutionOptions(options: HandleResolutionOptions | undefined): ResolvedHandleResolutionOptions {
  if (options === undefined) return DEFAULT_HANDLE_RESOLUTION;
  return resolveOptions<ResolvedHandleResolutionOptions>(HANDLE_RESOLUTION_SPEC, options, 'handleResolution');
}

/**
 * The resolution rule for a syntactically valid, lowercase hostname:
 * `reserved-tld` for a reserved TLD, `test-tld` for `.test` when not allowed,
 * `undefined` when it may be resolved. Shared by handles and `did:web` hosts.
 *
 * @internal exported for `did.ts`; not part of the package API.
 */
export function tldRestriction(lowerHostname: string, allowTestTlds: boolean): 'reserved-tld' | 'test-tld' | undefined {
  // Compared in place: this runs on every resolution, cache hits included.
  const start = lowerHostname.lastIndexOf('.') + 1;
  const length = lowerHostname.length - start;
  for (let i = 0; i < RESERVED_TLDS.length; i++) {
    const tld = RESERVED_TLDS[i] as string;
    if (tld.length === length && lowerHostname.startsWith(tld, start)) return 'reserved-tld';
  }
  if (!allowTestTlds && length === TEST_TLD.length && lowerHostname.startsWith(TEST_TLD, start)) return 'test-tld';
  return undefined;
}

/**
 * Whether `input` is a valid handle that may be resolved: valid syntax,
 * not under a reserved TLD, and not under `.test` unless `allowTestTlds`.
 * `handle.invalid` is never resolvable. Case-insensitive. Never throws for
 * any `input`; throws `InvalidOptionsError` only for bad `options`.
 */
export function isResolvableHandle(input: unknown, options?: HandleResolutionOptions): input is string {
  const { allowTestTlds } = handleResolutionOptions(options);
  return isValidHandle(input) && tldRestriction(normalizeHandle(input), allowTestTlds) === undefined;
}

/**
 * Validate `input` as a handle that may be resolved and return it
 * normalized (lowercase). Throws {@link InvalidHandleError} with reason
 * `syntax`, `reserved-tld` (including `handle.invalid`) or `test-tld`.
 */
export function ensureResolvableHandle(input: unknown, options?: HandleResolutionOptions): string {
  return resolvableHandle(input, handleResolutionOptions(options).allowTestTlds);
}

/**
 * {@link ensureResolvableHandle} with the option already resolved, for
 * callers that check on every call (the resolvers).
 *
 * @internal not part of the package API.
 */
export function resolvableHandle(input: unknown, allowTestTlds: boolean): string {
  ensureValidHandle(input);
  const handle = normalizeHandle(input);
  const restriction = tldRestriction(handle, allowTestTlds);
  if (restriction === 'reserved-tld') {
    throw new InvalidHandleError(input, 'reserved-tld', 'the top-level domain is reserved and cannot be resolved');
  }
  if (restriction === 'test-tld') {
    throw new InvalidHandleError(input, 'test-tld', '.test handles are refused unless allowTestTlds is set');
  }
  return handle;
}
