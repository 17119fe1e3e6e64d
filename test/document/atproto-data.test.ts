import { readFileSync } from 'node:fs';
import { parseToAtprotoDocument } from '@atproto/identity';
import { describe, expect, it } from 'vitest';
import {
  atprotoData,
  getHandle,
  getPdsEndpoint,
  getServiceEndpoint,
  getSigningKey,
  getSigningPublicKey,
  idMatchesFragment,
  originOnlyUrl,
} from '../../src/document/atproto-data.js';
import { parseDidDocument, type DidDocument } from '../../src/document/did-document.js';
import { LEGACY_P256_TYPE } from '../../src/document/did-key.js';

const PLC = 'did:plc:ewvi7nxzyoun6zhxrhs64oiz';
const WEB = 'did:web:alice.example.com';
const K256_MB = 'zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme';
const K256_MB_2 = 'zQ3shtxV1FrJfhqE1dvxYRcCknWNjHc3c5X1y3ZSoPDi2aur2';
const P256_MB = 'zDnaeTiq1PdzvZXUaMdezchcMJQpBdH2VN4pgrrEhMCCbmwSb';
const LEGACY_K256_UNCOMPRESSED = 'zQYEBzXeuTM9UR3rfvNag6L3RNAs5pQZyYPsomTsgQhsxLdEgCrPTLgFna8yqCnxPpNT7DBk6Ym3dgPKNu86vt9GR';

function fixtureText(name: string): string {
  return readFileSync(new URL(`../fixtures/documents/${name}`, import.meta.url), 'utf8');
}

function doc(fields: Record<string, unknown>, did = PLC): DidDocument {
  return parseDidDocument({ id: did, ...fields }, did);
}

const key = (fields: Record<string, unknown> = {}): Record<string, unknown> => ({
  id: '#atproto',
  type: 'Multikey',
  controller: PLC,
  publicKeyMultibase: K256_MB,
  ...fields,
});

const pds = (serviceEndpoint: unknown, fields: Record<string, unknown> = {}): Record<string, unknown> => ({
  id: '#atproto_pds',
  type: 'AtprotoPersonalDataServer',
  serviceEndpoint,
  ...fields,
});

describe('atprotoData on realistic documents', () => {
  it('PLC document with a Multikey', () => {
    const data = atprotoData(parseDidDocument(fixtureText('plc.json'), PLC));
    expect(data).toStrictEqual({
      did: PLC,
      handle: 'atproto.com',
      pds: 'https://enoki.us-east.host.bsky.network',
      signingKey: `did:key:${K256_MB}`,
    });
    expect(Object.isFrozen(data)).toBe(true);
  });

  it('PLC document with a legacy uncompressed key and a relative id', () => {
    expect(atprotoData(parseDidDocument(fixtureText('plc-legacy.json'), PLC))).toStrictEqual({
      did: PLC,
      handle: 'atproto.com',
      pds: 'https://pds.example.com',
      signingKey: 'did:key:zQ3shXjHeiBuRCKmM36cuYnm7YEMzhGnCmCyW92sRJ9pribSF',
    });
  });

  it('did:web document with absolute ids, a non-handle alias first and a P-256 key', () => {
    expect(atprotoData(parseDidDocument(fixtureText('web.json'), WEB))).toStrictEqual({
      did: WEB,
      handle: 'alice.example.com',
      pds: 'https://pds.example.com',
      signingKey: `did:key:${P256_MB}`,
    });
  });

  it('agrees with @atproto/identity on the signing key and, where both apply, on the PDS', () => {
    for (const [name, did] of [
      ['plc.json', PLC],
      ['plc-legacy.json', PLC],
      ['web.json', WEB],
    ] as const) {
      const ours = atprotoData(parseDidDocument(fixtureText(name), did));
      const reference = parseToAtprotoDocument(JSON.parse(fixtureText(name)));
      expect(ours.signingKey).toBe(reference.signingKey);
      if (name !== 'web.json') expect(ours.pds).toBe(reference.pds);
    }
  });

  it('returns undefined fields for a bare document', () => {
    expect(atprotoData(doc({}))).toStrictEqual({ did: PLC, handle: undefined, pds: undefined, signingKey: undefined });
  });
});

describe('handle', () => {
  it('is the first alias that is at:// plus a valid handle, lowercased', () => {
    const aliases = [
      'https://alice.com',
      'at://bad_handle.com',
      'at://alice.com/app.bsky.actor.profile/self',
      'at://',
      'AT://upper.com',
      'at://alice.com ',
      'at://alice.com\u0000',
      'at://\u212aelvin.com',
      'at://Good.Example.COM',
      'at://second.example.com',
    ];
    expect(getHandle(doc({ alsoKnownAs: aliases }))).toBe('good.example.com');
  });

  it("agrees with indigo's DeclaredHandle cases: an invalid at:// entry is skipped, the next valid one taken", () => {
    expect(getHandle(doc({ alsoKnownAs: ['at://BLAH.com', 'at://other.org'] }))).toBe('blah.com');
    const aliases = ['https://http.example.com', 'at://under_example_com', 'at://correct.EXAMPLE.com', 'at://other.example.com'];
    expect(getHandle(doc({ alsoKnownAs: aliases }))).toBe('correct.example.com');
    expect(getHandle(doc({ alsoKnownAs: ['https://http.example.com'] }))).toBeUndefined();
  });

  it('is undefined when no alias is a valid handle URI', () => {
    expect(getHandle(doc({ alsoKnownAs: ['https://alice.com', 'at://-bad.com'] }))).toBeUndefined();
    expect(getHandle(doc({ alsoKnownAs: [] }))).toBeUndefined();
  });

  it('is syntax only: reserved TLDs and handle.invalid come back as declared', () => {
    expect(getHandle(doc({ alsoKnownAs: ['at://handle.invalid'] }))).toBe('handle.invalid');
    expect(getHandle(doc({ alsoKnownAs: ['at://laptop.local'] }))).toBe('laptop.local');
  });
});

