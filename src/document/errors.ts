import { AtresolveError } from '../errors.js';
import { MAX_KEPT_INPUT, previewInput, truncateText } from '../util/preview.js';

/**
 * A DID document could not be used: the bytes were not UTF-8 JSON, the JSON
 * was not a DID document of the expected shape (a field of the wrong type, a
 * missing `id`), or it exceeded a bound (size, entries, string length).
 * `message` names the field and the rule; `cause` holds the underlying
 * failure (e.g. the `SyntaxError` from `JSON.parse`) when there is one.
 *
 * An invalid document is a fact about what the server returned, not a
 * transient failure; resolvers report it with outcome `invalid`.
 */
export class InvalidDidDocumentError extends AtresolveError {
  readonly code = 'INVALID_DID_DOCUMENT';
  /** The DID whose document was being parsed (truncated to 256 characters). */
  readonly did: string;

  /**
   * @param did the DID the document was fetched for
   * @param detail one sentence saying what is wrong, naming the field
   */
  constructor(did: string, detail: string, options?: { cause?: unknown }) {
    super(`invalid DID document for ${previewInput(did)}: ${detail}`, options);
    this.did = truncateText(did, MAX_KEPT_INPUT);
  }
}

/**
 * A well-formed DID document was returned for a different DID: its `id` is
 * not exactly the DID that was requested. Accepting it would let one host
 * speak for another identity, so it is refused. Both values are kept,
 * truncated to 256 characters; the message shows a shorter, escaped preview.
 */
export class DidDocumentMismatchError extends AtresolveError {
  readonly code = 'DID_DOCUMENT_MISMATCH';
  /** The DID that was requested (truncated). */
  readonly expectedDid: string;
  /** The document's `id` (truncated). */
  readonly actualId: string;

  constructor(expectedDid: string, actualId: string) {
    super(`DID document id ${previewInput(actualId)} does not match the requested DID ${previewInput(expectedDid)}`);
    this.expectedDid = truncateText(expectedDid, MAX_KEPT_INPUT);
    this.actualId = truncateText(actualId, MAX_KEPT_INPUT);
  }
}

/** An atproto field of a DID document: see `AtprotoData`. */
export type AtprotoField = 'handle' | 'pds' | 'signingKey';

/**
 * A valid DID document lacks an atproto field that the call promises:
 * `signingKey` (no valid `#atproto` verification method) for
 * `did.resolveAtprotoKey()`, or any of `handle`, `pds`, `signingKey` for
 * `did.ensureResolveAtprotoData()`. `did.resolveAtprotoData()` returns
 * `undefined` for such a field instead. A fact about the document, not a
 * transient failure: resolvers count it as `invalid`.
 */
export class MissingAtprotoDataError extends AtresolveError {
  readonly code = 'MISSING_ATPROTO_DATA';
  /** The DID whose document lacks the field (truncated to 256 characters). */
  readonly did: string;
  /** The first missing field. */
  readonly field: AtprotoField;

  constructor(did: string, field: AtprotoField) {
    const what = { handle: 'a valid at:// handle', pds: 'a usable #atproto_pds service', signingKey: 'a valid #atproto signing key' }[field];
    super(`the DID document of ${previewInput(did)} has no ${what}`);
    this.did = truncateText(did, MAX_KEPT_INPUT);
    this.field = field;
  }
}
