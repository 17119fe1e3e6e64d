import { createECDH, ECDH } from 'node:crypto';
import * as referenceCrypto from '@atproto/crypto';
import { base58 } from '@scure/base';
import { describe, expect, it } from 'vitest';
import {
  formatDidKey,
  formatMultikey,
  LEGACY_K256_TYPE,
  LEGACY_P256_TYPE,
  parseDidKey,
  parseLegacyMultibaseKey,
  parseMultikey,
  parseVerificationMethodKey,
  publicKeyFromBytes,
  type KeyCurve,
} from '../../src/document/did-key.js';
import { vectorJson } from '../support/interop-vectors.js';

const K256 = vectorJson<{ privateKeyBytesHex: string; publicDidKey: string }[]>('w3c_didkey_K256.json');
const P256 = vectorJson<{ privateKeyBytesBase58: string; publicDidKey: string }[]>('w3c_didkey_P256.json');
const SIGNATURES = vectorJson<{ didDocSuite: string; publicKeyDid: string; publicKeyMultibase: string }[]>(
  'signature-fixtures.json',
);

const OPENSSL: Record<KeyCurve, string> = { secp256k1: 'secp256k1', p256: 'prime256v1' };
const PREFIX: Record<KeyCurve, number[]> = { secp256k1: [0xe7, 0x01], p256: [0x80, 0x24] };

interface Vector {
  curve: KeyCurve;
  privateKey: Buffer;
  publicDidKey: string;
}

const vectors: Vector[] = [
  ...K256.map((v) => ({ curve: 'secp256k1' as const, privateKey: Buffer.from(v.privateKeyBytesHex, 'hex'), publicDidKey: v.publicDidKey })),
  ...P256.map((v) => ({
    curve: 'p256' as const,
    privateKey: Buffer.from(base58.decode(v.privateKeyBytesBase58)),
    publicDidKey: v.publicDidKey,
  })),
];

function publicPoints(v: Vector): { compressed: Buffer; uncompressed: Buffer } {
  const ecdh = createECDH(OPENSSL[v.curve]);
  ecdh.setPrivateKey(v.privateKey);
  return { compressed: ecdh.getPublicKey(null, 'compressed'), uncompressed: ecdh.getPublicKey(null, 'uncompressed') };
}

function multibase(bytes: ArrayLike<number>): string {
  return `z${base58.encode(Uint8Array.from(bytes))}`;
}

function isOnCurve(curve: KeyCurve, point: Uint8Array): boolean {
  try {
    ECDH.convertKey(point, OPENSSL[curve], undefined, undefined, 'uncompressed');
    return true;
  } catch {
    return false;
  }
}

/** The compressed point with its x coordinate nudged until it is off the curve (deterministic). */
function offCurve(curve: KeyCurve, compressed: Uint8Array): Uint8Array {
  const bad = Uint8Array.from(compressed);
  for (let i = 0; i < 256; i++) {
    bad[32] = (bad[32]! + 1) & 0xff;
    if (!isOnCurve(curve, bad)) return bad;
  }
  throw new Error('no off-curve neighbour found');
}

