import { createRequire } from 'node:module';
import type * as PromClient from 'prom-client';
import type { CacheStats } from '../cache/types.js';
import { InvalidOptionsError } from '../errors.js';
import type { ResolutionEvent, ResolverStats } from '../resolve/types.js';
import type { TransportStats } from '../transport/types.js';
import { resolveOptions, type OptionSpec } from '../util/options.js';
import { MetricsConflictError, MetricsUnavailableError } from './errors.js';
import { memory, type MemorySnapshot } from './memory.js';
import type { GrowthBasis, MemoryMonitorStats } from './monitor.js';

/**
 * Metrics for dashboards. Every figure comes from a per-instance `stats()`
 * snapshot (or `memory.snapshot()`) read at scrape time; nothing is a
 * process-global singleton, and the Prometheus registry is always the
 * caller's. `snapshotMetrics()` returns the same figures as plain JSON for
 * callers without Prometheus. `docs/telemetry.md` explains each metric.
 */

/**
 * What `registerMetrics()` needs from a resolver: its stats snapshot and a
 * per-instance listener for finished resolutions (used for the duration
 * histogram). Any resolver with these two methods fits.
 */
export interface MetricsSource {
  stats(): ResolverStats;
  /** Add a listener called once per finished resolution; returns a function that removes it. */
  addResolutionListener(listener: (event: ResolutionEvent) => void): () => void;
}

/** Anything with a transport stats snapshot, e.g. a `Transport`. */
export interface TransportStatsSource {
  stats(): TransportStats;
}

/** Anything with a monitor stats snapshot, e.g. a `MemoryMonitor`. */
export interface MonitorStatsSource {
  stats(): MemoryMonitorStats;
}

/** Anything with a memory snapshot, e.g. `memory` or a `MemoryProbe`. */
export interface MemorySnapshotSource {
  snapshot(): MemorySnapshot;
}

/**
 * The instances to read. All optional. Transport figures come from
 * `transport` when given, otherwise from `resolver.stats().transport`.
 */
export interface MetricsSources {
  resolver?: MetricsSource;
  monitor?: MonitorStatsSource;
  transport?: TransportStatsSource;
}

/** Sources for `snapshotMetrics()`: the resolver needs only `stats()`. */
export interface SnapshotSources {
  resolver?: Pick<MetricsSource, 'stats'>;
  monitor?: MonitorStatsSource;
  transport?: TransportStatsSource;
}

/**
 * The part of a prom-client `Registry` that `registerMetrics()` uses. A
 * prom-client `Registry` fits; the type is structural so that atresolve's
 * types do not depend on prom-client being installed.
 */
export interface MetricsRegistry {
  registerMetric(metric: object): void;
  getSingleMetric(name: string): unknown;
  removeSingleMetric(name: string): void;
}

/** Options for `registerMetrics()`. */
export interface RegisterMetricsOptions {
  /**
   * The prom-client module to build metrics with. Default: prom-client as
   * resolved from atresolve's own location (an optional peer dependency).
   * Pass it when your bundler or layout hides it, or to make sure the
   * metrics come from the same prom-client copy as your registry.
   */
  client?: unknown;
  /**
   * Register the malloc and process memory gauges, read with
   * `probe.snapshot()` at every scrape (12–200 µs). Default `true`: memory is
   * the figure that matters most for a process that runs for weeks.
   */
  memory?: boolean;
  /** Where memory gauges read from. Default `memory` (glibc through koffi). */
  probe?: MemorySnapshotSource;
  /**
   * Buckets of `atresolve_resolution_duration_seconds`, ascending, seconds.
   * Default `[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
   * 0.5, 1, 2.5, 5, 10]`: cache hits take well under a millisecond, origin
   * fetches tens to hundreds of milliseconds, and 10 s is the transport's
   * default total timeout.
   */
  durationBuckets?: readonly number[];
  /**
   * Prefix of every metric name. Default `atresolve_` (the names
   * `metricNames` lists and `docs/dashboards/atresolve.json` queries). A
   * Prometheus metric name: letters, digits, `_` and `:`, not starting with
   * a digit.
   */
  prefix?: string;
  /**
   * Constant labels added to every series of this registration, e.g.
   * `{ resolver: 'appview' }`. Default `{}`. Registrations on one registry
   * with the same names and label names but different label values share
   * each metric (one series set per registration), so two resolvers can
   * export into one registry. Label names must not be ones atresolve uses
   * (`method`, `outcome`, `cache`, `kind`, `code`, `basis`, `result`, `le`).
   * Memory gauges describe the whole process: pass `memory: false` to all
   * registrations but one.
   */
  labels?: Readonly<Record<string, string>>;
}

