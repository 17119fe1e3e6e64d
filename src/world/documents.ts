import { LRUCache } from 'lru-cache';
import type { IdentityScheme, WorldIdentity } from './identities.js';

/** The JSON-LD contexts a did:plc document from plc.directory carries. */
const CONTEXTS = [
  'https://www.w3.org/ns/did/v1',
  'https://w3id.org/security/multikey/v1',
  'https://w3id.org/security/suites/secp256k1-2019/v1',
];

/** The atproto DID document of `identity`, with its `id` replaced by `id` when given. */
export function didDocument(identity: WorldIdentity, id: string = identity.did): Record<string, unknown> {
  return {
    '@context': CONTEXTS,
    id,
    alsoKnownAs: [`at://${identity.handle}`],
    verificationMethod: [
      {
        id: `${id}#atproto`,
        type: 'Multikey',
        controller: id,
        publicKeyMultibase: identity.key.publicKeyMultibase,
      },
    ],
    service: [{ id: '#atproto_pds', type: 'AtprotoPersonalDataServer', serviceEndpoint: identity.pdsEndpoint }],
  };
}

/**
 * Serialized DID documents, built on first request and kept in a bounded LRU
 * so a hot identity costs one map lookup per request. Documents are stored in
 * their own (unpooled) buffers: a small `Buffer.from()` slice would pin an
 * 8 KiB pool slab for as long as any one document on it stays cached.
 */
export class DocumentStore {
  readonly #scheme: IdentityScheme;
  readonly #memo: LRUCache<number, Buffer> | undefined;

  /**
   * @param scheme the identities to serve
   * @param maxEntries documents kept; `0` builds every document on every request
   */
  constructor(scheme: IdentityScheme, maxEntries: number) {
    this.#scheme = scheme;
    this.#memo = maxEntries > 0 ? new LRUCache<number, Buffer>({ max: maxEntries }) : undefined;
  }

  /** Documents currently memoized. */
  get cached(): number {
    return this.#memo?.size ?? 0;
  }

  /** The JSON bytes of identity `index`'s document (index must be in range). */
  document(index: number): Buffer {
    const hit = this.#memo?.get(index);
    if (hit !== undefined) return hit;
    const body = toBuffer(didDocument(this.#scheme.identity(index)));
    this.#memo?.set(index, body);
    return body;
  }

  /**
   * Build and memoize the documents of identities `0 … n-1`, where `n` is
   * the smaller of the world's size and the memo's capacity (this derives
   * their signing keys too). Returns how many are memoized.
   */
  precompute(): number {
    const n = Math.min(this.#scheme.count, this.#memo?.max ?? 0);
    for (let i = 0; i < n; i++) this.document(i);
    return this.cached;
  }

  /** Identity `index`'s document claiming another identity's DID as its `id` (the `wrongId` fault); not memoized. */
  wrongIdDocument(index: number): Buffer {
    return toBuffer(didDocument(this.#scheme.identity(index), this.#scheme.otherDid(index)));
  }

  /** Drop every memoized document. */
  clear(): void {
    this.#memo?.clear();
  }
}

function toBuffer(value: unknown): Buffer {
  const text = JSON.stringify(value);
  const body = Buffer.allocUnsafeSlow(Buffer.byteLength(text));
  body.write(text);
  return body;
}
