import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryMonitor } from '../../src/telemetry/monitor.js';
import { registerMetrics, snapshotMetrics } from '../../src/telemetry/metrics.js';
import { startWorld, type World } from '../../src/world/world.js';
import { resolverFor } from '../resolve/support.js';

/** Integration: a real resolver resolving against the world, scraped by a real prom-client registry. */
describe('metrics from a real IdResolver', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld({ identities: 100, webPercent: 20 });
  });
  afterAll(() => world.close());

  it('exports resolutions, the duration histogram, caches and transport figures as they happen', async () => {
    await using resolver = resolverFor(world);
    const monitor = new MemoryMonitor({ intervalMs: 1_000 });
    const registry = new Registry();
    const unregister = registerMetrics(registry, { resolver, monitor });

    const ids = [world.plcIdentity(0), world.plcIdentity(1), world.webIdentity(0)];
    for (const id of ids) await resolver.resolveIdentity(id.did);
    await resolver.resolveIdentity(ids[0]!.did); // all from the caches
    world.setFaults({ plc: { serverError: 100 } });
    await expect(resolver.did.resolve(world.plcIdentity(2).did)).rejects.toThrow();
    monitor.sample();

    const text = await registry.metrics();
    const value = (line: string): number => {
      const match = text.split('\n').find((l) => l.startsWith(`${line} `));
      expect(match, line).toBeDefined();
      return Number(match!.split(' ').at(-1));
    };
    expect(value('atresolve_resolutions_total{method="identity",outcome="ok"}')).toBe(4);
    expect(value('atresolve_resolutions_total{method="plc",outcome="ok"}')).toBe(3);
    expect(value('atresolve_resolutions_total{method="web",outcome="ok"}')).toBe(1);
    expect(value('atresolve_resolutions_total{method="plc",outcome="error"}')).toBe(1);
    expect(value('atresolve_cache_hits_total{cache="did"}')).toBe(1);
    expect(value('atresolve_cache_misses_total{cache="did"}')).toBe(4);
    // One histogram observation per finished resolution: 4 identity + 4 plc/web + 1 failed plc + 4 handle.
    const observed = text
      .split('\n')
      .filter((l) => l.startsWith('atresolve_resolution_duration_seconds_count'))
      .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
    expect(observed).toBe(13);
    expect(value('atresolve_transport_requests_total{kind="curl"}')).toBe(resolver.stats().transport.requests);
    expect(value('atresolve_malloc_in_use_bytes')).toBeGreaterThan(0);

    const snapshot = snapshotMetrics({ resolver, monitor });
    expect(snapshot.resolutions?.identity.ok).toBe(4);
    expect(snapshot.transport?.kind).toBe('curl');

    unregister();
    expect(await registry.metrics()).not.toContain('atresolve_resolutions_total');
    monitor.stop();
  });
});
