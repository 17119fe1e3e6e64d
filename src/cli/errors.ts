import { AtresolveError } from '../errors.js';

/**
 * Errors of the `atresolve` command line. A `UsageError` is a mistake in
 * the command line itself (unknown flag, bad value, missing argument): the
 * CLI prints its message with a hint to `--help` and exits with status 2.
 */
export class UsageError extends AtresolveError {
  readonly code = 'USAGE';
  /** The flag or argument at fault, e.g. `--rate`, when there is one. */
  readonly flag: string | undefined;

  constructor(message: string, options?: { flag?: string; cause?: unknown }) {
    super(message, { cause: options?.cause });
    this.flag = options?.flag;
  }
}

/**
 * A piece the command needs is not installed (a dev-only peer such as
 * `@atproto/identity`, or the chart library). The message says how to add it.
 */
export class MissingPeerError extends AtresolveError {
  readonly code = 'MISSING_PEER';
  /** The package name that could not be loaded. */
  readonly packageName: string;

  constructor(packageName: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.packageName = packageName;
  }
}

/** A soak run failed for a reason other than the command line (a child died, the world did not start). */
export class SoakError extends AtresolveError {
  readonly code = 'SOAK_FAILED';
}
