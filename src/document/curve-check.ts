import { ECDH } from 'node:crypto';
import { loadNativeAddon } from '../transport/native-addon.js';

/**
 * The curve check of a public key: whether SEC1 bytes (33-byte compressed
 * or 65-byte uncompressed) are a point on secp256k1 or P-256. Callers pass
 * only those two forms: node:crypto also takes the one-byte point at
 * infinity (`0x00`) and empty input, which the native check refuses, and
 * which are no key.
 *
 * With the native addon loaded and `libgmp.so.10` on the system,
 * `curve_point.c` answers in ~2 µs (the Jacobi symbol of x³ + ax + b,
 * GMP's arithmetic); otherwise node:crypto's `ECDH.convertKey`, which
 * refuses points off the curve, in ~28 µs. Both give the same answer
 * (`test/document/curve-check.test.ts` holds them to each other). Every new
 * key of a resolution pays this on the JS thread (docs/native-engine.md,
 * "The curve check").
 */

/** The two curves atproto uses, as node:crypto names them. */
export type CurveName = 'secp256k1' | 'prime256v1';

/** Which check {@link isPointOnCurve} uses here. */
export function curveCheckKind(): 'native' | 'node:crypto' {
  return chosenCheck() === nodeCryptoPointCheck ? 'node:crypto' : 'native';
}

/** The curve numbers of `curve_point.h`. */
const NATIVE_CURVE: Record<CurveName, 0 | 1> = { secp256k1: 0, prime256v1: 1 };

type PointCheck = (curve: CurveName, bytes: Uint8Array) => boolean;

let check: PointCheck | undefined;

/** Whether `bytes` is a point on `curve`, by the native check when it is available, else node:crypto's. */
export function isPointOnCurve(curve: CurveName, bytes: Uint8Array): boolean {
  return chosenCheck()(curve, bytes);
}

/** The check, chosen on first use: the native one when available, else node:crypto's. */
function chosenCheck(): PointCheck {
  check ??= nativePointCheck() ?? nodeCryptoPointCheck;
  return check;
}

function nativePointCheck(): PointCheck | undefined {
  const load = loadNativeAddon();
  if (!load.ok || !load.addon.isPointOnCurveAvailable) return undefined;
  const addon = load.addon;
  return (curve, bytes) => addon.isPointOnCurve(NATIVE_CURVE[curve], bytes);
}

/** node:crypto's check: decoding the point is the check (OpenSSL refuses x, y not on the curve). */
export function nodeCryptoPointCheck(curve: CurveName, bytes: Uint8Array): boolean {
  try {
    ECDH.convertKey(bytes, curve, undefined, undefined, 'uncompressed');
    return true;
  } catch {
    return false;
  }
}
