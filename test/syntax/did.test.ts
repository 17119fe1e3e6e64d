import * as reference from '@atproto/syntax';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AtresolveError } from '../../src/errors.js';
import { DID_MAX_LENGTH, ensureValidDid, getDidMethod, isPlcDid, isValidDid } from '../../src/syntax/did.js';
import { InvalidDidError } from '../../src/syntax/errors.js';

function thrown(fn: () => unknown): InvalidDidError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidDidError);
    return err as InvalidDidError;
  }
  throw new Error('expected InvalidDidError, nothing was thrown');
}

describe('InvalidDidError', () => {
  it('has the stable code, class name, reason and is an AtresolveError', () => {
    const err = thrown(() => ensureValidDid('did:METHOD:val'));
    expect(err).toBeInstanceOf(AtresolveError);
    expect(err.code).toBe('INVALID_DID');
    expect(err.name).toBe('InvalidDidError');
    expect(err.reason).toBe('syntax');
    expect(err.input).toBe('did:METHOD:val');
    expect(err.inputLength).toBe(14);
    expect(err.message).toBe('invalid DID "did:METHOD:val": the DID method must be one or more lowercase letters');
  });

  it.each([
    ['did:web:a.com/x', /character U\+002F at index 13/],
    ['did', /starts with lowercase "did:"/],
    ['did:method', /needs a method and a method-specific identifier/],
    ['did:method:', /identifier cannot be empty/],
    ['did:method:val:', /cannot end with ":" or "%"/],
    ['did:method:val%', /cannot end with ":" or "%"/],
    ['did:method:val%zz', /"%" must start a two-hex-digit escape/],
    ['did:method:v%2', /"%" must start a two-hex-digit escape/],
    ['did:m1:val', /method must be one or more lowercase letters/],
    ['did::val', /method must be one or more lowercase letters/],
  ])('names the broken rule for %j', (input, message) => {
    expect(thrown(() => ensureValidDid(input)).message).toMatch(message);
  });

  it('refuses non-strings with a typed error', () => {
    for (const value of [undefined, null, 42, {}, [], Symbol('x'), 10n, () => 'did:plc:x']) {
      const err = thrown(() => ensureValidDid(value));
      expect(err.input).toBeUndefined();
      expect(err.inputLength).toBe(0);
      expect(err.message).toMatch(/must be a string/);
      expect(isValidDid(value)).toBe(false);
    }
  });
});

describe('length bounds', () => {
  const prefix = 'did:method:';
  const atMax = prefix + 'v'.repeat(DID_MAX_LENGTH - prefix.length);

  it('accepts exactly 2048 characters and refuses 2049', () => {
    expect(atMax).toHaveLength(2048);
    expect(isValidDid(atMax)).toBe(true);
    expect(isValidDid(`${atMax}v`)).toBe(false);
    expect(thrown(() => ensureValidDid(`${atMax}v`)).message).toMatch(/at most 2048 characters/);
  });

  it('refuses a 10 KB input without echoing it', () => {
    const big = `did:plc:${'a'.repeat(10_240)}`;
    const err = thrown(() => ensureValidDid(big));
    expect(err.inputLength).toBe(big.length);
    expect(err.input).toHaveLength(256);
    expect(err.message.length).toBeLessThan(200);
    expect(err.message).toContain(`(${big.length} chars)`);
  });

  it('refuses the shortest non-DIDs and accepts the shortest DID', () => {
    expect(isValidDid('')).toBe(false);
    expect(isValidDid('did:')).toBe(false);
    expect(isValidDid('did:m:')).toBe(false);
    expect(isValidDid('did:m:v')).toBe(true);
  });
});