/** Options for `snapshotMetrics()`. */
export interface SnapshotMetricsOptions {
  /** Include memory figures (one `probe.snapshot()`). Default `true`. */
  memory?: boolean;
  /** Where memory figures come from. Default `memory`. */
  probe?: MemorySnapshotSource;
}

/** Memory figures in bytes; `malloc*` are `null` when allocator figures are unavailable (see `reason`). */
export interface MemoryFigures {
  available: boolean;
  reason?: string;
  mallocInUseBytes: number | null;
  mallocArenaBytes: number | null;
  mallocMmappedBytes: number | null;
  mallocFreeBytes: number | null;
  mallocReleasableBytes: number | null;
  rssBytes: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  externalBytes: number;
  arrayBuffersBytes: number;
}

/** Growth figures from a `MemoryMonitor`. */
export interface GrowthFigures {
  /** Least-squares slope over the monitor's window, bytes per second; `null` before two samples. */
  bytesPerSecond: number | null;
  basis: GrowthBasis | null;
  basisReason?: string;
  budgetBytesPerSecond: number;
  windowComplete: boolean;
  events: number;
  remedies: number;
  remedyErrors: number;
}

/**
 * Every figure the metrics export, as plain JSON. A section is `null` when
 * its source was not given (or memory was turned off).
 */
export interface MetricsSnapshot {
  memory: MemoryFigures | null;
  growth: GrowthFigures | null;
  resolutions: ResolverStats['resolutions'] | null;
  /** Handle lookups where DNS and HTTPS named different DIDs. */
  handleConflicts: number | null;
  cache: { did: CacheStats | null; handle: CacheStats | null } | null;
  transport: TransportStats | null;
}

/** The default prefix of every atresolve metric name (`registerMetrics()`'s `prefix` option). */
export const METRIC_PREFIX = 'atresolve_';

type Labels = Record<string, string>;
type Sample = readonly [labels: Labels, value: number];
type Section = 'memory' | 'growth' | 'resolver' | 'cache' | 'transport';

/** One gauge or counter: where its samples come from in a `MetricsSnapshot`. */
interface ScalarMetric {
  name: string;
  type: 'gauge' | 'counter';
  help: string;
  labelNames: readonly string[];
  section: Section;
  read(snapshot: MetricsSnapshot): Sample[];
}

const NO_LABELS: Labels = {};

function one(value: number | null | undefined): Sample[] {
  return value === null || value === undefined ? [] : [[NO_LABELS, value]];
}

function memoryGauge(name: string, help: string, pick: (m: MemoryFigures) => number | null): ScalarMetric {
  return { name, type: 'gauge', help, labelNames: [], section: 'memory', read: (s) => (s.memory === null ? [] : one(pick(s.memory))) };
}

/** A per-cache metric; a cache whose figure is `undefined` (e.g. `redisErrors` of an in-process store) has no sample. */
function cacheMetric(name: string, type: 'gauge' | 'counter', help: string, pick: (c: CacheStats) => number | undefined): ScalarMetric {
  return {
    name,
    type,
    help,
    labelNames: ['cache'],
    section: 'cache',
    read: (s) => {
      const out: Sample[] = [];
      for (const cache of ['did', 'handle'] as const) {
        const stats = s.cache?.[cache];
        const value = stats ? pick(stats) : undefined;
        if (value !== undefined) out.push([{ cache }, value]);
      }
      return out;
    },
  };
}

function transportMetric(name: string, type: 'gauge' | 'counter', help: string, pick: (t: TransportStats) => number | null): ScalarMetric {
  return {
    name,
    type,
    help,
    labelNames: ['kind'],
    section: 'transport',
    read: (s) => {
      if (s.transport === null) return [];
      const value = pick(s.transport);
      return value === null ? [] : [[{ kind: s.transport.kind }, value]];
    },
  };
}

