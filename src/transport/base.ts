import { DnsResolver } from '../dns/resolver.js';
import { classifyAddress } from './address.js';
import { Admission, type Grant } from './admission.js';
import { ACCEPT_ENCODING } from './body-decoder.js';
import { ConnectToMap, type ConnectTarget } from './connect-to.js';
import {
  AbortError,
  DnsError,
  ForbiddenAddressError,
  InvalidUrlError,
  RedirectError,
  TimeoutError,
  TransportClosedError,
  TransportDestroyedError,
  TransportError,
  InternalTransportError,
} from './errors.js';
import { checkRequestOptions, type ResolvedTransportOptions } from './options.js';
import { fetchTrace, type FetchTraceEvent } from '../telemetry/trace.js';
import type {
  Transport,
  TransportKind,
  TransportMethod,
  TransportRequestOptions,
  TransportResponse,
  TransportStats,
  TransportTiming,
} from './types.js';

/**
 * One HTTP exchange (one hop) as the base class hands it to an
 * implementation. Everything is already validated and defaulted.
 */
export interface DispatchRequest {
  url: URL;
  method: TransportMethod;
  /**
   * Header names lower-cased; includes `user-agent` and `accept-encoding`.
   * Read-only, and the same object for every request without headers of
   * its own, so an implementation may cache what it derives from it.
   */
  headers: Readonly<Record<string, string>>;
  body: Buffer | undefined;
  /** Time left for this hop (the request's total budget minus earlier hops). */
  timeoutMs: number;
  /** The request's total `timeoutMs`, for error messages. */
  totalTimeoutMs: number;
  connectTimeoutMs: number;
  maxResponseBytes: number;
  maxHeaderBytes: number;
  /** Where to connect instead of resolving the URL's host, from `connectTo`. */
  connectTo: ConnectTarget | undefined;
  /**
   * Keep the connection for reuse after this exchange. `false` for a route
   * not used within `idleTimeoutMs` before (a one-off host): its connection
   * is closed when the exchange ends, so one-off hosts never take idle
   * capacity from hot ones.
   */
  keepAlive: boolean;
  /**
   * Without `connectTo`: the addresses to connect to, in order of
   * preference (IPv4 first), already resolved by the transport's
   * `DnsResolver` and allowed by the SSRF guard (an IP-literal host gives
   * itself). Implementations connect only to these; libcurl and undici
   * never resolve names themselves. The socket-level SSRF check of each
   * implementation still applies.
   */
  addresses: readonly string[] | undefined;
  signal: AbortSignal | undefined;
}

/** What an implementation returns for one hop. */
export interface DispatchResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  timing: TransportTiming;
  reusedConnection: boolean;
}

/** The gauges and counters only the implementation can know. */
export interface PoolStats {
  inFlight: number;
  queued: number;
  openConnections: number;
  newConnections: number;
  reusedConnections: number;
  bytesIn: number;
  tlsSessionCacheEntries: number | null;
}

type LifecycleState = 'open' | 'closed' | 'destroyed';

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** A wait that ended this close to the request's deadline ended because of it (timers may fire a little early). */
const DEADLINE_SLACK_MS = 5;

/**
 * The lifecycle, policy and accounting shared by every transport, written
 * once: URL rules, redirects (each hop re-checked against every rule),
 * `connectTo`, the total time budget across hops, counters by outcome,
 * `recycleAfterRequests`, and idempotent `clearConnections()` / `reset()` /
 * `close()` / `destroy()`.
 *
 * Implementations provide one hop (`dispatch`) and the pool operations.
 */
export abstract class BaseTransport implements Transport {
  abstract readonly kind: TransportKind;

