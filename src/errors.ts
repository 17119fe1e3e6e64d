/**
 * The root of atresolve's closed set of error classes.
 *
 * Every error the library throws or rejects with is an `AtresolveError`
 * subclass with a stable `code` (upper snake case, safe as a metric label),
 * `name` equal to the class name, and the underlying failure in `cause`.
 * Callers branch on `instanceof` or on `code`, never on `message`.
 */
export abstract class AtresolveError extends Error {
  /** Stable machine-readable code, e.g. `TIMEOUT`. */
  abstract readonly code: string;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * An options object passed to a constructor or function was invalid: an
 * unknown key, a value of the wrong type, or a number outside its range.
 * The message names the option.
 */
export class InvalidOptionsError extends AtresolveError {
  readonly code = 'INVALID_OPTIONS';
  /** The dotted name of the offending option, e.g. `transport.maxConnections`. */
  readonly option: string;

  constructor(option: string, message: string) {
    super(`invalid option ${option}: ${message}`);
    this.option = option;
  }
}

/**
 * The caller cancelled through an `AbortSignal`: a transport request, a
 * resolution, or one caller's wait on a shared cache load. `cause` is the
 * signal's reason. Not a failure of the network or of the identity, so it is
 * never cached and never counted as one; it lives here, beside the root of
 * the error set, because every layer rejects with it.
 */
export class AbortError extends AtresolveError {
  readonly code = 'ABORTED';
}
