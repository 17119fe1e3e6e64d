import { AtresolveError } from '../errors.js';

/**
 * The local world's closed set of errors (besides `InvalidOptionsError`,
 * which every options object and `setFaults()` throw for bad input).
 */
export abstract class WorldError extends AtresolveError {}

/**
 * An identity index (or the k-th did:plc / did:web identity) is outside the
 * world: negative, not an integer, or not below the configured count.
 */
export class UnknownIdentityError extends WorldError {
  readonly code = 'WORLD_UNKNOWN_IDENTITY';
}

/** A method other than `close()` was called after `close()`. */
export class WorldClosedError extends WorldError {
  readonly code = 'WORLD_CLOSED';
}

/**
 * The world's child process failed: it could not start, did not become ready
 * in time, exited unexpectedly, or answered a call with an error. The child's
 * error (or exit status) is in the message and, where there is one, `cause`.
 */
export class WorldProcessError extends WorldError {
  readonly code = 'WORLD_PROCESS_FAILED';
}

/**
 * The `openssl` command-line tool, which makes the world's throw-away test
 * CA, is not installed (on Debian and Ubuntu the `ca-certificates` package
 * brings it; `apt-get install openssl`, on Alpine `apk add openssl`).
 */
export class OpensslMissingError extends WorldError {
  readonly code = 'WORLD_OPENSSL_MISSING';
}
