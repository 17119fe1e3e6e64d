import type { CacheStats } from '../../src/cache/types.js';
import { RESOLUTION_METHODS, type ResolutionEvent, type ResolverStats } from '../../src/resolve/types.js';
import type { TransportStats } from '../../src/transport/types.js';
import type { MetricsSource, TransportStatsSource } from '../../src/telemetry/metrics.js';

/**
 * Test-local stand-ins for a resolver and a transport: plain objects with
 * fixed, hand-picked figures that implement the structural interfaces
 * `registerMetrics()` reads. They are not resolvers; the integration test
 * with the real resolver lives elsewhere.
 */

export function fixedCacheStats(seed: number): CacheStats {
  return {
    entries: seed + 1,
    bytes: seed + 2,
    maxEntries: seed + 3,
    maxBytes: seed + 4,
    evictions: seed + 5,
    hits: seed + 6,
    staleHits: seed + 7,
    negativeHits: seed + 8,
    misses: seed + 9,
    coalesced: seed + 10,
    refreshes: seed + 11,
    refreshErrors: seed + 12,
  };
}

export function fixedTransportStats(kind: 'curl' | 'undici' = 'curl'): TransportStats {
  return {
    kind,
    requests: 1000,
    ok: 990,
    failed: 10,
    errorsByCode: { TIMEOUT: 3, DNS: 7 },
    admission: { admitted: 12, waiting: 2, shed: 5, expiredWaiting: 1 },
    connectionsByRoute: {
      repeat: { newConnections: 10, reusedConnections: 900 },
      firstSeen: { newConnections: 45, reusedConnections: 0 },
    },
    dns: {
      lookups: 300,
      cacheHits: 200,
      hostsHits: 1,
      queries: 99,
      inFlight: 3,
      abandoned: 1,
      waiting: 0,
      failingDomains: 2,
      cacheEntries: 90,
      failuresByReason: { TIMEOUT: 4, NOT_FOUND: 3 },
    },
    inFlight: 12,
    queued: 2,
    openConnections: 40,
    newConnections: 55,
    reusedConnections: 935,
    recycles: 1,
    resets: 2,
    connectionClears: 3,
    bytesIn: 123_456,
    dnsCacheEntries: 17,
    tlsSessionCacheEntries: null,
  };
}

export function fixedResolverStats(): ResolverStats {
  return {
    resolutions: {
      // Every method counts (a DID method added to the table starts at zero here).
      ...(Object.fromEntries(RESOLUTION_METHODS.map((method) => [method, { ok: 0, not_found: 0, invalid: 0, error: 0 }])) as ResolverStats['resolutions']),
      plc: { ok: 700, not_found: 5, invalid: 1, error: 4 },
      web: { ok: 60, not_found: 2, invalid: 0, error: 3 },
      other: { ok: 0, not_found: 0, invalid: 4, error: 0 },
      handle: { ok: 500, not_found: 20, invalid: 7, error: 9 },
      identity: { ok: 450, not_found: 0, invalid: 2, error: 1 },
    },
    handleConflicts: 3,
    // The DID cache stands for a shared (Redis) store, the handle cache for an in-process one.
    cache: { did: { ...fixedCacheStats(100), redisErrors: 113 }, handle: fixedCacheStats(200) },
    transport: fixedTransportStats('curl'),
  };
}

/** A resolver-shaped object with fixed stats that emits the events a test hands it. */
export class FixedFiguresResolverSource implements MetricsSource {
  figures: ResolverStats = fixedResolverStats();
  readonly listeners = new Set<(event: ResolutionEvent) => void>();
  /** How many times `stats()` was called. */
  statsCalls = 0;

  stats(): ResolverStats {
    this.statsCalls++;
    return structuredClone(this.figures);
  }

  addResolutionListener(listener: (event: ResolutionEvent) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  emit(event: ResolutionEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}

/** A transport-shaped object with fixed stats. */
export class FixedFiguresTransportSource implements TransportStatsSource {
  figures: TransportStats;

  constructor(kind: 'curl' | 'undici' = 'undici') {
    this.figures = fixedTransportStats(kind);
  }

  stats(): TransportStats {
    return structuredClone(this.figures);
  }
}