/** The table every Prometheus metric is built from; `docs/telemetry.md` documents each row. */
const SCALAR_METRICS: readonly ScalarMetric[] = [
  memoryGauge('atresolve_malloc_available', '1 when glibc malloc figures can be read (mallinfo2 through koffi), else 0 and the malloc gauges are absent.', (m) => (m.available ? 1 : 0)),
  memoryGauge('atresolve_malloc_in_use_bytes', 'Bytes in allocated malloc chunks, arenas plus mmapped chunks (mallinfo2 uordblks + hblkhd).', (m) => m.mallocInUseBytes),
  memoryGauge('atresolve_malloc_arena_bytes', 'Bytes malloc arenas obtained from the system, main and per-thread (mallinfo2 arena).', (m) => m.mallocArenaBytes),
  memoryGauge('atresolve_malloc_mmapped_bytes', 'Bytes in individually mmapped malloc chunks (mallinfo2 hblkhd).', (m) => m.mallocMmappedBytes),
  memoryGauge('atresolve_malloc_free_bytes', 'Free bytes held inside malloc arenas (mallinfo2 fordblks).', (m) => m.mallocFreeBytes),
  memoryGauge('atresolve_malloc_releasable_bytes', 'Top chunk of the main arena, returnable by malloc_trim (mallinfo2 keepcost).', (m) => m.mallocReleasableBytes),
  // RSS, V8 heap and external memory are prom-client's default metrics
  // (process_resident_memory_bytes, nodejs_heap_size_*_bytes,
  // nodejs_external_memory_bytes: collectDefaultMetrics()), so they are not
  // repeated here. Array buffers have no default metric.
  memoryGauge('atresolve_process_array_buffers_bytes', 'Backing stores of ArrayBuffers and Buffers (malloc memory).', (m) => m.arrayBuffersBytes),

  {
    name: 'atresolve_memory_growth_bytes_per_second',
    type: 'gauge',
    help: 'Least-squares slope of memory over the MemoryMonitor window; basis is malloc (in-use bytes) or rss when malloc figures are unavailable.',
    labelNames: ['basis'],
    section: 'growth',
    read: (s) => (s.growth?.bytesPerSecond == null || s.growth.basis === null ? [] : [[{ basis: s.growth.basis }, s.growth.bytesPerSecond]]),
  },
  {
    name: 'atresolve_memory_growth_budget_bytes_per_second',
    type: 'gauge',
    help: 'The MemoryMonitor growth budget; a slope above it over a whole window fires a growth event.',
    labelNames: [],
    section: 'growth',
    read: (s) => one(s.growth?.budgetBytesPerSecond),
  },
  {
    name: 'atresolve_memory_growth_events_total',
    type: 'counter',
    help: 'Growth events fired by the MemoryMonitor.',
    labelNames: [],
    section: 'growth',
    read: (s) => one(s.growth?.events),
  },
  {
    name: 'atresolve_memory_remedies_total',
    type: 'counter',
    help: 'Runs of the MemoryMonitor remedy hook by result (ok, error).',
    labelNames: ['result'],
    section: 'growth',
    read: (s) =>
      s.growth === null
        ? []
        : [
            [{ result: 'ok' }, s.growth.remedies],
            [{ result: 'error' }, s.growth.remedyErrors],
          ],
  },

  {
    name: 'atresolve_resolutions_total',
    type: 'counter',
    help: 'Finished resolutions by method (plc, web, handle, identity) and outcome (ok, not_found, invalid, error).',
    labelNames: ['method', 'outcome'],
    section: 'resolver',
    read: (s) => {
      const out: Sample[] = [];
      if (s.resolutions === null) return out;
      for (const [method, byOutcome] of Object.entries(s.resolutions)) {
        for (const [outcome, value] of Object.entries(byOutcome)) out.push([{ method, outcome }, value]);
      }
      return out;
    },
  },

  {
    name: 'atresolve_handle_conflicts_total',
    type: 'counter',
    help: 'Handle lookups where DNS and HTTPS named different DIDs (DNS was used).',
    labelNames: [],
    section: 'resolver',
    read: (s) => one(s.handleConflicts),
  },

  cacheMetric('atresolve_cache_hits_total', 'counter', 'Fresh cache hits.', (c) => c.hits),
  cacheMetric('atresolve_cache_stale_hits_total', 'counter', 'Hits on stale entries, served while refreshing.', (c) => c.staleHits),
  cacheMetric('atresolve_cache_negative_hits_total', 'counter', 'Hits on negative (not found) entries.', (c) => c.negativeHits),
  cacheMetric('atresolve_cache_misses_total', 'counter', 'Lookups that went to the origin.', (c) => c.misses),
  cacheMetric('atresolve_cache_coalesced_total', 'counter', 'Lookups that joined an identical request in flight.', (c) => c.coalesced),
  cacheMetric('atresolve_cache_refreshes_total', 'counter', 'Background refreshes started.', (c) => c.refreshes),
  cacheMetric('atresolve_cache_refresh_errors_total', 'counter', 'Background refreshes that failed.', (c) => c.refreshErrors),
  cacheMetric('atresolve_cache_evictions_total', 'counter', 'Entries dropped to stay within the bounds.', (c) => c.evictions),
  cacheMetric('atresolve_cache_entries', 'gauge', 'Entries held.', (c) => c.entries),
  cacheMetric('atresolve_cache_bytes', 'gauge', 'Approximate bytes held.', (c) => c.bytes),
  cacheMetric('atresolve_cache_max_entries', 'gauge', 'Limit on entries.', (c) => c.maxEntries),
  cacheMetric('atresolve_cache_max_bytes', 'gauge', 'Limit on bytes.', (c) => c.maxBytes),
  cacheMetric(
    'atresolve_cache_redis_errors_total',
    'counter',
    'Operations on the shared Redis tier that failed, timed out or were refused while Redis was unreachable (each fell back to the in-process tier or the origin); absent without a Redis store.',
    (c) => c.redisErrors,
  ),

  transportMetric('atresolve_transport_requests_total', 'counter', 'Requests accepted.', (t) => t.requests),
  transportMetric('atresolve_transport_responses_total', 'counter', 'Requests that produced an HTTP response (any status).', (t) => t.ok),
  {
    name: 'atresolve_transport_errors_total',
    type: 'counter',
    help: 'Requests that rejected, by error code.',
    labelNames: ['kind', 'code'],
    section: 'transport',
    read: (s) => (s.transport === null ? [] : Object.entries(s.transport.errorsByCode).map(([code, value]) => [{ kind: s.transport!.kind, code }, value] as const)),
  },
  transportMetric('atresolve_transport_in_flight', 'gauge', 'Requests submitted and not yet settled, including queued.', (t) => t.inFlight),
  transportMetric('atresolve_transport_queued', 'gauge', 'Requests waiting for a connection.', (t) => t.queued),
  transportMetric('atresolve_transport_open_connections', 'gauge', 'Sockets currently open.', (t) => t.openConnections),
  transportMetric('atresolve_transport_new_connections_total', 'counter', 'Connections established (TCP connect plus TLS handshake).', (t) => t.newConnections),
  transportMetric('atresolve_transport_reused_connections_total', 'counter', 'Exchanges on a pooled connection.', (t) => t.reusedConnections),
  transportMetric('atresolve_transport_recycles_total', 'counter', 'Automatic resets caused by recycleAfterRequests.', (t) => t.recycles),
  transportMetric('atresolve_transport_resets_total', 'counter', 'Explicit reset() calls.', (t) => t.resets),
  transportMetric('atresolve_transport_connection_clears_total', 'counter', 'clearConnections() calls.', (t) => t.connectionClears),
  transportMetric('atresolve_transport_received_bytes_total', 'counter', 'Decoded response body bytes received.', (t) => t.bytesIn),
  transportMetric('atresolve_transport_dns_cache_entries', 'gauge', 'Entries in the transport DNS cache (absent when not exposed).', (t) => t.dnsCacheEntries),
  transportMetric('atresolve_transport_tls_session_cache_entries', 'gauge', 'Entries in the TLS session cache (absent when not exposed).', (t) => t.tlsSessionCacheEntries),
  transportMetric('atresolve_transport_admission_waiting', 'gauge', 'Exchanges waiting for admission (a connection slot).', (t) => t.admission.waiting),
  transportMetric('atresolve_transport_shed_total', 'counter', 'Exchanges refused and never started: at once when the queue was full or they could not end before their deadline at the current pace, or when their turn came with less time left than an exchange takes.', (t) => t.admission.shed),
  transportMetric('atresolve_transport_expired_waiting_total', 'counter', 'Exchanges whose deadline passed while they waited for admission (never started).', (t) => t.admission.expiredWaiting),
  {
    name: 'atresolve_transport_route_connections_total',
    type: 'counter',
    help: 'Successful exchanges by route kind (repeat: used within idleTimeoutMs before, keeps its connection; first_seen: closes it) and connection (new, reused).',
    labelNames: ['kind', 'route', 'connection'],
    section: 'transport',
    read: (s) => {
      const t = s.transport;
      if (t === null) return [];
      const out: Sample[] = [];
      for (const [route, counts] of [['repeat', t.connectionsByRoute.repeat], ['first_seen', t.connectionsByRoute.firstSeen]] as const) {
        out.push([{ kind: t.kind, route, connection: 'new' }, counts.newConnections]);
        out.push([{ kind: t.kind, route, connection: 'reused' }, counts.reusedConnections]);
      }
      return out;
    },
  },
  transportMetric('atresolve_dns_lookups_total', 'counter', 'Name lookups (addresses and TXT), answered or not.', (t) => t.dns.lookups),
  transportMetric('atresolve_dns_cache_hits_total', 'counter', 'Lookups answered from the DNS cache (addresses, no such name, or a remembered failure).', (t) => t.dns.cacheHits),
  transportMetric('atresolve_dns_queries_total', 'counter', 'Lookups sent to the DNS servers.', (t) => t.dns.queries),
  transportMetric('atresolve_dns_in_flight', 'gauge', 'Lookups the DNS servers have not finished, abandoned ones included.', (t) => t.dns.inFlight),
  transportMetric('atresolve_dns_abandoned', 'gauge', 'Lookups at the DNS servers nobody waits for any more.', (t) => t.dns.abandoned),
  transportMetric('atresolve_dns_waiting', 'gauge', 'Lookups waiting behind a failing domain.', (t) => t.dns.waiting),
  transportMetric('atresolve_dns_failing_domains', 'gauge', 'Domains whose last lookup timed out or got SERVFAIL.', (t) => t.dns.failingDomains),
  {
    name: 'atresolve_dns_failures_total',
    type: 'counter',
    help: 'Failed lookups by reason (NOT_FOUND, NO_DATA, SERVER_FAILURE, TIMEOUT, BAD_RESPONSE, OVERLOADED, UNKNOWN).',
    labelNames: ['kind', 'reason'],
    section: 'transport',
    read: (s) => {
      const t = s.transport;
      if (t === null) return [];
      return Object.entries(t.dns.failuresByReason).map(([reason, value]): Sample => [{ kind: t.kind, reason }, value]);
    },
  },
];

