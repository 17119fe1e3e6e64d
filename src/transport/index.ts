/**
 * `atresolve/transport`: the bounded HTTP transports on their own — the
 * native libcurl one, the undici fallback, `createTransport()` that picks
 * one — for sharing a transport between resolvers or using it directly.
 * See docs/native-engine.md and docs/undici-transport.md.
 *
 * This module only re-exports; every name is documented where it is defined.
 */
export type {
  Transport,
  TransportKind,
  TransportMethod,
  TransportRequestOptions,
  TransportResponse,
  TransportStats,
  TransportTiming,
} from './types.js';
export { transportOptionSpec, resolveTransportOptions, type ResolvedTransportOptions, type TransportOptions } from './options.js';
export { createTransport, FALLBACK_WARNING_CODE, FALLBACK_WARNING_ENV, transportInfo, TRANSPORT_ENV, type TransportInfo } from './create.js';
export { CurlTransport } from './curl.js';
export { UndiciTransport, type UndiciTransportOptions } from './undici.js';
export { loadNativeAddon, type NativeAddonLoad } from './native-addon.js';
export { classifyAddress, type AddressClass } from './address.js';
export {
  AbortError,
  TransportError,
  InvalidUrlError,
  ForbiddenAddressError,
  DnsError,
  type DnsFailureReason,
  ConnectError,
  TimeoutError,
  TlsError,
  ResponseTooLargeError,
  NetworkError,
  ProtocolError,
  RedirectError,
  QueueFullError,
  TransportClosedError,
  TransportDestroyedError,
  InternalTransportError,
  TransportUnavailableError,
} from './errors.js';
