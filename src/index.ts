/**
 * atresolve — atproto identity resolution with bounded memory.
 *
 * The root is the resolver surface: `IdResolver` and what its calls take,
 * return and throw, plus the names `@atproto/identity` users import at its
 * root. The parts it is built from have subpaths of their own, as atcute
 * does: `atresolve/syntax`, `atresolve/document`, `atresolve/cache`,
 * `atresolve/transport`, `atresolve/telemetry`, `atresolve/redis` and
 * `atresolve/world`.
 *
 * This module only re-exports; every name is documented where it is defined.
 */
export { AtresolveError, AbortError, InvalidOptionsError } from './errors.js';

export { IdResolver, type HandleCheck, type Identity, type ResolveIdentityOptions } from './resolve/id-resolver.js';
export { DidResolver, type CompleteAtprotoData, type DidResolveOptions } from './resolve/did-resolver.js';
export { HandleResolver, type HandleResolveOptions } from './resolve/handle-resolver.js';
export type { ResolveCallOptions } from './resolve/call-options.js';
export type { IdResolverOptions, IdentityCacheOptions, ResolverDnsOptions } from './resolve/options.js';
export type { DnsOptions } from './dns/options.js';
export type { DnsStats } from './dns/resolver.js';
export type { HandleStrategy } from './resolve/handle-strategy.js';
export type { ResolutionEvent, ResolutionMethod, ResolutionOutcome, ResolverStats } from './resolve/types.js';
export type { ResolutionListener } from './resolve/recorder.js';
export { AmbiguousHandleError, DidNotFoundError, HandleNotFoundError, ResolutionFailedError } from './resolve/errors.js';

export type { InvalidDidReason, InvalidHandleReason } from './syntax/errors.js';
export { InvalidDidError, InvalidHandleError, UnsupportedDidMethodError } from './syntax/errors.js';

export type { DidDocument, DidService, DidVerificationMethod, JsonObject, JsonValue } from './document/did-document.js';
export type { AtprotoData } from './document/atproto-data.js';
export { getHandle, getPdsEndpoint, getSigningKey } from './document/atproto-data.js';
export { DidDocumentMismatchError, InvalidDidDocumentError, MissingAtprotoDataError, type AtprotoField } from './document/errors.js';

export type { CacheOutcome, CacheStats, CacheStore, CacheStoreStats, StoredEntry } from './cache/types.js';
export { CacheError, CacheClosedError, CacheUnavailableError, RedisClientMissingError } from './cache/errors.js';

export type { Transport, TransportKind, TransportStats } from './transport/types.js';
export type { TransportOptions } from './transport/options.js';
export {
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
} from './transport/errors.js';
