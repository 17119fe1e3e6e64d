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
  ResponseTooLargeError,
  TimeoutError,
  TlsError,
  TransportClosedError,
  TransportDestroyedError,
  type TransportError,
} from './errors.js';
import {
  loadNativeAddon,
  REQUEST_PARAMS,
  COMPLETION_FIELDS,
  type CompletionField,
  type NativeAddon,
  type NativeAddressClass,
  type NativeCompletionCallback,
  type NativeEngineOptions,
  type NativeErrorName,
  type NativeHandle,
  type NativeStats,
  type RequestParam,
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
  /** Requests and operations waiting for the engine (shared with the completion handler). */
  readonly #waiting: Waiting;
  /** The per-request numbers handed to the engine (see `REQUEST_PARAMS`). */
  readonly #params: Float64Array;
  readonly #at: Readonly<Record<RequestParam, number>>;
  /** The `Name: value\0…` block of each header set (shared sets are cached), or why it cannot be sent. */
  readonly #headerBlocks = new WeakMap<object, string | TransportError>();
  /** The `a\0b\0` form of each address list (the DNS cache hands out the same array while it lasts). */
  readonly #addressBlocks = new WeakMap<readonly string[], string>();
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
    const waiting: Waiting = { byId: new Map(), requests: 0 };
    this.#waiting = waiting;
    this.#params = new Float64Array(REQUEST_PARAMS.length);
    this.#at = load.addon.requestLayout;
    this.#handle = createEngine(
      load.addon,
      {
        maxConnections: resolved.maxConnections,
        maxIdleConnections: resolved.maxIdleConnections,
        idleTimeoutMs: resolved.idleTimeoutMs,
        maxConnectionLifetimeMs: resolved.maxConnectionLifetimeMs,
        dnsCacheTtlMs: resolved.dnsCacheTtlMs,
        allowHttp: resolved.allowHttp,
        allowPrivateNetwork: resolved.allowPrivateNetwork,
        caPem,
      },
      waiting,
      this.#params,
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
    const headers = this.#headerBlock(request.headers);
    if (typeof headers !== 'string') return Promise.reject(headers);
    const signal = request.signal;
    if (signal?.aborted) return Promise.reject(new AbortError('request aborted', { cause: signal.reason }));
    // libcurl never resolves a name: it connects to the `connectTo` target,
    // or to the addresses the transport's DnsResolver found, in order.
    const target = request.connectTo;
    const connectTo = target ? `::${target.ip.includes(':') ? `[${target.ip}]` : target.ip}:${target.port}` : null;
    const id = this.#nextId++;
    const p = this.#params;
    const at = this.#at;
    p[at.id] = id;
    p[at.method] = METHOD_CODES[request.method];
    p[at.timeoutMs] = request.timeoutMs;
    p[at.connectTimeoutMs] = request.connectTimeoutMs;
    p[at.maxResponseBytes] = request.maxResponseBytes;
    p[at.maxHeaderBytes] = request.maxHeaderBytes;
    p[at.forbidReuse] = request.keepAlive ? 0 : 1;
    const submitError = this.#addon.request(
      this.#handle,
      request.url.href,
      headers === '' ? null : headers,
      request.body ?? null,
      connectTo,
      request.addresses === undefined ? null : this.#addressBlock(request.addresses),
    );
    if (submitError !== undefined) {
      return Promise.reject(toError({ ...NO_FIGURES, error: submitError, message: submitMessage(submitError) }, request));
    }
    const waiting = this.#waiting;
    waiting.requests += 1;
    return new Promise<DispatchResponse>((resolve, reject) => {
      const entry: Pending = { request, resolve, reject, onAbort: undefined };
      if (signal) {
        const addon = this.#addon;
        const handle = this.#handle;
        entry.onAbort = () => addon.abort(handle, id);
        signal.addEventListener('abort', entry.onAbort, { once: true });
      }
      waiting.byId.set(id, entry);
    });
  }

  #headerBlock(headers: Readonly<Record<string, string>>): string | TransportError {
    let block: string | TransportError | undefined = this.#headerBlocks.get(headers);
    if (block === undefined) {
      block = headerBlockOf(headers);
      this.#headerBlocks.set(headers, block);
    }
    return block;
  }

  #addressBlock(addresses: readonly string[]): string {
    let block = this.#addressBlocks.get(addresses);
    if (block === undefined) {
      block = `${addresses.join('\0')}\0`;
      this.#addressBlocks.set(addresses, block);
    }
    return block;
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
      inFlight: this.#waiting.requests,
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
      this.#waiting.byId.set(id, {
        request: undefined,
        resolve: () => resolve(),
        reject: (cause) => reject(new InternalTransportError(`${kind} failed: ${cause.message}`)),
        onAbort: undefined,
      });
    });
  }
}

