import { LRUCache } from 'lru-cache';
import { isValidHandle, normalizeHandle } from '../syntax/handle.js';
import type { DidDocument } from './did-document.js';
import { formatDidKey, parseVerificationMethodKey, type PublicKey } from './did-key.js';

/**
 * Extraction of the atproto fields of a parsed DID document, per the "DID
 * Documents" section of https://atproto.com/specs/did. Pure functions over
 * a {@link DidDocument}; nothing here throws for any document that
 * `parseDidDocument` returned.
 *
 * Which entry wins when several match follows the spec's wording:
 * - handle: the first `alsoKnownAs` entry that is `at://` + a valid handle
 *   ("the first valid handle URI found in the ordered list");
 * - signing key: the first `#atproto` verification method that is valid —
 *   controller equal to the DID, a known type, a key on its curve ("the
 *   first valid atproto signing key in the array should be used");
 * - PDS: the first service whose id is `#atproto_pds` and whose type is
 *   `AtprotoPersonalDataServer` ("the first matching entry ... should be
 *   used, and any others ignored"); if its endpoint is not an origin-only
 *   http(s) URL the PDS is `undefined`, later entries are not consulted.
 *
 * Duplicates are never a reason to refuse a document. An id matches a
 * fragment when it is exactly the fragment (`#atproto`) or the document's
 * DID followed by it (`did:plc:…#atproto`); fragments of other DIDs do not.
 */

/** The atproto view of a DID document. */
export interface AtprotoData {
  /** The DID (the document's `id`). */
  readonly did: string;
  /**
   * The declared handle, lowercase, or `undefined` when none is declared.
   * Not verified: the handle must still resolve back to `did`.
   */
  readonly handle: string | undefined;
  /** The PDS origin, e.g. `https://pds.example.com`, or `undefined` when there is no usable one. */
  readonly pds: string | undefined;
  /** The repo signing key as `did:key:z…`, or `undefined` when there is no valid one. */
  readonly signingKey: string | undefined;
}

/** Fragment of the atproto repo signing key. */
export const ATPROTO_KEY_FRAGMENT = '#atproto';

/** Fragment of the PDS service entry. */
export const ATPROTO_PDS_FRAGMENT = '#atproto_pds';

/** Type of the PDS service entry. */
export const ATPROTO_PDS_TYPE = 'AtprotoPersonalDataServer';

const AT_URI_PREFIX = 'at://';

/** Extract handle, PDS and signing key from a parsed document; see the module notes for the rules. */
export function atprotoData(doc: DidDocument): AtprotoData {
  return Object.freeze({
    did: doc.id,
    handle: getHandle(doc),
    pds: getPdsEndpoint(doc),
    signingKey: getSigningKey(doc),
  });
}

/**
 * The declared handle: the first `alsoKnownAs` entry that is `at://`
 * followed by a syntactically valid handle and nothing else (no path),
 * normalized to lowercase. Entries that are not valid handle URIs are
 * skipped. Reserved TLDs are not checked here (that is a resolution rule);
 * `at://handle.invalid` yields `handle.invalid`, which can never verify.
 */
export function getHandle(doc: DidDocument): string | undefined {
  const aliases = doc.alsoKnownAs;
  if (aliases === undefined) return undefined;
  for (const alias of aliases) {
    if (!alias.startsWith(AT_URI_PREFIX)) continue;
    const candidate = alias.slice(AT_URI_PREFIX.length);
    if (isValidHandle(candidate)) return normalizeHandle(candidate);
  }
  return undefined;
}

/** Whether a verification method or service `id` names `fragment` of the document `did`. */
export function idMatchesFragment(id: string, did: string, fragment: string): boolean {
  return id === fragment || (id.length === did.length + fragment.length && id.startsWith(did) && id.endsWith(fragment));
}

/**
 * The public key of the first valid verification method with the given
 * fragment: id matching `fragment` (relative or with the document's DID),
 * `controller` equal to the document's DID, a `publicKeyMultibase`, and a
 * type of `Multikey`, `EcdsaSecp256k1VerificationKey2019` or
 * `EcdsaSecp256r1VerificationKey2019` whose key parses and is on its curve.
 */
