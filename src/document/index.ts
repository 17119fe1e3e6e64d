/**
 * `atresolve/document`: bounded DID document parsing, keys (Multikey,
 * did:key, legacy forms) and the atproto view of a document (pure, no I/O).
 * See docs/syntax-and-documents.md.
 *
 * This module only re-exports; every name is documented where it is defined.
 */
export { DidDocumentMismatchError, InvalidDidDocumentError, MissingAtprotoDataError, type AtprotoField } from './errors.js';
export {
  parseDidDocument,
  resolveDidDocumentOptions,
  type DidDocument,
  type DidDocumentOptions,
  type DidService,
  type DidVerificationMethod,
  type JsonObject,
  type JsonValue,
} from './did-document.js';
export {
  DID_KEY_PREFIX,
  MULTIKEY_TYPE,
  LEGACY_K256_TYPE,
  LEGACY_P256_TYPE,
  publicKeyFromBytes,
  parseMultikey,
  parseDidKey,
  parseLegacyMultibaseKey,
  parseVerificationMethodKey,
  formatMultikey,
  formatDidKey,
  type KeyCurve,
  type PublicKey,
} from './did-key.js';
export {
  ATPROTO_KEY_FRAGMENT,
  ATPROTO_PDS_FRAGMENT,
  ATPROTO_PDS_TYPE,
  atprotoData,
  getHandle,
  getSigningKey,
  getSigningPublicKey,
  getVerificationKey,
  getPdsEndpoint,
  getServiceEndpoint,
  idMatchesFragment,
  originOnlyUrl,
  type AtprotoData,
} from './atproto-data.js';
