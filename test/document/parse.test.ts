import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseDidDocument } from '../../src/document/did-document.js';
import { DidDocumentMismatchError, InvalidDidDocumentError } from '../../src/document/errors.js';
import { AtresolveError, InvalidOptionsError } from '../../src/errors.js';
import { InvalidDidError } from '../../src/syntax/errors.js';

const PLC = 'did:plc:ewvi7nxzyoun6zhxrhs64oiz';
const WEB = 'did:web:alice.example.com';

function fixture(name: string): Buffer {
  return readFileSync(new URL(`../fixtures/documents/${name}`, import.meta.url));
}

function fixtureObject(name: string): Record<string, unknown> {
  return JSON.parse(fixture(name).toString('utf8')) as Record<string, unknown>;
}

function invalid(input: unknown, did = PLC, options?: Parameters<typeof parseDidDocument>[2]): InvalidDidDocumentError {
  try {
    parseDidDocument(input, did, options);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidDidDocumentError);
    return err as InvalidDidDocumentError;
  }
  throw new Error('expected InvalidDidDocumentError, the document was accepted');
}

function deepFrozen(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return true;
  return Object.isFrozen(value) && Object.values(value).every(deepFrozen);
}

describe('valid documents', () => {
  it('parses a PLC document from bytes, text and a parsed value alike, as published', () => {
    const expected = fixtureObject('plc.json');
    expect(expected['@context']).toBeDefined();
    const bytes = fixture('plc.json');
    expect(parseDidDocument(bytes, PLC)).toStrictEqual(expected);
    expect(parseDidDocument(new Uint8Array(bytes), PLC)).toStrictEqual(expected);
    expect(parseDidDocument(bytes.toString('utf8'), PLC)).toStrictEqual(expected);
    expect(parseDidDocument(fixtureObject('plc.json'), PLC)).toStrictEqual(expected);
  });

  it('returns a did:web document as published: @context, unknown fields, publicKeyJwk, a map endpoint, in order', () => {
    const doc = parseDidDocument(fixture('web.json'), WEB);
    expect(doc).toStrictEqual(fixtureObject('web.json'));
    expect(Object.keys(doc)).toEqual(['@context', 'id', 'alsoKnownAs', 'authentication', 'verificationMethod', 'service', 'x-extension']);
    expect(doc.verificationMethod?.[0]?.['publicKeyJwk']).toStrictEqual({ kty: 'EC', crv: 'P-256' });
    // W3C forms: a list of types and a map endpoint are kept.
    expect(doc.service?.[2]).toStrictEqual({ id: '#linked', type: ['LinkedDomains', 'Other'], serviceEndpoint: { origins: ['https://alice.example.com'] } });
    // Re-serving it gives back the published JSON.
    expect(JSON.parse(JSON.stringify(doc))).toStrictEqual(fixtureObject('web.json'));
  });

  it('keeps JSON values only: undefined fields of a parsed value are left out, other non-JSON values refused', () => {
    expect(parseDidDocument({ id: PLC, note: undefined, n: 1.5, ok: true, none: null }, PLC)).toStrictEqual({ id: PLC, n: 1.5, ok: true, none: null });
    expect(invalid({ id: PLC, n: Number.NaN }).message).toMatch(/"n" must be a JSON value, got NaN/);
    expect(invalid({ id: PLC, f: () => 1 }).message).toMatch(/"f" must be a JSON value, got a function/);
    expect(invalid({ id: PLC, x: { big: 10n } }).message).toMatch(/"x"\.big must be a JSON value/);
  });

  it('parses the legacy PLC document', () => {
    const doc = parseDidDocument(fixture('plc-legacy.json'), PLC);
    expect(doc.verificationMethod?.[0]?.type).toBe('EcdsaSecp256k1VerificationKey2019');
  });

  it('returns a deeply frozen object that shares nothing with the input', () => {
    const input = fixtureObject('web.json');
    const doc = parseDidDocument(input, WEB);
    expect(deepFrozen(doc)).toBe(true);
    expect(doc.alsoKnownAs).not.toBe(input.alsoKnownAs);
    (input.alsoKnownAs as string[])[1] = 'at://mallory.example.com';
    ((input.service as Record<string, unknown>[])[1] as Record<string, unknown>).serviceEndpoint = 'https://evil.example';
    expect(doc.alsoKnownAs?.[1]).toBe('at://alice.example.com');
    expect(doc.service?.[1]?.serviceEndpoint).toBe('https://PDS.Example.com:443/');
  });

  it('leaves absent arrays absent and keeps empty ones', () => {
    expect(parseDidDocument({ id: PLC }, PLC)).toStrictEqual({ id: PLC });
    expect(parseDidDocument({ id: PLC, alsoKnownAs: [], service: [] }, PLC)).toStrictEqual({ id: PLC, alsoKnownAs: [], service: [] });
  });

  it('accepts a UTF-8 byte order mark and non-ASCII text in kept strings', () => {
    const text = JSON.stringify({ id: PLC, alsoKnownAs: ['https://bücher.example/'] });
    const doc = parseDidDocument(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]), PLC);
    expect(doc.alsoKnownAs).toEqual(['https://bücher.example/']);
  });
});

