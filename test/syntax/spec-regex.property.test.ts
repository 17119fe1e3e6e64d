import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAtIdentifier as parseAtIdentifier, looksLikeDid } from '../../src/syntax/at-identifier.js';
import { ensureValidDid, isPlcDid, isValidDid } from '../../src/syntax/did.js';
import { ensureValidHandle, isValidHandle, normalizeHandle } from '../../src/syntax/handle.js';

/**
 * The syntax predicates against the spec itself, over random input:
 * validity is exactly the spec's regex plus the rules its text adds (a
 * length bound; for DIDs, every `%` starts a two-hex-digit escape), and
 * normalization is idempotent. The oracles are written here from
 * https://atproto.com/specs/handle and https://atproto.com/specs/did, not
 * imported from the implementation.
 */

/** atproto handle spec: the regex, and "the overall handle is limited to 253 characters". */
const SPEC_HANDLE = /^([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;
function specValidHandle(s: string): boolean {
  return s.length <= 253 && SPEC_HANDLE.test(s);
}

/** atproto DID spec: the regex, "2 KB" at most, and "% … must always be followed by two hex characters". */
const SPEC_DID = /^did:[a-z]+:[a-zA-Z0-9._:%-]*[a-zA-Z0-9._-]$/;
function specValidDid(s: string): boolean {
  return s.length <= 2048 && SPEC_DID.test(s) && !/%(?![0-9A-Fa-f]{2})/.test(s);
}

const handleChars = fc.constantFrom(...'aZ09-._ \u0000é\u212AİK'.split(''));
/** Strings near the handle grammar: spec matches, their mutations, and noise. */
const handleLike = fc.oneof(
  fc.stringMatching(SPEC_HANDLE),
  fc.stringMatching(SPEC_HANDLE).chain((s) =>
    fc.tuple(fc.nat(Math.max(0, s.length)), handleChars).map(([i, c]) => s.slice(0, i) + c + s.slice(i + 1)),
  ),
  fc.tuple(fc.stringMatching(/^[a-z]{1,63}$/), fc.integer({ min: 1, max: 6 })).map(([label, n]) => `${Array(n).fill(label).join('.')}.com`),
  fc.string({ unit: handleChars, maxLength: 40 }),
  fc.domain(),
  fc.string({ maxLength: 40 }),
);

const didChars = fc.constantFrom(...'azAZ09._:%-/?#@ \u0000éF'.split(''));
/** Strings near the DID grammar. */
const didLike = fc.oneof(
  fc.stringMatching(SPEC_DID),
  fc.stringMatching(/^did:[a-z]{1,8}:([a-zA-Z0-9._:-]|%[0-9A-Fa-f]{2}){0,30}[a-zA-Z0-9._-]$/),
  fc.stringMatching(SPEC_DID).chain((s) =>
    fc.tuple(fc.nat(Math.max(0, s.length)), didChars).map(([i, c]) => s.slice(0, i) + c + s.slice(i + 1)),
  ),
  fc.string({ unit: didChars, maxLength: 40 }).map((s) => `did:${s}`),
  fc.string({ maxLength: 40 }),
);

describe('validity is exactly the spec', () => {
  it('isValidHandle ⇔ the spec regex and the 253-character bound', () => {
    fc.assert(
      fc.property(handleLike, (s) => {
        expect(isValidHandle(s)).toBe(specValidHandle(s));
      }),
      { numRuns: 3_000 },
    );
  });

  it('isValidHandle ⇔ spec, at the length bound (long handles built from long labels)', () => {
    const long = fc
      .array(fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/), { minLength: 1, maxLength: 6 })
      .map((labels) => `${labels.join('.')}.com`);
    fc.assert(
      fc.property(long, (s) => {
        expect(isValidHandle(s)).toBe(specValidHandle(s));
      }),
      { numRuns: 500 },
    );
  });

  it('isValidDid ⇔ the spec regex, the 2 KB bound and the escape rule', () => {
    fc.assert(
      fc.property(didLike, (s) => {
        expect(isValidDid(s)).toBe(specValidDid(s));
      }),
      { numRuns: 3_000 },
    );
  });

  it('isValidDid ⇔ spec at the 2 KB bound', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2_040, max: 2_056 }), fc.constantFrom('a', '%41', ':a'), (length, tail) => {
        const s = `did:web:${'a'.repeat(length - 8 - tail.length)}${tail}`;
        expect(s.length).toBe(length);
        expect(isValidDid(s)).toBe(specValidDid(s));
      }),
    );
  });
});

