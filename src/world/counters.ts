import { ENDPOINT_KINDS, FAULT_NAMES, type EndpointKind, type FaultName } from './faults.js';

/**
 * What one kind of endpoint has served. Every request lands in exactly one
 * bucket, so `requests === ok + notFound + rejected + (sum of faults)`.
 */
export interface KindCounters {
  /** Requests (HTTPS) or queries (DNS) received. */
  requests: number;
  /** Answered correctly without a fault. */
  ok: number;
  /** For a name the world does not have: HTTPS 404 / DNS NXDOMAIN (or an empty answer for a non-TXT query of a known name). Never a fault. */
  notFound: number;
  /** Malformed: a method other than GET, an undecodable path, or an undecodable DNS packet. */
  rejected: number;
  /** Faults injected, by fault. */
  faults: Record<FaultName, number>;
}

/** Connections to the HTTPS server. */
export interface ConnectionCounters {
  /** TCP connections accepted. */
  accepted: number;
  /** TLS handshakes completed (full and resumed). */
  handshakes: number;
  /** Of those, handshakes that resumed a TLS session. */
  resumed: number;
  /** Connections open now (a gauge; not cleared by `resetCounters()`). */
  open: number;
}

/** A snapshot of everything the world has counted since start or `resetCounters()`. */
export interface WorldCounters {
  plc: KindCounters;
  web: KindCounters;
  handle: KindCounters;
  dns: KindCounters;
  /** HTTPS requests whose Host is none of the world's (answered 404). */
  unroutable: number;
  connections: ConnectionCounters;
  /** Gauges of the world's memoized state (not cleared by `resetCounters()`). */
  memo: {
    /** DID documents held in the bounded memo. */
    documents: number;
    /** Signing keys derived so far. */
    keys: number;
  };
}

/** Sum of every fault injected into one kind, or into all kinds. */
export function totalFaults(counters: KindCounters | WorldCounters): number {
  if ('faults' in counters) return FAULT_NAMES.reduce((sum, fault) => sum + counters.faults[fault], 0);
  return ENDPOINT_KINDS.reduce((sum, kind) => sum + totalFaults(counters[kind]), 0);
}

/** Zeroed counters for one kind. */
export function emptyKindCounters(): KindCounters {
  const faults = {} as Record<FaultName, number>;
  for (const fault of FAULT_NAMES) faults[fault] = 0;
  return { requests: 0, ok: 0, notFound: 0, rejected: 0, faults };
}

/** The world's mutable counters; `snapshot()` copies them for callers. */
export class CounterSet {
  kinds: Record<EndpointKind, KindCounters> = emptyKinds();
  unroutable = 0;
  accepted = 0;
  handshakes = 0;
  resumed = 0;

  /** Zero every counter (gauges live elsewhere). */
  reset(): void {
    this.kinds = emptyKinds();
    this.unroutable = 0;
    this.accepted = 0;
    this.handshakes = 0;
    this.resumed = 0;
  }

  /** A deep copy with the gauges filled in. */
  snapshot(gauges: { openConnections: number; documents: number; keys: number }): WorldCounters {
    const copy = (kind: EndpointKind): KindCounters => {
      const c = this.kinds[kind];
      return { requests: c.requests, ok: c.ok, notFound: c.notFound, rejected: c.rejected, faults: { ...c.faults } };
    };
    return {
      plc: copy('plc'),
      web: copy('web'),
      handle: copy('handle'),
      dns: copy('dns'),
      unroutable: this.unroutable,
      connections: {
        accepted: this.accepted,
        handshakes: this.handshakes,
        resumed: this.resumed,
        open: gauges.openConnections,
      },
      memo: { documents: gauges.documents, keys: gauges.keys },
    };
  }
}

function emptyKinds(): Record<EndpointKind, KindCounters> {
  return {
    plc: emptyKindCounters(),
    web: emptyKindCounters(),
    handle: emptyKindCounters(),
    dns: emptyKindCounters(),
  };
}