describe('id check', () => {
  it('refuses a document for another DID with DidDocumentMismatchError', () => {
    const other = { ...fixtureObject('plc.json'), id: 'did:plc:aaaaaaaaaaaaaaaaaaaaaaaa' };
    let err: unknown;
    try {
      parseDidDocument(other, PLC);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DidDocumentMismatchError);
    expect(err).toBeInstanceOf(AtresolveError);
    const mismatch = err as DidDocumentMismatchError;
    expect(mismatch.code).toBe('DID_DOCUMENT_MISMATCH');
    expect(mismatch.name).toBe('DidDocumentMismatchError');
    expect(mismatch.expectedDid).toBe(PLC);
    expect(mismatch.actualId).toBe('did:plc:aaaaaaaaaaaaaaaaaaaaaaaa');
  });

  it('compares exactly: no case folding, no trimming', () => {
    expect(() => parseDidDocument({ id: 'did:web:Alice.example.com' }, WEB)).toThrow(DidDocumentMismatchError);
    expect(() => parseDidDocument({ id: `${PLC} ` }, PLC)).toThrow(DidDocumentMismatchError);
    expect(() => parseDidDocument({ id: `${PLC}#atproto` }, PLC)).toThrow(DidDocumentMismatchError);
  });

  it('keeps both values bounded and escaped', () => {
    const id = `did:plc:${'\u0000'.repeat(10_000)}`;
    try {
      parseDidDocument({ id }, PLC);
      expect.unreachable();
    } catch (err) {
      const mismatch = err as DidDocumentMismatchError;
      expect(mismatch.actualId).toHaveLength(256);
      expect(mismatch.message.length).toBeLessThan(600);
      expect(mismatch.message).not.toMatch(/\u0000/);
    }
  });

  it('refuses a missing or non-string id as invalid', () => {
    expect(invalid({}).message).toMatch(/"id" must be a string, got undefined/);
    expect(invalid({ id: 42 }).message).toMatch(/"id" must be a string, got a number/);
    expect(invalid({ id: [PLC] }).message).toMatch(/got an array/);
  });

  it('refuses an invalid expected DID (a caller bug) with InvalidDidError', () => {
    expect(() => parseDidDocument({ id: 'nope' }, 'nope')).toThrow(InvalidDidError);
  });
});

