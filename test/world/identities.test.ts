import { createECDH } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { didDocument } from '../../src/world/documents.js';
import { UnknownIdentityError } from '../../src/world/errors.js';
import { IdentityScheme, plcIdentifier } from '../../src/world/identities.js';
import { KeyPool, secp256k1KeyFromPrivate, secp256k1Multikey } from '../../src/world/keys.js';
import { atprotoDocumentProblems } from '../support/did-document.js';

const vectors = JSON.parse(
  readFileSync(new URL('../fixtures/interop/w3c_didkey_K256.json', import.meta.url), 'utf8'),
) as { privateKeyBytesHex: string; publicDidKey: string }[];

describe('identity scheme', () => {
  const scheme = new IdentityScheme({ identities: 250, webPercent: 20, keyPoolSize: 8 });

  it('splits did:web and did:plc by i % 100 < webPercent and counts both', () => {
    expect(scheme.webCount).toBe(20 + 20 + 20);
    expect(scheme.plcCount).toBe(250 - 60);
    expect(scheme.identity(19).method).toBe('web');
    expect(scheme.identity(20).method).toBe('plc');
    expect(scheme.identity(119).did).toBe('did:web:h119.web.test');
    expect(scheme.identity(120).did).toMatch(/^did:plc:[a-z2-7]{24}$/);
  });

  it('enumerates every did:plc and did:web identity exactly once, in index order', () => {
    const plc = Array.from({ length: scheme.plcCount }, (_, k) => scheme.plcIdentity(k));
    const web = Array.from({ length: scheme.webCount }, (_, k) => scheme.webIdentity(k));
    expect(plc.every((id) => id.method === 'plc')).toBe(true);
    expect(web.every((id) => id.method === 'web')).toBe(true);
    const indexes = [...plc, ...web].map((id) => id.index).sort((a, b) => a - b);
    expect(indexes).toEqual(Array.from({ length: 250 }, (_, i) => i));
    expect(plc.map((id) => id.index)).toEqual([...plc.map((id) => id.index)].sort((a, b) => a - b));
  });

  it('maps DIDs, web hosts and handles back to their index, and nothing else', () => {
    for (let i = 0; i < 250; i += 1) {
      const id = scheme.identity(i);
      expect(scheme.indexOfHandle(id.handle)).toBe(i);
      if (id.method === 'plc') {
        expect(scheme.indexOfPlcDid(id.did)).toBe(i);
        expect(scheme.indexOfWebHost(`h${i}.web.test`)).toBeUndefined();
      } else {
        expect(id.webHost).toBe(`h${i}.web.test`);
        expect(scheme.indexOfWebHost(`h${i}.web.test`)).toBe(i);
      }
    }
    expect(scheme.indexOfHandle('u250.handle.test')).toBeUndefined();
    expect(scheme.indexOfHandle('u01.handle.test')).toBeUndefined();
    expect(scheme.indexOfHandle('u1.handle.test.evil')).toBeUndefined();
    expect(scheme.indexOfWebHost('h300.web.test')).toBeUndefined();
    // Identity 20's identifier with its index bytes pointing elsewhere, and a bad tag.
    const did = scheme.identity(20).did;
    expect(scheme.indexOfPlcDid(`${did.slice(0, -1)}${did.endsWith('a') ? 'b' : 'a'}`)).toBeUndefined();
    expect(scheme.indexOfPlcDid(`did:plc:${'a'.repeat(24)}`)).toBeUndefined();
    expect(scheme.indexOfPlcDid('did:plc:short')).toBeUndefined();
    // A plc-shaped DID for an index that is did:web in this world.
    expect(scheme.indexOfPlcDid(`did:plc:${plcIdentifier(5)}`)).toBeUndefined();
  });

  it('is a pure function of the settings', () => {
    const again = new IdentityScheme({ identities: 250, webPercent: 20, keyPoolSize: 8 });
    expect(again.identity(137)).toEqual(scheme.identity(137));
    expect(new Set(Array.from({ length: 250 }, (_, i) => scheme.identity(i).did)).size).toBe(250);
  });

  it('names another identity for wrong answers', () => {
    expect(scheme.otherDid(3)).toBe(scheme.identity(4).did);
    expect(scheme.otherDid(249)).toBe(scheme.identity(0).did);
    const lonely = new IdentityScheme({ identities: 1, webPercent: 0, keyPoolSize: 1 });
    expect(lonely.otherDid(0)).not.toBe(lonely.identity(0).did);
  });

  it.each([
    ['identity', (s: IdentityScheme) => s.identity(250)],
    ['identity', (s: IdentityScheme) => s.identity(-1)],
    ['identity', (s: IdentityScheme) => s.identity(1.5)],
    ['plcIdentity', (s: IdentityScheme) => s.plcIdentity(190)],
    ['webIdentity', (s: IdentityScheme) => s.webIdentity(60)],
  ])('%s out of range throws UnknownIdentityError', (_name, call) => {
    expect(() => call(scheme)).toThrow(UnknownIdentityError);
  });

  it('handles the all-plc and all-web extremes', () => {
    const plcOnly = new IdentityScheme({ identities: 10, webPercent: 0, keyPoolSize: 1 });
    expect(plcOnly.webCount).toBe(0);
    expect(() => plcOnly.webIdentity(0)).toThrow(UnknownIdentityError);
    const webOnly = new IdentityScheme({ identities: 10, webPercent: 100, keyPoolSize: 1 });
    expect(webOnly.plcCount).toBe(0);
    expect(webOnly.webIdentity(9).index).toBe(9);
  });

  it('builds documents that pass the structural check', () => {
    for (const i of [0, 20, 99, 249]) {
      const id = scheme.identity(i);
      expect(atprotoDocumentProblems(didDocument(id), { did: id.did, handle: id.handle })).toEqual([]);
    }
  });
});

describe('keys', () => {
  it.each(vectors)('encodes the interop did:key for $publicDidKey', ({ privateKeyBytesHex, publicDidKey }) => {
    expect(secp256k1KeyFromPrivate(Buffer.from(privateKeyBytesHex, 'hex')).didKey).toBe(publicDidKey);
  });

  it('refuses points that are not compressed secp256k1 points', () => {
    expect(() => secp256k1Multikey(new Uint8Array(33))).toThrow(RangeError);
    expect(() => secp256k1Multikey(new Uint8Array(65).fill(4))).toThrow(RangeError);
  });

  it('derives each pool key once, deterministically, and shares it by index modulo the pool', () => {
    const pool = new KeyPool(4);
    expect(pool.derived).toBe(0);
    const a = pool.forIdentity(1);
    expect(pool.forIdentity(5)).toBe(a);
    expect(pool.forIdentity(2)).not.toEqual(a);
    expect(pool.derived).toBe(2);
    expect(new KeyPool(4).forIdentity(9)).toEqual(a);
    const ecdh = createECDH('secp256k1');
    ecdh.setPrivateKey(Buffer.from(a.privateKeyHex, 'hex'));
    expect(ecdh.getPublicKey('hex', 'compressed')).toBe(a.publicKeyHex);
  });
});
