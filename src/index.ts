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
  TransportUnavailableError,
} from './transport/errors.js';
export { createTransport, FALLBACK_WARNING_CODE, FALLBACK_WARNING_ENV, transportInfo, TRANSPORT_ENV } from './transport/create.js';
export type { TransportInfo } from './transport/create.js';
export type { DnsFailureReason } from './transport/errors.js';
export { TRACE_CHANNELS, type DnsTraceEvent, type FetchTraceEvent } from './telemetry/trace.js';

export type { CacheStore, CacheStoreStats, CacheStats, StoredEntry } from './cache/types.js';
export { MemoryCacheStore } from './cache/memory.js';
export type { MemoryCacheStoreOptions } from './cache/memory.js';
export { ResolutionCache } from './cache/policy.js';
export type {
  CacheLoader,
  CacheLoadResult,
  CacheResolveOptions,
  CacheResolveResult,
  ResolutionCacheOptions,
} from './cache/policy.js';
export { CacheError, CacheClosedError, CacheUnavailableError, RedisClientMissingError } from './cache/errors.js';

export { IdResolver, type Identity, type ResolveIdentityOptions } from './resolve/id-resolver.js';
export { DidResolver, type DidResolveOptions } from './resolve/did-resolver.js';
export { HandleResolver, type HandleResolveOptions } from './resolve/handle-resolver.js';
export type { IdResolverOptions, IdentityCacheOptions, ResolverDnsOptions } from './resolve/options.js';
export type { DnsOptions } from './dns/options.js';
export type { DnsStats } from './dns/resolver.js';
export type { HandleStrategy } from './resolve/handle-strategy.js';
export type { CacheOutcome, ResolutionEvent, ResolutionMethod, ResolutionOutcome, ResolverStats } from './resolve/types.js';
export type { ResolutionListener } from './resolve/recorder.js';
export { AmbiguousHandleError, DidNotFoundError, HandleNotFoundError, ResolutionFailedError } from './resolve/errors.js';

export { memory, MemoryProbe } from './telemetry/memory.js';
export type {
  MallocFigures,
  MemoryProbeOptions,
  MemorySnapshot,
  ProcessMemoryFigures,
  TrimFigures,
  TrimResult,
} from './telemetry/memory.js';
export { MemoryMonitor } from './telemetry/monitor.js';
export type {
  GrowthBasis,
  GrowthEvent,
  MemoryMonitorEvents,
  MemoryMonitorOptions,
  MemoryMonitorStats,
  MemorySampleInput,
  RemedyDecision,
  RemedyErrorEvent,
  RemedyEvent,
} from './telemetry/monitor.js';
export { registerMetrics, snapshotMetrics, metricNames, histogramMetricNames, METRIC_PREFIX } from './telemetry/metrics.js';
export type {
  GrowthFigures,
  MemoryFigures,
  MemorySnapshotSource,
  MetricsRegistry,
  MetricsSnapshot,
  MetricsSource,
  MetricsSources,
  MonitorStatsSource,
  RegisterMetricsOptions,
  SnapshotMetricsOptions,
  SnapshotSources,
  TransportStatsSource,
} from './telemetry/metrics.js';
export { MetricsConflictError, MetricsUnavailableError } from './telemetry/errors.js';

export type { InvalidDidReason, InvalidHandleReason } from './syntax/errors.js';
export { InvalidDidError, InvalidHandleError, UnsupportedDidMethodError } from './syntax/errors.js';
export type { DidResolutionOptions, PlcDidInfo, ResolvableDid, WebDidInfo } from './syntax/did.js';
export {
  DID_MAX_LENGTH,
  SUPPORTED_DID_METHODS,
  isValidDid,
  ensureValidDid,
  getDidMethod,
  isPlcDid,
  parseDidWeb,
  isResolvableDid,
  ensureResolvableDid,
} from './syntax/did.js';
export type { HandleResolutionOptions } from './syntax/handle.js';
export {
  HANDLE_MAX_LENGTH,
  HANDLE_LABEL_MAX_LENGTH,
  INVALID_HANDLE,
  RESERVED_TLDS,
  TEST_TLD,
  isValidHandle,
  ensureValidHandle,
  normalizeHandle,
  isResolvableHandle,
  ensureResolvableHandle,
} from './syntax/handle.js';
export type { AtIdentifier, AtIdentifierResolutionOptions, ResolvableAtIdentifier } from './syntax/at-identifier.js';
export {
  looksLikeDid,
  isValidAtIdentifier,
  parseAtIdentifier,
  ensureResolvableAtIdentifier,
} from './syntax/at-identifier.js';

export { InvalidDidDocumentError, DidDocumentMismatchError } from './document/errors.js';
export type { DidDocument, DidDocumentOptions, DidService, DidVerificationMethod } from './document/did-document.js';
export { parseDidDocument } from './document/did-document.js';
export type { KeyCurve, PublicKey } from './document/did-key.js';
export {
  DID_KEY_PREFIX,
  MULTIKEY_TYPE,
  LEGACY_K256_TYPE,
  LEGACY_P256_TYPE,
  publicKeyFromBytes,
  parseMultikey,
  parseDidKey,
  parseLegacyMultibaseKey,
  parseVerificationMethodKey,
  formatMultikey,
  formatDidKey,
} from './document/did-key.js';
export type { AtprotoData } from './document/atproto-data.js';
export {
  ATPROTO_KEY_FRAGMENT,
  ATPROTO_PDS_FRAGMENT,
  ATPROTO_PDS_TYPE,
  atprotoData,
  getHandle,
  getSigningKey,
  getSigningPublicKey,
  getVerificationKey,
  getPdsEndpoint,
  getServiceEndpoint,
  idMatchesFragment,
  originOnlyUrl,
} from './document/atproto-data.js';

export { CurlTransport } from './transport/curl.js';
export { loadNativeAddon, type NativeAddonLoad } from './transport/native-addon.js';
