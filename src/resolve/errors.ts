import { AtresolveError } from '../errors.js';
import { QueueFullError } from '../transport/errors.js';
import { keptInput, previewInput as preview } from '../util/preview.js';
import { withoutStackTrace } from '../util/stackless.js';

/**
 * Errors of the resolvers. "Not found" (the authority answered: no such
 * DID, no record for this handle) is separate from "failed" (a transient
 * problem prevented an answer): only the former may be cached, briefly.
 */

/** The DID's authority (PLC directory or did:web host) says it does not exist. */
export class DidNotFoundError extends AtresolveError {
  readonly code = 'DID_NOT_FOUND';
  readonly did: string;

  constructor(did: string, options?: { cause?: unknown }) {
    super(`DID not found: ${preview(did)}`, options);
    this.did = did;
  }
}

/**
 * The handle has no usable DID: neither DNS nor HTTPS names one, or (from
 * `resolveIdentity()`) the one it names cannot be resolved — another DID
 * method such as `did:key`, or a value that is not a valid DID of its
 * method. Then `claimedDid` holds that value (truncated) and `cause` the
 * syntax error: the caller's input was fine, the handle's answer was not.
 */
export class HandleNotFoundError extends AtresolveError {
  readonly code = 'HANDLE_NOT_FOUND';
  readonly handle: string;
  /** The unusable DID the handle names, when that is why; else `undefined`. */
  readonly claimedDid: string | undefined;

  constructor(handle: string, options?: { cause?: unknown; claimedDid?: string }) {
    const claimed = options?.claimedDid;
    super(
      claimed === undefined
        ? `no DID found for handle: ${preview(handle)}`
        : `no usable DID for handle ${preview(handle)}: it names ${preview(claimed)}, which cannot be resolved`,
      { cause: options?.cause },
    );
    this.handle = handle;
    this.claimedDid = claimed === undefined ? undefined : (keptInput(claimed) ?? '');
  }
}

/** The handle's DNS TXT records name more than one different DID. */
export class AmbiguousHandleError extends AtresolveError {
  readonly code = 'AMBIGUOUS_HANDLE';
  readonly handle: string;
  /** The distinct DIDs found (at most a few, each truncated). */
  readonly dids: readonly string[];

  constructor(handle: string, dids: readonly string[]) {
    const kept = dids.slice(0, 4);
    super(`handle ${preview(handle)} has ${dids.length} different DIDs in DNS: ${kept.map(preview).join(', ')}`);
    this.handle = handle;
    this.dids = kept.map((did) => keptInput(did) ?? '');
  }
}

/**
 * A resolution could not be completed for a transient reason: a timeout, a
 * network or TLS failure, a DNS server failure, or a server error status.
 * `cause` holds the transport or DNS error. Never cached.
 */
export class ResolutionFailedError extends AtresolveError {
  readonly code = 'RESOLUTION_FAILED';
  /** The DID or handle that failed. */
  readonly target: string;
  /** The HTTP status when the failure was a server response, else undefined. */
  readonly status: number | undefined;

  constructor(target: string, reason: string, options?: { cause?: unknown; status?: number }) {
    super(`resolving ${preview(target)} failed: ${reason}`, { cause: options?.cause });
    this.target = target;
    this.status = options?.status;
  }
}

/**
 * The `ResolutionFailedError` for a request that failed with `cause`. When
 * the transport shed it under overload (`QueueFullError`), it is built
 * without a stack trace, as the refusal itself is: both are made by the
 * thousand per second then, and a stack costs ~10 µs of the JS thread
 * each (`docs/admission.md`, "Cost of a refusal").
 */
export function requestFailed(target: string, reason: string, cause: unknown): ResolutionFailedError {
  if (cause instanceof QueueFullError) return withoutStackTrace(() => new ResolutionFailedError(target, reason, { cause }));
  return new ResolutionFailedError(target, reason, { cause });
}