describe('wrong shapes', () => {
  const base = (extra: Record<string, unknown>): Record<string, unknown> => ({ id: PLC, ...extra });
  const vm = (extra: Record<string, unknown>): Record<string, unknown> => ({
    id: '#atproto',
    type: 'Multikey',
    controller: PLC,
    ...extra,
  });
  const svc = (extra: Record<string, unknown>): Record<string, unknown> => ({
    id: '#atproto_pds',
    type: 'AtprotoPersonalDataServer',
    serviceEndpoint: 'https://pds.example.com',
    ...extra,
  });

  it.each([
    ['null', null, /must be a JSON object, got null/],
    ['a number', 42, /must be a JSON object, got a number/],
    ['an array', [{ id: PLC }], /must be a JSON object, got an array/],
    ['a JSON string', '"did:plc:ewvi7nxzyoun6zhxrhs64oiz"', /must be a JSON object, got a string/],
    ['alsoKnownAs null', base({ alsoKnownAs: null }), /"alsoKnownAs" must be an array, got null/],
    ['alsoKnownAs string', base({ alsoKnownAs: 'at://a.com' }), /"alsoKnownAs" must be an array, got a string/],
    ['alsoKnownAs number entry', base({ alsoKnownAs: ['at://a.com', 5] }), /"alsoKnownAs"\[1\] must be a string, got a number/],
    ['alsoKnownAs object entry', base({ alsoKnownAs: [{}] }), /"alsoKnownAs"\[0\] must be a string, got an object/],
    ['verificationMethod object', base({ verificationMethod: {} }), /"verificationMethod" must be an array/],
    ['verificationMethod string entry', base({ verificationMethod: ['#atproto'] }), /"verificationMethod"\[0\] must be an object/],
    ['verificationMethod id number', base({ verificationMethod: [vm({ id: 1 })] }), /"verificationMethod"\[0\]\.id must be a string/],
    ['verificationMethod type missing', base({ verificationMethod: [vm({ type: undefined })] }), /\.type must be a string, got undefined/],
    ['verificationMethod controller null', base({ verificationMethod: [vm({ controller: null })] }), /\.controller must be a string, got null/],
    ['verificationMethod key number', base({ verificationMethod: [vm({ publicKeyMultibase: 7 })] }), /\.publicKeyMultibase must be a string/],
    ['verificationMethod type list', base({ verificationMethod: [vm({ type: ['Multikey'] })] }), /\.type must be a string, got an array/],
    ['service null entry', base({ service: [null] }), /"service"\[0\] must be an object, got null/],
    ['service id missing', base({ service: [svc({ id: undefined })] }), /"service"\[0\]\.id must be a string/],
    ['service type number', base({ service: [svc({ type: 5 })] }), /"service"\[0\]\.type must be a string, got a number/],
    ['service type list of numbers', base({ service: [svc({ type: ['A', 5] })] }), /"service"\[0\]\.type\[1\] must be a string/],
    ['service endpoint number', base({ service: [svc({ serviceEndpoint: 443 })] }), /serviceEndpoint must be a string, map or set, got a number/],
    ['service endpoint null', base({ service: [svc({ serviceEndpoint: null })] }), /serviceEndpoint must be a string, map or set, got null/],
    ['service endpoint missing', base({ service: [svc({ serviceEndpoint: undefined })] }), /got undefined/],
  ])('refuses %s', (_name, input, message) => {
    expect(invalid(input).message).toMatch(message);
  });

  it('names the DID and has the stable code', () => {
    const err = invalid({ id: PLC, service: 'x' });
    expect(err.code).toBe('INVALID_DID_DOCUMENT');
    expect(err.name).toBe('InvalidDidDocumentError');
    expect(err.did).toBe(PLC);
    expect(err.message).toMatch(/^invalid DID document for "did:plc:ewvi7nxzyoun6zhxrhs64oiz": /);
  });
});

describe('unreadable input', () => {
  it('refuses bad JSON with the SyntaxError as cause', () => {
    for (const text of ['', '{', '{"id": "did:plc:x",}', `{"id": "${PLC}"} trailing`, 'NaN', "{'id': 1}"]) {
      const err = invalid(text);
      expect(err.message).toMatch(/not valid JSON/);
      expect(err.cause).toBeInstanceOf(SyntaxError);
    }
  });

  it('refuses invalid UTF-8 with the decoder error as cause', () => {
    const bytes = Buffer.concat([Buffer.from(`{"id":"${PLC}","alsoKnownAs":["`), Buffer.from([0xc3, 0x28]), Buffer.from('"]}')]);
    const err = invalid(bytes);
    expect(err.message).toMatch(/not valid UTF-8/);
    expect(err.cause).toBeInstanceOf(TypeError);
  });

  it('refuses an empty byte array and other non-document values', () => {
    expect(invalid(new Uint8Array(0)).message).toMatch(/not valid JSON/);
    expect(invalid(undefined).message).toMatch(/got undefined/);
    expect(invalid(new ArrayBuffer(8)).message).toMatch(/^invalid DID document/);
  });
});