export function getVerificationKey(doc: DidDocument, fragment: string): PublicKey | undefined {
  const methods = doc.verificationMethod;
  if (methods === undefined) return undefined;
  for (const method of methods) {
    if (!idMatchesFragment(method.id, doc.id, fragment)) continue;
    if (method.controller !== doc.id) continue;
    if (method.publicKeyMultibase === undefined) continue;
    const key = parseVerificationMethodKey(method.type, method.publicKeyMultibase);
    if (key !== undefined) return key;
  }
  return undefined;
}

/** The atproto repo signing key (`#atproto`) as a {@link PublicKey}; see {@link getVerificationKey}. */
export function getSigningPublicKey(doc: DidDocument): PublicKey | undefined {
  return getVerificationKey(doc, ATPROTO_KEY_FRAGMENT);
}

/**
 * The atproto repo signing key (`#atproto`) as `did:key:z…` (always the
 * compressed `Multikey` form, also for legacy entries), or `undefined`.
 */
export function getSigningKey(doc: DidDocument): string | undefined {
  const key = getSigningPublicKey(doc);
  return key === undefined ? undefined : formatDidKey(key);
}

/**
 * The origin of the first service whose id matches `fragment` and whose
 * `type` is exactly the string `type` (a list of types does not match). If
 * that entry's endpoint is not an origin-only http(s) URL (see
 * {@link originOnlyUrl}) the result is `undefined`; later entries are not
 * consulted.
 */
export function getServiceEndpoint(doc: DidDocument, fragment: string, type: string): string | undefined {
  const services = doc.service;
  if (services === undefined) return undefined;
  for (const service of services) {
    if (!idMatchesFragment(service.id, doc.id, fragment) || service.type !== type) continue;
    return typeof service.serviceEndpoint === 'string' ? originOnlyUrl(service.serviceEndpoint) : undefined;
  }
  return undefined;
}

/** The PDS origin: {@link getServiceEndpoint} for `#atproto_pds` / `AtprotoPersonalDataServer`. */
export function getPdsEndpoint(doc: DidDocument): string | undefined {
  return getServiceEndpoint(doc, ATPROTO_PDS_FRAGMENT, ATPROTO_PDS_TYPE);
}

/**
 * `endpoint` as an origin (`https://host[:port]`, lowercase host, no
 * default port), if it is an `http` or `https` URL with nothing but scheme,
 * host and optional port and an optional `/` path: no credentials (no `@`
 * at all), no other path, no query or fragment (not even an empty `?` or
 * `#`), and no spaces, control characters or backslashes, which URL
 * parsers silently strip or rewrite. `undefined` otherwise.
 *
 * Whether `http` may be used and which addresses may be contacted is the
 * transport's decision (`allowHttp`, the SSRF guard), not this function's.
 */
export function originOnlyUrl(endpoint: string): string | undefined {
  const known = originMemo.get(endpoint);
  if (known !== undefined) return known === NOT_AN_ORIGIN ? undefined : known;
  const origin = checkOriginOnlyUrl(endpoint);
  originMemo.set(endpoint, origin ?? NOT_AN_ORIGIN);
  return origin;
}

/**
 * Endpoints remembered by {@link originOnlyUrl}: a relay meets a few
 * hundred PDS hosts, each in thousands of documents, and parsing a URL is
 * most of the cost of reading a document's atproto data.
 */
const ORIGIN_MEMO_ENTRIES = 4_096;
const NOT_AN_ORIGIN = '';
const originMemo = new LRUCache<string, string>({ max: ORIGIN_MEMO_ENTRIES });

function checkOriginOnlyUrl(endpoint: string): string | undefined {
  // scheme, an authority without "/", "?" or "#", and at most a bare "/":
  // checked on the raw text, because URL parsing normalizes "/." and "/..".
  if (!/^https?:\/\/[^/?#]+\/?$/i.test(endpoint)) return undefined;
  if (/[\u0000-\u0020\u007f\\@]/.test(endpoint)) return undefined;
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  if (url.username !== '' || url.password !== '') return undefined;
  if (url.href !== `${url.origin}/`) return undefined;
  return url.origin;
}