/** What the transport and its completion handler share (never the transport itself). */
interface Waiting {
  /** Requests and operations waiting for their completion, by id. */
  readonly byId: Map<number, Pending>;
  /** How many of them are requests. */
  requests: number;
}

/** A request (`request` set) or an operation waiting for its completion. */
interface Pending {
  readonly request: DispatchRequest | undefined;
  resolve(value: DispatchResponse): void;
  reject(error: Error): void;
  onAbort: (() => void) | undefined;
}

/** One completion's figures as the engine delivered them. */
interface Outcome {
  error: NativeErrorName;
  status: number;
  curlCode: number;
  message: string | undefined;
  address: string | undefined;
  addressClass: NativeAddressClass | undefined;
}

const NO_FIGURES = { status: 0, curlCode: 0, address: undefined, addressClass: undefined } as const;

/** What an operation's `Pending` is resolved with (it carries no response). */
const OPERATION_DONE: DispatchResponse = Object.freeze({
  status: 0,
  headers: {},
  body: Buffer.alloc(0),
  timing: { connectMs: 0, tlsMs: 0, firstByteMs: 0, totalMs: 0 },
  reusedConnection: false,
});

const METHOD_CODES: Record<TransportMethod, 0 | 1 | 2> = { GET: 0, HEAD: 1, POST: 2 };

/**
 * Create the native engine. Its completion callback is held by the native
 * thread-safe function for the transport's whole life, so it must not reach
 * the transport: that would keep the handle alive and its finalizer would
 * never run.
 *
 * @throws InternalTransportError when the addon cannot create it (out of memory)
 */
function createEngine(addon: NativeAddon, options: NativeEngineOptions, waiting: Waiting, params: Float64Array): NativeHandle {
  const results = new Float64Array(COMPLETION_FIELDS.length);
  try {
    return addon.create(options, completionHandler(addon, waiting, results), params, results);
  } catch (cause) {
    throw new InternalTransportError(`could not create the native engine: ${(cause as Error).message}`, { cause });
  }
}

/** RFC 9110 token. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * The engine's form of a header set: `Name: value` entries each ending in
 * `\0` (`Name;` for an empty value: libcurl drops `Name:`), or the error
 * for a header that cannot be sent.
 */
function headerBlockOf(headers: Readonly<Record<string, string>>): string | TransportError {
  let block = '';
  for (const [name, value] of Object.entries(headers)) {
    if (!HEADER_NAME.test(name) || /[\r\n\0]/.test(value)) {
      return new InternalTransportError(`invalid request header ${JSON.stringify(name)}`, {
        cause: new InvalidOptionsError(`request.headers['${name}']`, 'names must be tokens, values without CR, LF or NUL'),
      });
    }
    block += value === '' ? `${name};\0` : `${name}: ${value}\0`;
  }
  return block;
}

/**
 * The callback the engine calls (on the JS thread) for every completion,
 * right after writing its numbers into `results`.
 */
