/**
 * atresolve — atproto identity resolution with bounded memory.
 *
 * This module only re-exports; every name is documented where it is defined.
 */
export { AtresolveError, InvalidOptionsError } from './errors.js';

export type {
  Transport,
  TransportKind,
  TransportMethod,
  TransportRequestOptions,
  TransportResponse,
  TransportStats,
  TransportTiming,
} from './transport/types.js';
export type { TransportOptions } from './transport/options.js';
export { UndiciTransport, type UndiciTransportOptions } from './transport/undici.js';
export { classifyAddress, type AddressClass } from './transport/address.js';
export {
  TransportError,
  InvalidUrlError,
  ForbiddenAddressError,
  DnsError,
  ConnectError,
  TimeoutError,
  TlsError,
  ResponseTooLargeError,
  NetworkError,
  ProtocolError,
  RedirectError,
  AbortError,
  QueueFullError,
  TransportClosedError,
  TransportDestroyedError,
  InternalTransportError,
} from './transport/errors.js';