/** Whether `check(s)` returns without throwing. */
function passes(check: (s: string) => void, s: string): boolean {
  try {
    check(s);
    return true;
  } catch {
    return false;
  }
}

/** atproto DID spec, did:plc: "did:plc:" and 24 characters of base32 (a-z, 2-7). */
const SPEC_PLC = /^did:plc:[a-z2-7]{24}$/;
const plcLike = fc.oneof(
  fc.stringMatching(SPEC_PLC),
  fc.stringMatching(SPEC_PLC).chain((s) =>
    fc.tuple(fc.nat(s.length), fc.constantFrom(...'a27z018AZ:.%\u00e9'.split(''))).map(([i, c]) => s.slice(0, i) + c + s.slice(i + 1)),
  ),
  fc.stringMatching(/^did:plc:[a-z2-7]{20,28}$/),
);

// The ensure… checks accept through the scanners and only diagnose what
// they refuse: they must accept exactly the spec's set too.
describe('the ensure… checks accept exactly the spec', () => {
  it('ensureValidHandle passes ⇔ the spec', () => {
    fc.assert(
      fc.property(handleLike, (s) => {
        expect(passes(ensureValidHandle, s)).toBe(specValidHandle(s));
      }),
      { numRuns: 3_000 },
    );
  });

  it('ensureValidDid passes ⇔ the spec', () => {
    fc.assert(
      fc.property(didLike, (s) => {
        expect(passes(ensureValidDid, s)).toBe(specValidDid(s));
      }),
      { numRuns: 3_000 },
    );
  });

  it('isPlcDid ⇔ the did:plc regex', () => {
    fc.assert(
      fc.property(plcLike, (s) => {
        expect(isPlcDid(s)).toBe(SPEC_PLC.test(s));
      }),
      { numRuns: 2_000 },
    );
  });

  it('looksLikeDid ⇔ /^did:/i', () => {
    fc.assert(
      fc.property(fc.oneof(didLike, fc.string({ unit: fc.constantFrom(...'dDiI:\u0131\u0130'.split('')), maxLength: 6 })), (s) => {
        expect(looksLikeDid(s)).toBe(/^did:/i.test(s));
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('normalization is idempotent', () => {
  it('normalizeHandle(normalizeHandle(s)) === normalizeHandle(s), for any string', () => {
    fc.assert(
      fc.property(fc.oneof(handleLike, fc.string({ unit: 'grapheme', maxLength: 30 })), (s) => {
        const once = normalizeHandle(s);
        expect(normalizeHandle(once)).toBe(once);
        // It never changes validity, never the length, and never touches non-ASCII.
        expect(isValidHandle(once)).toBe(isValidHandle(s));
        expect(once.length).toBe(s.length);
      }),
      { numRuns: 2_000 },
    );
  });

  it('a parsed at-identifier parses to itself', () => {
    fc.assert(
      fc.property(fc.oneof(handleLike, didLike), (s) => {
        let first;
        try {
          first = parseAtIdentifier(s);
        } catch {
          return;
        }
        const text = first.kind === 'did' ? first.did : first.handle;
        expect(parseAtIdentifier(text)).toEqual(first);
      }),
      { numRuns: 2_000 },
    );
  });
});
