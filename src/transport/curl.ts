import { InvalidOptionsError } from '../errors.js';
import { BaseTransport, type DispatchRequest, type DispatchResponse, type PoolStats } from './base.js';
import { readCaFile } from './ca-file.js';
import {
  AbortError,
  ConnectError,
  DnsError,
  ForbiddenAddressError,
  InternalTransportError,
  InvalidUrlError,
  NetworkError,
  ProtocolError,
  QueueFullError,
  ResponseTooLargeError,
  TimeoutError,
  TlsError,
  TransportClosedError,
  TransportDestroyedError,
  type TransportError,
} from './errors.js';
import {
  loadNativeAddon,
  type NativeAddon,
  type NativeCompletion,
  type NativeEngineOptions,
  type NativeErrorName,
  type NativeHandle,
  type NativeStats,
} from './native-addon.js';
import { resolveTransportOptions, type TransportOptions } from './options.js';
import type { TransportKind, TransportMethod } from './types.js';

/**
 * The transport on the native libcurl engine (`native/src/engine.c`): one
 * worker thread per transport drives every connection with libcurl's multi
 * interface; the JS thread only queues requests and settles promises.
 * See `docs/native-engine.md` for threads, generations and limits.
 *
 * Construct it with the shared `TransportOptions`. The constructor throws
 * `InternalTransportError` when the native addon cannot be loaded (or its
 * libcurl is too old); call `loadNativeAddon()` first to decide between
 * this and `UndiciTransport`. Constructing one opens no thread, socket or
 * file descriptor: the first request starts the engine's worker thread.
 *
 * A transport with nothing in flight for `idleTimeoutMs` parks: its worker
 * thread exits and every libcurl handle, socket and descriptor is freed;
 * the next request starts it again (counters survive). So a transport that
 * is dropped without `close()` costs a few hundred bytes until it is
 * garbage-collected, and an idle transport never keeps the process alive.
 */
export class CurlTransport extends BaseTransport {
  readonly kind: TransportKind = 'curl';

  readonly #addon: NativeAddon;
  readonly #handle: NativeHandle;
  /** Requests and operations waiting for the engine, by id. */
  readonly #pending: Map<number, Pending>;
  #requestsPending = 0;
  #nextId = 1;