  protected readonly options: ResolvedTransportOptions;
  /**
   * The name resolution every request goes through (and, for a resolver
   * that created this transport, its handle TXT lookups). `reset()`
   * empties its cache; `close()` closes it.
   */
  readonly dns: DnsResolver;
  readonly #connectTo: ConnectToMap;
  readonly #admission: Admission;
  /** `user-agent` and `accept-encoding` (both transports decode exactly these codings). */
  readonly #defaultHeaders: Readonly<Record<string, string>>;
  /** The merged set of each frozen header set a caller passes again and again (e.g. a resolver's `accept`). */
  readonly #mergedHeaders = new WeakMap<object, Readonly<Record<string, string>>>();
  /** New and reused connections of successful hops, by whether their route was a repeat one. */
  readonly #connectionsByRoute = {
    repeat: { newConnections: 0, reusedConnections: 0 },
    firstSeen: { newConnections: 0, reusedConnections: 0 },
  };

  #state: LifecycleState = 'open';
  #closing: Promise<void> | undefined;
  /** `request()` calls in progress, redirect hops included. */
  #active = 0;
  #idleWaiters: (() => void)[] = [];
  #requestsSinceReset = 0;
  readonly #counters = {
    requests: 0,
    ok: 0,
    failed: 0,
    recycles: 0,
    resets: 0,
    connectionClears: 0,
  };
  readonly #errorsByCode: Record<string, number> = {};

  protected constructor(options: ResolvedTransportOptions) {
    this.options = options;
    this.#connectTo = new ConnectToMap(options.connectTo);
    this.dns = new DnsResolver(options.dns);
    this.#defaultHeaders = Object.freeze({ 'user-agent': options.userAgent, 'accept-encoding': ACCEPT_ENCODING });
    this.#admission = new Admission({
      maxInFlight: options.maxConnections,
      maxInFlightPerRoute: options.maxConnectionsPerHost,
      maxQueued: options.maxQueuedRequests,
      repeatWindowMs: options.idleTimeoutMs,
      maxIdle: options.maxIdleConnections,
      // Enough to recognise every route of a busy relay's working set again.
      maxRoutesRemembered: Math.max(4_096, options.maxIdleConnections * 16),
    });
  }

  /** One hop: send the request and read the whole response, or reject with a `TransportError`. */
  protected abstract dispatch(request: DispatchRequest): Promise<DispatchResponse>;
  /** Close pooled connections now; in-flight ones close when their request ends. Keep DNS/TLS caches. */
  protected abstract clearPool(): Promise<void>;
  /** Serve new requests from fresh state at once; free the old state when its requests end. */
  protected abstract resetPool(): Promise<void>;
  /**
   * Free everything. Called once, and only when no `request()` is in
   * progress (so no redirect hop can still arrive), unless `destroy()` came
   * first, in which case it is not called at all.
   */
  protected abstract closePool(): Promise<void>;
  /**
   * Cancel in-flight hops with `TransportDestroyedError`, then free
   * everything. Called once; may run while `closePool()` is running.
   */
  protected abstract destroyPool(): Promise<void>;
  /** Gauges and counters of the pool. */
  protected abstract poolStats(): PoolStats;

  get closed(): boolean {
    return this.#state !== 'open';
  }

  async request(url: string, options: TransportRequestOptions = {}): Promise<TransportResponse> {
    this.#assertOpen();
    checkRequestOptions(options);
    this.#counters.requests += 1;
    this.#active += 1;
    this.#countTowardsRecycle();
    try {
      const response = await this.#requestWithRedirects(url, options);
      this.#counters.ok += 1;
      return response;
    } catch (error) {
      const typed = error instanceof TransportError || error instanceof AbortError
        ? error
        : new InternalTransportError(`unexpected failure: ${String(error)}`, { cause: error });
      this.#counters.failed += 1;
      this.#errorsByCode[typed.code] = (this.#errorsByCode[typed.code] ?? 0) + 1;
      throw typed;
    } finally {
      this.#active -= 1;
      if (this.#active === 0) this.#wakeIdleWaiters();
    }
  }

  stats(): TransportStats {
    const dns = this.dns.stats();
    const admission = this.#admission.stats();
    const pool = this.poolStats();
    return {
      kind: this.kind,
      ...this.#counters,
      errorsByCode: { ...this.#errorsByCode },
      ...pool,
      inFlight: this.#active,
      queued: admission.waiting + pool.queued,
      dnsCacheEntries: dns.cacheEntries,
      dns,
      admission,
      connectionsByRoute: {
        repeat: { ...this.#connectionsByRoute.repeat },
        firstSeen: { ...this.#connectionsByRoute.firstSeen },
      },
    };
  }

  async clearConnections(): Promise<void> {
    if (this.closed) return;
    this.#counters.connectionClears += 1;
    await this.clearPool();
  }

  async reset(): Promise<void> {
    if (this.closed) return;
    this.#counters.resets += 1;
    this.#requestsSinceReset = 0;
    this.dns.clear();
    this.#admission.forgetRoutes();
    await this.resetPool();
  }

  close(): Promise<void> {
    if (!this.#closing) {
      this.#state = 'closed';
      this.#closing = (async () => {
        // Every request() in progress finishes first, redirect hops and all.
        await this.#whenIdle();
        this.dns.close();
        if (this.#state === 'closed') await this.closePool();
      })();
    }
    return this.#closing;
  }

  destroy(): Promise<void> {
    if (this.#state === 'destroyed') return this.#closing ?? Promise.resolve();
    const wasClosing = this.#closing;
    this.#state = 'destroyed';
    // destroy() after close() still cancels whatever close() is waiting for.
    this.dns.close();
    this.#admission.rejectWaiting(new TransportDestroyedError('transport was destroyed'));
    const destroying = this.destroyPool();
    this.#closing = wasClosing ? Promise.all([wasClosing, destroying]).then(() => undefined) : destroying;
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** The caller's headers over the defaults; a frozen caller set is merged once. */
  #withDefaults(headers: Readonly<Record<string, string>>): Readonly<Record<string, string>> {
    if (!Object.isFrozen(headers)) return withDefaults(headers, this.#defaultHeaders);
    let merged = this.#mergedHeaders.get(headers);
    if (merged === undefined) {
      merged = Object.freeze(withDefaults(headers, this.#defaultHeaders));
      this.#mergedHeaders.set(headers, merged);
    }
    return merged;
  }

  #destroyed(): boolean {
    return this.#state === 'destroyed';
  }

  #whenIdle(): Promise<void> {
    if (this.#active === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #wakeIdleWaiters(): void {
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const wake of waiters) wake();
  }

  #assertOpen(): void {
    if (this.#state === 'closed') throw new TransportClosedError('transport is closed');
    if (this.#state === 'destroyed') throw new TransportDestroyedError('transport was destroyed');
  }

  #countTowardsRecycle(): void {
    const limit = this.options.recycleAfterRequests;
    if (limit === 0) return;
    this.#requestsSinceReset += 1;
    if (this.#requestsSinceReset < limit) return;
    this.#requestsSinceReset = 0;
    this.#counters.recycles += 1;
    this.dns.clear();
    this.#admission.forgetRoutes();
    // The request that crossed the limit is dispatched on the fresh state;
    // requests already in flight finish on the old one.
    this.resetPool().catch((error: unknown) => {
      process.emitWarning(`atresolve: automatic transport recycle failed: ${String(error)}`, 'AtresolveWarning');
    });
  }

  async #requestWithRedirects(rawUrl: string, options: TransportRequestOptions): Promise<TransportResponse> {
    const o = this.options;
    const timeoutMs = options.timeoutMs ?? o.timeoutMs;
    const maxRedirects = options.maxRedirects ?? o.maxRedirects;
    const deadline = performance.now() + timeoutMs;
    let url = this.#checkUrl(rawUrl, InvalidUrlError);
    let method: TransportMethod = options.method ?? 'GET';
    let body = toBody(options.body, method);
    // Without headers of its own a request shares one frozen header set
    // (implementations may cache what they derive from it).
    let headers = options.headers === undefined ? this.#defaultHeaders : this.#withDefaults(options.headers);

    for (let redirects = 0; ; redirects += 1) {
      const signal = options.signal;
      if (signal?.aborted) throw new AbortError('request aborted', { cause: signal.reason });
      // destroy() between two hops cancels the rest of the chain.
      if (this.#state === 'destroyed') throw new TransportDestroyedError('transport was destroyed');
      const host = url.hostname.replace(/^\[|\]$/g, '');
      const port = effectivePort(url);
      const connectTo = this.#connectTo.lookup(host, port);
      if (!connectTo) {
        const refusal = this.#admission.refusalBeforeLookup(deadline, timeoutMs);
        if (refusal) throw refusal;
      }
      const addresses = connectTo ? undefined : await this.#addressesOf(host, port, deadline, timeoutMs, signal);
      const target = connectTo ? `${connectTo.ip}:${connectTo.port}` : (addresses?.[0] ?? '');
      const admitted = this.#admission.admit(`${url.origin}|${target}`, deadline, signal, timeoutMs);
      const grant = 'then' in admitted ? await admitted : admitted;
      let hop: DispatchResponse;
      let newConnection = false;
      try {
        // destroy() while this hop waited for admission.
        if (this.closed && this.#destroyed()) throw new TransportDestroyedError('transport was destroyed');
        const remaining = Math.floor(deadline - performance.now());
        if (remaining <= 0) {
          throw new TimeoutError(`request timed out after ${timeoutMs} ms`, { phase: 'total', timeoutMs });
        }
        hop = await this.#tracedDispatch({
          url,
          method,
          headers,
          body,
          timeoutMs: remaining,
          totalTimeoutMs: timeoutMs,
          connectTimeoutMs: options.connectTimeoutMs ?? o.connectTimeoutMs,
          maxResponseBytes: options.maxResponseBytes ?? o.maxResponseBytes,
          maxHeaderBytes: o.maxHeaderBytes,
          connectTo,
          addresses,
          keepAlive: grant.repeat,
          signal,
        });
        newConnection = !hop.reusedConnection;
      } finally {
        this.#admission.release(grant, newConnection);
      }
      this.#countConnection(grant, hop.reusedConnection);
      const location = hop.headers['location'];
      if (maxRedirects === 0 || !REDIRECT_STATUSES.has(hop.status) || location === undefined) {
        return {
          status: hop.status,
          url: url.href,
          headers: hop.headers,
          body: hop.body,
          timing: hop.timing,
          reusedConnection: hop.reusedConnection,
          redirects,
        };
      }
      if (redirects >= maxRedirects) {
        throw new RedirectError(`too many redirects: more than ${maxRedirects} from ${rawUrl}`);
      }
      let next: URL;
      try {
        next = new URL(location, url);
      } catch (cause) {
        throw new RedirectError(`redirect from ${url.href} has an invalid Location`, { cause });
      }
      next = this.#checkUrl(next.href, RedirectError);
      if (next.origin !== url.origin && ('authorization' in headers || 'cookie' in headers)) {
        const { authorization: _authorization, cookie: _cookie, ...rest } = headers;
        headers = rest;
      }
      if (hop.status === 303 || ((hop.status === 301 || hop.status === 302) && method === 'POST')) {
        method = 'GET';
        body = undefined;
      }
      url = next;
    }
  }

  /**
   * The addresses a hop may connect to: resolved within the request's
   * deadline, then filtered by the SSRF guard (unless
   * `allowPrivateNetwork`). The socket-level checks of each implementation
   * stay as the last line.
   */
  async #addressesOf(
    host: string,
    port: number,
    deadline: number,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Promise<string[]> {
    const left = Math.floor(deadline - performance.now());
    if (left <= 0) throw new TimeoutError(`request timed out after ${timeoutMs} ms`, { phase: 'total', timeoutMs });
    let all: string[];
    try {
      all = await this.dns.lookup(host, { signal, timeoutMs: left });
    } catch (error) {
      if (this.#state === 'destroyed') throw new TransportDestroyedError('transport was destroyed', { cause: error });
      // The request's own deadline ended the lookup: that is the request timing out.
      if (error instanceof DnsError && error.reason === 'TIMEOUT' && left < this.dns.budgetMs && deadline - performance.now() < DEADLINE_SLACK_MS) {
        throw new TimeoutError(`request timed out after ${timeoutMs} ms: DNS lookup of ${host} did not finish`, {
          phase: 'total',
          timeoutMs,
          cause: error,
        });
      }
      throw error;
    }
    if (this.options.allowPrivateNetwork) return all;
    const allowed = all.filter((address) => classifyAddress(address) === 'public');
    if (allowed.length > 0) return allowed;
    const address = all[0] ?? '';
    const addressClass = classifyAddress(address);
    const target = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    throw new ForbiddenAddressError(
      `refusing to connect to ${target}: ${address} is a ${addressClass} address (set allowPrivateNetwork to allow it)`,
      { address, addressClass },
    );
  }

  #countConnection(grant: Grant, reused: boolean): void {
    const counts = grant.repeat ? this.#connectionsByRoute.repeat : this.#connectionsByRoute.firstSeen;
    if (reused) counts.reusedConnections += 1;
    else counts.newConnections += 1;
  }

  /** `dispatch()`, published on the `atresolve:fetch` trace channel when anyone listens. */
  #tracedDispatch(request: DispatchRequest): Promise<DispatchResponse> {
    if (!fetchTrace.hasSubscribers) return this.dispatch(request);
    const started = performance.now();
    const base = { transport: this.kind, method: request.method, url: request.url.href };
    return this.dispatch(request).then(
      (hop) => {
        const event: FetchTraceEvent = {
          ...base,
          status: hop.status,
          errorCode: undefined,
          errorMessage: undefined,
          reusedConnection: hop.reusedConnection,
          ...hop.timing,
          bytes: hop.body.length,
        };
        fetchTrace.publish(event);
        return hop;
      },
      (error: unknown) => {
        const event: FetchTraceEvent = {
          ...base,
          status: undefined,
          errorCode: error instanceof TransportError || error instanceof AbortError ? error.code : 'INTERNAL',
          errorMessage: error instanceof Error ? error.message : String(error),
          reusedConnection: undefined,
          connectMs: 0,
          tlsMs: 0,
          firstByteMs: 0,
          totalMs: performance.now() - started,
          bytes: 0,
        };
        fetchTrace.publish(event);
        throw error;
      },
    );
  }

  /** Parse and check a URL against the scheme and credential rules. */
  #checkUrl(raw: string, ErrorClass: typeof InvalidUrlError | typeof RedirectError): URL {
    let url: URL;
    try {
      url = new URL(raw);
    } catch (cause) {
      throw new ErrorClass(`invalid URL: ${truncate(raw)}`, { cause });
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && this.options.allowHttp)) {
      const allowed = this.options.allowHttp ? 'https: or http:' : 'https: (set allowHttp for http:)';
      throw new ErrorClass(`URL scheme ${url.protocol} is not allowed, only ${allowed}: ${truncate(raw)}`);
    }
    if (url.username !== '' || url.password !== '') {
      throw new ErrorClass(`URLs with credentials are not allowed: ${url.protocol}//…@${url.host}`);
    }
    // A fragment is never sent.
    if (url.hash !== '') url.hash = '';
    return url;
  }
}

function effectivePort(url: URL): number {
  if (url.port !== '') return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}

/** The caller's headers with lower-cased names, plus each default it does not set. */
function withDefaults(headers: Readonly<Record<string, string>>, defaults: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) out[name.toLowerCase()] = value;
  for (const [name, value] of Object.entries(defaults)) out[name] ??= value;
  return out;
}

function toBody(body: Uint8Array | string | undefined, method: TransportMethod): Buffer | undefined {
  if (body === undefined || method !== 'POST') return undefined;
  return typeof body === 'string' ? Buffer.from(body) : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

function truncate(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