const DURATION_METRIC = 'atresolve_resolution_duration_seconds';
const DURATION_HELP = 'Wall time of finished resolutions by method and cache outcome (hit, stale, miss, bypass).';
const DEFAULT_DURATION_BUCKETS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * Every metric name `registerMetrics()` can register, in table order. The
 * histogram also exposes `_bucket`, `_sum` and `_count` series.
 */
export const metricNames: readonly string[] = [...SCALAR_METRICS.map((m) => m.name), DURATION_METRIC];

/** Names of histogram metrics among `metricNames` (their series add `_bucket`, `_sum`, `_count`). */
export const histogramMetricNames: readonly string[] = [DURATION_METRIC];

function resolutionsCopy(r: ResolverStats['resolutions']): ResolverStats['resolutions'] {
  const out = {} as Record<string, unknown>;
  for (const [method, byOutcome] of Object.entries(r)) out[method] = { ...byOutcome };
  return out as ResolverStats['resolutions'];
}

function memoryFigures(snapshot: MemorySnapshot): MemoryFigures {
  const m = snapshot.malloc;
  const p = snapshot.process;
  const figures: MemoryFigures = {
    available: snapshot.available,
    mallocInUseBytes: m?.inUse ?? null,
    mallocArenaBytes: m?.arena ?? null,
    mallocMmappedBytes: m?.mmapped ?? null,
    mallocFreeBytes: m?.free ?? null,
    mallocReleasableBytes: m?.releasable ?? null,
    rssBytes: p.rss,
    heapUsedBytes: p.heapUsed,
    heapTotalBytes: p.heapTotal,
    externalBytes: p.external,
    arrayBuffersBytes: p.arrayBuffers,
  };
  if (snapshot.reason !== undefined) figures.reason = snapshot.reason;
  return figures;
}

