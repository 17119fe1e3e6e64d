/**
 * `atresolve/syntax`: DID, handle and at-identifier validation and
 * normalization (pure, no I/O). See docs/syntax-and-documents.md.
 *
 * This module only re-exports; every name is documented where it is defined.
 */
export { InvalidDidError, InvalidHandleError, UnsupportedDidMethodError, type InvalidDidReason, type InvalidHandleReason } from './errors.js';
export {
  DID_MAX_LENGTH,
  SUPPORTED_DID_METHODS,
  isValidDid,
  ensureValidDid,
  getDidMethod,
  isPlcDid,
  parseDidWeb,
  isResolvableDid,
  ensureResolvableDid,
  type DidResolutionOptions,
  type PlcDidInfo,
  type ResolvableDid,
  type WebDidInfo,
} from './did.js';
export {
  HANDLE_MAX_LENGTH,
  HANDLE_LABEL_MAX_LENGTH,
  INVALID_HANDLE,
  RESERVED_TLDS,
  TEST_TLD,
  isValidHandle,
  ensureValidHandle,
  normalizeHandle,
  isResolvableHandle,
  ensureResolvableHandle,
  type HandleResolutionOptions,
} from './handle.js';
export {
  looksLikeDid,
  isValidAtIdentifier,
  parseAtIdentifier,
  ensureResolvableAtIdentifier,
  type AtIdentifier,
  type AtIdentifierResolutionOptions,
  type ResolvableAtIdentifier,
} from './at-identifier.js';
