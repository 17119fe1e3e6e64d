import { errors as undiciErrors } from 'undici';
import { describe, expect, it } from 'vitest';
import {
  AbortError,
  ConnectError,
  DnsError,
  ForbiddenAddressError,
  InternalTransportError,
  NetworkError,
  ProtocolError,
  ResponseTooLargeError,
  TimeoutError,
  TlsError,
  TransportDestroyedError,
  type TransportError,
} from '../../src/transport/errors.js';
import { toTransportError, type FailureContext, type FailureStage } from '../../src/transport/undici-errors.js';

const context = (stage: FailureStage): FailureContext => ({
  stage,
  target: 'example.test:443',
  connectTimeoutMs: 5000,
  totalTimeoutMs: 10_000,
  maxHeaderBytes: 16_384,
  maxResponseBytes: 1_048_576,
});

function withCode(code: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(`failure ${code}`), { code, ...extra });
}

type Case = [string, unknown, FailureStage, abstract new (...args: never[]) => TransportError];

const cases: Case[] = [
  ['ENOTFOUND', withCode('ENOTFOUND', { syscall: 'getaddrinfo' }), 'dns', DnsError],
  ['EAI_AGAIN', withCode('EAI_AGAIN', { syscall: 'getaddrinfo' }), 'dns', DnsError],
  ['any failure while resolving', new Error('resolver exploded'), 'dns', DnsError],
  ['ECONNREFUSED', withCode('ECONNREFUSED', { syscall: 'connect' }), 'connect', ConnectError],
  ['EHOSTUNREACH while connecting', withCode('EHOSTUNREACH', { syscall: 'connect' }), 'connect', ConnectError],
  ['ENETUNREACH while connecting', withCode('ENETUNREACH', { syscall: 'connect' }), 'connect', ConnectError],
  ['reset during the handshake', withCode('ECONNRESET', { syscall: 'read' }), 'tls', TlsError],
  ['untrusted chain', withCode('SELF_SIGNED_CERT_IN_CHAIN'), 'tls', TlsError],
  ['unknown issuer', withCode('UNABLE_TO_VERIFY_LEAF_SIGNATURE'), 'tls', TlsError],
  ['expired certificate', withCode('CERT_HAS_EXPIRED'), 'tls', TlsError],
  ['name mismatch', withCode('ERR_TLS_CERT_ALTNAME_INVALID'), 'tls', TlsError],
  ['OpenSSL alert', withCode('ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION'), 'tls', TlsError],
  ['EPROTO', withCode('EPROTO'), 'connect', TlsError],
  ['undici connect timeout', new undiciErrors.ConnectTimeoutError(), 'connect', TimeoutError],
  ['undici headers timeout', new undiciErrors.HeadersTimeoutError(), 'exchange', TimeoutError],
  ['undici body timeout', new undiciErrors.BodyTimeoutError(), 'exchange', TimeoutError],
  ['undici headers overflow', new undiciErrors.HeadersOverflowError(), 'exchange', ResponseTooLargeError],
  ['undici max size', new undiciErrors.ResponseExceededMaxSizeError(), 'exchange', ResponseTooLargeError],
  ['peer closed (UND_ERR_SOCKET)', new undiciErrors.SocketError('other side closed'), 'exchange', NetworkError],
  ['premature end of body', new undiciErrors.ResponseContentLengthMismatchError(), 'exchange', NetworkError],
  ['ECONNRESET mid-exchange', withCode('ECONNRESET', { syscall: 'read' }), 'exchange', NetworkError],
  ['EPIPE', withCode('EPIPE', { syscall: 'write' }), 'exchange', NetworkError],
  ['HTTP parse error', withCode('HPE_INVALID_HEADER_TOKEN'), 'exchange', ProtocolError],
  ['HTTP parse error without a code', new undiciErrors.HTTPParserError('Invalid status code'), 'exchange', ProtocolError],
  ['zlib data error', withCode('Z_DATA_ERROR', { errno: -3 }), 'decode', ProtocolError],
  ['brotli error', withCode('ERR_BROTLI_DECOMPRESSION_FAILED'), 'exchange', ProtocolError],
  ['undici abort', new undiciErrors.RequestAbortedError(), 'exchange', AbortError],
  ['client destroyed', new undiciErrors.ClientDestroyedError(), 'exchange', TransportDestroyedError],
  ['invalid request argument', new undiciErrors.InvalidArgumentError('invalid header'), 'exchange', InternalTransportError],
  ['something unknown', new Error('mystery'), 'exchange', InternalTransportError],
  ['a thrown string', 'just a string', 'exchange', InternalTransportError],
];

describe('toTransportError', () => {
  it.each(cases)('maps %s', (_name, error, stage, expected) => {
    const mapped = toTransportError(error, context(stage));
    expect(mapped).toBeInstanceOf(expected);
    expect(mapped.cause).toBe(error);
    if (!(mapped instanceof TransportDestroyedError)) expect(mapped.message).toContain('example.test:443');
  });

  it('fills in the phase and limits', () => {
    const connect = toTransportError(new undiciErrors.ConnectTimeoutError(), context('connect')) as TimeoutError;
    expect([connect.phase, connect.timeoutMs]).toEqual(['connect', 5000]);
    const total = toTransportError(new undiciErrors.HeadersTimeoutError(), context('exchange')) as TimeoutError;
    expect([total.phase, total.timeoutMs]).toEqual(['total', 10_000]);
    const headers = toTransportError(new undiciErrors.HeadersOverflowError(), context('exchange')) as ResponseTooLargeError;
    expect([headers.part, headers.limit]).toEqual(['headers', 16_384]);
  });

  it('passes transport errors and aborts through unchanged', () => {
    const original = new ForbiddenAddressError('no', { address: '127.0.0.1', addressClass: 'loopback' });
    expect(toTransportError(original, context('connect'))).toBe(original);
    const abort = new AbortError('stop', { cause: 'shutdown' });
    expect(toTransportError(abort, context('exchange'))).toBe(abort);
  });
});