function growthFigures(stats: MemoryMonitorStats): GrowthFigures {
  const figures: GrowthFigures = {
    bytesPerSecond: stats.growthBytesPerSecond,
    basis: stats.basis,
    budgetBytesPerSecond: stats.budgetBytesPerSecond,
    windowComplete: stats.windowComplete,
    events: stats.growthEvents,
    remedies: stats.remedies,
    remedyErrors: stats.remedyErrors,
  };
  if (stats.basisReason !== undefined) figures.basisReason = stats.basisReason;
  return figures;
}

/**
 * Read every figure now, as plain JSON: memory (one `probe.snapshot()`),
 * growth from the monitor, resolutions and caches from the resolver, and
 * the transport (from `transport`, else from the resolver). Sections whose
 * source is absent are `null`. The duration histogram has no snapshot form:
 * it only exists as observations in a registry.
 */
export function snapshotMetrics(sources: SnapshotSources = {}, options?: SnapshotMetricsOptions): MetricsSnapshot {
  const o = resolveOptions<{ memory: boolean; probe: MemorySnapshotSource | undefined }>(snapshotOptionSpec, options, 'snapshotMetrics');
  checkProbe(o.probe, 'snapshotMetrics.probe');
  return readSnapshot(sources, o.memory, o.probe ?? memory);
}

