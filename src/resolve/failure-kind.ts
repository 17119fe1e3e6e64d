import { DidDocumentMismatchError, InvalidDidDocumentError, MissingAtprotoDataError } from '../document/errors.js';
import { AtresolveError } from '../errors.js';
import { InvalidDidError, InvalidHandleError, UnsupportedDidMethodError } from '../syntax/errors.js';
import { DnsError, TimeoutError } from '../transport/errors.js';
import { AmbiguousHandleError, DidNotFoundError, HandleNotFoundError } from './errors.js';

/**
 * What kind of failure an error of a resolution is: the one classification
 * behind the resolvers' metric outcomes (`outcomeOf`), the exit status of
 * `atresolve resolve` and the error classes of `atresolve soak`.
 *
 * - `invalid_input`: not a DID or handle, or an unsupported DID method
 *   (thrown before any I/O);
 * - `not_found`: the authority answered that there is no such DID, or no
 *   DID for the handle;
 * - `bad_answer`: the answer was unusable: an invalid document, a document
 *   for another DID, a document without the atproto data the call promises,
 *   an ambiguous handle;
 * - `timeout`: a time limit passed: a transport `TimeoutError`, a DNS
 *   timeout, or a caller's `AbortSignal.timeout()` (anywhere in the cause
 *   chain);
 * - `unavailable`: any other atresolve error: refused or broken connection,
 *   TLS, DNS server failure, a server error status, a full queue;
 * - `unexpected`: not an atresolve error (a bug, or a foreign library's error).
 */
export const FAILURE_KINDS = ['invalid_input', 'not_found', 'bad_answer', 'timeout', 'unavailable', 'unexpected'] as const;

/** One of `FAILURE_KINDS`. */
export type FailureKind = (typeof FAILURE_KINDS)[number];

/** How deep `failureKindOf()` follows `cause` looking for a timeout. */
const MAX_CAUSE_DEPTH = 8;

/** The kind of failure `error` stands for (see `FAILURE_KINDS`). */
export function failureKindOf(error: unknown): FailureKind {
  if (error instanceof InvalidDidError || error instanceof InvalidHandleError || error instanceof UnsupportedDidMethodError) {
    return 'invalid_input';
  }
  if (error instanceof DidNotFoundError || error instanceof HandleNotFoundError) return 'not_found';
  if (
    error instanceof InvalidDidDocumentError ||
    error instanceof DidDocumentMismatchError ||
    error instanceof MissingAtprotoDataError ||
    error instanceof AmbiguousHandleError
  ) {
    return 'bad_answer';
  }
  if (timedOut(error)) return 'timeout';
  return error instanceof AtresolveError ? 'unavailable' : 'unexpected';
}

/** Whether `error` or one of its causes is a timeout. */
function timedOut(error: unknown): boolean {
  let current = error;
  for (let depth = 0; depth < MAX_CAUSE_DEPTH && current !== undefined && current !== null; depth++) {
    if (current instanceof TimeoutError) return true;
    if (current instanceof DnsError && current.reason === 'TIMEOUT') return true;
    // `AbortSignal.timeout()`'s reason, and c-ares' code for an unanswered query.
    if ((current as { name?: unknown }).name === 'TimeoutError') return true;
    if ((current as { code?: unknown }).code === 'ETIMEOUT') return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}
