import { createSecureContext, rootCertificates } from 'node:tls';
import type { OptionSpec } from '../util/options.js';
import { BaseTransport, type DispatchRequest, type DispatchResponse, type PoolStats } from './base.js';
import { readCaFile } from './ca-file.js';
import { ConnectionGate } from './connection-gate.js';
import { TransportClosedError, TransportDestroyedError, type TransportError } from './errors.js';
import { resolveTransportOptions, type ResolvedTransportOptions, type TransportOptions } from './options.js';
import { createConnectCaches, type ConnectSettings } from './undici-connect.js';
import { Job, type JobHost } from './undici-job.js';
import { Generation, PoolEntry, routeOf, type Route } from './undici-pool.js';

/** Options of `UndiciTransport`: every `TransportOptions` field, plus what only undici needs. */
export interface UndiciTransportOptions extends TransportOptions {
  /**
   * Per-origin pools kept at most (an origin here is scheme, host and port,
   * plus its `connectTo` target and connect timeout). Default `1024`: four
   * times the default `maxConnections`. A pool with neither a socket nor a
   * request is dropped at once, so the connection cap is what normally
   * bounds pools; this is the backstop for many origins with slow requests.
   * When it is reached, the least recently used pool is closed gracefully.
   */
  maxOrigins?: number;
}

const undiciOptionSpec = {
  maxOrigins: { kind: 'integer', default: 1024, min: 1, max: 65_536 },
} as const satisfies OptionSpec;

type ResolvedUndiciOptions = ResolvedTransportOptions & { maxOrigins: number };

/**
 * The fallback HTTP transport on undici, for hosts where the native libcurl
 * engine cannot load. It honours every `TransportOptions` field with the same
 * meaning and errors as `CurlTransport`:
 *
 * - One pool of undici `Client`s per origin (HTTP/1.1, no pipelining),
 *   created on demand and dropped when it has neither sockets nor requests.
 * - It gets only admitted exchanges: `BaseTransport`'s admission
 *   (`admission.ts`) keeps at most `maxConnections` of them in flight, at
 *   most `maxConnectionsPerHost` per route, and decides which keep their
 *   connection (`keepAlive`; one-off routes close it, undici's `reset`).
 * - A global cap on sockets across all origins (undici has none): every
 *   socket comes from our connector, which takes a slot from a
 *   `ConnectionGate` first (`maxConnections + maxIdleConnections` slots, at
 *   most `maxIdleConnections` of them idle).
 * - The connector takes the addresses `BaseTransport` resolved, applies
 *   `connectTo`, refuses non-public addresses (`ForbiddenAddressError`)
 *   unless `allowPrivateNetwork`, connects with SNI set to the URL host, and
 *   re-checks the peer address.
 * - Bodies are decoded (gzip, deflate) as they stream, with the native
 *   engine's rules, and the cap applies to decoded bytes.
 * - The status line and headers count toward `maxHeaderBytes` as in the
 *   engine (`meterResponseHeads`).
 *
 * See `docs/undici-transport.md` for the mapping of every option.
 */
export class UndiciTransport extends BaseTransport {
  readonly kind = 'undici' as const;

  readonly #options: ResolvedUndiciOptions;
  readonly #gate: ConnectionGate;
  readonly #settings: ConnectSettings;
  #generation: Generation;
  /** Every pool entry not yet gone: current ones and retired ones still draining. */
  readonly #entries = new Set<PoolEntry>();
  /** Jobs whose callers have not been answered yet. */
  readonly #jobs = new Set<Job>();
  /** Jobs handed to undici that have no socket yet. */
  #pendingStart = 0;
  #destroyed = false;
  #freed = false;
  readonly #counters = { newConnections: 0, reusedConnections: 0, bytesIn: 0 };

