/**
 * `atresolve/telemetry`: glibc malloc figures (`memory`), the growth
 * monitor (`MemoryMonitor`), Prometheus metrics (`registerMetrics`,
 * prom-client as an optional peer) and the diagnostics channels. See
 * docs/telemetry.md.
 *
 * This module only re-exports; every name is documented where it is defined.
 */
export {
  memory,
  MemoryProbe,
  type MallocFigures,
  type MemoryProbeOptions,
  type MemorySnapshot,
  type ProcessMemoryFigures,
  type TrimFigures,
  type TrimResult,
} from './memory.js';
export {
  MemoryMonitor,
  type GrowthBasis,
  type GrowthEvent,
  type MemoryMonitorEvents,
  type MemoryMonitorOptions,
  type MemoryMonitorStats,
  type MemorySampleInput,
  type RemedyDecision,
  type RemedyErrorEvent,
  type RemedyEvent,
} from './monitor.js';
export {
  registerMetrics,
  snapshotMetrics,
  metricNames,
  histogramMetricNames,
  METRIC_PREFIX,
  type GrowthFigures,
  type MemoryFigures,
  type MemorySnapshotSource,
  type MetricsRegistry,
  type MetricsSnapshot,
  type MetricsSource,
  type MetricsSources,
  type MonitorStatsSource,
  type RegisterMetricsOptions,
  type SnapshotMetricsOptions,
  type SnapshotSources,
  type TransportStatsSource,
} from './metrics.js';
export { TRACE_CHANNELS, type DnsTraceEvent, type FetchTraceEvent } from './trace.js';
export { MetricsConflictError, MetricsUnavailableError } from './errors.js';