  /**
   * @throws InvalidOptionsError for invalid options, or a `caFile` that is missing, unreadable or not PEM
   * @throws InternalTransportError when the native addon is unavailable, or `caFile` cannot be opened right now (descriptors exhausted)
   */
  constructor(options: TransportOptions = {}) {
    const resolved = resolveTransportOptions(options);
    super(resolved);
    const caPem = resolved.caFile === undefined ? undefined : readCaFile(resolved.caFile);
    const load = loadNativeAddon();
    if (!load.ok) throw new InternalTransportError(`native engine unavailable: ${load.reason}`);
    this.#addon = load.addon;
    const pending = new Map<number, Pending>();
    this.#pending = pending;
    this.#handle = createEngine(
      load.addon,
      {
        maxConnections: resolved.maxConnections,
        maxConnectionsPerHost: resolved.maxConnectionsPerHost,
        maxIdleConnections: resolved.maxIdleConnections,
        idleTimeoutMs: resolved.idleTimeoutMs,
        maxConnectionLifetimeMs: resolved.maxConnectionLifetimeMs,
        dnsCacheTtlMs: resolved.dnsCacheTtlMs,
        maxQueuedRequests: resolved.maxQueuedRequests,
        allowHttp: resolved.allowHttp,
        allowPrivateNetwork: resolved.allowPrivateNetwork,
        caPem,
      },
      pending,
    );
  }

  /** libcurl's version string, e.g. `7.88.1`. */
  get curlVersion(): string {
    return this.#addon.curlVersion;
  }

  /**
   * Engine internals for diagnostics and tests: generations alive (more
   * than one while a `clearConnections()`/`reset()` drains), pooled easy
   * handles, requests/operations not yet delivered, whether the worker
   * thread runs, and how often it parked. Gauges are zero once the
   * transport is closed or parked.
   */
  engineStats(): NativeStats {
    return this.#addon.stats(this.#handle);
  }

  protected dispatch(request: DispatchRequest): Promise<DispatchResponse> {
    const headers: string[] = [];
    for (const [name, value] of Object.entries(request.headers)) {
      if (!HEADER_NAME.test(name) || /[\r\n\0]/.test(value)) {
        return Promise.reject(
          new InternalTransportError(`invalid request header ${JSON.stringify(name)}`, {
            cause: new InvalidOptionsError(`request.headers['${name}']`, 'names must be tokens, values without CR, LF or NUL'),
          }),
        );
      }
      // "Name:" would make libcurl drop the header; "Name;" sends it empty.
      headers.push(value === '' ? `${name};` : `${name}: ${value}`);
    }
    const url = new URL(request.url.href);
    url.hash = '';
    // libcurl never resolves a name: it connects to the `connectTo` target,
    // or to the addresses the transport's DnsResolver found (passed to the
    // engine below, which tries them in order).
    const target = request.connectTo;
    const connectTo = target ? `::${target.ip.includes(':') ? `[${target.ip}]` : target.ip}:${target.port}` : null;
    const id = this.#nextId++;
    const signal = request.signal;

    return new Promise<DispatchResponse>((resolve, reject) => {
      if (signal?.aborted) {
        reject(new AbortError('request aborted', { cause: signal.reason }));
        return;
      }
      const submitError = this.#addon.request(
        this.#handle,
        id,
        url.href,
        METHOD_CODES[request.method],
        headers,
        request.body ?? null,
        connectTo,
        request.timeoutMs,
        request.connectTimeoutMs,
        request.maxResponseBytes,
        request.maxHeaderBytes,
        request.addresses ?? null,
        request.forbidReuse ?? false,
      );
      if (submitError !== undefined) {
        reject(toError({ kind: 'transfer', error: submitError, message: submitMessage(submitError, this.options) }, request));
        return;
      }
      this.#requestsPending += 1;
      let onAbort: (() => void) | undefined;
      if (signal) {
        const addon = this.#addon;
        const handle = this.#handle;
        onAbort = () => addon.abort(handle, id);
        signal.addEventListener('abort', onAbort, { once: true });
      }
      this.#pending.set(id, {
        settle: (result) => {
          this.#requestsPending -= 1;
          if (onAbort) signal?.removeEventListener('abort', onAbort);
          if (result.error === 'OK') resolve(toResponse(result));
          else reject(toError(result, request));
        },
      });
    });
  }

  protected clearPool(): Promise<void> {
    return this.#operation('clear');
  }

  protected resetPool(): Promise<void> {
    return this.#operation('reset');
  }

  protected closePool(): Promise<void> {
    return this.#operation('close');
  }

  protected destroyPool(): Promise<void> {
    return this.#operation('destroy');
  }

  protected poolStats(): PoolStats {
    const s = this.#addon.stats(this.#handle);
    return {
      inFlight: this.#requestsPending,
      queued: s.queued,
      openConnections: s.openConnections,
      newConnections: s.newConnections,
      reusedConnections: s.reusedConnections,
      bytesIn: s.bytesIn,
      // libcurl 7.88 does not expose its TLS session cache's size (docs/native-engine.md).
      tlsSessionCacheEntries: null,
    };
  }

  /** Run one engine operation; resolves when the engine reports it done. */
  #operation(kind: 'clear' | 'reset' | 'close' | 'destroy'): Promise<void> {
    const id = this.#nextId++;
    return new Promise<void>((resolve, reject) => {
      const error = this.#addon[kind](this.#handle, id);
      if (error === 'CLOSED') {
        resolve(); // already closed: nothing left to clear, reset or free
        return;
      }
      if (error !== undefined) {
        reject(new InternalTransportError(`${kind} failed: ${error}`));
        return;
      }
      this.#pending.set(id, {
        settle: (result) => {
          if (result.error === 'OK') resolve();
          else reject(new InternalTransportError(`${kind} failed: ${result.message ?? result.error}`));
        },
      });
    });
  }
}

/** A request or operation waiting for its completion. */
interface Pending {
  settle(result: NativeCompletion): void;
}

const METHOD_CODES: Record<TransportMethod, 0 | 1 | 2> = { GET: 0, HEAD: 1, POST: 2 };

/**
 * Create the native engine. Its completion callback is held by the native
 * thread-safe function for the transport's whole life, so it must not reach
 * the transport: that would keep the handle alive and its finalizer would
 * never run.
 *
 * @throws InternalTransportError when the addon cannot create it (out of memory)
 */
function createEngine(addon: NativeAddon, options: NativeEngineOptions, pending: Map<number, Pending>): NativeHandle {
  try {
    return addon.create(options, completionHandler(pending));
  } catch (cause) {
    throw new InternalTransportError(`could not create the native engine: ${(cause as Error).message}`, { cause });
  }
}

/** RFC 9110 token. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** The callback the engine calls (on the JS thread) for every completion. */
function completionHandler(pending: Map<number, Pending>): (id: number, result: NativeCompletion) => void {
  return (id, result) => {
    const entry = pending.get(id);
    if (!entry) return;
    pending.delete(id);
    entry.settle(result);
  };
}

