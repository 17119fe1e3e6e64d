import * as reference from '@atproto/syntax';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AtresolveError, InvalidOptionsError } from '../../src/errors.js';
import { InvalidHandleError, type InvalidHandleReason } from '../../src/syntax/errors.js';
import {
  ensureResolvableHandle,
  ensureValidHandle,
  HANDLE_MAX_LENGTH,
  INVALID_HANDLE,
  isResolvableHandle,
  isValidHandle,
  normalizeHandle,
  RESERVED_TLDS,
} from '../../src/syntax/handle.js';

function thrown(fn: () => unknown): InvalidHandleError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidHandleError);
    return err as InvalidHandleError;
  }
  throw new Error('expected InvalidHandleError, nothing was thrown');
}

const reasonOf = (fn: () => unknown): InvalidHandleReason => thrown(fn).reason;

describe('InvalidHandleError', () => {
  it('has the stable code, class name and reason', () => {
    const err = thrown(() => ensureValidHandle('jo_hn.test'));
    expect(err).toBeInstanceOf(AtresolveError);
    expect(err.code).toBe('INVALID_HANDLE');
    expect(err.name).toBe('InvalidHandleError');
    expect(err.reason).toBe('syntax');
    expect(err.message).toBe(
      'invalid handle "jo_hn.test": character U+005F at index 2 is not allowed (ASCII letters, digits, hyphens and dots only)',
    );
  });

  it.each([
    ['john', /at least two/],
    ['john..test', /cannot be empty/],
    ['.john.test', /cannot be empty/],
    ['john.test.', /cannot be empty/],
    ['-john.test', /start or end with a hyphen/],
    ['john-.test', /start or end with a hyphen/],
    ['john.0test', /must start with a letter/],
    [`short.${'o'.repeat(64)}.test`, /at most 63 characters/],
    ['💩.test', /U\+1F4A9 at index 0/],
  ])('names the broken rule for %j', (input, message) => {
    expect(thrown(() => ensureValidHandle(input)).message).toMatch(message);
  });

  it('refuses non-strings with a typed error', () => {
    for (const value of [undefined, null, 7, {}, ['a.com'], true]) {
      expect(thrown(() => ensureValidHandle(value)).message).toMatch(/must be a string/);
      expect(isValidHandle(value)).toBe(false);
    }
  });
});

describe('length bounds', () => {
  const label = 'a'.repeat(63);
  const at253 = `${label}.${label}.${label}.${'b'.repeat(57)}.com`;

  it('accepts 253 characters and refuses 254', () => {
    expect(at253).toHaveLength(HANDLE_MAX_LENGTH);
    expect(isValidHandle(at253)).toBe(true);
    expect(isValidHandle(`a${at253}`)).toBe(false);
    expect(thrown(() => ensureValidHandle(`a${at253}`)).message).toMatch(/at most 253 characters/);
  });

  it('accepts 63-character labels and refuses 64', () => {
    expect(isValidHandle(`${label}.com`)).toBe(true);
    expect(isValidHandle(`a${label}.com`)).toBe(false);
    expect(isValidHandle(`a.${'c'.repeat(63)}`)).toBe(true);
    expect(isValidHandle(`a.${'c'.repeat(64)}`)).toBe(false);
  });

  it('refuses a 10 KB input quickly and without echoing it', () => {
    const big = `${'a.'.repeat(5_120)}com`;
    const err = thrown(() => ensureValidHandle(big));
    expect(err.inputLength).toBe(big.length);
    expect(err.input).toHaveLength(256);
    expect(err.message.length).toBeLessThan(200);
  });
});

describe('NUL bytes, whitespace and non-ASCII', () => {
  it.each([
    'john.test\u0000',
    '\u0000john.test',
    'jo\u0000hn.test',
    'john.test\n',
    'john\t.test',
    'john.test\u200b',
    'jöhn.test',
    'john.tëst',
    '\u212aelvin.test',
    'xn--bcher-kva.tld\u00a0',
    'ｊｏｈｎ.test',
  ])('refuses %j cleanly', (input) => {
    expect(isValidHandle(input)).toBe(false);
    const err = thrown(() => ensureValidHandle(input));
    expect(err.message).toMatch(/is not allowed/);
    expect(err.message).not.toMatch(/[\u0000-\u001f\u007f-\uffff]/);
  });

  it('accepts punycode labels', () => {
    for (const h of ['xn--bcher-kva.tld', 'xn--ls8h.test', 'xn--fiqa61au8b7zsevnm8ak20mc4a87e.xn--fiqs8s']) {
      expect(isValidHandle(h)).toBe(true);
    }
  });
});

