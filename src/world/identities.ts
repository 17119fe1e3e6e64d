import { createHash } from 'node:crypto';
import { base32nopad } from '@scure/base';
import { UnknownIdentityError } from './errors.js';
import { KeyPool, type WorldKey } from './keys.js';

/** Host of the world's PLC directory; `plcUrl` is `https://plc.test`. */
export const PLC_HOST = 'plc.test';
/** did:web identity `i` lives on `h<i>.web.test`. */
export const WEB_DOMAIN = 'web.test';
/** Identity `i`'s handle is `u<i>.handle.test`. */
export const HANDLE_DOMAIN = 'handle.test';
/** The PDS every document names (never served: resolution does not contact it). */
export const PDS_ENDPOINT = 'https://pds.test';

/** The DID method of an identity in the world. */
export type WorldDidMethod = 'plc' | 'web';

/** Everything a test or the soak needs to know about one identity. */
export interface WorldIdentity {
  /** The identity's index, `0 ≤ index < identities`. */
  readonly index: number;
  readonly method: WorldDidMethod;
  /** `did:plc:<24 base32 chars>` or `did:web:h<index>.web.test`. */
  readonly did: string;
  /** `u<index>.handle.test`; the document's `alsoKnownAs` is `at://<handle>`. */
  readonly handle: string;
  /** For did:web identities, `h<index>.web.test`; `undefined` for did:plc. */
  readonly webHost: string | undefined;
  /** Where the DID document is served: `https://plc.test/<did>` or `https://h<index>.web.test/.well-known/did.json`. */
  readonly documentUrl: string;
  /** `https://u<index>.handle.test/.well-known/atproto-did`. */
  readonly handleUrl: string;
  /** The TXT record name, `_atproto.u<index>.handle.test`. */
  readonly dnsName: string;
  /** The document's `#atproto_pds` service endpoint. */
  readonly pdsEndpoint: string;
  /** The `#atproto` signing key (shared with other identities when the key pool is smaller than the world). */
  readonly key: WorldKey;
}

/** What fixes the identity scheme; two schemes with equal settings give equal identities. */
export interface IdentitySchemeSettings {
  /** Number of identities, indexes `0 … identities-1`. */
  identities: number;
  /** Identity `i` is did:web when `i % 100 < webPercent`, else did:plc. */
  webPercent: number;
  /** Distinct signing keys; identity `i` uses key `i % keyPoolSize`. */
  keyPoolSize: number;
}

const HANDLE_RE = /^u(0|[1-9][0-9]{0,9})\.handle\.test$/;
const WEB_HOST_RE = /^h(0|[1-9][0-9]{0,9})\.web\.test$/;
const PLC_DID_RE = /^did:plc:([a-z2-7]{24})$/;
/** A syntactically valid did:plc that is never an identity of the world (for `count === 1`). */
const NOBODY_DID = 'did:plc:nobodynobodynobodynobody';

/**
 * The identity scheme of the local world. Identity `i` has the handle
 * `u<i>.handle.test`; it is did:web (`did:web:h<i>.web.test`) when
 * `i % 100 < webPercent` and did:plc otherwise. A did:plc identifier is
 * base32 of 15 bytes: 11 bytes of SHA-256(`atresolve-world plc <i>`)
 * followed by `i` as a 32-bit big-endian number, so it reads as random, and
 * mapping it back to `i` is a decode plus one hash, without a table.
 *
 * Everything is a pure function of the settings: a parent process computes
 * the same identities as the world running in a child.
 */
export class IdentityScheme {
  /** Number of identities. */
  readonly count: number;
  /** Percent (0–100) of each block of 100 indexes that is did:web. */
  readonly webPercent: number;
  /** Number of did:plc identities. */
  readonly plcCount: number;
  /** Number of did:web identities (and of `h<i>.web.test` hosts). */
  readonly webCount: number;
  /** The signing keys, derived on first use. */
  readonly keys: KeyPool;

  constructor(settings: IdentitySchemeSettings) {
    this.count = settings.identities;
    this.webPercent = settings.webPercent;
    const blocks = Math.floor(this.count / 100);
    this.webCount = blocks * this.webPercent + Math.min(this.count % 100, this.webPercent);
    this.plcCount = this.count - this.webCount;
    this.keys = new KeyPool(settings.keyPoolSize);
  }

