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
export { CacheError, CacheClosedError } from './cache/errors.js';

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