function completionHandler(addon: NativeAddon, waiting: Waiting, results: Float64Array): NativeCompletionCallback {
  const at: Readonly<Record<CompletionField, number>> = addon.completionLayout;
  const { errorNames, addressClassNames } = addon;
  return (headers, body, message, address) => {
    const id = results[at.id] as number;
    const entry = waiting.byId.get(id);
    if (!entry) return;
    waiting.byId.delete(id);
    const error = errorNames[results[at.error] as number] ?? 'INTERNAL';
    const request = entry.request;
    if (request === undefined) {
      if (error === 'OK') entry.resolve(OPERATION_DONE);
      else entry.reject(new Error(message ?? error));
      return;
    }
    waiting.requests -= 1;
    if (entry.onAbort) request.signal?.removeEventListener('abort', entry.onAbort);
    if (error === 'OK') {
      const reused = results[at.reused] === 1;
      entry.resolve({
        status: results[at.status] as number,
        headers: parseHeaders(headers ?? ''),
        body: body ?? Buffer.alloc(0),
        timing: {
          connectMs: (results[at.connectUs] as number) / 1000,
          tlsMs: (results[at.tlsUs] as number) / 1000,
          firstByteMs: (results[at.firstByteUs] as number) / 1000,
          totalMs: (results[at.totalUs] as number) / 1000,
        },
        reusedConnection: reused,
      });
      return;
    }
    const outcome: Outcome = {
      error,
      status: results[at.status] as number,
      curlCode: results[at.curlCode] as number,
      message,
      address,
      addressClass: address === undefined ? undefined : addressClassNames[results[at.addressClass] as number],
    };
    entry.reject(toError(outcome, request));
  };
}

/** `name: value\r\n` lines → lower-cased names, repeats joined with `, `, folded lines appended. */
function parseHeaders(raw: string): Record<string, string> {
  const headers: Record<string, string> = {};
  let last: string | undefined;
  let start = 0;
  while (start < raw.length) {
    let end = raw.indexOf('\n', start);
    if (end < 0) end = raw.length;
    const lineEnd = end > start && raw.charCodeAt(end - 1) === 13 ? end - 1 : end;
    if (lineEnd > start) {
      const first = raw.charCodeAt(start);
      if ((first === 32 || first === 9) && last !== undefined) {
        headers[last] = `${headers[last] ?? ''} ${raw.slice(start, lineEnd).trim()}`.trim();
      } else {
        const colon = raw.indexOf(':', start);
        if (colon > start && colon < lineEnd) {
          const name = raw.slice(start, colon).trim().toLowerCase();
          const value = raw.slice(colon + 1, lineEnd).trim();
          const seen = headers[name];
          headers[name] = seen === undefined ? value : `${seen}, ${value}`;
          last = name;
        }
      }
    }
    start = end + 1;
  }
  return headers;
}

/** The underlying libcurl failure, kept as `cause`. */
function curlCause(result: Outcome): Error | undefined {
  if (result.curlCode === 0) return undefined;
  return Object.assign(new Error(`libcurl error ${result.curlCode}: ${result.message ?? ''}`), { curlCode: result.curlCode });
}

type ErrorFactory = (result: Outcome, request: DispatchRequest, message: string) => TransportError;

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
  CLOSED: () => new TransportClosedError('transport is closed'),
  INVALID_URL: (r, q, m) => new InvalidUrlError(`${m}: ${q.url.href}`, { cause: curlCause(r) }),
  INVALID_REQUEST: (r, _q, m) => new InternalTransportError(`invalid request: ${m}`, { cause: curlCause(r) }),
  INTERNAL: (r, _q, m) => new InternalTransportError(m, { cause: curlCause(r) }),
};

function toError(result: Outcome, request: DispatchRequest): TransportError {
  const name = result.error === 'OK' ? 'INTERNAL' : result.error;
  const factory = ERRORS[name] ?? ERRORS.INTERNAL;
  return factory(result, request, result.message ?? name);
}

function submitMessage(error: string): string {
  if (error === 'INVALID_REQUEST') return 'request headers, addresses or options cannot be sent';
  return error;
}
