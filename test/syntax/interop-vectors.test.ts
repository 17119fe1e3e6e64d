import * as reference from '@atproto/syntax';
import { describe, expect, it } from 'vitest';
import { isValidAtIdentifier, parseAtIdentifier } from '../../src/syntax/at-identifier.js';
import { ensureValidDid, isValidDid } from '../../src/syntax/did.js';
import { InvalidDidError, InvalidHandleError } from '../../src/syntax/errors.js';
import { ensureValidHandle, isValidHandle } from '../../src/syntax/handle.js';
import { vectorLines } from '../support/interop-vectors.js';

// Every non-comment line of the atproto interop syntax vectors, each checked
// with both the predicate and the throwing form.

const didValid = vectorLines('did_syntax_valid.txt');
const didInvalid = vectorLines('did_syntax_invalid.txt');
const handleValid = vectorLines('handle_syntax_valid.txt');
const handleInvalid = vectorLines('handle_syntax_invalid.txt');
const atidValid = vectorLines('atidentifier_syntax_valid.txt');
const atidInvalid = vectorLines('atidentifier_syntax_invalid.txt');

describe('interop vector files', () => {
  it('are read in full (counted with grep -v "^#" | grep -vc "^$")', () => {
    expect(didValid).toHaveLength(24);
    expect(didInvalid).toHaveLength(18);
    expect(handleValid).toHaveLength(71);
    expect(handleInvalid).toHaveLength(48);
    expect(atidValid).toHaveLength(11);
    expect(atidInvalid).toHaveLength(22);
  });

  it('keep leading and trailing spaces (not trimmed)', () => {
    expect(handleInvalid).toContain(' john.test');
    expect(handleInvalid).toContain('john.test ');
  });
});

describe('DID syntax vectors', () => {
  it.each(didValid)('valid: %s', (line) => {
    expect(isValidDid(line)).toBe(true);
    expect(() => ensureValidDid(line)).not.toThrow();
  });

  it.each(didInvalid)('invalid: %s', (line) => {
    expect(isValidDid(line)).toBe(false);
    expect(() => ensureValidDid(line)).toThrow(InvalidDidError);
  });
});

describe('handle syntax vectors', () => {
  it.each(handleValid)('valid: %s', (line) => {
    expect(isValidHandle(line)).toBe(true);
    expect(() => ensureValidHandle(line)).not.toThrow();
  });

  it.each(handleInvalid)('invalid: %s', (line) => {
    expect(isValidHandle(line)).toBe(false);
    expect(() => ensureValidHandle(line)).toThrow(InvalidHandleError);
  });
});

describe('at-identifier syntax vectors', () => {
  it.each(atidValid)('valid: %s', (line) => {
    expect(isValidAtIdentifier(line)).toBe(true);
    expect(() => parseAtIdentifier(line)).not.toThrow();
  });

  it.each(atidInvalid)('invalid: %s', (line) => {
    expect(isValidAtIdentifier(line)).toBe(false);
    expect(() => parseAtIdentifier(line)).toThrow(/invalid (DID|handle)/);
  });
});

describe('agreement with @atproto/syntax on the vectors', () => {
  it('DID and handle predicates give the same answers', () => {
    for (const line of [...didValid, ...didInvalid]) expect([line, isValidDid(line)]).toEqual([line, reference.isValidDid(line)]);
    for (const line of [...handleValid, ...handleInvalid]) {
      expect([line, isValidHandle(line)]).toEqual([line, reference.isValidHandle(line)]);
    }
  });
});