describe('W3C did:key vectors', () => {
  it('covers 5 secp256k1 and 1 P-256 keys', () => {
    expect(vectors.filter((v) => v.curve === 'secp256k1')).toHaveLength(5);
    expect(vectors.filter((v) => v.curve === 'p256')).toHaveLength(1);
  });

  it.each(vectors)('$curve $publicDidKey: formats from the private key and parses back', (v) => {
    const { compressed, uncompressed } = publicPoints(v);
    const fromCompressed = publicKeyFromBytes(v.curve, compressed);
    const fromUncompressed = publicKeyFromBytes(v.curve, uncompressed);
    expect(fromCompressed && formatDidKey(fromCompressed)).toBe(v.publicDidKey);
    expect(fromUncompressed && formatDidKey(fromUncompressed)).toBe(v.publicDidKey);

    const parsed = parseDidKey(v.publicDidKey);
    expect(parsed?.curve).toBe(v.curve);
    expect(parsed?.jwtAlg).toBe(v.curve === 'p256' ? 'ES256' : 'ES256K');
    expect(Buffer.from(parsed!.compressed)).toEqual(compressed);
    expect(formatMultikey(parsed!)).toBe(v.publicDidKey.slice('did:key:'.length));
    expect(Object.isFrozen(parsed)).toBe(true);
  });

  it.each(vectors)('$curve $publicDidKey: agrees with @atproto/crypto', (v) => {
    const reference = referenceCrypto.parseDidKey(v.publicDidKey);
    expect(reference.jwtAlg).toBe(parseDidKey(v.publicDidKey)!.jwtAlg);
    expect(referenceCrypto.formatDidKey(reference.jwtAlg, reference.keyBytes)).toBe(v.publicDidKey);
    expect(Buffer.from(reference.keyBytes)).toEqual(publicPoints(v).uncompressed);
  });

  it.each(vectors)('$curve $publicDidKey: the uncompressed Multikey form is refused', (v) => {
    const { uncompressed } = publicPoints(v);
    const mb = multibase([...PREFIX[v.curve], ...uncompressed]);
    expect(parseMultikey(mb)).toBeUndefined();
    expect(parseDidKey(`did:key:${mb}`)).toBeUndefined();
  });

  it.each(vectors)('$curve $publicDidKey: a point off the curve is refused', (v) => {
    const bad = offCurve(v.curve, publicPoints(v).compressed);
    expect(parseMultikey(multibase([...PREFIX[v.curve], ...bad]))).toBeUndefined();
    expect(publicKeyFromBytes(v.curve, bad)).toBeUndefined();
  });

  it.each(vectors)('$curve $publicDidKey: damaged encodings are refused', (v) => {
    const { compressed } = publicPoints(v);
    const prefix = PREFIX[v.curve];
    const cases = [
      multibase([...prefix, ...compressed.subarray(0, 32)]), // short
      multibase([...prefix, ...compressed, 0]), // long
      multibase([...prefix, 0x04, ...compressed.subarray(1)]), // wrong SEC1 tag
      multibase([0xed, 0x01, ...compressed.subarray(1)]), // ed25519-pub prefix
      multibase([...compressed]), // no multicodec prefix
      v.publicDidKey.slice(8).replace(/^z/, 'f'), // not base58btc
      v.publicDidKey.slice(8).replace(/.$/, '0'), // '0' is not base58
      v.publicDidKey.slice(8).replace(/.$/, 'l'), // 'l' is not base58
      v.publicDidKey.slice(8).slice(0, -1), // truncated string
      'z',
      '',
      `z${'1'.repeat(10_000)}`,
    ];
    for (const mb of cases) expect([mb, parseMultikey(mb)]).toEqual([mb, undefined]);
  });
});

describe('parseDidKey input handling', () => {
  it('needs the did:key: prefix and a string', () => {
    const mb = K256[0]!.publicDidKey.slice('did:key:'.length);
    expect(parseDidKey(mb)).toBeUndefined();
    expect(parseDidKey(`DID:KEY:${mb}`)).toBeUndefined();
    expect(parseDidKey(42 as never)).toBeUndefined();
    expect(parseMultikey(undefined as never)).toBeUndefined();
  });

  it('refuses the point at infinity and other SEC1 forms in publicKeyFromBytes', () => {
    expect(publicKeyFromBytes('secp256k1', Uint8Array.of(0))).toBeUndefined();
    expect(publicKeyFromBytes('secp256k1', new Uint8Array(33))).toBeUndefined();
    expect(publicKeyFromBytes('p256', new Uint8Array(65).fill(4, 0, 1))).toBeUndefined();
    expect(publicKeyFromBytes('ed25519' as never, new Uint8Array(33))).toBeUndefined();
  });

  it('copies the input bytes', () => {
    const { compressed } = publicPoints(vectors[0]!);
    const key = publicKeyFromBytes('secp256k1', compressed)!;
    compressed[5] = compressed[5]! ^ 0xff;
    expect(formatDidKey(key)).toBe(vectors[0]!.publicDidKey);
  });
});

