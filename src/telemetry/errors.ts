import { AtresolveError } from '../errors.js';

/**
 * Errors of `registerMetrics()`. Memory probes and the monitor never throw
 * for an unavailable allocator; they answer `null` with a reason instead.
 */

/**
 * prom-client could not be loaded and no `client` option was given. The
 * package treats prom-client as an optional peer dependency: install it, or
 * pass the module as `registerMetrics(registry, sources, { client })`.
 * `cause` holds the module loader's error.
 */
export class MetricsUnavailableError extends AtresolveError {
  readonly code = 'METRICS_UNAVAILABLE';
}

/**
 * The registry already holds a metric with one of atresolve's names, for
 * example because `registerMetrics()` was called twice on one registry.
 * Nothing was registered. Call the first registration's unregister
 * function, or use one registry per instance.
 */
export class MetricsConflictError extends AtresolveError {
  readonly code = 'METRICS_CONFLICT';
  /** The names already taken. */
  readonly names: readonly string[];

  constructor(names: readonly string[]) {
    super(`the registry already has metrics named ${names.join(', ')}`);
    this.names = names;
  }
}
