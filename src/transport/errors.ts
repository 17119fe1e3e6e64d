import { AtresolveError } from '../errors.js';

/**
 * The transport's closed set of errors. Both `CurlTransport` and
 * `UndiciTransport` reject with exactly these classes for the same failure,
 * so resolvers and metrics never care which transport ran.
 *
 * Every class extends `TransportError`; `code` is stable and is the key used
 * in `stats().errorsByCode`.
 */
export abstract class TransportError extends AtresolveError {}

/** The URL could not be parsed, or its scheme is not allowed (HTTPS only unless `allowHttp`). */
export class InvalidUrlError extends TransportError {
  readonly code = 'INVALID_URL';
}

/**
 * The connection was refused by the SSRF guard: the socket address is
 * loopback, private, link-local, CGNAT, multicast, unspecified, reserved, or
 * an IPv4-mapped / NAT64 form of one of those, and `allowPrivateNetwork` is
 * off. The check is made on the address a socket is about to connect to, so
 * DNS answers, redirects and `connectTo` are all covered.
 */
export class ForbiddenAddressError extends TransportError {
  readonly code = 'FORBIDDEN_ADDRESS';
  /** The refused address (IP literal), when known. */
  readonly address: string | undefined;
  /** The class of the refused address, e.g. `loopback`, when known. */
  readonly addressClass: string | undefined;

  constructor(message: string, details: { address?: string; addressClass?: string; cause?: unknown } = {}) {
    super(message, { cause: details.cause });
    this.address = details.address;
    this.addressClass = details.addressClass;
  }
}

/**
 * Why a DNS lookup failed. `NOT_FOUND` (NXDOMAIN) and `NO_DATA` (the name
 * exists but has no record of the type asked) are authoritative answers;
 * every other reason is transient and says nothing about the name.
 * - `SERVER_FAILURE`: SERVFAIL, or a server that refused (REFUSED) or
 *   could not parse the query;
 * - `TIMEOUT`: no answer within the lookup's time limit (its request's
 *   deadline, or `dns.timeoutMs` × `dns.tries`);
 * - `BAD_RESPONSE`: an answer that could not be parsed;
 * - `OVERLOADED`: too many lookups already in flight (`dns.maxInFlight`);
 * - `UNKNOWN`: the lookup ran somewhere that does not say why it failed.
 */
export type DnsFailureReason =
  | 'NOT_FOUND'
  | 'NO_DATA'
  | 'SERVER_FAILURE'
  | 'TIMEOUT'
  | 'BAD_RESPONSE'
  | 'OVERLOADED'
  | 'UNKNOWN';

/**
 * A host name did not resolve to a usable address. `reason` says why;
 * `definitive` is `true` only for an authoritative "no such name / no
 * such record" (`NOT_FOUND`, `NO_DATA`), which a caller may treat as "not
 * found". Every other failure is transient.
 */
export class DnsError extends TransportError {
  readonly code = 'DNS';
  /** The name that was looked up, when known. */
  readonly hostname: string | undefined;
  readonly reason: DnsFailureReason;

  constructor(message: string, details: { hostname?: string; reason?: DnsFailureReason; cause?: unknown } = {}) {
    super(message, { cause: details.cause });
    this.hostname = details.hostname;
    this.reason = details.reason ?? 'UNKNOWN';
  }

  /** Whether the DNS answered authoritatively that the name (or record) does not exist. */
  get definitive(): boolean {
    return this.reason === 'NOT_FOUND' || this.reason === 'NO_DATA';
  }
}

/** A TCP connection could not be established (refused, unreachable). */
export class ConnectError extends TransportError {
  readonly code = 'CONNECT';
}

/**
 * A time limit passed. `phase` says which: `connect` for
 * `connectTimeoutMs`, `total` for `timeoutMs` (which covers queueing,
 * connecting, TLS, redirects and reading the body).
 */
export class TimeoutError extends TransportError {
  readonly code = 'TIMEOUT';
  readonly phase: 'connect' | 'total';
  /** The limit that passed, in milliseconds. */
  readonly timeoutMs: number;

  constructor(message: string, details: { phase: 'connect' | 'total'; timeoutMs: number; cause?: unknown }) {
    super(message, { cause: details.cause });
    this.phase = details.phase;
    this.timeoutMs = details.timeoutMs;
  }
}

/**
 * The TLS handshake did not complete: the peer's certificate was not
 * trusted or does not name the host, the peer sent an alert, or it closed
 * or reset the connection before the handshake finished (no TLS session
 * ever existed with it). For a handle's well-known this means "no HTTPS
 * answer", as libcurl reports every such failure as a handshake failure.
 */
export class TlsError extends TransportError {
  readonly code = 'TLS';
}

/**
 * The response exceeded a size limit: `part` is `body` (after content
 * decoding, so a decompression bomb stops at the cap) or `headers` (the
 * status line and every header line, line ends included, over
 * `maxHeaderBytes`; also a header line or HTTP/2 header block over what
 * libcurl or nghttp2 accept at all, which is always over the cap).
 */
export class ResponseTooLargeError extends TransportError {
  readonly code = 'RESPONSE_TOO_LARGE';
  readonly part: 'body' | 'headers';
  /** The limit in bytes that was exceeded. */
  readonly limit: number;

  constructor(message: string, details: { part: 'body' | 'headers'; limit: number; cause?: unknown }) {
    super(message, { cause: details.cause });
    this.part = details.part;
    this.limit = details.limit;
  }
}

/** The established connection broke: reset by the peer, closed mid-body, or nothing received. */
export class NetworkError extends TransportError {
  readonly code = 'NETWORK';
}

/**
 * The server spoke invalid HTTP (including a status code below 100), or the
 * body does not decode: a content coding neither transport asks for
 * (anything but gzip and deflate), corrupt or truncated compressed data, or
 * data after the end of the compressed stream. Never a partial body.
 */
export class ProtocolError extends TransportError {
  readonly code = 'PROTOCOL';
}

/**
 * A redirect was not followed: too many hops, a `Location` that is missing
 * or invalid, or a target that breaks a rule (e.g. `http:` without
 * `allowHttp`). A redirect is only followed when `maxRedirects > 0`.
 */
export class RedirectError extends TransportError {
  readonly code = 'REDIRECT';
}

/**
 * The request was cancelled through its `AbortSignal`. Defined beside the
 * root of the error set (every layer rejects with it, not only the
 * transport); re-exported here for the transport's own modules.
 */
export { AbortError } from '../errors.js';

/** Too many requests are already waiting for a connection (`maxQueuedRequests`). */
export class QueueFullError extends TransportError {
  readonly code = 'QUEUE_FULL';
}

/** The transport was closed with `close()`; no new requests are accepted. */
export class TransportClosedError extends TransportError {
  readonly code = 'TRANSPORT_CLOSED';
}

/** The transport was destroyed with `destroy()`; in-flight requests were cancelled. */
export class TransportDestroyedError extends TransportError {
  readonly code = 'TRANSPORT_DESTROYED';
}

/** A failure inside the transport that is not the peer's fault (e.g. out of memory). */
export class InternalTransportError extends TransportError {
  readonly code = 'INTERNAL';
}

/** The transport that was asked for cannot run here (e.g. `ATRESOLVE_TRANSPORT=curl` without the native addon). */
export class TransportUnavailableError extends TransportError {
  readonly code = 'TRANSPORT_UNAVAILABLE';
}