describe('legacy verification method keys', () => {
  it('decodes the spec example (uncompressed secp256k1) to its Multikey form', () => {
    const key = parseLegacyMultibaseKey(
      LEGACY_K256_TYPE,
      'zQYEBzXeuTM9UR3rfvNag6L3RNAs5pQZyYPsomTsgQhsxLdEgCrPTLgFna8yqCnxPpNT7DBk6Ym3dgPKNu86vt9GR',
    );
    expect(key && formatMultikey(key)).toBe('zQ3shXjHeiBuRCKmM36cuYnm7YEMzhGnCmCyW92sRJ9pribSF');
  });

  it.each(SIGNATURES.map((s) => [s.didDocSuite, s.publicKeyMultibase, s.publicKeyDid] as const))(
    'interop signature fixture %s %s (compressed raw point) gives %s',
    (suite, mb, did) => {
      const key = parseLegacyMultibaseKey(suite, mb);
      expect(key && formatDidKey(key)).toBe(did);
      expect(parseVerificationMethodKey(suite, mb) && formatDidKey(parseVerificationMethodKey(suite, mb)!)).toBe(did);
    },
  );

  it.each(vectors)('$curve $publicDidKey: uncompressed raw point under the legacy type', (v) => {
    const type = v.curve === 'p256' ? LEGACY_P256_TYPE : LEGACY_K256_TYPE;
    const otherType = v.curve === 'p256' ? LEGACY_K256_TYPE : LEGACY_P256_TYPE;
    const { compressed, uncompressed } = publicPoints(v);
    const key = parseLegacyMultibaseKey(type, multibase(uncompressed));
    expect(key && formatDidKey(key)).toBe(v.publicDidKey);
    // the same bytes under the other curve's type are not a point on that curve
    expect(parseLegacyMultibaseKey(otherType, multibase(uncompressed))).toBeUndefined();
    // a multicodec prefix is not part of the legacy form
    expect(parseLegacyMultibaseKey(type, multibase([...PREFIX[v.curve], ...compressed]))).toBeUndefined();
    // an uncompressed point with a damaged y is off the curve
    const damaged = Uint8Array.from(uncompressed);
    damaged[64] = damaged[64]! ^ 1;
    expect(parseLegacyMultibaseKey(type, multibase(damaged))).toBeUndefined();
  });

  it('gives a Multikey the did:key of its own string, equal to encoding the key again, for 400 fresh keys and the vectors', () => {
    const multibases = vectors.map((v) => v.publicDidKey.slice('did:key:'.length));
    for (let i = 0; i < 400; i += 1) {
      const curve: KeyCurve = i % 2 === 0 ? 'secp256k1' : 'p256';
      const ecdh = createECDH(OPENSSL[curve]);
      ecdh.generateKeys();
      multibases.push(multibase([...PREFIX[curve], ...ecdh.getPublicKey(null, 'compressed')]));
    }
    for (const mb of multibases) {
      const key = parseVerificationMethodKey('Multikey', mb);
      expect(key).toBeDefined();
      expect(formatDidKey(key!)).toBe(`did:key:${mb}`);
      expect(`did:key:${formatMultikey(key!)}`).toBe(`did:key:${mb}`);
    }
  });

  it('dispatches on the verification method type', () => {
    const mb = K256[0]!.publicDidKey.slice('did:key:'.length);
    expect(parseVerificationMethodKey('Multikey', mb)).toBeDefined();
    expect(parseVerificationMethodKey(LEGACY_K256_TYPE, mb)).toBeUndefined();
    expect(parseVerificationMethodKey('Ed25519VerificationKey2020', mb)).toBeUndefined();
    expect(parseVerificationMethodKey('multikey', mb)).toBeUndefined();
  });
});
