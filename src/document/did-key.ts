import { base58 } from '@scure/base';
import { LRUCache } from 'lru-cache';
import { isPointOnCurve, type CurveName } from './curve-check.js';

/**
 * Public keys as atproto writes them: `Multikey` / `did:key` (multibase
 * base58btc of a multicodec prefix plus the 33-byte compressed point) and
 * the legacy `EcdsaSecp256k1VerificationKey2019` /
 * `EcdsaSecp256r1VerificationKey2019` form (multibase base58btc of the raw
 * point, no prefix). See https://atproto.com/specs/cryptography and
 * https://atproto.com/specs/did.
 *
 * Every parse checks that the bytes are a point on the named curve
 * ({@link isPointOnCurve}: the native addon's check, else node:crypto's), so
 * a `did:key` produced here always names a usable public key. Parsers
 * return `undefined` for anything invalid instead of throwing: keys come
 * from untrusted documents and a bad key is an ordinary outcome.
 */

/** The two curves atproto uses: K-256 (secp256k1, `ES256K`) and P-256 (prime256v1, `ES256`). */
export type KeyCurve = 'secp256k1' | 'p256';

declare const validatedKey: unique symbol;

/**
 * A validated public key: a point on `curve`, held as its 33-byte SEC1
 * compressed encoding. Only this module's parse functions create one, so a
 * `PublicKey` is always on its curve.
 */
export interface PublicKey {
  readonly curve: KeyCurve;
  /** JWT `alg` for signatures by this key: `ES256K` for secp256k1, `ES256` for P-256. */
  readonly jwtAlg: 'ES256K' | 'ES256';
  /** The compressed point (33 bytes, first byte 0x02 or 0x03). Do not modify. */
  readonly compressed: Uint8Array;
  readonly [validatedKey]: true;
}

/** The `did:key:` prefix. */
export const DID_KEY_PREFIX = 'did:key:';

/** `verificationMethod.type` of the current atproto key representation. */
export const MULTIKEY_TYPE = 'Multikey';

/** Legacy `verificationMethod.type` for a secp256k1 key with a raw multibase point. */
export const LEGACY_K256_TYPE = 'EcdsaSecp256k1VerificationKey2019';

/** Legacy `verificationMethod.type` for a P-256 key with a raw multibase point. */
export const LEGACY_P256_TYPE = 'EcdsaSecp256r1VerificationKey2019';

/** Longest multibase key string examined; longer input is refused before decoding. */
const MAX_MULTIBASE_LENGTH = 256;

const CURVES: Record<KeyCurve, { prefix: readonly [number, number]; openssl: CurveName; jwtAlg: 'ES256K' | 'ES256' }> = {
  // multicodec varints: secp256k1-pub 0xe7, p256-pub 0x1200
  secp256k1: { prefix: [0xe7, 0x01], openssl: 'secp256k1', jwtAlg: 'ES256K' },
  p256: { prefix: [0x80, 0x24], openssl: 'prime256v1', jwtAlg: 'ES256' },
};

/**
 * Build a {@link PublicKey} from SEC1 point bytes: 33-byte compressed
 * (0x02/0x03) or 65-byte uncompressed (0x04). `undefined` if the bytes are
 * another length or form, or not a point on `curve`.
 */
export function publicKeyFromBytes(curve: KeyCurve, bytes: Uint8Array): PublicKey | undefined {
  const spec = CURVES[curve];
  if (spec === undefined) return undefined;
  const compressedForm = bytes.length === 33 && (bytes[0] === 0x02 || bytes[0] === 0x03);
  const uncompressedForm = bytes.length === 65 && bytes[0] === 0x04;
  if (!compressedForm && !uncompressedForm) return undefined;
  if (!isPointOnCurve(spec.openssl, bytes)) return undefined;
  let compressed: Uint8Array;
  if (compressedForm) {
    compressed = Uint8Array.from(bytes);
  } else {
    // SEC1 compression: 0x02 for an even y, 0x03 for an odd one, then x.
    compressed = new Uint8Array(33);
    compressed[0] = 0x02 | ((bytes[64] as number) & 1);
    compressed.set(bytes.subarray(1, 33), 1);
  }
  return Object.freeze({ curve, jwtAlg: spec.jwtAlg, compressed }) as PublicKey;
}

/** Decode a `z` (base58btc) multibase string; `undefined` for any other base or bad characters. */
function decodeBase58Multibase(multibase: string): Uint8Array | undefined {
  if (typeof multibase !== 'string' || multibase.length < 2 || multibase.length > MAX_MULTIBASE_LENGTH) return undefined;
  if (multibase[0] !== 'z') return undefined;
  try {
    return base58.decode(multibase.slice(1));
  } catch {
    return undefined;
  }
}

/**
 * Parse a `Multikey` `publicKeyMultibase` (the part of a `did:key` after
 * `did:key:`): `z` + base58btc of a multicodec prefix (`0xe7 0x01`
 * secp256k1-pub or `0x80 0x24` p256-pub) and a 33-byte compressed point on
 * that curve. Uncompressed points are refused here, as the spec requires
 * compressed keys in this form. `undefined` for anything invalid.
 */