function readSnapshot(sources: SnapshotSources, withMemory: boolean, probe: MemorySnapshotSource): MetricsSnapshot {
  const resolverStats = sources.resolver?.stats();
  const transportStats = sources.transport?.stats() ?? resolverStats?.transport;
  return {
    memory: withMemory ? memoryFigures(probe.snapshot()) : null,
    growth: sources.monitor ? growthFigures(sources.monitor.stats()) : null,
    resolutions: resolverStats ? resolutionsCopy(resolverStats.resolutions) : null,
    handleConflicts: resolverStats ? resolverStats.handleConflicts : null,
    cache: resolverStats
      ? {
          did: resolverStats.cache.did ? { ...resolverStats.cache.did } : null,
          handle: resolverStats.cache.handle ? { ...resolverStats.cache.handle } : null,
        }
      : null,
    transport: transportStats ? { ...transportStats, errorsByCode: { ...transportStats.errorsByCode } } : null,
  };
}

const snapshotOptionSpec = {
  memory: { kind: 'boolean', default: true },
  probe: { kind: 'opaque' },
} as const satisfies OptionSpec;

const registerOptionSpec = {
  client: { kind: 'opaque' },
  memory: { kind: 'boolean', default: true },
  probe: { kind: 'opaque' },
  durationBuckets: { kind: 'opaque' },
  prefix: { kind: 'string', default: METRIC_PREFIX },
  labels: { kind: 'string-record' },
} as const satisfies OptionSpec;

interface ResolvedRegisterOptions {
  client: unknown;
  memory: boolean;
  probe: MemorySnapshotSource | undefined;
  durationBuckets: readonly number[] | undefined;
  prefix: string;
  labels: Labels;
}

/** Label names atresolve's own metrics use (plus the histogram's `le`). */
const OWN_LABELS = new Set(['method', 'outcome', 'cache', 'kind', 'code', 'basis', 'result', 'le', 'quantile']);

function checkPrefix(prefix: string): void {
  if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(prefix)) {
    throw new InvalidOptionsError('metrics.prefix', `expected a Prometheus metric name prefix (letters, digits, _ and :, not starting with a digit), got '${prefix.slice(0, 40)}'`);
  }
}

function checkLabels(labels: Labels): void {
  const names = Object.keys(labels);
  if (names.length > 16) throw new InvalidOptionsError('metrics.labels', `at most 16 labels, got ${names.length}`);
  for (const name of names) {
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name) || name.startsWith('__')) {
      throw new InvalidOptionsError(`metrics.labels.${name.slice(0, 40)}`, 'expected a Prometheus label name (letters, digits and _, not starting with a digit or __)');
    }
    if (OWN_LABELS.has(name)) throw new InvalidOptionsError(`metrics.labels.${name}`, `'${name}' is a label atresolve's metrics already use`);
  }
}

function checkProbe(probe: unknown, name: string): void {
  if (probe !== undefined && (typeof probe !== 'object' || probe === null || typeof (probe as MemorySnapshotSource).snapshot !== 'function')) {
    throw new InvalidOptionsError(name, 'expected an object with a snapshot() method');
  }
}

function checkBuckets(buckets: unknown): readonly number[] {
  if (buckets === undefined) return DEFAULT_DURATION_BUCKETS;
  if (
    !Array.isArray(buckets) ||
    buckets.length === 0 ||
    !buckets.every((b, i) => typeof b === 'number' && Number.isFinite(b) && b > 0 && (i === 0 || b > (buckets[i - 1] as number)))
  ) {
    throw new InvalidOptionsError('metrics.durationBuckets', 'expected a non-empty ascending array of positive finite seconds');
  }
  return [...(buckets as number[])];
}

function loadClient(client: unknown): typeof PromClient {
  if (client === undefined) {
    try {
      // prom-client is CommonJS; require() keeps registerMetrics() synchronous.
      return createRequire(import.meta.url)('prom-client') as typeof PromClient;
    } catch (error) {
      throw new MetricsUnavailableError('prom-client is not installed: install it, or pass the module as the client option', { cause: error });
    }
  }
  const c = client as Partial<Record<'Gauge' | 'Counter' | 'Histogram', unknown>> | null;
  if (typeof c !== 'object' || c === null || typeof c.Gauge !== 'function' || typeof c.Counter !== 'function' || typeof c.Histogram !== 'function') {
    throw new InvalidOptionsError('metrics.client', 'expected the prom-client module (with Gauge, Counter and Histogram)');
  }
  return c as typeof PromClient;
}

function checkRegistry(registry: unknown): asserts registry is MetricsRegistry {
  const r = registry as Partial<Record<keyof MetricsRegistry, unknown>> | null;
  if (
    typeof r !== 'object' ||
    r === null ||
    typeof r.registerMetric !== 'function' ||
    typeof r.getSingleMetric !== 'function' ||
    typeof r.removeSingleMetric !== 'function'
  ) {
    throw new InvalidOptionsError('metrics.registry', 'expected a prom-client Registry');
  }
}

