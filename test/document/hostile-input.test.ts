import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDidDocument } from '../../src/document/did-document.js';
import { DidDocumentMismatchError, InvalidDidDocumentError } from '../../src/document/errors.js';

// Untrusted documents must only ever produce a DidDocument or one of the two
// typed errors: no RangeError, no TypeError, no prototype pollution.

const PLC = 'did:plc:ewvi7nxzyoun6zhxrhs64oiz';
const DEPTH = 100_000;

function outcome(input: unknown, options?: Parameters<typeof parseDidDocument>[2]): 'ok' | 'invalid' | 'mismatch' {
  try {
    parseDidDocument(input, PLC, options);
    return 'ok';
  } catch (err) {
    if (err instanceof InvalidDidDocumentError) return 'invalid';
    if (err instanceof DidDocumentMismatchError) return 'mismatch';
    throw err;
  }
}

function deepArrayJson(depth: number): string {
  return '['.repeat(depth) + ']'.repeat(depth);
}

function deepArray(depth: number): unknown {
  let value: unknown = [];
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

function prototypeSnapshot(): string[] {
  return Object.getOwnPropertyNames(Object.prototype).sort();
}

describe('deep nesting', () => {
  it('a 100,000-level array document is refused by size by default', () => {
    expect(outcome(Buffer.from(deepArrayJson(DEPTH)))).toBe('invalid');
  });

  it('a 100,000-level array document that reaches JSON.parse is a typed error', () => {
    const options = { maxDocumentBytes: 10_000_000 };
    expect(outcome(Buffer.from(deepArrayJson(DEPTH)), options)).toBe('invalid');
    expect(outcome(deepArrayJson(DEPTH), options)).toBe('invalid');
    const objects = '{"a":'.repeat(DEPTH) + '1' + '}'.repeat(DEPTH);
    expect(outcome(objects, options)).toBe('invalid');
  });

  it('deep nesting inside a kept field is refused at the first level, without recursion', () => {
    const json = `{"id":"${PLC}","alsoKnownAs":${deepArrayJson(DEPTH)}}`;
    expect(() => parseDidDocument(json, PLC, { maxDocumentBytes: 10_000_000 })).toThrow(/"alsoKnownAs"\[0\] must be a string, got an array/);
    expect(outcome({ id: PLC, verificationMethod: deepArray(DEPTH) })).toBe('invalid');
  });

  it('deep nesting in any other field is refused at maxDepth, without recursing further', () => {
    const json = `{"id":"${PLC}","x-extension":${deepArrayJson(DEPTH)}}`;
    expect(() => parseDidDocument(json, PLC, { maxDocumentBytes: 10_000_000 })).toThrow(/"x-extension"(\[0\])+ is nested deeper than maxDepth \(16\)/);
    expect(() => parseDidDocument({ id: PLC, '@context': deepArray(DEPTH) }, PLC)).toThrow(/nested deeper than maxDepth/);
    expect(outcome({ id: PLC, service: [{ id: '#s', type: 'T', serviceEndpoint: deepArray(DEPTH) }] })).toBe('invalid');
  });
});

describe('huge arrays', () => {
  it('a million-entry alsoKnownAs is refused by its length, as an object or as JSON', () => {
    const entries = new Array<string>(1_000_000).fill('at://a.com');
    expect(() => parseDidDocument({ id: PLC, alsoKnownAs: entries }, PLC)).toThrow(/1000000 entries, more than maxEntries/);
    const json = JSON.stringify({ id: PLC, alsoKnownAs: entries });
    expect(outcome(json)).toBe('invalid');
    expect(outcome(json, { maxDocumentBytes: 100_000_000 })).toBe('invalid');
  });

  it('a sparse array of length 2^32-1 is refused without iterating', () => {
    const sparse: unknown[] = [];
    sparse.length = 2 ** 32 - 1;
    expect(() => parseDidDocument({ id: PLC, service: sparse }, PLC)).toThrow(/4294967295 entries/);
  });

  it('holes in an array are refused as undefined entries', () => {
    const holes: unknown[] = [];
    holes.length = 3;
    expect(() => parseDidDocument({ id: PLC, alsoKnownAs: holes }, PLC)).toThrow(/"alsoKnownAs"\[0\] must be a string, got undefined/);
  });
});

describe('prototype pollution', () => {
  it('JSON.parse keeps "__proto__" as an own key (the hostile case is real)', () => {
    const text = `{"id":"${PLC}","__proto__":{"polluted":true}}`;
    expect(Object.hasOwn(JSON.parse(text) as object, '__proto__')).toBe(true);
  });

  it('__proto__ and constructor keys reach no prototype and are not copied', () => {
    const before = prototypeSnapshot();
    const text = `{"id":"${PLC}","__proto__":{"polluted":true,"alsoKnownAs":["at://mallory.com"]},"constructor":{"prototype":{"polluted":true}},"alsoKnownAs":["at://alice.com"],"verificationMethod":[{"id":"#atproto","type":"Multikey","controller":"${PLC}","__proto__":{"publicKeyMultibase":"zInherited"},"constructor":{"prototype":{"polluted":true}}}],"service":[{"id":"#s","type":"T","serviceEndpoint":{"__proto__":{"polluted":true}},"__proto__":{"polluted":true}}]}`;
    for (const input of [text, Buffer.from(text), JSON.parse(text) as unknown]) {
      const doc = parseDidDocument(input, PLC);
      expect(doc.alsoKnownAs).toEqual(['at://alice.com']);
      expect(doc.verificationMethod?.[0]).toStrictEqual({ id: '#atproto', type: 'Multikey', controller: PLC });
      expect(Object.getPrototypeOf(doc)).toBe(Object.prototype);
      expect(Object.getPrototypeOf(doc.verificationMethod?.[0])).toBe(Object.prototype);
      expect(Object.hasOwn(doc, '__proto__')).toBe(false);
      expect(Object.hasOwn(doc, 'constructor')).toBe(false);
    }
    expect(prototypeSnapshot()).toEqual(before);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it('an id that exists only through "__proto__" is not an id', () => {
    expect(() => parseDidDocument(`{"__proto__":{"id":"${PLC}"}}`, PLC)).toThrow(/"id" must be a string, got undefined/);
  });

  it('inherited properties of a caller-built object are not read', () => {
    const doc = Object.create({ alsoKnownAs: ['at://inherited.com'], service: 'not-an-array' }) as Record<string, unknown>;
    doc.id = PLC;
    expect(parseDidDocument(doc, PLC)).toStrictEqual({ id: PLC });
    expect(() => parseDidDocument(Object.create({ id: PLC }), PLC)).toThrow(InvalidDidDocumentError);
  });

  it('an already-polluted Object.prototype does not leak into documents', () => {
    const proto = Object.prototype as Record<string, unknown>;
    try {
      proto.alsoKnownAs = ['at://mallory.com'];
      proto.service = [{ id: '#atproto_pds', type: 'AtprotoPersonalDataServer', serviceEndpoint: 'https://evil.example' }];
      proto.publicKeyMultibase = 'zEvil';
      const doc = parseDidDocument(`{"id":"${PLC}","verificationMethod":[{"id":"#atproto","type":"Multikey","controller":"${PLC}"}]}`, PLC);
      expect(Object.keys(doc)).toEqual(['id', 'verificationMethod']);
      expect(Object.hasOwn(doc.verificationMethod![0]!, 'publicKeyMultibase')).toBe(false);
    } finally {
      delete proto.alsoKnownAs;
      delete proto.service;
      delete proto.publicKeyMultibase;
    }
  });
});

describe('exotic objects', () => {
  it('a throwing getter becomes InvalidDidDocumentError with the thrown error as cause', () => {
    const boom = new Error('boom');
    const input = {
      id: PLC,
      get alsoKnownAs(): never {
        throw boom;
      },
    };
    let err: unknown;
    try {
      parseDidDocument(input, PLC);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidDidDocumentError);
    expect((err as Error).cause).toBe(boom);
  });

  it('a Proxy whose traps throw is a typed error', () => {
    const hostile = new Proxy(
      {},
      {
        has: () => {
          throw new RangeError('trap');
        },
        get: () => {
          throw new RangeError('trap');
        },
        getOwnPropertyDescriptor: () => {
          throw new RangeError('trap');
        },
      },
    );
    expect(outcome(hostile)).toBe('invalid');
    expect(outcome({ id: PLC, service: [hostile] })).toBe('invalid');
  });

  it('an array Proxy that lies about its length is bounded by maxEntries', () => {
    const liar = new Proxy([], { get: (target, key) => (key === 'length' ? 1e12 : Reflect.get(target, key)) });
    expect(() => parseDidDocument({ id: PLC, alsoKnownAs: liar }, PLC)).toThrow(/more than maxEntries/);
  });

  it('a getter that recurses until the stack overflows is a typed error', () => {
    const input = {
      id: PLC,
      get service(): unknown {
        const recurse = (n: number): number => recurse(n + 1) + 1;
        return recurse(0);
      },
    };
    expect(outcome(input)).toBe('invalid');
  });
});

describe('property: arbitrary values never escape as other exceptions', () => {
  const field = fc.oneof(
    fc.anything({ maxDepth: 3 }),
    fc.array(fc.string(), { maxLength: 5 }),
    fc.array(fc.dictionary(fc.constantFrom('id', 'type', 'controller', 'publicKeyMultibase', 'serviceEndpoint', '__proto__'), fc.anything({ maxDepth: 2 })), {
      maxLength: 4,
    }),
  );
  const documentLike = fc.record(
    {
      id: fc.oneof(fc.constant(PLC), fc.anything({ maxDepth: 1 })),
      alsoKnownAs: field,
      verificationMethod: field,
      service: field,
      __proto__: fc.anything({ maxDepth: 2 }),
    },
    { requiredKeys: [] },
  );

  it('for parsed values', () => {
    const before = prototypeSnapshot();
    fc.assert(
      fc.property(documentLike, (input) => {
        outcome(input);
      }),
      { numRuns: 3000 },
    );
    expect(prototypeSnapshot()).toEqual(before);
  });

  it('for JSON text and bytes', () => {
    fc.assert(
      fc.property(fc.oneof(fc.json({ depthSize: 'medium' }), fc.string(), documentLike.map((d) => JSON.stringify(d) ?? '')), (text) => {
        outcome(text);
        outcome(Buffer.from(text));
      }),
      { numRuns: 3000 },
    );
  });

  it('for random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        expect(outcome(bytes)).toBe('invalid');
      }),
      { numRuns: 2000 },
    );
  });
});