function toResponse(result: NativeCompletion): DispatchResponse {
  return {
    status: result.status ?? 0,
    headers: parseHeaders(result.headers ?? ''),
    body: result.body ?? Buffer.alloc(0),
    timing: {
      connectMs: (result.connectUs ?? 0) / 1000,
      tlsMs: (result.tlsUs ?? 0) / 1000,
      firstByteMs: (result.firstByteUs ?? 0) / 1000,
      totalMs: (result.totalUs ?? 0) / 1000,
    },
    reusedConnection: result.reused ?? false,
  };
}

/** `name: value\r\n` lines → lower-cased names, repeats joined with `, `, folded lines appended. */
function parseHeaders(raw: string): Record<string, string> {
  const headers: Record<string, string> = {};
  let last: string | undefined;
  for (const line of raw.split(/\r?\n/)) {
    if (line === '') continue;
    if ((line.startsWith(' ') || line.startsWith('\t')) && last !== undefined) {
      headers[last] = `${headers[last] ?? ''} ${line.trim()}`.trim();
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    last = name;
  }
  return headers;
}

/** The underlying libcurl failure, kept as `cause`. */
function curlCause(result: NativeCompletion): Error | undefined {
  if (result.curlCode === undefined || result.curlCode === 0) return undefined;
  return Object.assign(new Error(`libcurl error ${result.curlCode}: ${result.message ?? ''}`), { curlCode: result.curlCode });
}

type ErrorFactory = (result: NativeCompletion, request: DispatchRequest, message: string) => TransportError;

/** The one table from engine error names to error classes. */
const ERRORS: Record<Exclude<NativeErrorName, 'OK'>, ErrorFactory> = {
  DNS: (r, _q, m) => new DnsError(m, { cause: curlCause(r) }),
  CONNECT: (r, _q, m) => new ConnectError(m, { cause: curlCause(r) }),
  CONNECT_TIMEOUT: (r, q) =>
    new TimeoutError(`connect timed out after ${q.connectTimeoutMs} ms: ${q.url.host}`, {
      phase: 'connect',
      timeoutMs: q.connectTimeoutMs,
      cause: curlCause(r),
    }),
  TIMEOUT: (r, q) =>
    new TimeoutError(`request timed out after ${q.totalTimeoutMs} ms: ${q.url.href}`, {
      phase: 'total',
      timeoutMs: q.totalTimeoutMs,
      cause: curlCause(r) ?? (r.message ? new Error(r.message) : undefined),
    }),
  TLS: (r, _q, m) => new TlsError(m, { cause: curlCause(r) }),
  FORBIDDEN_ADDRESS: (r, _q, m) =>
    new ForbiddenAddressError(m, { address: r.address, addressClass: r.addressClass, cause: curlCause(r) }),
  BODY_TOO_LARGE: (r, q, m) => new ResponseTooLargeError(m, { part: 'body', limit: q.maxResponseBytes, cause: curlCause(r) }),
  HEADERS_TOO_LARGE: (r, q, m) =>
    new ResponseTooLargeError(m, { part: 'headers', limit: q.maxHeaderBytes, cause: curlCause(r) }),
  NETWORK: (r, _q, m) => new NetworkError(m, { cause: curlCause(r) }),
  PROTOCOL: (r, _q, m) => new ProtocolError(m, { cause: curlCause(r) }),
  ABORTED: (_r, q) => new AbortError('request aborted', { cause: q.signal?.reason }),
  DESTROYED: () => new TransportDestroyedError('transport was destroyed'),
  QUEUE_FULL: (_r, _q, m) => new QueueFullError(m),
  CLOSED: () => new TransportClosedError('transport is closed'),
  INVALID_URL: (r, q, m) => new InvalidUrlError(`${m}: ${q.url.href}`, { cause: curlCause(r) }),
  INVALID_REQUEST: (r, _q, m) => new InternalTransportError(`invalid request: ${m}`, { cause: curlCause(r) }),
  INTERNAL: (r, _q, m) => new InternalTransportError(m, { cause: curlCause(r) }),
};

function toError(result: NativeCompletion, request: DispatchRequest): TransportError {
  const name = result.error === 'OK' ? 'INTERNAL' : result.error;
  const factory = ERRORS[name] ?? ERRORS.INTERNAL;
  return factory(result, request, result.message ?? name);
}

function submitMessage(error: string, options: { maxConnections: number; maxQueuedRequests: number }): string {
  if (error === 'QUEUE_FULL') {
    return `too many requests outstanding: maxConnections (${options.maxConnections}) + maxQueuedRequests (${options.maxQueuedRequests})`;
  }
  if (error === 'INVALID_REQUEST') return 'request headers, addresses or options cannot be sent';
  return error;
}