  /** The DID method of identity `index` (which must be in range). */
  methodOf(index: number): WorldDidMethod {
    return index % 100 < this.webPercent ? 'web' : 'plc';
  }

  /** The DID of identity `index` (which must be in range), without deriving its key. */
  didOf(index: number): string {
    return this.methodOf(index) === 'web' ? `did:web:h${index}.${WEB_DOMAIN}` : `did:plc:${plcIdentifier(index)}`;
  }

  /**
   * A DID that is not identity `index`'s: identity `index+1`'s (wrapping), or
   * a fixed did:plc outside the world when there is only one identity. Used by
   * the `wrongId` fault.
   */
  otherDid(index: number): string {
    return this.count === 1 ? NOBODY_DID : this.didOf((index + 1) % this.count);
  }

  /**
   * Identity `index`.
   * @throws UnknownIdentityError unless `0 ≤ index < count`
   */
  identity(index: number): WorldIdentity {
    this.#check(index, this.count, 'identity');
    const method = this.methodOf(index);
    const did = this.didOf(index);
    const handle = `u${index}.${HANDLE_DOMAIN}`;
    const webHost = method === 'web' ? `h${index}.${WEB_DOMAIN}` : undefined;
    return {
      index,
      method,
      did,
      handle,
      webHost,
      documentUrl: webHost === undefined ? `https://${PLC_HOST}/${did}` : `https://${webHost}/.well-known/did.json`,
      handleUrl: `https://${handle}/.well-known/atproto-did`,
      dnsName: `_atproto.${handle}`,
      pdsEndpoint: PDS_ENDPOINT,
      key: this.keys.forIdentity(index),
    };
  }

  /**
   * The `k`-th did:plc identity (`0 ≤ k < plcCount`).
   * @throws UnknownIdentityError when `k` is out of range
   */
  plcIdentity(k: number): WorldIdentity {
    this.#check(k, this.plcCount, 'did:plc identity');
    const perBlock = 100 - this.webPercent;
    return this.identity(Math.floor(k / perBlock) * 100 + this.webPercent + (k % perBlock));
  }

  /**
   * The `k`-th did:web identity (`0 ≤ k < webCount`).
   * @throws UnknownIdentityError when `k` is out of range
   */
  webIdentity(k: number): WorldIdentity {
    this.#check(k, this.webCount, 'did:web identity');
    return this.identity(Math.floor(k / this.webPercent) * 100 + (k % this.webPercent));
  }

  /** The index of the identity with this did:plc, or `undefined`. */
  indexOfPlcDid(did: string): number | undefined {
    const match = PLC_DID_RE.exec(did);
    if (match === null) return undefined;
    const bytes = base32nopad.decode((match[1] as string).toUpperCase());
    const index = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).readUInt32BE(11);
    if (index >= this.count || this.methodOf(index) !== 'plc') return undefined;
    return plcIdentifier(index) === match[1] ? index : undefined;
  }

  /** The index of the did:web identity served on `host` (lower case, no port), or `undefined`. */
  indexOfWebHost(host: string): number | undefined {
    const index = parseIndex(WEB_HOST_RE, host, this.count);
    return index !== undefined && this.methodOf(index) === 'web' ? index : undefined;
  }

  /** The index of the identity with this handle (lower case), or `undefined`. */
  indexOfHandle(handle: string): number | undefined {
    return parseIndex(HANDLE_RE, handle, this.count);
  }

  #check(value: number, limit: number, what: string): void {
    if (!Number.isInteger(value) || value < 0 || value >= limit) {
      throw new UnknownIdentityError(`${what} ${String(value)} is outside the world (0 … ${limit - 1})`);
    }
  }
}

/** The 24-character did:plc identifier of identity `index` (see `IdentityScheme`). */
export function plcIdentifier(index: number): string {
  const bytes = Buffer.allocUnsafe(15);
  createHash('sha256').update(`atresolve-world plc ${index}`).digest().copy(bytes, 0, 0, 11);
  bytes.writeUInt32BE(index, 11);
  return base32nopad.encode(bytes).toLowerCase();
}

function parseIndex(re: RegExp, text: string, count: number): number | undefined {
  const match = re.exec(text);
  if (match === null) return undefined;
  const index = Number(match[1]);
  return index < count ? index : undefined;
}
