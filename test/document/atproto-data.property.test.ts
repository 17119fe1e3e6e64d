import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { atprotoData, originOnlyUrl } from '../../src/document/atproto-data.js';
import { parseDidDocument } from '../../src/document/did-document.js';
import { DidDocumentMismatchError, InvalidDidDocumentError } from '../../src/document/errors.js';

/**
 * Properties of the atproto view of untrusted documents: whatever a host
 * puts in its services, a PDS that comes out is an origin (scheme, host,
 * optional port; nothing a later URL join could be steered by), and parsing
 * plus extraction never throw anything but the two typed errors.
 */

const DID = 'did:web:alice.example.com';

/** Endpoint strings near the edge: origins, and origins with every kind of extra. */
const endpoint = fc.oneof(
  fc.webUrl({ withQueryParameters: true, withFragments: true }),
  fc.webUrl().map((u) => u.replace(/^https?:\/\//, (p) => `${p}user:secret@`)),
  fc.tuple(fc.constantFrom('https://', 'http://', 'HTTPS://', 'ftp://', 'javascript:', '//', 'https:/', 'https:\\\\'), fc.domain(), fc.constantFrom('', '/', ':443', ':8080/', '/xrpc', '?', '#', '/.', '/..', '\\', '%2f', ' ', '\t', '@evil.com', ':99999', ':0')).map(
    ([scheme, host, tail]) => `${scheme}${host}${tail}`,
  ),
  fc.tuple(fc.constantFrom('https://'), fc.ipV4(), fc.constantFrom('', '/', ':8443')).map(([s, h, t]) => `${s}${h}${t}`),
  fc.tuple(fc.constantFrom('https://['), fc.ipV6(), fc.constantFrom(']', ']/', ']:1')).map(([s, h, t]) => `${s}${h}${t}`),
  fc.string({ maxLength: 40 }),
);

const service = fc.record({
  id: fc.constantFrom('#atproto_pds', `${DID}#atproto_pds`, '#other'),
  type: fc.constantFrom('AtprotoPersonalDataServer', 'Other'),
  serviceEndpoint: fc.oneof(endpoint, fc.constant({ uri: 'https://x.example' })),
});

const method = fc.record({
  id: fc.constantFrom('#atproto', `${DID}#atproto`, '#other'),
  type: fc.constantFrom('Multikey', 'EcdsaSecp256k1VerificationKey2019', 'EcdsaSecp256r1VerificationKey2019', 'Bogus'),
  controller: fc.constantFrom(DID, 'did:web:other.example.com'),
  publicKeyMultibase: fc.oneof(
    fc.constant('zDnaeTiq1PdzvZXUaMdezchcMJQpBdH2VN4pgrrEhMCCbmwSb'),
    fc.constant('zQ3shZc2QzApp2oymGvQbzP8eKheVshBHbU4ZYjeXqwSKEn6N'),
    fc.string({ maxLength: 60 }).map((s) => `z${s}`),
    fc.string({ maxLength: 20 }),
  ),
});

const documentLike = fc.record(
  {
    id: fc.constant(DID),
    alsoKnownAs: fc.array(fc.oneof(fc.domain().map((d) => `at://${d}`), fc.string({ maxLength: 20 })), { maxLength: 4 }),
    verificationMethod: fc.array(method, { maxLength: 4 }),
    service: fc.array(service, { maxLength: 4 }),
  },
  { requiredKeys: ['id'] },
);

describe('atprotoData on random documents', () => {
  it('never returns a PDS that is not an origin', () => {
    let withPds = 0;
    fc.assert(
      fc.property(documentLike, (raw) => {
        const data = atprotoData(parseDidDocument(raw, DID));
        if (data.pds === undefined) return;
        withPds += 1;
        const url = new URL(data.pds);
        expect(['https:', 'http:']).toContain(url.protocol);
        expect(url.origin).toBe(data.pds);
        expect(url.username + url.password).toBe('');
        expect(originOnlyUrl(data.pds)).toBe(data.pds);
      }),
      { numRuns: 3_000 },
    );
    // Not vacuous: plenty of runs did produce a PDS.
    expect(withPds).toBeGreaterThan(100);
  });

  it('originOnlyUrl returns an origin or nothing, for any string', () => {
    fc.assert(
      fc.property(endpoint, (s) => {
        const origin = originOnlyUrl(s);
        if (origin === undefined) return;
        expect(new URL(origin).origin).toBe(origin);
        expect(originOnlyUrl(origin)).toBe(origin);
      }),
      { numRuns: 3_000 },
    );
  });

  it('the signing key is a did:key or nothing, and the handle a lowercase valid handle or nothing', () => {
    fc.assert(
      fc.property(documentLike, (raw) => {
        const data = atprotoData(parseDidDocument(raw, DID));
        if (data.signingKey !== undefined) expect(data.signingKey).toMatch(/^did:key:z[1-9A-HJ-NP-Za-km-z]+$/);
        if (data.handle !== undefined) expect(data.handle).toBe(data.handle.toLowerCase());
      }),
      { numRuns: 1_000 },
    );
  });

  it('parse + extract, from JSON text of mutated documents, throw only the typed errors', () => {
    const mutated = fc.tuple(documentLike, fc.nat(), fc.string({ maxLength: 4 })).map(([doc, at, insert]) => {
      const text = JSON.stringify(doc);
      const i = at % (text.length + 1);
      return text.slice(0, i) + insert + text.slice(i);
    });
    fc.assert(
      fc.property(mutated, (text) => {
        try {
          atprotoData(parseDidDocument(text, DID));
        } catch (error) {
          expect(error instanceof InvalidDidDocumentError || error instanceof DidDocumentMismatchError).toBe(true);
        }
      }),
      { numRuns: 2_000 },
    );
  });
});
