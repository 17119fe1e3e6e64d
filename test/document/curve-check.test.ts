import { createECDH, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { curveCheckKind, isPointOnCurve, nodeCryptoPointCheck, type CurveName } from '../../src/document/curve-check.js';
import { loadNativeAddon } from '../../src/transport/native-addon.js';

/**
 * The native curve check (`native/src/curve_point.c`) against node:crypto's
 * (`ECDH.convertKey`), on the same inputs: valid keys in both SEC1 forms,
 * random x (about half of them have no y), damaged y, coordinates at and
 * above the field prime, and malformed lengths and prefixes.
 */

const CURVES: CurveName[] = ['secp256k1', 'prime256v1'];
/** The field primes, big-endian. */
const PRIME: Record<CurveName, string> = {
  secp256k1: 'fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f',
  prime256v1: 'ffffffff00000001000000000000000000000000ffffffffffffffffffffffff',
};

function inputs(curve: CurveName, count: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i += 1) {
    const ecdh = createECDH(curve);
    ecdh.generateKeys();
    const uncompressed = ecdh.getPublicKey(null, 'uncompressed');
    switch (i % 5) {
      case 0:
        out.push(ecdh.getPublicKey(null, 'compressed'));
        break;
      case 1:
        out.push(uncompressed);
        break;
      case 2:
        out.push(Buffer.concat([Buffer.of(2 + (i & 1)), randomBytes(32)]));
        break;
      case 3: {
        const damaged = Buffer.from(uncompressed);
        damaged[33 + (i % 32)]! ^= 1 << (i % 8);
        out.push(damaged);
        break;
      }
      default: {
        const flipped = ecdh.getPublicKey(null, 'compressed');
        flipped[0] = flipped[0] === 2 ? 3 : 2; // the other root: also on the curve
        out.push(flipped);
      }
    }
  }
  const p = Buffer.from(PRIME[curve], 'hex');
  const pPlusOne = Buffer.from(p);
  pPlusOne[31]! += 1;
  const pMinusOne = Buffer.from(p);
  pMinusOne[31]! -= 1;
  const one = Buffer.alloc(32);
  one[31] = 1;
  const valid = createECDH(curve);
  valid.generateKeys();
  const good = valid.getPublicKey(null, 'uncompressed');
  out.push(
    Buffer.concat([Buffer.of(2), p]), // x = p
    Buffer.concat([Buffer.of(3), pPlusOne]), // x = p + 1
    Buffer.concat([Buffer.of(2), Buffer.alloc(32, 0xff)]),
    Buffer.concat([Buffer.of(2), Buffer.alloc(32)]), // x = 0
    Buffer.concat([Buffer.of(3), one]), // x = 1: three zero high limbs
    Buffer.concat([Buffer.of(2), pMinusOne]), // the largest x below p
    Buffer.concat([Buffer.of(3), pMinusOne]),
    Buffer.concat([Buffer.of(2), Buffer.alloc(24), randomBytes(8)]), // x below 2^64
    Buffer.concat([good.subarray(0, 33), pMinusOne]), // y = p - 1
    Buffer.concat([good.subarray(0, 33), p]), // y = p
    Buffer.concat([Buffer.of(4), p, good.subarray(33)]), // x = p
    Buffer.concat([Buffer.of(5), good.subarray(1)]), // hybrid-like prefix
    Buffer.concat([Buffer.of(4), good.subarray(1, 33)]), // 33 bytes under 0x04
    good.subarray(0, 64),
  );
  return out.map((b) => new Uint8Array(b));
}

describe('the curve check', () => {
  const load = loadNativeAddon();

  it('is the native one here: the addon loads and libgmp.so.10 opens', () => {
    if (!load.ok) throw new Error(`the native addon must load in this suite: ${load.reason}`);
    expect(load.addon.isPointOnCurveAvailable).toBe(true);
    expect(curveCheckKind()).toBe('native');
  });

  it.each(CURVES)('%s: the native check and node:crypto agree on 2,000 keys and edge cases', (curve) => {
    if (!load.ok) throw new Error(`the native addon must load in this suite: ${load.reason}`);
    const addon = load.addon;
    const id = curve === 'secp256k1' ? 0 : 1;
    let valid = 0;
    let invalid = 0;
    for (const bytes of inputs(curve, 2_000)) {
      const expected = nodeCryptoPointCheck(curve, bytes);
      expect(addon.isPointOnCurve(id, bytes), Buffer.from(bytes).toString('hex')).toBe(expected);
      expect(isPointOnCurve(curve, bytes)).toBe(expected);
      if (expected) valid += 1;
      else invalid += 1;
    }
    // Both kinds were exercised in numbers.
    expect(valid).toBeGreaterThan(1_000);
    expect(invalid).toBeGreaterThan(500);
  });

  it('refuses the point at infinity (SEC1 0x00) and empty input, which node:crypto takes: neither is a key', () => {
    if (!load.ok) throw new Error(load.reason);
    for (const bytes of [Uint8Array.of(0), new Uint8Array(0)]) {
      expect(nodeCryptoPointCheck('secp256k1', bytes)).toBe(true);
      expect(load.addon.isPointOnCurve(0, bytes)).toBe(false);
      expect(load.addon.isPointOnCurve(1, bytes)).toBe(false);
    }
  });

  it("a key of one curve is checked against the other's equation", () => {
    if (!load.ok) throw new Error(load.reason);
    const k256 = createECDH('secp256k1');
    k256.generateKeys();
    const bytes = new Uint8Array(k256.getPublicKey(null, 'uncompressed'));
    expect(load.addon.isPointOnCurve(0, bytes)).toBe(true);
    expect(load.addon.isPointOnCurve(1, bytes)).toBe(nodeCryptoPointCheck('prime256v1', bytes));
  });

  it('refuses arguments of the wrong kind with a TypeError-like error, never a crash', () => {
    if (!load.ok) throw new Error(load.reason);
    const addon = load.addon as unknown as { isPointOnCurve(...args: unknown[]): unknown };
    expect(() => addon.isPointOnCurve(2, new Uint8Array(33))).toThrow(/isPointOnCurve/);
    expect(() => addon.isPointOnCurve(0, 'not bytes')).toThrow(/isPointOnCurve/);
    expect(() => addon.isPointOnCurve(0, new Uint16Array(33))).toThrow(/isPointOnCurve/);
    expect(() => addon.isPointOnCurve(0)).toThrow(/isPointOnCurve/);
  });
});