  /**
   * @throws InvalidOptionsError for an invalid option, or a `caFile` that is missing, unreadable or not PEM
   * @throws InternalTransportError when `caFile` cannot be opened right now (descriptors exhausted)
   */
  constructor(options?: UndiciTransportOptions) {
    const resolved = resolveTransportOptions<{ maxOrigins: number }>(options, undiciOptionSpec);
    super(resolved);
    this.#options = resolved;
    // Admission keeps maxConnections exchanges in flight; idle keep-alive
    // sockets come on top, so the gate never closes a hot idle socket to
    // make room for a new one.
    this.#gate = new ConnectionGate({ ...resolved, maxConnections: resolved.maxConnections + resolved.maxIdleConnections });
    this.#settings = {
      gate: this.#gate,
      allowPrivateNetwork: resolved.allowPrivateNetwork,
      secureContext: createSecureContext(
        resolved.caFile === undefined ? {} : { ca: [...rootCertificates, readCaFile(resolved.caFile)] },
      ),
      maxHeaderBytes: resolved.maxHeaderBytes,
      maxResponseBytes: resolved.maxResponseBytes,
      onNewConnection: () => {
        this.#counters.newConnections += 1;
      },
    };
    this.#generation = new Generation(createConnectCaches(resolved.maxOrigins));
  }

  protected dispatch(request: DispatchRequest): Promise<DispatchResponse> {
    if (this.#destroyed) return Promise.reject(new TransportDestroyedError('transport was destroyed'));
    if (this.#freed) return Promise.reject(new TransportClosedError('transport is closed'));
    // BaseTransport's admission hands over only what may start now.
    const job = new Job(request, routeOf(request), this.#jobHost);
    if (job.settled) return job.promise;
    this.#jobs.add(job);
    this.#start(job);
    return job.promise;
  }

  protected async clearPool(): Promise<void> {
    const old = this.#generation;
    this.#generation = new Generation(old.caches);
    await this.#retireGeneration(old);
  }

  protected async resetPool(): Promise<void> {
    const old = this.#generation;
    this.#generation = new Generation(createConnectCaches(this.#options.maxOrigins));
    await this.#retireGeneration(old);
  }

  protected async closePool(): Promise<void> {
    // BaseTransport calls this once no request() (nor any redirect hop of
    // one) is in progress, so every pool is idle and no job can arrive.
    const entries = [...this.#entries];
    for (const entry of entries) this.#retire(entry);
    await Promise.all(entries.map((entry) => entry.gone));
    await this.#gate.whenEmpty();
    this.#free();
  }

  protected async destroyPool(): Promise<void> {
    this.#destroyed = true;
    const error = new TransportDestroyedError('transport was destroyed');
    for (const job of [...this.#jobs]) this.#cancel(job, error);
    const entries = [...this.#entries];
    for (const entry of entries) this.#destroyEntry(entry, error);
    this.#gate.cancelWaiters(() => true, error);
    await Promise.all(entries.map((entry) => entry.gone));
    await this.#gate.whenEmpty();
    this.#free();
  }

  protected poolStats(): PoolStats {
    const { tlsSessions } = this.#generation.caches;
    return {
      inFlight: this.#jobs.size,
      queued: this.#pendingStart,
      openConnections: this.#gate.open,
      newConnections: this.#counters.newConnections,
      reusedConnections: this.#counters.reusedConnections,
      bytesIn: this.#counters.bytesIn,
      tlsSessionCacheEntries: tlsSessions.size,
    };
  }

  // ---- jobs ------------------------------------------------------------

  /** Hand a job to undici. */
  #start(job: Job): void {
    const entry = this.#entryFor(job.route);
    entry.active += 1;
    entry.livePending += 1;
    this.#pendingStart += 1;
    job.state = 'dispatched';
    job.entry = entry;
    job.client = entry.dispatch(job.dispatchOptions(), job);
  }

  /** undici is done with the job's request (completed or failed). */
  #release(job: Job): void {
    if (job.released || job.entry === undefined) return;
    job.released = true;
    const entry = job.entry;
    entry.active -= 1;
    this.#dropIfEmpty(entry);
  }

  /** Answer the caller (idempotent). */
  #settle(job: Job, outcome: DispatchResponse | TransportError): void {
    if (job.settled) return;
    const state = job.state;
    // Mark the job answered before any side effect below can re-enter
    // (abandoning a connect makes undici call the handler synchronously).
    job.state = 'done';
    job.finish(outcome);
    this.#jobs.delete(job);
    if (state === 'dispatched') {
      this.#pendingStart -= 1;
      const entry = job.entry;
      if (entry) {
        entry.livePending -= 1;
        // Nobody waits for this pool's connects any more: stop them, so
        // undici fails the abandoned requests now instead of after a connect.
        if (entry.livePending === 0 && outcome instanceof Error) this.#abandonConnects(entry, outcome);
      }
    }
  }

  /** Fail a job from our side: timeout, abort, body cap, destroy. */
  #cancel(job: Job, error: TransportError): void {
    if (job.settled) return;
    const controller = job.controller;
    const started = job.state === 'started';
    this.#settle(job, error);
    job.discardBody();
    if (started && controller && !job.released) {
      controller.abort(error);
      const { entry, client } = job;
      // After the socket close that abort() causes, undici 7 puts the
      // aborted request back in the client's queue and opens a new
      // connection for it (nodejs/undici#5845): a never-used socket to the
      // very host that misbehaved, idle until idleTimeoutMs. Drop the
      // client before that close is processed (a microtask runs first).
      if (entry && client) queueMicrotask(() => entry.discardAborted(client, error));
    }
  }

  #abandonConnects(entry: PoolEntry, error: TransportError): void {
    for (const attempt of [...entry.attempts]) attempt.cancel(error);
    this.#gate.cancelWaiters((owner) => owner === entry, error);
  }

  readonly #jobHost: JobHost = {
    gate: () => this.#gate,
    countReuse: () => {
      this.#counters.reusedConnections += 1;
    },
    countBytes: (n) => {
      this.#counters.bytesIn += n;
    },
    started: (job) => {
      this.#pendingStart -= 1;
      if (job.entry) job.entry.livePending -= 1;
    },
    release: (job) => this.#release(job),
    settle: (job, outcome) => this.#settle(job, outcome),
    cancel: (job, error) => this.#cancel(job, error),
  };

  // ---- pools -----------------------------------------------------------

  #entryFor(route: Route): PoolEntry {
    const generation = this.#generation;
    const existing = generation.pools.get(route.key);
    if (existing) {
      // Keep the map in least-recently-used order.
      generation.pools.delete(route.key);
      generation.pools.set(route.key, existing);
      return existing;
    }
    if (generation.pools.size >= this.#options.maxOrigins) {
      const oldest = generation.pools.values().next().value;
      if (oldest) this.#retire(oldest);
    }
    const entry = new PoolEntry(route, generation, this.#options, this.#settings, (e) => this.#entryChanged(e));
    generation.pools.set(route.key, entry);
    generation.entries.add(entry);
    this.#entries.add(entry);
    return entry;
  }

  #entryChanged(entry: PoolEntry): void {
    if (entry.isGone()) {
      this.#entries.delete(entry);
      entry.generation.entries.delete(entry);
      return;
    }
    this.#dropIfEmpty(entry);
  }

  #dropIfEmpty(entry: PoolEntry): void {
    if (!entry.retired && entry.active === 0 && entry.openSockets === 0 && entry.attempts.size === 0) {
      this.#retire(entry);
    }
  }

  /** Stop giving the pool new requests and close it once its requests are done. */
  #retire(entry: PoolEntry): void {
    if (entry.retired) return;
    entry.retired = true;
    const pools = entry.generation.pools;
    if (pools.get(entry.route.key) === entry) pools.delete(entry.route.key);
    entry.close();
  }

  #destroyEntry(entry: PoolEntry, error: TransportError): void {
    entry.retired = true;
    const pools = entry.generation.pools;
    if (pools.get(entry.route.key) === entry) pools.delete(entry.route.key);
    this.#abandonConnects(entry, error);
    entry.destroy(error);
  }

  async #retireGeneration(generation: Generation): Promise<void> {
    const entries = [...generation.entries];
    for (const entry of entries) this.#retire(entry);
    await Promise.all(entries.map((entry) => entry.gone));
  }

  #free(): void {
    this.#freed = true;
    this.#generation.pools.clear();
    this.#generation.caches.tlsSessions.clear();
  }
}