/**
 * One metric in one registry, shared by every `registerMetrics()` call
 * that exports it there (each with its own constant label values).
 */
interface SharedMetric {
  metric: object;
  /** The constant label names, sorted and joined: registrations sharing a metric must agree. */
  labelKey: string;
  /** Histogram buckets, which registrations sharing the histogram must agree on. */
  buckets: string | undefined;
  parts: Set<Part>;
}

/** One registration's share of a metric. */
interface Part {
  labels: Labels;
  /** Samples of a gauge or counter at scrape time (labels without the constant ones). */
  read?: () => Sample[];
  /** Histogram label sets this registration observed, to remove on unregister. */
  observed?: Map<string, Labels>;
}

/** atresolve's metrics per registry, so registrations with different labels can share names. */
const sharedByRegistry = new WeakMap<object, Map<string, SharedMetric>>();

function sameLabelValues(a: Labels, b: Labels): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

/**
 * Register atresolve's metrics in `registry` (a prom-client `Registry`; no
 * global registry is touched and no default metrics are added: call
 * prom-client's `collectDefaultMetrics({ register: registry })` for RSS,
 * V8 heap and the rest of the process figures).
 *
 * Which metrics appear depends on the sources: memory gauges unless
 * `options.memory` is `false`; growth metrics with `monitor`; resolutions,
 * the duration histogram and cache metrics with `resolver`; transport
 * metrics with `transport` or `resolver`. Gauges and counters are read from
 * `stats()` snapshots at scrape time (one snapshot per source per scrape,
 * shared by all metrics, so figures in one scrape agree); counters export
 * the snapshot's cumulative values. The histogram is fed by a listener added
 * with `resolver.addResolutionListener()`.
 *
 * Names start with `options.prefix` (default `atresolve_`), and every series
 * carries `options.labels`. Several registrations may share one registry:
 * with different prefixes, or with the same names, the same label names
 * and different label values (e.g. `{ resolver: 'relay' }` and
 * `{ resolver: 'appview' }`); they then share each metric.
 *
 * A metric whose figure is unknown has no sample (never a made-up zero):
 * the malloc gauges when malloc figures are unavailable, the DNS and TLS
 * cache gauges when the transport does not expose them, a cache that is off.
 *
 * @returns a function that removes the listener and this registration's
 *   series (a metric no other registration shares is removed); idempotent.
 * @throws MetricsUnavailableError when prom-client cannot be loaded and no `client` is given
 * @throws MetricsConflictError when a name is taken by a metric that is not atresolve's, by one with
 *   other label names or buckets, or by a registration with the same label values (nothing is registered)
 * @throws InvalidOptionsError on a bad registry or option
 */