describe('NUL and control bytes', () => {
  it.each(['did:plc:\u0000', 'did:plc:abc\u0000def', '\u0000did:plc:abc', 'did:plc:abc\n', 'did:plc:abc\r\n', 'did:pl\tc:abc'])(
    'refuses %j and escapes it in the message',
    (input) => {
      expect(isValidDid(input)).toBe(false);
      const err = thrown(() => ensureValidDid(input));
      expect(err.message).not.toMatch(/[\u0000-\u001f]/);
    },
  );

  it('keeps a NUL-laden 10 KB input bounded in the error', () => {
    const input = `did:plc:${'\u0000'.repeat(10_000)}`;
    const err = thrown(() => ensureValidDid(input));
    expect(err.input?.length).toBe(256);
    expect(err.message).toContain('\\u0000');
    expect(err.message.length).toBeLessThan(500);
  });

  it('refuses non-ASCII letters and emoji (no Unicode case folding)', () => {
    for (const input of ['did:plc:ä', 'did:plc:\u212aelvin', 'did:ṗlc:abc', 'did:plc:💩', 'did:plc:\ud800']) {
      expect(isValidDid(input)).toBe(false);
      expect(() => ensureValidDid(input)).toThrow(InvalidDidError);
    }
  });
});

describe('percent escapes', () => {
  it('accepts %XX escapes anywhere in the identifier, including at the end', () => {
    for (const did of ['did:web:localhost%3A1234', 'did:method:%3a', 'did:method:a%20b', 'did:method:%41%42']) {
      expect(isValidDid(did)).toBe(true);
    }
  });

  it('refuses a "%" that does not start a two-hex-digit escape (stricter than @atproto/syntax)', () => {
    for (const did of ['did:method:a%zz', 'did:method:a%2', 'did:method:a%%41', 'did:method:%g0a']) {
      expect(isValidDid(did)).toBe(false);
      expect(reference.isValidDid(did)).toBe(true);
    }
  });
});

describe('method helpers', () => {
  it('getDidMethod returns the method', () => {
    expect(getDidMethod('did:plc:ewvi7nxzyoun6zhxrhs64oiz')).toBe('plc');
    expect(getDidMethod('did:web:example.com')).toBe('web');
    expect(getDidMethod('did:m:v:w')).toBe('m');
  });

  it('isPlcDid accepts exactly 24 lowercase base32 characters', () => {
    expect(isPlcDid('did:plc:ewvi7nxzyoun6zhxrhs64oiz')).toBe(true);
    expect(isPlcDid('did:plc:7iza6de2dwap2sbkpav7c6c6')).toBe(true);
    for (const bad of [
      'did:plc:ewvi7nxzyoun6zhxrhs64oi',
      'did:plc:ewvi7nxzyoun6zhxrhs64oizz',
      'did:plc:EWVI7NXZYOUN6ZHXRHS64OIZ',
      'did:plc:ewvi7nxzyoun6zhxrhs64oi1',
      'did:plc:ewvi7nxzyoun6zhxrhs64oi8',
      'did:plc:ewvi7nxzyoun6zhxrhs64oi0',
      'did:plc:ewvi7nxzyoun6zhxrhs64oi_',
      'did:plx:ewvi7nxzyoun6zhxrhs64oiz',
      42,
    ]) {
      expect(isPlcDid(bad)).toBe(false);
    }
  });
});

describe('properties', () => {
  const didChars = fc.constantFrom(...'abcdAZ019._:%-/?#@ \u0000é'.split(''));
  const didLike = fc.oneof(
    fc.string({ unit: didChars, maxLength: 40 }),
    fc
      .tuple(fc.string({ unit: didChars, maxLength: 6 }), fc.string({ unit: didChars, maxLength: 30 }))
      .map(([method, id]) => `did:${method}:${id}`),
    fc.string({ maxLength: 40 }),
  );

  it('isValidDid and ensureValidDid agree on every input', () => {
    fc.assert(
      fc.property(didLike, (input) => {
        let threw = false;
        try {
          ensureValidDid(input);
        } catch (err) {
          expect(err).toBeInstanceOf(InvalidDidError);
          threw = true;
        }
        expect(threw).toBe(!isValidDid(input));
      }),
      { numRuns: 5000 },
    );
  });

  it('agrees with @atproto/syntax except for bad percent escapes', () => {
    fc.assert(
      fc.property(didLike, (input) => {
        if (/%(?![0-9A-Fa-f]{2})/.test(input)) return;
        expect(isValidDid(input)).toBe(reference.isValidDid(input));
      }),
      { numRuns: 5000 },
    );
  });
});
