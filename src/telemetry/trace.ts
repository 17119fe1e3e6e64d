import { channel } from 'node:diagnostics_channel';

/**
 * Trace events for tools that explain one resolution (`atresolve resolve
 * --verbose`) or log every exchange. They are `node:diagnostics_channel`
 * channels: publishing costs nothing while nobody subscribes, and
 * subscribers see every transport and resolver in the process.
 *
 * ```ts
 * import { subscribe } from 'node:diagnostics_channel';
 * subscribe('atresolve:fetch', (event) => console.log(event));
 * ```
 */

/** Channel names, stable. */
export const TRACE_CHANNELS = {
  fetch: 'atresolve:fetch',
  dns: 'atresolve:dns',
} as const;

/** One HTTP hop as a transport finished it (published on `atresolve:fetch`). */
export interface FetchTraceEvent {
  /** Which transport ran it. */
  transport: 'curl' | 'undici';
  method: string;
  url: string;
  /** HTTP status, or `undefined` when the hop failed. */
  status: number | undefined;
  /** The error's `code` when the hop failed. */
  errorCode: string | undefined;
  /** The error's message when the hop failed. */
  errorMessage: string | undefined;
  /** Whether the hop ran on a pooled connection. */
  reusedConnection: boolean | undefined;
  /** Milliseconds from the hop's start: connect, TLS, first byte, total (0 when not reached or reused). */
  connectMs: number;
  tlsMs: number;
  firstByteMs: number;
  totalMs: number;
  /** Body bytes after decoding. */
  bytes: number;
}

/** One DNS lookup as the resolver finished it (published on `atresolve:dns`). */
export interface DnsTraceEvent {
  hostname: string;
  /** Record type asked: `A`, `AAAA`, `TXT`, or `ADDR` for an address lookup (A and AAAA together). */
  type: 'A' | 'AAAA' | 'TXT' | 'ADDR';
  /** Where the answer came from. */
  source: 'cache' | 'hosts' | 'dns' | 'literal';
  /** Addresses (or TXT strings) answered; empty when it failed. */
  answers: string[];
  /** Seconds the answer may be cached, when known. */
  ttlSeconds: number | undefined;
  /** The `DnsError.reason` when it failed. */
  errorReason: string | undefined;
  /** Milliseconds the lookup took (0 from the cache). */
  ms: number;
}

export const fetchTrace = channel(TRACE_CHANNELS.fetch);
export const dnsTrace = channel(TRACE_CHANNELS.dns);