describe('normalizeHandle', () => {
  it('lowercases ASCII letters only', () => {
    expect(normalizeHandle('XX.LCS.MIT.EDU')).toBe('xx.lcs.mit.edu');
    expect(normalizeHandle('Alice.Bsky.Social')).toBe('alice.bsky.social');
    expect(normalizeHandle('already.lower')).toBe('already.lower');
  });

  it('never turns an invalid handle into a valid one (KELVIN SIGN, dotted I)', () => {
    const kelvin = '\u212aelvin.test';
    expect(kelvin.toLowerCase()).toBe('kelvin.test'); // what naive lowercasing does
    expect(normalizeHandle(kelvin)).toBe(kelvin);
    expect(isValidHandle(normalizeHandle(kelvin))).toBe(false);
    expect(isValidHandle(normalizeHandle('\u0130stanbul.com'))).toBe(false);
    // @atproto/syntax lowercases before validating, and accepts it:
    expect(reference.normalizeAndEnsureValidHandle(kelvin)).toBe('kelvin.test');
  });
});

describe('resolution rules', () => {
  it.each(RESERVED_TLDS.flatMap((tld) => [`laptop.${tld}`, `A.B.${tld.toUpperCase()}`]))(
    'refuses the reserved TLD in %s (valid syntax)',
    (handle) => {
      expect(isValidHandle(handle)).toBe(true);
      expect(isResolvableHandle(handle)).toBe(false);
      expect(isResolvableHandle(handle, { allowTestTlds: true })).toBe(false);
      expect(reasonOf(() => ensureResolvableHandle(handle))).toBe('reserved-tld');
    },
  );

  it('refuses handle.invalid, which is valid syntax', () => {
    expect(INVALID_HANDLE).toBe('handle.invalid');
    expect(isValidHandle(INVALID_HANDLE)).toBe(true);
    expect(reasonOf(() => ensureResolvableHandle(INVALID_HANDLE))).toBe('reserved-tld');
    expect(reasonOf(() => ensureResolvableHandle('HANDLE.INVALID'))).toBe('reserved-tld');
  });

  it('refuses .test unless allowTestTlds', () => {
    expect(reasonOf(() => ensureResolvableHandle('alice.test'))).toBe('test-tld');
    expect(reasonOf(() => ensureResolvableHandle('Alice.TEST'))).toBe('test-tld');
    expect(ensureResolvableHandle('Alice.TEST', { allowTestTlds: true })).toBe('alice.test');
    expect(isResolvableHandle('alice.test', { allowTestTlds: true })).toBe(true);
  });

  it('returns the normalized handle for an ordinary domain', () => {
    expect(ensureResolvableHandle('Jay.Bsky.Team')).toBe('jay.bsky.team');
    expect(ensureResolvableHandle('example.locals')).toBe('example.locals');
    expect(ensureResolvableHandle('local.example.com')).toBe('local.example.com');
  });

  it('refuses bad syntax with reason syntax before any TLD rule', () => {
    expect(reasonOf(() => ensureResolvableHandle('laptop.local.'))).toBe('syntax');
    expect(reasonOf(() => ensureResolvableHandle(42))).toBe('syntax');
  });

  it('validates its options with the table', () => {
    expect(() => ensureResolvableHandle('a.com', { allowTestTlds: 1 } as never)).toThrow(InvalidOptionsError);
    expect(() => isResolvableHandle('a.com', { allowLocalhost: true } as never)).toThrow(/handleResolution\.allowLocalhost/);
  });
});

describe('properties', () => {
  const handleChars = fc.constantFrom(...'abAZ09-.._ :\u0000é'.split(''));
  const handleLike = fc.oneof(fc.string({ unit: handleChars, maxLength: 30 }), fc.string({ maxLength: 30 }), fc.domain());

  it('isValidHandle and ensureValidHandle agree on every input', () => {
    fc.assert(
      fc.property(handleLike, (input) => {
        let threw = false;
        try {
          ensureValidHandle(input);
        } catch (err) {
          expect(err).toBeInstanceOf(InvalidHandleError);
          threw = true;
        }
        expect(threw).toBe(!isValidHandle(input));
      }),
      { numRuns: 5000 },
    );
  });

  it('agrees with @atproto/syntax isValidHandle', () => {
    fc.assert(
      fc.property(handleLike, (input) => {
        expect(isValidHandle(input)).toBe(reference.isValidHandle(input));
      }),
      { numRuns: 5000 },
    );
  });

  it('normalizeHandle preserves validity', () => {
    fc.assert(
      fc.property(handleLike, (input) => {
        expect(isValidHandle(normalizeHandle(input))).toBe(isValidHandle(input));
      }),
      { numRuns: 2000 },
    );
  });
});
