/**
 * Bounded, printable previews of untrusted input for error messages and
 * error fields. Identifiers and documents arrive from the network and from
 * callers; they may be megabytes long or contain NUL and control bytes, and
 * an error message (or an error object printed by `util.inspect`, which
 * shows own fields) must never echo them unbounded.
 */

/** How many UTF-16 code units of an input an error object keeps. */
export const MAX_KEPT_INPUT = 256;

/** How many UTF-16 code units of an input an error message shows. */
export const MAX_MESSAGE_INPUT = 64;

/**
 * Cut `text` to at most `max` UTF-16 code units without splitting a
 * surrogate pair, so the result is never worse-formed than the input.
 */
export function truncateText(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return text.slice(0, end);
}

/**
 * The part of an input that an error object keeps: the first
 * {@link MAX_KEPT_INPUT} code units of a string, `undefined` for anything
 * that is not a string.
 */
export function keptInput(input: unknown): string | undefined {
  return typeof input === 'string' ? truncateText(input, MAX_KEPT_INPUT) : undefined;
}

/**
 * A short, printable description of an input for an error message: a
 * string is shown JSON-quoted with every character outside printable ASCII
 * as a `\uXXXX` escape (so NUL, control characters, zero-width and
 * bidi-override characters cannot hide in a log line), cut to
 * {@link MAX_MESSAGE_INPUT} code units with its full length noted; any
 * other value is named by its type.
 */
export function previewInput(input: unknown): string {
  if (typeof input === 'string') {
    const shown = JSON.stringify(truncateText(input, MAX_MESSAGE_INPUT)).replace(
      /[^\u0020-\u007e]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
    );
    return input.length > MAX_MESSAGE_INPUT ? `${shown}… (${input.length} chars)` : shown;
  }
  return describeType(input);
}

/** The type of a non-string value in words, e.g. `an array`, `null`. */
export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'undefined':
      return 'undefined';
    case 'object':
      return 'an object';
    case 'string':
      return 'a string';
    default:
      return `a ${typeof value}`;
  }
}