describe('bounds', () => {
  const many = (n: number, make: (i: number) => unknown): unknown[] => Array.from({ length: n }, (_, i) => make(i));

  it('refuses documents over maxDocumentBytes (default 65536) before parsing', () => {
    const padded = JSON.stringify({ id: PLC, pad: 'x'.repeat(65_536) });
    expect(invalid(Buffer.from(padded)).message).toMatch(/bytes, more than maxDocumentBytes \(65536\)/);
    expect(invalid(padded).message).toMatch(/characters, more than maxDocumentBytes \(65536\)/);
    expect(parseDidDocument(Buffer.from(padded), PLC, { maxDocumentBytes: 70_000, maxStringLength: 65_536 })).toStrictEqual({ id: PLC, pad: 'x'.repeat(65_536) });
    const small = Buffer.from(JSON.stringify({ id: PLC }));
    expect(invalid(small, PLC, { maxDocumentBytes: small.length - 1 }).message).toMatch(/maxDocumentBytes/);
    expect(parseDidDocument(small, PLC, { maxDocumentBytes: small.length })).toStrictEqual({ id: PLC });
  });

  it('refuses arrays over maxEntries (default 64)', () => {
    expect(parseDidDocument({ id: PLC, alsoKnownAs: many(64, (i) => `at://a${i}.com`) }, PLC).alsoKnownAs).toHaveLength(64);
    expect(invalid({ id: PLC, alsoKnownAs: many(65, () => 'x') }).message).toMatch(/"alsoKnownAs" has 65 entries, more than maxEntries \(64\)/);
    expect(invalid({ id: PLC, service: many(3, () => ({})) }, PLC, { maxEntries: 2 }).message).toMatch(/"service" has 3 entries/);
    expect(
      invalid({ id: PLC, service: [{ id: '#x', type: many(65, () => 'T'), serviceEndpoint: 'https://a.com' }] }).message,
    ).toMatch(/"service"\[0\]\.type has 65 entries/);
  });

  it('applies every bound to every field, known or not', () => {
    expect(invalid({ id: PLC, '@context': many(65, () => 'x') }).message).toMatch(/"@context" has 65 entries, more than maxEntries \(64\)/);
    expect(invalid({ id: PLC, ext: { s: 'x'.repeat(2049) } }).message).toMatch(/"ext"\.s is 2049 characters/);
    expect(invalid({ id: PLC, ext: Object.fromEntries(many(65, (i) => [`k${i}`, i]) as [string, unknown][]) }).message).toMatch(
      /"ext" has 65 keys, more than maxEntries/,
    );
    expect(invalid({ id: PLC, ['k'.repeat(2049)]: 1 }).message).toMatch(/has a key of 2049 characters/);
    const jwk = { id: '#atproto', type: 'Multikey', controller: PLC, publicKeyJwk: { x: 'x'.repeat(2049) } };
    expect(invalid({ id: PLC, verificationMethod: [jwk] }).message).toMatch(/"verificationMethod"\[0\]\.publicKeyJwk\.x is 2049 characters/);
  });

  it('refuses nesting deeper than maxDepth (default 16): the document is depth 1', () => {
    let value: unknown = 'leaf';
    for (let i = 0; i < 15; i++) value = [value];
    expect(parseDidDocument({ id: PLC, ext: value }, PLC).ext).toBeDefined();
    expect(invalid({ id: PLC, ext: [value] }).message).toMatch(/nested deeper than maxDepth \(16\)/);
    expect(parseDidDocument({ id: PLC, ext: { a: { b: 1 } } }, PLC, { maxDepth: 3 })).toStrictEqual({ id: PLC, ext: { a: { b: 1 } } });
    expect(invalid({ id: PLC, ext: { a: { b: { c: 1 } } } }, PLC, { maxDepth: 3 }).message).toMatch(/"ext"\.a\.b is nested deeper/);
  });

  it('refuses strings over maxStringLength (default 2048)', () => {
    expect(parseDidDocument({ id: PLC, alsoKnownAs: ['x'.repeat(2048)] }, PLC).alsoKnownAs?.[0]).toHaveLength(2048);
    expect(invalid({ id: PLC, alsoKnownAs: ['x'.repeat(2049)] }).message).toMatch(
      /"alsoKnownAs"\[0\] is 2049 characters, more than maxStringLength \(2048\)/,
    );
    expect(
      invalid({ id: PLC, verificationMethod: [{ id: '#atproto', type: 'Multikey', controller: PLC, publicKeyMultibase: 'z'.repeat(40) }] }, PLC, {
        maxStringLength: 39,
      }).message,
    ).toMatch(/publicKeyMultibase is 40 characters/);
  });

  it('validates the options with the table', () => {
    expect(() => parseDidDocument({ id: PLC }, PLC, { maxEntries: 0 })).toThrow(InvalidOptionsError);
    expect(() => parseDidDocument({ id: PLC }, PLC, { maxStringLength: 1.5 })).toThrow(/didDocument\.maxStringLength/);
    expect(() => parseDidDocument({ id: PLC }, PLC, { maxDepth: 1 })).toThrow(/didDocument\.maxDepth/);
    expect(() => parseDidDocument({ id: PLC }, PLC, { depth: 3 } as never)).toThrow(/didDocument\.depth: unknown option/);
  });
});