export function registerMetrics(registry: MetricsRegistry, sources: MetricsSources = {}, options?: RegisterMetricsOptions): () => void {
  checkRegistry(registry);
  const o = resolveOptions<ResolvedRegisterOptions>(registerOptionSpec, options, 'metrics');
  checkProbe(o.probe, 'metrics.probe');
  checkPrefix(o.prefix);
  checkLabels(o.labels);
  const buckets = checkBuckets(o.durationBuckets);
  const client = loadClient(o.client);
  const probe = o.probe ?? memory;
  const resolver = sources.resolver;
  if (resolver !== undefined && (typeof resolver.stats !== 'function' || typeof resolver.addResolutionListener !== 'function')) {
    throw new InvalidOptionsError('metrics.resolver', 'expected stats() and addResolutionListener()');
  }

  const sections = new Set<Section>();
  if (o.memory) sections.add('memory');
  if (sources.monitor) sections.add('growth');
  if (resolver) sections.add('resolver').add('cache');
  if (sources.transport || resolver) sections.add('transport');
  const scalars = SCALAR_METRICS.filter((m) => sections.has(m.section));
  const rename = (name: string): string => o.prefix + name.slice(METRIC_PREFIX.length);
  const constNames = Object.keys(o.labels).sort();
  const labelKey = constNames.join(',');
  const bucketKey = buckets.join(',');

  let shared = sharedByRegistry.get(registry);
  if (shared === undefined) {
    shared = new Map();
    sharedByRegistry.set(registry, shared);
  }
  const names = [...scalars.map((m) => rename(m.name)), ...(resolver ? [rename(DURATION_METRIC)] : [])];
  const taken = names.filter((name) => {
    const existing = registry.getSingleMetric(name);
    if (existing === undefined) return false;
    const ours = shared.get(name);
    if (ours === undefined || ours.metric !== existing || ours.labelKey !== labelKey) return true;
    if (name === rename(DURATION_METRIC) && ours.buckets !== bucketKey) return true;
    return [...ours.parts].some((part) => sameLabelValues(part.labels, o.labels));
  });
  if (taken.length > 0) throw new MetricsConflictError(taken);

  // One snapshot per scrape: prom-client runs every metric's collect() in
  // the same synchronous pass, so a snapshot dropped at the next microtask
  // is shared by all of them and never reused by a later scrape.
  let current: MetricsSnapshot | undefined;
  const snapshot = (): MetricsSnapshot => {
    if (current === undefined) {
      current = readSnapshot(sources, o.memory, probe);
      queueMicrotask(() => {
        current = undefined;
      });
    }
    return current;
  };

  const joined: Array<{ name: string; entry: SharedMetric; part: Part }> = [];
  let removeListener: (() => void) | undefined;
  const unregister = (): void => {
    removeListener?.();
    removeListener = undefined;
    for (const { name, entry, part } of joined) {
      entry.parts.delete(part);
      for (const labels of part.observed?.values() ?? []) (entry.metric as PromClient.Histogram).remove(labels);
      if (entry.parts.size > 0) continue;
      if (registry.getSingleMetric(name) === entry.metric) registry.removeSingleMetric(name);
      if (shared.get(name) === entry) shared.delete(name);
    }
    joined.length = 0;
  };

  /** The shared metric `name`, created (not yet registered) by `create` when this is its first registration. */
  const metricFor = (name: string, withBuckets: boolean, create: (entry: SharedMetric) => object): { entry: SharedMetric; fresh: boolean } => {
    const existing = shared.get(name);
    if (existing !== undefined && registry.getSingleMetric(name) === existing.metric) return { entry: existing, fresh: false };
    const entry: SharedMetric = { metric: {}, labelKey, buckets: withBuckets ? bucketKey : undefined, parts: new Set() };
    entry.metric = create(entry);
    return { entry, fresh: true };
  };
  const fresh: Array<{ name: string; entry: SharedMetric }> = [];

  try {
    for (const def of scalars) {
      const name = rename(def.name);
      const labelNames = [...def.labelNames, ...constNames];
      const { entry, fresh: isNew } = metricFor(name, false, (self) => {
        // Every part's samples, with its constant labels. reset() leaves a
        // 0 on an unlabelled metric: drop it when the figure is unknown.
        const fill = (metric: PromClient.Gauge | PromClient.Counter, put: (labels: Labels, value: number) => void): void => {
          metric.reset();
          let count = 0;
          for (const part of self.parts) {
            for (const [labels, value] of part.read!()) {
              put({ ...labels, ...part.labels }, value);
              count++;
            }
          }
          if (labelNames.length === 0 && count === 0) metric.remove({});
        };
        const config = { name, help: def.help, labelNames, registers: [] };
        return def.type === 'gauge'
          ? new client.Gauge({ ...config, collect(this: PromClient.Gauge) { fill(this, (l, v) => this.set(l, v)); } })
          : new client.Counter({ ...config, collect(this: PromClient.Counter) { fill(this, (l, v) => this.inc(l, v)); } });
      });
      const part: Part = { labels: o.labels, read: () => def.read(snapshot()) };
      entry.parts.add(part);
      joined.push({ name, entry, part });
      if (isNew) fresh.push({ name, entry });
    }
    if (resolver) {
      const name = rename(DURATION_METRIC);
      const { entry, fresh: isNew } = metricFor(
        name,
        true,
        () => new client.Histogram({ name, help: DURATION_HELP, labelNames: ['method', 'cache', ...constNames], buckets: [...buckets], registers: [] }),
      );
      const histogram = entry.metric as PromClient.Histogram;
      const part: Part = { labels: o.labels, observed: new Map() };
      entry.parts.add(part);
      joined.push({ name, entry, part });
      if (isNew) fresh.push({ name, entry });
      removeListener = resolver.addResolutionListener((event) => {
        // Never throw into the resolver: prom-client rejects a non-finite value.
        if (!Number.isFinite(event.durationMs) || event.durationMs < 0) return;
        const labels = { method: event.method, cache: event.cache, ...o.labels };
        const key = `${event.method}\0${event.cache}`;
        if (!part.observed!.has(key)) part.observed!.set(key, labels);
        histogram.observe(labels, event.durationMs / 1000);
      });
    }
    for (const { name, entry } of fresh) {
      registry.registerMetric(entry.metric);
      shared.set(name, entry);
    }
  } catch (error) {
    unregister();
    throw error;
  }
  return unregister;
}