export function parseMultikey(multibase: string): PublicKey | undefined {
  const bytes = decodeBase58Multibase(multibase);
  if (bytes === undefined || bytes.length !== 35) return undefined;
  for (const curve of ['secp256k1', 'p256'] as const) {
    const [a, b] = CURVES[curve].prefix;
    if (bytes[0] === a && bytes[1] === b) {
      const point = bytes.subarray(2);
      if (point[0] !== 0x02 && point[0] !== 0x03) return undefined;
      return publicKeyFromBytes(curve, point);
    }
  }
  return undefined;
}

/** Parse a `did:key:z…` string as {@link parseMultikey} does; `undefined` for anything invalid. */
export function parseDidKey(didKey: string): PublicKey | undefined {
  if (typeof didKey !== 'string' || !didKey.startsWith(DID_KEY_PREFIX)) return undefined;
  return parseMultikey(didKey.slice(DID_KEY_PREFIX.length));
}

/**
 * Parse a legacy `publicKeyMultibase`: `z` + base58btc of the raw point
 * with no multicodec prefix, the curve given by the `verificationMethod`
 * type (`EcdsaSecp256k1VerificationKey2019` → secp256k1,
 * `EcdsaSecp256r1VerificationKey2019` → P-256). The spec describes the
 * uncompressed 65-byte point; the compressed 33-byte point is accepted too,
 * as `@atproto/crypto` and indigo do (see docs/syntax-and-documents.md).
 * `undefined` for an unknown type or invalid key.
 */
export function parseLegacyMultibaseKey(type: string, multibase: string): PublicKey | undefined {
  const curve: KeyCurve | undefined =
    type === LEGACY_K256_TYPE ? 'secp256k1' : type === LEGACY_P256_TYPE ? 'p256' : undefined;
  if (curve === undefined) return undefined;
  const bytes = decodeBase58Multibase(multibase);
  if (bytes === undefined) return undefined;
  return publicKeyFromBytes(curve, bytes);
}

/**
 * Parse the key of a `verificationMethod` by its type: `Multikey` via
 * {@link parseMultikey}, the two legacy types via
 * {@link parseLegacyMultibaseKey}. `undefined` for other types or bad keys.
 *
 * Answers are remembered (valid and invalid alike) for the last
 * {@link KEY_MEMO_ENTRIES} distinct keys: a relay resolves the same
 * documents again and again, and the curve check (~2 µs with the native
 * addon on GMP, ~28 µs with node:crypto) dominated a cache-off resolution
 * before the native check. A key string's answer never changes, so the
 * memo is always right.
 */
export function parseVerificationMethodKey(type: string, publicKeyMultibase: string): PublicKey | undefined {
  if (typeof publicKeyMultibase !== 'string' || publicKeyMultibase.length > MAX_MULTIBASE_LENGTH) return undefined;
  const memoKey = `${type} ${publicKeyMultibase}`;
  const known = keyMemo.get(memoKey);
  if (known !== undefined) return known === INVALID ? undefined : known;
  let key: PublicKey | undefined;
  if (type === MULTIKEY_TYPE) {
    key = parseMultikey(publicKeyMultibase);
    // base58btc is one-to-one, so a Multikey that parses is already its own
    // canonical form: its did:key needs no second encoding.
    if (key !== undefined) didKeys.set(key, `${DID_KEY_PREFIX}${publicKeyMultibase}`);
  } else {
    key = parseLegacyMultibaseKey(type, publicKeyMultibase);
  }
  keyMemo.set(memoKey, key ?? INVALID);
  return key;
}

/**
 * Distinct verification-method keys remembered by
 * {@link parseVerificationMethodKey}. 16,384: a relay's hot identities,
 * at ~300 bytes each (~5 MB at most).
 */
export const KEY_MEMO_ENTRIES = 16_384;
const INVALID = Symbol('invalid key');
const keyMemo = new LRUCache<string, PublicKey | typeof INVALID>({ max: KEY_MEMO_ENTRIES });
/** The `did:key` of each memoized key, made once. */
const didKeys = new WeakMap<PublicKey, string>();

/** Encode a key as `Multikey` `publicKeyMultibase`: `z` + base58btc(multicodec prefix + compressed point). */
export function formatMultikey(key: PublicKey): string {
  const [a, b] = CURVES[key.curve].prefix;
  const bytes = new Uint8Array(2 + key.compressed.length);
  bytes[0] = a;
  bytes[1] = b;
  bytes.set(key.compressed, 2);
  return `z${base58.encode(bytes)}`;
}

/** Encode a key as `did:key:z…`, the form atproto uses for signing keys (made once per key object). */
export function formatDidKey(key: PublicKey): string {
  let didKey = didKeys.get(key);
  if (didKey === undefined) {
    didKey = `${DID_KEY_PREFIX}${formatMultikey(key)}`;
    didKeys.set(key, didKey);
  }
  return didKey;
}
