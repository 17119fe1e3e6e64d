import { createECDH, createHash } from 'node:crypto';
import { base58 } from '@scure/base';

/** The multicodec varint prefix of a compressed secp256k1 public key (0xe7). */
const SECP256K1_PUB_PREFIX = Uint8Array.of(0xe7, 0x01);

/** One secp256k1 key pair of the world, with its public encodings. */
export interface WorldKey {
  /** The 32-byte private key, hex. Test-only: every world key is derivable by anyone. */
  readonly privateKeyHex: string;
  /** The 33-byte compressed public point, hex. */
  readonly publicKeyHex: string;
  /** `z` + base58btc(0xe7 0x01 ‖ compressed point), as in a DID document's `publicKeyMultibase`. */
  readonly publicKeyMultibase: string;
  /** `did:key:` + `publicKeyMultibase`. */
  readonly didKey: string;
}

/**
 * Encode a compressed secp256k1 public point as an atproto Multikey
 * (`publicKeyMultibase`): `z` followed by base58btc of the multicodec prefix
 * 0xe7 0x01 and the 33-byte point.
 *
 * @throws RangeError when `compressed` is not 33 bytes starting 0x02 or 0x03
 */
export function secp256k1Multikey(compressed: Uint8Array): string {
  if (compressed.length !== 33 || (compressed[0] !== 0x02 && compressed[0] !== 0x03)) {
    throw new RangeError('expected a 33-byte compressed secp256k1 point');
  }
  const bytes = new Uint8Array(SECP256K1_PUB_PREFIX.length + compressed.length);
  bytes.set(SECP256K1_PUB_PREFIX, 0);
  bytes.set(compressed, SECP256K1_PUB_PREFIX.length);
  return `z${base58.encode(bytes)}`;
}

/**
 * The key pair for a 32-byte secp256k1 private key.
 *
 * @throws Error (from node:crypto) when the scalar is zero or not below the curve order
 */
export function secp256k1KeyFromPrivate(privateKey: Uint8Array): WorldKey {
  const ecdh = createECDH('secp256k1');
  ecdh.setPrivateKey(privateKey);
  const point = ecdh.getPublicKey(null, 'compressed');
  const publicKeyMultibase = secp256k1Multikey(point);
  return {
    privateKeyHex: Buffer.from(privateKey).toString('hex'),
    publicKeyHex: point.toString('hex'),
    publicKeyMultibase,
    didKey: `did:key:${publicKeyMultibase}`,
  };
}

/**
 * A fixed-size pool of deterministic secp256k1 keys; identity `i` uses key
 * `i % size`. Key `k`'s private scalar is SHA-256 of `atresolve-world key <k>`
 * (re-hashed in the astronomically unlikely case it is not a valid scalar),
 * so the same index gives the same key in every process and every run.
 *
 * Keys are derived on first use and kept: one derivation (a scalar
 * multiplication in OpenSSL) costs ~0.35 ms on the reference box, so deriving
 * 20,000 keys eagerly would add ~7 s to start-up; a pool of 256 costs ~90 ms
 * in total, spread over the first requests.
 */
export class KeyPool {
  readonly #keys: (WorldKey | undefined)[];
  #derived = 0;

  /** @param size number of distinct keys (≥ 1) */
  constructor(size: number) {
    this.#keys = new Array<WorldKey | undefined>(size);
  }

  /** Number of distinct keys in the pool. */
  get size(): number {
    return this.#keys.length;
  }

  /** Number of keys derived so far. */
  get derived(): number {
    return this.#derived;
  }

  /** The key used by identity `index` (derived now if needed). */
  forIdentity(index: number): WorldKey {
    const slot = index % this.#keys.length;
    let key = this.#keys[slot];
    if (key === undefined) {
      key = deriveKey(slot);
      this.#keys[slot] = key;
      this.#derived += 1;
    }
    return key;
  }
}

function deriveKey(slot: number): WorldKey {
  let material = `atresolve-world key ${slot}`;
  // Bounded: a SHA-256 output is an invalid scalar with probability ~2^-128.
  for (let attempt = 0; attempt < 8; attempt += 1) {
    const scalar = createHash('sha256').update(material).digest();
    try {
      return secp256k1KeyFromPrivate(scalar);
    } catch {
      material = `${material}/retry`;
    }
  }
  throw new Error(`could not derive a secp256k1 key for slot ${slot}`);
}
