import * as promClient from 'prom-client';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { InvalidOptionsError } from '../../src/errors.js';
import { MemoryProbe } from '../../src/telemetry/memory.js';
import { MetricsConflictError } from '../../src/telemetry/errors.js';
import { histogramMetricNames, metricNames, registerMetrics, snapshotMetrics } from '../../src/telemetry/metrics.js';
import { MemoryMonitor, type MemorySampleInput } from '../../src/telemetry/monitor.js';
import { FixedFiguresResolverSource, FixedFiguresTransportSource } from './fixed-sources.js';

/** Sample lines of a Prometheus text exposition: `name{labels}` → value. */
function parse(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

function seriesName(key: string): string {
  const brace = key.indexOf('{');
  return brace < 0 ? key : key.slice(0, brace);
}

/** A real MemoryMonitor on a synthetic, exactly linear series (1 KiB/s over 11 s). */
function growingMonitor(): MemoryMonitor {
  let now = 0;
  let reading: MemorySampleInput = { malloc: { inUse: 0 }, process: { rss: 1 } };
  const monitor = new MemoryMonitor({ intervalMs: 1_000, windowMs: 10_000, growthBudgetBytesPerSecond: 512, clock: () => now, sampler: () => reading });
  for (let s = 0; s <= 10; s++) {
    now = s * 1_000;
    reading = { malloc: { inUse: 1_000_000 + 1_024 * s }, process: { rss: 1 } };
    monitor.sample();
  }
  return monitor;
}

const loader = (process.report.getReport() as unknown as { sharedObjects: string[] }).sharedObjects.find((p) => /\/ld-(linux|musl)[^/]*\.so/.test(p));

describe('registerMetrics', () => {
  it('exposes every documented metric, and only those, in the caller\'s registry', async () => {
    const registry = new Registry();
    const resolver = new FixedFiguresResolverSource();
    resolver.figures.transport.tlsSessionCacheEntries = 9;
    const monitor = growingMonitor();
    registerMetrics(registry, { resolver, monitor });
    resolver.emit({ method: 'plc', outcome: 'ok', cache: 'miss', durationMs: 40 });
    resolver.emit({ method: 'plc', outcome: 'ok', cache: 'miss', durationMs: 120 });
    resolver.emit({ method: 'handle', outcome: 'ok', cache: 'hit', durationMs: 0.2 });
    // A bad duration is skipped, never thrown into the resolver.
    resolver.emit({ method: 'handle', outcome: 'ok', cache: 'hit', durationMs: Number.NaN });

    const text = await registry.metrics();
    const samples = parse(text);
    const seen = new Set([...samples.keys()].map(seriesName));
    for (const name of metricNames) {
      if (histogramMetricNames.includes(name)) {
        for (const suffix of ['_bucket', '_sum', '_count']) expect(seen, `${name}${suffix}`).toContain(`${name}${suffix}`);
      } else {
        expect(seen, name).toContain(name);
      }
    }
    const allowed = new Set(metricNames.flatMap((n) => (histogramMetricNames.includes(n) ? [`${n}_bucket`, `${n}_sum`, `${n}_count`] : [n])));
    for (const name of seen) expect(allowed, name).toContain(name);
    // Nothing leaked into prom-client's global registry.
    expect(await promClient.register.metrics()).not.toContain('atresolve_');

    expect(samples.get('atresolve_resolutions_total{method="plc",outcome="ok"}')).toBe(700);
    expect(samples.get('atresolve_resolutions_total{method="handle",outcome="error"}')).toBe(9);
    expect(samples.get('atresolve_cache_hits_total{cache="did"}')).toBe(106);
    expect(samples.get('atresolve_cache_stale_hits_total{cache="handle"}')).toBe(207);
    expect(samples.get('atresolve_cache_misses_total{cache="did"}')).toBe(109);
    expect(samples.get('atresolve_cache_entries{cache="handle"}')).toBe(201);
    expect(samples.get('atresolve_cache_bytes{cache="did"}')).toBe(102);
    // Only a shared store has a Redis error counter: no made-up zero for the in-process one.
    expect(samples.get('atresolve_cache_redis_errors_total{cache="did"}')).toBe(113);
    expect(samples.has('atresolve_cache_redis_errors_total{cache="handle"}')).toBe(false);
    expect(samples.get('atresolve_transport_requests_total{kind="curl"}')).toBe(1000);
    expect(samples.get('atresolve_transport_errors_total{kind="curl",code="TIMEOUT"}')).toBe(3);
    expect(samples.get('atresolve_transport_in_flight{kind="curl"}')).toBe(12);
    expect(samples.get('atresolve_transport_open_connections{kind="curl"}')).toBe(40);
    expect(samples.get('atresolve_transport_new_connections_total{kind="curl"}')).toBe(55);
    expect(samples.get('atresolve_transport_recycles_total{kind="curl"}')).toBe(1);
    expect(samples.get('atresolve_transport_received_bytes_total{kind="curl"}')).toBe(123_456);
    expect(samples.get('atresolve_transport_dns_cache_entries{kind="curl"}')).toBe(17);
    expect(samples.get('atresolve_transport_tls_session_cache_entries{kind="curl"}')).toBe(9);
    expect(samples.get('atresolve_memory_growth_bytes_per_second{basis="malloc"}')).toBe(1_024);
    expect(samples.get('atresolve_memory_growth_budget_bytes_per_second')).toBe(512);
    expect(samples.get('atresolve_memory_growth_events_total')).toBe(1);
    expect(samples.get('atresolve_memory_remedies_total{result="ok"}')).toBe(0);
    expect(samples.get('atresolve_resolution_duration_seconds_count{method="plc",cache="miss"}')).toBe(2);
    expect(samples.get('atresolve_resolution_duration_seconds_sum{method="plc",cache="miss"}')).toBeCloseTo(0.16, 12);
    expect(samples.get('atresolve_resolution_duration_seconds_bucket{le="0.05",method="plc",cache="miss"}')).toBe(1);
    expect(samples.get('atresolve_resolution_duration_seconds_bucket{le="0.0005",method="handle",cache="hit"}')).toBe(1);
    expect(samples.get('atresolve_resolution_duration_seconds_count{method="handle",cache="hit"}')).toBe(1);
  });

  it('reads one consistent memory snapshot per scrape', async () => {
    const registry = new Registry();
    registerMetrics(registry);
    const samples = parse(await registry.metrics());
    expect(samples.get('atresolve_process_array_buffers_bytes')).toBeGreaterThanOrEqual(0);
    if (samples.get('atresolve_malloc_available') === 1) {
      const inUse = samples.get('atresolve_malloc_in_use_bytes')!;
      expect(inUse).toBeGreaterThan(0);
      expect(inUse).toBeLessThanOrEqual(samples.get('atresolve_malloc_arena_bytes')! + samples.get('atresolve_malloc_mmapped_bytes')!);
    }
    // Without resolver, transport or monitor only memory is registered.
    expect([...samples.keys()].every((k) => /^atresolve_(malloc|process)_/.test(k))).toBe(true);
  });

  it('exports counters as the snapshot\'s values, not as sums of scrapes', async () => {
    const registry = new Registry();
    const resolver = new FixedFiguresResolverSource();
    registerMetrics(registry, { resolver }, { memory: false });
    await registry.metrics();
    resolver.figures.transport.requests = 1_500;
    resolver.figures.resolutions.web.ok = 61;
    const before = resolver.statsCalls;
    const samples = parse(await registry.metrics());
    // One stats() snapshot per scrape, shared by every metric.
    expect(resolver.statsCalls - before).toBe(1);
    expect(samples.get('atresolve_transport_requests_total{kind="curl"}')).toBe(1_500);
    expect(samples.get('atresolve_resolutions_total{method="web",outcome="ok"}')).toBe(61);
  });

  it('takes transport figures from the transport source over the resolver\'s', async () => {
    const registry = new Registry();
    registerMetrics(registry, { resolver: new FixedFiguresResolverSource(), transport: new FixedFiguresTransportSource('undici') }, { memory: false });
    const samples = parse(await registry.metrics());
    expect(samples.get('atresolve_transport_requests_total{kind="undici"}')).toBe(1000);
    expect(samples.has('atresolve_transport_requests_total{kind="curl"}')).toBe(false);
  });

  it('has no malloc samples, never zeros, when malloc figures are unavailable', async () => {
    expect(loader).toBeDefined();
    const registry = new Registry();
    registerMetrics(registry, {}, { probe: new MemoryProbe({ library: loader! }) });
    const samples = parse(await registry.metrics());
    expect(samples.get('atresolve_malloc_available')).toBe(0);
    for (const name of ['in_use', 'arena', 'mmapped', 'free', 'releasable']) expect(samples.has(`atresolve_malloc_${name}_bytes`)).toBe(false);
    expect(samples.has('atresolve_process_array_buffers_bytes')).toBe(true);
  });

  it('has no sample for a transport figure that is not exposed (null), never a zero', async () => {
    const registry = new Registry();
    const transport = new FixedFiguresTransportSource('undici');
    transport.figures.dnsCacheEntries = null;
    registerMetrics(registry, { transport }, { memory: false });
    const text = await registry.metrics();
    expect(text).toContain('# TYPE atresolve_transport_tls_session_cache_entries gauge');
    const keys = [...parse(text).keys()];
    expect(keys.some((k) => k.startsWith('atresolve_transport_tls_session_cache_entries'))).toBe(false);
    expect(keys.some((k) => k.startsWith('atresolve_transport_dns_cache_entries'))).toBe(false);
    expect(keys).toContain('atresolve_transport_in_flight{kind="undici"}');
  });

  it('unregisters its metrics and its listener, idempotently', async () => {
    const registry = new Registry();
    const other = new promClient.Gauge({ name: 'app_other', help: 'not ours', registers: [registry] });
    other.set(1);
    const resolver = new FixedFiguresResolverSource();
    const unregister = registerMetrics(registry, { resolver, monitor: growingMonitor() });
    expect(resolver.listeners.size).toBe(1);
    unregister();
    unregister();
    expect(resolver.listeners.size).toBe(0);
    const text = await registry.metrics();
    expect(text).not.toContain('atresolve_');
    expect(text).toContain('app_other 1');
    // The names are free again.
    registerMetrics(registry, { resolver })();
  });

  it('refuses a second registration on one registry and registers nothing', async () => {
    const registry = new Registry();
    const resolver = new FixedFiguresResolverSource();
    registerMetrics(registry, {}, { memory: true });
    let error: unknown;
    try {
      registerMetrics(registry, { resolver });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(MetricsConflictError);
    expect((error as MetricsConflictError).code).toBe('METRICS_CONFLICT');
    expect((error as MetricsConflictError).names).toContain('atresolve_malloc_in_use_bytes');
    expect(resolver.listeners.size).toBe(0);
    expect(await registry.metrics()).not.toContain('atresolve_resolutions_total');
  });

  it('repeats none of prom-client\'s default process metrics, and sits beside them in one registry', async () => {
    const registry = new Registry();
    promClient.collectDefaultMetrics({ register: registry });
    registerMetrics(registry, { resolver: new FixedFiguresResolverSource() });
    const seen = new Set([...parse(await registry.metrics()).keys()].map(seriesName));
    for (const name of ['process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_heap_size_total_bytes', 'nodejs_external_memory_bytes']) {
      expect(seen).toContain(name);
    }
    for (const dropped of ['rss', 'heap_used', 'heap_total', 'external']) {
      expect(metricNames).not.toContain(`atresolve_process_${dropped}_bytes`);
      expect(seen).not.toContain(`atresolve_process_${dropped}_bytes`);
    }
  });

  it('prefix renames every metric; two prefixes share one registry', async () => {
    const registry = new Registry();
    const relay = new FixedFiguresResolverSource();
    const appview = new FixedFiguresResolverSource();
    appview.figures.resolutions.plc.ok = 5;
    registerMetrics(registry, { resolver: relay }, { prefix: 'relay_' });
    registerMetrics(registry, { resolver: appview }, { prefix: 'appview_', memory: false });
    relay.emit({ method: 'plc', outcome: 'ok', cache: 'miss', durationMs: 40 });
    const samples = parse(await registry.metrics());
    expect(samples.get('relay_resolutions_total{method="plc",outcome="ok"}')).toBe(700);
    expect(samples.get('appview_resolutions_total{method="plc",outcome="ok"}')).toBe(5);
    expect(samples.get('relay_resolution_duration_seconds_count{method="plc",cache="miss"}')).toBe(1);
    expect(samples.has('relay_malloc_available')).toBe(true);
    expect(samples.has('appview_malloc_available')).toBe(false);
    expect([...samples.keys()].some((k) => k.startsWith('atresolve_'))).toBe(false);
  });

  it('labels: two resolvers share the metrics of one registry, one series set each, and leave cleanly', async () => {
    const registry = new Registry();
    const relay = new FixedFiguresResolverSource();
    const appview = new FixedFiguresResolverSource();
    appview.figures.resolutions.plc.ok = 5;
    appview.figures.transport.requests = 77;
    const unregisterRelay = registerMetrics(registry, { resolver: relay }, { labels: { resolver: 'relay' } });
    const unregisterAppview = registerMetrics(registry, { resolver: appview }, { labels: { resolver: 'appview' }, memory: false });
    relay.emit({ method: 'plc', outcome: 'ok', cache: 'miss', durationMs: 40 });
    appview.emit({ method: 'web', outcome: 'ok', cache: 'hit', durationMs: 1 });
    let text = await registry.metrics();
    let samples = parse(text);
    expect(text.match(/^# TYPE atresolve_resolutions_total counter$/gm)).toHaveLength(1);
    expect(samples.get('atresolve_resolutions_total{method="plc",outcome="ok",resolver="relay"}')).toBe(700);
    expect(samples.get('atresolve_resolutions_total{method="plc",outcome="ok",resolver="appview"}')).toBe(5);
    expect(samples.get('atresolve_transport_requests_total{kind="curl",resolver="appview"}')).toBe(77);
    expect(samples.get('atresolve_resolution_duration_seconds_count{method="plc",cache="miss",resolver="relay"}')).toBe(1);
    expect(samples.get('atresolve_resolution_duration_seconds_count{method="web",cache="hit",resolver="appview"}')).toBe(1);
    expect(samples.has('atresolve_malloc_available{resolver="relay"}')).toBe(true);
    expect([...samples.keys()].some((k) => k.startsWith('atresolve_malloc') && k.includes('appview'))).toBe(false);

    unregisterAppview();
    samples = parse(await registry.metrics());
    expect([...samples.keys()].some((k) => k.includes('appview'))).toBe(false);
    expect(samples.get('atresolve_resolutions_total{method="plc",outcome="ok",resolver="relay"}')).toBe(700);
    expect(appview.listeners.size).toBe(0);
    unregisterRelay();
    text = await registry.metrics();
    expect(text).not.toContain('atresolve_');
  });

  it('refuses the same label values twice, other label names, and another owner of a name; registers nothing', async () => {
    const registry = new Registry();
    registerMetrics(registry, { resolver: new FixedFiguresResolverSource() }, { labels: { resolver: 'relay' }, memory: false });
    const second = new FixedFiguresResolverSource();
    for (const labels of [{ resolver: 'relay' }, { service: 'appview' }, {}] as Record<string, string>[]) {
      expect(() => registerMetrics(registry, { resolver: second }, { labels, memory: false }), JSON.stringify(labels)).toThrow(MetricsConflictError);
    }
    expect(() => registerMetrics(registry, { resolver: second }, { labels: { resolver: 'appview' }, memory: false, durationBuckets: [1, 2] })).toThrow(
      /atresolve_resolution_duration_seconds/,
    );
    expect(second.listeners.size).toBe(0);
    const foreign = new Registry();
    new promClient.Gauge({ name: 'atresolve_malloc_available', help: 'not ours', registers: [foreign] });
    expect(() => registerMetrics(foreign, {}, { labels: { resolver: 'a' } })).toThrow(MetricsConflictError);
    expect(await registry.metrics()).not.toContain('resolver="appview"');
  });

  it('validates prefix and labels', () => {
    const registry = new Registry();
    expect(() => registerMetrics(registry, {}, { prefix: '9lives_' })).toThrow(/metrics\.prefix/);
    expect(() => registerMetrics(registry, {}, { prefix: 'a-b_' })).toThrow(/metrics\.prefix/);
    expect(() => registerMetrics(registry, {}, { labels: { 'bad-name': 'x' } })).toThrow(/metrics\.labels\.bad-name/);
    expect(() => registerMetrics(registry, {}, { labels: { __reserved: 'x' } })).toThrow(/metrics\.labels\.__reserved/);
    expect(() => registerMetrics(registry, {}, { labels: { cache: 'x' } })).toThrow(/metrics\.labels\.cache: 'cache' is a label atresolve's metrics already use/);
    expect(() => registerMetrics(registry, {}, { labels: { resolver: 1 } as never })).toThrow(/metrics\.labels\.resolver: expected a string/);
  });

  it('accepts the prom-client module as the client option and validates its inputs', () => {
    const registry = new Registry();
    registerMetrics(registry, {}, { client: promClient })();
    expect(() => registerMetrics(registry, {}, { client: {} })).toThrow(InvalidOptionsError);
    expect(() => registerMetrics({} as never)).toThrow(/metrics\.registry/);
    expect(() => registerMetrics(registry, {}, { durationBuckets: [1, 0.5] })).toThrow(/metrics\.durationBuckets/);
    expect(() => registerMetrics(registry, {}, { probe: {} as never })).toThrow(/metrics\.probe/);
    expect(() => registerMetrics(registry, {}, { memroy: false } as never)).toThrow(/metrics\.memroy: unknown option/);
    expect(() => registerMetrics(registry, { resolver: { stats: () => null } as never })).toThrow(/metrics\.resolver/);
  });
});

describe('snapshotMetrics', () => {
  it('returns the same figures as plain JSON', () => {
    const resolver = new FixedFiguresResolverSource();
    const monitor = growingMonitor();
    const s = snapshotMetrics({ resolver, monitor });
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
    expect(s.resolutions).toEqual(resolver.figures.resolutions);
    expect(s.cache).toEqual(resolver.figures.cache);
    expect(s.transport).toEqual(resolver.figures.transport);
    expect(s.growth).toEqual({
      bytesPerSecond: 1_024,
      basis: 'malloc',
      budgetBytesPerSecond: 512,
      windowComplete: true,
      events: 1,
      remedies: 0,
      remedyErrors: 0,
    });
    expect(s.memory!.rssBytes).toBeGreaterThan(0);
    if (s.memory!.available) expect(s.memory!.mallocInUseBytes).toBeLessThanOrEqual(s.memory!.mallocArenaBytes! + s.memory!.mallocMmappedBytes!);
  });

  it('returns null sections for absent sources and an unavailable reason for malloc', () => {
    const s = snapshotMetrics({}, { probe: new MemoryProbe({ library: 'libatresolve-does-not-exist.so.1' }) });
    expect(s.growth).toBeNull();
    expect(s.resolutions).toBeNull();
    expect(s.cache).toBeNull();
    expect(s.transport).toBeNull();
    expect(s.memory).toMatchObject({ available: false, mallocInUseBytes: null, mallocArenaBytes: null });
    expect(s.memory!.reason).toMatch(/cannot load/);
    expect(snapshotMetrics({}, { memory: false }).memory).toBeNull();
    expect(snapshotMetrics({ transport: new FixedFiguresTransportSource() }).transport!.kind).toBe('undici');
  });
});