describe('signing key', () => {
  it('accepts relative and absolute ids of the document DID only', () => {
    expect(getSigningKey(doc({ verificationMethod: [key()] }))).toBe(`did:key:${K256_MB}`);
    expect(getSigningKey(doc({ verificationMethod: [key({ id: `${PLC}#atproto` })] }))).toBe(`did:key:${K256_MB}`);
    for (const id of ['did:plc:aaaaaaaaaaaaaaaaaaaaaaaa#atproto', 'atproto', '#atproto_label', `${PLC}#atproto_pds`, `${PLC}#Atproto`, `${PLC}/#atproto`]) {
      expect([id, getSigningKey(doc({ verificationMethod: [key({ id })] }))]).toEqual([id, undefined]);
    }
  });

  it('requires the controller to be the DID itself', () => {
    expect(getSigningKey(doc({ verificationMethod: [key({ controller: 'did:plc:aaaaaaaaaaaaaaaaaaaaaaaa' })] }))).toBeUndefined();
    expect(getSigningKey(doc({ verificationMethod: [key({ controller: `${PLC}#atproto` })] }))).toBeUndefined();
  });

  it('accepts Multikey and both legacy types, nothing else', () => {
    expect(getSigningPublicKey(doc({ verificationMethod: [key({ publicKeyMultibase: P256_MB })] }))?.curve).toBe('p256');
    expect(getSigningKey(doc({ verificationMethod: [key({ type: 'EcdsaSecp256k1VerificationKey2019', publicKeyMultibase: LEGACY_K256_UNCOMPRESSED })] }))).toBe(
      'did:key:zQ3shXjHeiBuRCKmM36cuYnm7YEMzhGnCmCyW92sRJ9pribSF',
    );
    expect(getSigningKey(doc({ verificationMethod: [key({ type: LEGACY_P256_TYPE, publicKeyMultibase: 'zxdM8dSstjrpZaRUwBmDvjGXweKuEMVN95A9oJBFjkWMh' })] }))).toBe(
      'did:key:zDnaembgSGUhZULN2Caob4HLJPaxBh92N7rtH21TErzqf8HQo',
    );
    // (a legacy type holding a multicodec-prefixed Multikey value is not a legacy key either)
    for (const type of ['JsonWebKey2020', 'Ed25519VerificationKey2020', 'multikey', 'EcdsaSecp256k1VerificationKey2019']) {
      expect([type, getSigningKey(doc({ verificationMethod: [key({ type })] }))]).toEqual([type, undefined]);
    }
  });

  it('skips entries without a usable key', () => {
    expect(getSigningKey(doc({ verificationMethod: [key({ publicKeyMultibase: undefined })] }))).toBeUndefined();
    expect(getSigningKey(doc({ verificationMethod: [key({ publicKeyMultibase: 'zNotAKey' })] }))).toBeUndefined();
    expect(getSigningKey(doc({ verificationMethod: [key({ publicKeyMultibase: K256_MB.slice(0, -1) })] }))).toBeUndefined();
  });

  it('duplicates: the first valid #atproto entry wins', () => {
    expect(getSigningKey(doc({ verificationMethod: [key(), key({ publicKeyMultibase: K256_MB_2 })] }))).toBe(`did:key:${K256_MB}`);
    const invalidFirst = [
      key({ publicKeyMultibase: 'zNotAKey' }),
      key({ controller: 'did:plc:aaaaaaaaaaaaaaaaaaaaaaaa' }),
      key({ type: 'Unknown' }),
      key({ id: `${PLC}#atproto`, publicKeyMultibase: K256_MB_2 }),
      key(),
    ];
    expect(getSigningKey(doc({ verificationMethod: invalidFirst }))).toBe(`did:key:${K256_MB_2}`);
  });

  it('differs from @atproto/identity, which uses the first #atproto entry whatever it holds', () => {
    const raw = { id: PLC, verificationMethod: [key({ publicKeyMultibase: 'zNotAKey' }), key()] };
    expect(() => parseToAtprotoDocument(raw as Parameters<typeof parseToAtprotoDocument>[0])).toThrow();
    expect(atprotoData(parseDidDocument(raw, PLC)).signingKey).toBe(`did:key:${K256_MB}`);
  });
});

