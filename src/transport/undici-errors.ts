import {
  AbortError,
  ConnectError,
  DnsError,
  InternalTransportError,
  NetworkError,
  ProtocolError,
  ResponseTooLargeError,
  TimeoutError,
  TlsError,
  TransportClosedError,
  TransportDestroyedError,
  TransportError,
} from './errors.js';

/** Where a failure happened; decides the class of errors whose code alone is ambiguous (e.g. `ECONNRESET`). */
export type FailureStage = 'dns' | 'connect' | 'tls' | 'exchange' | 'decode';

/** What the mapper needs to write a useful message and fill in error details. */
export interface FailureContext {
  stage: FailureStage;
  /** `host:port` (or URL) the failure concerns, for the message. */
  target: string;
  connectTimeoutMs: number;
  totalTimeoutMs: number;
  maxHeaderBytes: number;
  maxResponseBytes: number;
}

const DNS_CODES = new Set([
  'ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME', 'EAI_NODATA', 'EAI_ADDRFAMILY',
  'ENODATA', 'ESERVFAIL', 'ENOTIMP', 'EREFUSED', 'EFORMERR', 'EBADRESP',
]);

/** OpenSSL verification failures as Node reports them in `error.code`. */
const CERT_CODES = new Set([
  'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_CRL', 'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECRYPT_CRL_SIGNATURE', 'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY', 'CERT_SIGNATURE_FAILURE',
  'CRL_SIGNATURE_FAILURE', 'CERT_NOT_YET_VALID', 'CERT_HAS_EXPIRED', 'CRL_NOT_YET_VALID', 'CRL_HAS_EXPIRED',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD', 'ERROR_IN_CERT_NOT_AFTER_FIELD', 'ERROR_IN_CRL_LAST_UPDATE_FIELD',
  'ERROR_IN_CRL_NEXT_UPDATE_FIELD', 'OUT_OF_MEM', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'CERT_CHAIN_TOO_LONG', 'CERT_REVOKED',
  'INVALID_CA', 'PATH_LENGTH_EXCEEDED', 'INVALID_PURPOSE', 'CERT_UNTRUSTED', 'CERT_REJECTED', 'HOSTNAME_MISMATCH',
]);

/** Errors that mean the established connection broke. */
const BROKEN_CONNECTION_CODES = new Set([
  'ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ETIMEDOUT', 'ENETRESET', 'EHOSTUNREACH', 'ENETUNREACH',
  'UND_ERR_SOCKET', 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH', 'UND_ERR_INFO', 'ERR_STREAM_PREMATURE_CLOSE',
]);

/**
 * Map any failure from undici, Node's `net`/`tls`/`dns`/`zlib` or our own
 * code to the transport's closed error set. This is the only place such a
 * mapping is made; errors that already are `TransportError`s pass through.
 * The original error is always kept as `cause`.
 */
export function toTransportError(error: unknown, context: FailureContext): TransportError | AbortError {
  if (error instanceof TransportError || error instanceof AbortError) return error;
  const code = errorCode(error);
  const detail = error instanceof Error ? error.message : String(error);
  const where = context.target;
  const options = { cause: error };

  if (code === 'UND_ERR_CONNECT_TIMEOUT') {
    return new TimeoutError(`connecting to ${where} timed out after ${context.connectTimeoutMs} ms`, {
      phase: 'connect',
      timeoutMs: context.connectTimeoutMs,
      cause: error,
    });
  }
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return new TimeoutError(`request to ${where} timed out after ${context.totalTimeoutMs} ms`, {
      phase: 'total',
      timeoutMs: context.totalTimeoutMs,
      cause: error,
    });
  }
  if (code === 'UND_ERR_HEADERS_OVERFLOW') {
    return new ResponseTooLargeError(`response headers from ${where} exceed ${context.maxHeaderBytes} bytes`, {
      part: 'headers',
      limit: context.maxHeaderBytes,
      cause: error,
    });
  }
  if (code === 'UND_ERR_RES_EXCEEDED_MAX_SIZE') {
    return new ResponseTooLargeError(`response body from ${where} exceeds ${context.maxResponseBytes} bytes`, {
      part: 'body',
      limit: context.maxResponseBytes,
      cause: error,
    });
  }
  if (code === 'UND_ERR_ABORTED' || code === 'UND_ERR_ABORT' || code === 'ABORT_ERR') {
    return new AbortError(`request to ${where} aborted`, options);
  }
  if (code === 'UND_ERR_DESTROYED') return new TransportDestroyedError('transport was destroyed', options);
  if (code === 'UND_ERR_CLOSED') return new TransportClosedError('transport is closed', options);
  // undici refuses an unsolicited `100 Continue` and an unrequested upgrade by
  // destroying the socket with these messages: the peer broke the protocol,
  // the connection did not just break.
  if (code === 'UND_ERR_SOCKET' && (detail === 'bad response' || detail === 'bad upgrade')) {
    return new ProtocolError(`invalid HTTP response from ${where}: ${detail}`, options);
  }
  // undici's HTTPParserError carries `HPE_*` codes, but not for every llhttp failure.
  if (code?.startsWith('HPE_') || code === 'UND_ERR_NOT_SUPPORTED' || (error instanceof Error && error.name === 'HTTPParserError')) {
    return new ProtocolError(`invalid HTTP response from ${where}: ${detail}`, options);
  }
  if (context.stage === 'decode' || code?.startsWith('Z_') || code?.startsWith('ERR_BROTLI') || code?.startsWith('ERR__ZLIB')) {
    return new ProtocolError(`cannot decode the response body from ${where}: ${detail}`, options);
  }
  if (context.stage === 'dns' || (code !== undefined && DNS_CODES.has(code))) {
    return new DnsError(`cannot resolve ${where}: ${code ?? detail}`, options);
  }
  if (
    code !== undefined &&
    (CERT_CODES.has(code) || code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_') || code === 'EPROTO')
  ) {
    return new TlsError(`TLS with ${where} failed: ${detail}`, options);
  }
  if (context.stage === 'tls') {
    // Anything else during the handshake (a reset, an early close) is a TLS failure, as libcurl reports it.
    return new TlsError(`TLS handshake with ${where} failed: ${code ?? detail}`, options);
  }
  if (context.stage === 'connect') {
    return new ConnectError(`cannot connect to ${where}: ${code ?? detail}`, options);
  }
  if (code === 'UND_ERR_INVALID_ARG' || code === 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH') {
    return new InternalTransportError(`request to ${where} rejected before sending: ${detail}`, options);
  }
  if ((code !== undefined && BROKEN_CONNECTION_CODES.has(code)) || hasSyscall(error)) {
    return new NetworkError(`connection to ${where} broke: ${code ?? detail}`, options);
  }
  return new InternalTransportError(`request to ${where} failed: ${detail}`, options);
}

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

function hasSyscall(error: unknown): boolean {
  return typeof error === 'object' && error !== null && typeof (error as { syscall?: unknown }).syscall === 'string';
}
