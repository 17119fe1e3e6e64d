import { describe, expect, it } from 'vitest';
import {
  ensureResolvableAtIdentifier,
  isValidAtIdentifier,
  looksLikeDid,
  parseAtIdentifier,
} from '../../src/syntax/at-identifier.js';
import { InvalidOptionsError } from '../../src/errors.js';
import { InvalidDidError, InvalidHandleError, UnsupportedDidMethodError } from '../../src/syntax/errors.js';

describe('parseAtIdentifier', () => {
  it('classifies DIDs and leaves them unchanged', () => {
    expect(parseAtIdentifier('did:plc:ewvi7nxzyoun6zhxrhs64oiz')).toEqual({
      kind: 'did',
      did: 'did:plc:ewvi7nxzyoun6zhxrhs64oiz',
    });
    expect(parseAtIdentifier('did:method:VAL')).toEqual({ kind: 'did', did: 'did:method:VAL' });
  });

  it('classifies handles and normalizes them to lowercase', () => {
    expect(parseAtIdentifier('XX.LCS.MIT.EDU')).toEqual({ kind: 'handle', handle: 'xx.lcs.mit.edu' });
  });

  it('treats a "did:" prefix in any case as a DID, so DID:… fails as a DID', () => {
    expect(looksLikeDid('DID:plc:x')).toBe(true);
    expect(looksLikeDid('did')).toBe(false);
    expect(() => parseAtIdentifier('DID:method:val')).toThrow(InvalidDidError);
    expect(() => parseAtIdentifier('did:thing')).toThrow(InvalidDidError);
  });

  it('refuses everything else as a handle, including @-prefixed and at:// forms', () => {
    for (const input of ['@alice.bsky.social', 'at://alice.bsky.social', 'email@example.com', 'did', '', 42, null]) {
      expect(() => parseAtIdentifier(input)).toThrow(InvalidHandleError);
      expect(isValidAtIdentifier(input)).toBe(false);
    }
  });

  it('refuses a 10 KB input and NUL bytes with bounded errors', () => {
    for (const input of ['a'.repeat(10_240), `did:plc:${'\u0000'.repeat(10_240)}`, 'alice.test\u0000']) {
      let message = '';
      try {
        parseAtIdentifier(input);
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toMatch(/^invalid (DID|handle) /);
      expect(message.length).toBeLessThan(500);
    }
  });
});

describe('ensureResolvableAtIdentifier', () => {
  it('applies the DID and handle resolution rules', () => {
    expect(ensureResolvableAtIdentifier('did:web:example.com')).toMatchObject({
      kind: 'did',
      method: 'web',
      hostname: 'example.com',
    });
    expect(ensureResolvableAtIdentifier('Alice.Example.COM')).toEqual({ kind: 'handle', handle: 'alice.example.com' });
    expect(() => ensureResolvableAtIdentifier('alice.test')).toThrow(InvalidHandleError);
    expect(ensureResolvableAtIdentifier('alice.test', { allowTestTlds: true })).toEqual({
      kind: 'handle',
      handle: 'alice.test',
    });
    expect(() => ensureResolvableAtIdentifier('did:web:localhost%3A5000')).toThrow(InvalidDidError);
    expect(ensureResolvableAtIdentifier('did:web:localhost%3A5000', { allowLocalhost: true })).toMatchObject({
      kind: 'did',
      port: 5000,
    });
    expect(() => ensureResolvableAtIdentifier('did:key:zQ3shZc2QzApp2oymGvQbzP8eKheVshBHbU4ZYjeXqwSKEn6N')).toThrow(
      UnsupportedDidMethodError,
    );
  });

  it('validates options on both paths', () => {
    expect(() => ensureResolvableAtIdentifier('alice.com', { allowLocalhost: 'no' } as never)).toThrow(InvalidOptionsError);
    expect(() => ensureResolvableAtIdentifier('did:plc:ewvi7nxzyoun6zhxrhs64oiz', { x: 1 } as never)).toThrow(
      InvalidOptionsError,
    );
  });
});