describe('PDS endpoint', () => {
  it('accepts relative and absolute ids of the document DID only', () => {
    expect(getPdsEndpoint(doc({ service: [pds('https://pds.example.com')] }))).toBe('https://pds.example.com');
    expect(getPdsEndpoint(doc({ service: [pds('https://pds.example.com', { id: `${PLC}#atproto_pds` })] }))).toBe(
      'https://pds.example.com',
    );
    for (const id of ['did:plc:aaaaaaaaaaaaaaaaaaaaaaaa#atproto_pds', 'atproto_pds', '#atproto', '#atproto_pds2']) {
      expect([id, getPdsEndpoint(doc({ service: [pds('https://pds.example.com', { id })] }))]).toEqual([id, undefined]);
    }
  });

  it('requires the exact type string; other types are skipped', () => {
    expect(getPdsEndpoint(doc({ service: [pds('https://pds.example.com', { type: ['AtprotoPersonalDataServer'] })] }))).toBeUndefined();
    expect(getPdsEndpoint(doc({ service: [pds('https://pds.example.com', { type: 'atprotopersonaldataserver' })] }))).toBeUndefined();
    expect(getPdsEndpoint(doc({ service: [pds('https://a.example.com', { type: 'Other' }), pds('https://b.example.com')] }))).toBe(
      'https://b.example.com',
    );
  });

  it.each([
    ['https://pds.example.com', 'https://pds.example.com'],
    ['https://pds.example.com/', 'https://pds.example.com'],
    ['https://PDS.Example.COM', 'https://pds.example.com'],
    ['HTTPS://pds.example.com', 'https://pds.example.com'],
    ['https://pds.example.com:443', 'https://pds.example.com'],
    ['https://pds.example.com:8443/', 'https://pds.example.com:8443'],
    ['http://localhost:2583', 'http://localhost:2583'],
    ['http://127.0.0.1:2583/', 'http://127.0.0.1:2583'],
    ['https://[::1]:8080', 'https://[::1]:8080'],
    ['https://bücher.example', 'https://xn--bcher-kva.example'],
  ])('returns the origin of %j', (endpoint, origin) => {
    expect(originOnlyUrl(endpoint)).toBe(origin);
    expect(getPdsEndpoint(doc({ service: [pds(endpoint)] }))).toBe(origin);
  });

  it.each([
    'https://pds.example.com/xrpc',
    'https://pds.example.com//',
    'https://pds.example.com/.',
    'https://pds.example.com/%2e',
    'https://user:pass@pds.example.com',
    'https://user@pds.example.com',
    'https://@pds.example.com',
    'https://pds.example.com?x=1',
    'https://pds.example.com/?',
    'https://pds.example.com#frag',
    'https://pds.example.com/#',
    'ftp://pds.example.com',
    'wss://pds.example.com',
    'pds.example.com',
    '//pds.example.com',
    'https://',
    'https:pds.example.com',
    'https:/pds.example.com',
    'https://pds.exa mple.com',
    ' https://pds.example.com',
    'https://pds.example.com\n',
    'https://pds.exa\tmple.com',
    'https:\\\\pds.example.com',
    'https://pds.example.com\\',
    'https://pds.example.com:99999',
    'https://pds.example.com:port',
    'javascript:alert(1)',
    '',
  ])('refuses %j', (endpoint) => {
    expect(originOnlyUrl(endpoint)).toBeUndefined();
    expect(getPdsEndpoint(doc({ service: [pds(endpoint)] }))).toBeUndefined();
  });

  it('uses the first matching entry: a bad endpoint there means no PDS, later entries are ignored', () => {
    expect(getPdsEndpoint(doc({ service: [pds('https://pds.example.com/path'), pds('https://good.example.com')] }))).toBeUndefined();
    expect(getPdsEndpoint(doc({ service: [pds({ url: 'https://good.example.com' }), pds('https://good.example.com')] }))).toBeUndefined();
    expect(getPdsEndpoint(doc({ service: [pds('https://first.example.com'), pds('https://second.example.com')] }))).toBe(
      'https://first.example.com',
    );
  });

  it('getServiceEndpoint reads other atproto services the same way', () => {
    const d = parseDidDocument(fixtureText('web.json'), WEB);
    expect(getServiceEndpoint(d, '#bsky_fg', 'BskyFeedGenerator')).toBe('https://feeds.example.com');
    expect(getServiceEndpoint(d, '#linked', 'LinkedDomains')).toBeUndefined();
  });
});

describe('idMatchesFragment', () => {
  it('matches the bare fragment or the DID followed by it', () => {
    expect(idMatchesFragment('#atproto', PLC, '#atproto')).toBe(true);
    expect(idMatchesFragment(`${PLC}#atproto`, PLC, '#atproto')).toBe(true);
    expect(idMatchesFragment(`${PLC}x#atproto`, PLC, '#atproto')).toBe(false);
    expect(idMatchesFragment(`did:plc:ewvi7nxzyoun6zhxrhs64oiy#atproto`, PLC, '#atproto')).toBe(false);
    expect(idMatchesFragment(`${PLC}#atprotoo`, PLC, '#atproto')).toBe(false);
  });
});
