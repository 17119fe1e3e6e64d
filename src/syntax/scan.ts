/**
 * Allocation-free scanners for the syntax rules, used by the predicates
 * and as the first step of the `ensure…` checks (which run on every
 * resolution, cache hits included). Each accepts exactly what its spec
 * regex accepts; `test/syntax/spec-regex.property.test.ts` checks that
 * against the regexes of the specs, and the interop vectors check it
 * against other implementations. The `ensure…` checks only take their
 * slower, message-building path for input a scanner refused.
 *
 * @internal not part of the package API.
 */

const DOT = 0x2e;
const HYPHEN = 0x2d;
const COLON = 0x3a;
const PERCENT = 0x25;

/** `a-z`. */
function isLower(c: number): boolean {
  return c >= 0x61 && c <= 0x7a;
}

/** `a-z` or `A-Z` (`c | 0x20` folds exactly the ASCII capitals onto the lowercase letters). */
function isLetter(c: number): boolean {
  return isLower(c | 0x20);
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isHex(c: number): boolean {
  return isDigit(c) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66);
}

/**
 * The handle regex of https://atproto.com/specs/handle,
 * `^([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$`,
 * with at most `maxLength` characters: two or more dot-separated labels of
 * 1–63 letters, digits and hyphens, none starting or ending with a hyphen,
 * the last one starting with a letter.
 */
export function scanHandle(s: string, maxLength: number): boolean {
  const n = s.length;
  if (n > maxLength) return false;
  let labelStart = 0;
  let labels = 0;
  for (let i = 0; i <= n; i++) {
    // The end of the string closes the last label as a dot would.
    const c = i < n ? s.charCodeAt(i) : DOT;
    if (c === DOT) {
      const length = i - labelStart;
      if (length === 0 || length > 63) return false;
      if (s.charCodeAt(labelStart) === HYPHEN || s.charCodeAt(i - 1) === HYPHEN) return false;
      if (i === n && !isLetter(s.charCodeAt(labelStart))) return false;
      labels++;
      labelStart = i + 1;
    } else if (!isLetter(c) && !isDigit(c) && c !== HYPHEN) {
      return false;
    }
  }
  return labels >= 2;
}

/**
 * The DID regex of https://atproto.com/specs/did with the spec's escape
 * rule, `^did:[a-z]+:(?:[a-zA-Z0-9._:-]|%[0-9A-Fa-f]{2})*(?:[a-zA-Z0-9._-]|%[0-9A-Fa-f]{2})$`,
 * with at most `maxLength` characters.
 */
export function scanDid(s: string, maxLength: number): boolean {
  const n = s.length;
  if (n > maxLength || !s.startsWith('did:')) return false;
  let i = 4;
  while (i < n && isLower(s.charCodeAt(i))) i++;
  if (i === 4 || i === n || s.charCodeAt(i) !== COLON) return false;
  const idStart = ++i;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c === PERCENT) {
      if (i + 2 >= n || !isHex(s.charCodeAt(i + 1)) || !isHex(s.charCodeAt(i + 2))) return false;
      i += 3;
    } else if (isLetter(c) || isDigit(c) || c === DOT || c === HYPHEN || c === 0x5f || c === COLON) {
      i++;
    } else {
      return false;
    }
  }
  // A non-empty identifier whose last unit is not ":" (an escape ends in a hex digit).
  return n > idStart && s.charCodeAt(n - 1) !== COLON;
}

/** `^did:plc:[a-z2-7]{24}$`. */
export function scanPlcDid(s: string): boolean {
  if (s.length !== 32 || !s.startsWith('did:plc:')) return false;
  for (let i = 8; i < 32; i++) {
    const c = s.charCodeAt(i);
    if (!isLower(c) && !(c >= 0x32 && c <= 0x37)) return false;
  }
  return true;
}

/**
 * Whether `input` has the length and prefix of a `did:plc` (`did:plc:` and
 * 24 more characters), without checking those 24: a filter before a lookup
 * among DIDs that passed {@link scanPlcDid} when they were stored (a cache
 * hit), where the lookup itself settles the rest.
 */
export function hasPlcDidShape(input: unknown): input is string {
  return typeof input === 'string' && input.length === 32 && input.startsWith('did:plc:');
}

/** Whether `s` has an ASCII capital (`/[A-Z]/`). */
export function hasAsciiUpper(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) return true;
  }
  return false;
}

/** `/^did:/i`: the first four characters are `did:` in any ASCII case. */
export function startsWithDidPrefix(s: string): boolean {
  return (
    s.length >= 4 &&
    (s.charCodeAt(0) | 0x20) === 0x64 &&
    (s.charCodeAt(1) | 0x20) === 0x69 &&
    (s.charCodeAt(2) | 0x20) === 0x64 &&
    s.charCodeAt(3) === COLON
  );
}
