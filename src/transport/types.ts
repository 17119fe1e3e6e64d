/**
 * The seam between resolvers and HTTP. Everything a resolver needs from the
 * network goes through `Transport.request()`; both implementations
 * (`CurlTransport` on the native libcurl engine, `UndiciTransport` as the
 * fallback) honour the same options, limits, lifecycle and errors.
 */

import type { DnsStats } from '../dns/resolver.js';

/** Which implementation is behind a `Transport`. */
export type TransportKind = 'curl' | 'undici';

/** HTTP methods the transport sends. Resolvers only use `GET`. */
export type TransportMethod = 'GET' | 'HEAD' | 'POST';

/** Options for one `request()`. Unset fields take the transport's defaults. */
export interface TransportRequestOptions {
  /** HTTP method. Default `'GET'`. */
  method?: TransportMethod;
  /** Request headers. Names are case-insensitive. Default none. */
  headers?: Readonly<Record<string, string>>;
  /** Request body, `POST` only. Default none. */
  body?: Uint8Array | string;
  /** Total time limit, covering queueing, connect, TLS, every redirect hop and the body. Default: the transport's `timeoutMs`. */
  timeoutMs?: number;
  /** Limit on establishing one TCP+TLS connection. Default: the transport's `connectTimeoutMs`. */
  connectTimeoutMs?: number;
  /** Body size cap in bytes, applied after content decoding. Default: the transport's `maxResponseBytes`. */
  maxResponseBytes?: number;
  /** Redirects to follow; `0` returns the 3xx response as is. Default: the transport's `maxRedirects`. */
  maxRedirects?: number;
  /** Cancels this request; it then rejects with `AbortError`. */
  signal?: AbortSignal;
}

/** Durations of one exchange in milliseconds, measured from the start of its final hop. */
export interface TransportTiming {
  /** TCP connect done (0 when the connection was reused). */
  connectMs: number;
  /** TLS handshake done (0 for a reused connection or plain HTTP). */
  tlsMs: number;
  /** First response byte received. */
  firstByteMs: number;
  /** Whole exchange of the final hop. */
  totalMs: number;
}

/** A complete HTTP response; the body has been read in full and decoded. */
export interface TransportResponse {
  /** HTTP status code of the final response. */
  status: number;
  /** The URL that produced this response (differs from the request URL after redirects). */
  url: string;
  /** Response headers of the final response, names lower-cased; repeated headers joined with `, `. */
  headers: Record<string, string>;
  /** The decoded body (empty for `HEAD`). */
  body: Buffer;
  /** Timing of the final hop. */
  timing: TransportTiming;
  /** Whether the final hop ran on a pooled connection instead of a new one. */
  reusedConnection: boolean;
  /** How many redirects were followed. */
  redirects: number;
}

/**
 * A point-in-time snapshot of a transport. Counters are cumulative since the
 * transport was created (they survive `reset()`); gauges are current.
 */
export interface TransportStats {
  kind: TransportKind;
  /** `request()` calls accepted. */
  requests: number;
  /** Requests that produced an HTTP response (any status). */
  ok: number;
  /** Requests that rejected. */
  failed: number;
  /** Rejections by error `code`, e.g. `{ TIMEOUT: 3 }`. */
  errorsByCode: Record<string, number>;
  /** Gauge: requests submitted and not yet settled (includes `queued`). */
  inFlight: number;
  /** Gauge: requests waiting for a connection. */
  queued: number;
  /** Gauge: sockets currently open. */
  openConnections: number;
  /** Counter: new connections established (each a TCP connect + TLS handshake for HTTPS). */
  newConnections: number;
  /** Counter: exchanges that ran on a pooled connection. */
  reusedConnections: number;
  /** Counter: automatic resets caused by `recycleAfterRequests`. */
  recycles: number;
  /** Counter: explicit `reset()` calls. */
  resets: number;
  /** Counter: `clearConnections()` calls. */
  connectionClears: number;
  /** Counter: decoded response body bytes received. */
  bytesIn: number;
  /** Gauge: host names in the DNS cache (`dns.cacheEntries`; `null` only for transports that resolve no names). */
  dnsCacheEntries: number | null;
  /** The transport's name resolution: lookups, cache hits, queries in flight and abandoned, failures by reason. */
  dns: DnsStats;
  /** Gauge: entries in the TLS session cache, or `null` when the implementation does not expose it. */
  tlsSessionCacheEntries: number | null;
}

/**
 * The HTTP client interface every resolver uses.
 *
 * Lifecycle (all idempotent, all promises):
 * - `clearConnections()` closes every pooled connection now (in-flight
 *   requests finish, and their connections are then closed); DNS and TLS
 *   session caches are kept.
 * - `reset()` starts a fresh pool, caches and handles for new requests at
 *   once; in-flight requests finish on the old state, which is then freed.
 *   Resolves when the old state is gone.
 * - `close()` stops accepting requests, waits for in-flight ones, frees
 *   everything. Later requests reject with `TransportClosedError`.
 * - `destroy()` is `close()` without waiting: in-flight requests reject with
 *   `TransportDestroyedError`.
 */
export interface Transport extends AsyncDisposable {
  readonly kind: TransportKind;
  /** `true` once `close()` or `destroy()` has been called. */
  readonly closed: boolean;
  /**
   * Perform one HTTP exchange, following redirects only when allowed.
   * Rejects with `InvalidOptionsError` (naming `request.<field>`) for an
   * unknown option or a value outside the range of the transport option of
   * the same name, before anything is sent.
   */
  request(url: string, options?: TransportRequestOptions): Promise<TransportResponse>;
  stats(): TransportStats;
  clearConnections(): Promise<void>;
  reset(): Promise<void>;
  close(): Promise<void>;
  destroy(): Promise<void>;
}
