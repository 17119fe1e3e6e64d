import { createSecureContext, rootCertificates } from 'node:tls';
import { Client, type Dispatcher } from 'undici';
import { InvalidOptionsError } from '../errors.js';
import type { OptionSpec } from '../util/options.js';
import { BaseTransport, type DispatchRequest, type DispatchResponse, type PoolStats } from './base.js';
import { BodyDecoder } from './body-decoder.js';
import { readCaFile } from './ca-file.js';
import { ConnectionGate, type ConnectionSlot } from './connection-gate.js';
import {
  AbortError,
  ProtocolError,
  QueueFullError,
  ResponseTooLargeError,
  TimeoutError,
  TransportClosedError,
  TransportDestroyedError,
  type TransportError,
} from './errors.js';
import { resolveTransportOptions, type ResolvedTransportOptions, type TransportOptions } from './options.js';
import type { TransportTiming } from './types.js';
import {
  createConnectCaches,
  createConnector,
  type ConnectAttempt,
  type ConnectCaches,
  type ConnectOwner,
  type ConnectRoute,
  type ConnectSettings,
} from './undici-connect.js';
import { toTransportError, type FailureStage } from './undici-errors.js';

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
 * undici subtracts this from a server's `Keep-Alive: timeout=` hint before
 * reusing a connection, so we never send on a socket the server is about to
 * close. `1000` ms: undici's default is 2 s, but `idleTimeoutMs` may be as
 * low as 1 s and a hint of 2 s must still allow reuse.
 */
const KEEP_ALIVE_THRESHOLD_MS = 1_000;

/**
 * The fallback HTTP transport on undici, for hosts where the native libcurl
 * engine cannot load. It honours every `TransportOptions` field with the same
 * meaning and errors as `CurlTransport`:
 *
 * - One pool of undici `Client`s per origin (HTTP/1.1, no pipelining),
 *   created on demand and dropped when it has neither sockets nor requests.
 * - A global cap on sockets across all origins (undici has none): every
 *   socket comes from our connector, which takes a slot from a
 *   `ConnectionGate` first; when all slots are taken it waits and the gate
 *   closes the least recently idle socket elsewhere.
 * - Admission before undici: at most `maxConnections` requests (and
 *   `maxConnectionsPerHost` per origin) are handed to undici at a time; the
 *   rest wait in our queue, where a timeout or abort removes them at once.
 *   With `maxConnections + maxQueuedRequests` requests outstanding, the next
 *   one rejects with `QueueFullError` (the curl engine's rule).
 * - The connector resolves names itself, applies `connectTo`, refuses
 *   non-public addresses (`ForbiddenAddressError`) unless
 *   `allowPrivateNetwork`, connects with SNI set to the URL host, and
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
  /** Admission state per route key; kept only while a route has requests. */
  readonly #routes = new Map<string, Route>();
  /** Routes with waiting jobs and spare per-host capacity, served round-robin. */
  readonly #ready = new Map<Route, true>();
  /** Jobs whose callers have not been answered yet. */
  readonly #jobs = new Set<Job>();
  /** Jobs handed to undici and not yet released by it (includes abandoned ones still connecting). */
  #dispatched = 0;
  #waiting = 0;
  #pendingStart = 0;
  #pumpScheduled = false;
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
    this.#gate = new ConnectionGate(resolved);
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
    const route = this.#routeFor(request);
    const job = new Job(request, route, this.#jobHost);
    if (job.settled) {
      this.#forgetRouteIfIdle(route);
      return job.promise;
    }
    const o = this.#options;
    // The same rule as the curl engine: at most maxConnections running plus
    // maxQueuedRequests waiting, counted over every unanswered hop.
    if (this.#jobs.size >= o.maxConnections + o.maxQueuedRequests) {
      this.#settle(
        job,
        new QueueFullError(
          `too many requests outstanding: maxConnections (${o.maxConnections}) + maxQueuedRequests (${o.maxQueuedRequests})`,
        ),
      );
      return job.promise;
    }
    this.#jobs.add(job);
    if (
      this.#dispatched < o.maxConnections &&
      route.active < o.maxConnectionsPerHost &&
      route.waiting.size === 0 &&
      this.#ready.size === 0
    ) {
      this.#start(job);
    } else {
      route.waiting.push(job);
      job.state = 'waiting';
      this.#waiting += 1;
      if (route.active < o.maxConnectionsPerHost) this.#ready.set(route, true);
      if (this.#dispatched < o.maxConnections) this.#schedulePump();
    }
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
      queued: this.#waiting + this.#pendingStart,
      openConnections: this.#gate.open,
      newConnections: this.#counters.newConnections,
      reusedConnections: this.#counters.reusedConnections,
      bytesIn: this.#counters.bytesIn,
      tlsSessionCacheEntries: tlsSessions.size,
    };
  }

  // ---- admission -------------------------------------------------------

  #routeFor(request: DispatchRequest): Route {
    const { url, connectTo, addresses, connectTimeoutMs } = request;
    // A route is an origin and where its sockets go: the connectTo target,
    // or the preferred resolved address (a DNS change makes a new route).
    const target = connectTo ? `${connectTo.ip}:${connectTo.port}` : (addresses?.[0] ?? '');
    const key = `${url.origin}|${target}|${connectTimeoutMs}`;
    let route = this.#routes.get(key);
    if (!route) {
      route = new Route(key, {
        protocol: url.protocol === 'http:' ? 'http:' : 'https:',
        host: url.hostname.replace(/^\[|\]$/g, ''),
        port: url.port === '' ? (url.protocol === 'http:' ? 80 : 443) : Number(url.port),
        connectTo,
        addresses,
        connectTimeoutMs,
      }, url.origin);
      this.#routes.set(key, route);
    }
    return route;
  }

  #forgetRouteIfIdle(route: Route): void {
    if (route.active === 0 && route.waiting.size === 0 && this.#routes.get(route.key) === route) {
      this.#routes.delete(route.key);
    }
  }

  /** Hand a job to undici. */
  #start(job: Job): void {
    const route = job.route;
    if (job.state === 'waiting') {
      route.waiting.remove(job);
      this.#waiting -= 1;
    }
    const entry = this.#entryFor(route);
    entry.active += 1;
    entry.livePending += 1;
    route.active += 1;
    this.#dispatched += 1;
    this.#pendingStart += 1;
    job.state = 'dispatched';
    job.entry = entry;
    if (route.active >= this.#options.maxConnectionsPerHost) this.#ready.delete(route);
    job.client = entry.dispatch(job.dispatchOptions(), job);
  }

  /** Serve waiting jobs while there is capacity, round-robin over ready routes. */
  #pump(): void {
    this.#pumpScheduled = false;
    while (this.#dispatched < this.#options.maxConnections && this.#ready.size > 0) {
      const route = this.#ready.keys().next().value as Route;
      this.#ready.delete(route);
      const job = route.waiting.first();
      if (!job) continue;
      this.#start(job);
      if (route.waiting.size > 0 && route.active < this.#options.maxConnectionsPerHost) this.#ready.set(route, true);
    }
  }

  #schedulePump(): void {
    if (this.#pumpScheduled || this.#ready.size === 0) return;
    this.#pumpScheduled = true;
    // Never dispatch from inside an undici callback.
    queueMicrotask(() => this.#pump());
  }

  /** undici is done with the job's request (completed or failed): free its admission slot. */
  #release(job: Job): void {
    if (job.released || job.entry === undefined) return;
    job.released = true;
    const entry = job.entry;
    const route = job.route;
    entry.active -= 1;
    route.active -= 1;
    this.#dispatched -= 1;
    if (route.waiting.size > 0) {
      if (route.active < this.#options.maxConnectionsPerHost) this.#ready.set(route, true);
    } else {
      this.#forgetRouteIfIdle(route);
    }
    this.#dropIfEmpty(entry);
    this.#schedulePump();
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
    if (state === 'waiting') {
      job.route.waiting.remove(job);
      this.#waiting -= 1;
      if (job.route.waiting.size === 0) this.#ready.delete(job.route);
      this.#forgetRouteIfIdle(job.route);
    } else if (state === 'new') {
      this.#forgetRouteIfIdle(job.route);
    } else if (state === 'dispatched') {
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
    this.#routes.clear();
    this.#ready.clear();
    this.#generation.pools.clear();
    this.#generation.caches.tlsSessions.clear();
  }
}

/** The pools and caches new requests use; `clearConnections()` and `reset()` start a new one. */
class Generation {
  readonly pools = new Map<string, PoolEntry>();
  /** Every entry created in this generation that is not gone yet. */
  readonly entries = new Set<PoolEntry>();
  readonly caches: ConnectCaches;

  constructor(caches: ConnectCaches) {
    this.caches = caches;
  }
}

/** Admission state of one route (origin + connectTo target + connect timeout). */
class Route {
  readonly key: string;
  readonly connect: ConnectRoute;
  readonly origin: string;
  /** Jobs handed to undici for this route and not yet released. */
  active = 0;
  readonly waiting = new JobQueue();

  constructor(key: string, connect: ConnectRoute, origin: string) {
    this.key = key;
    this.connect = connect;
    this.origin = origin;
  }
}

/**
 * Our pool for one route within a generation: up to `maxConnectionsPerHost`
 * undici `Client`s (one socket each, HTTP/1.1 without pipelining).
 *
 * We pick the client ourselves instead of using undici's `Pool`: a `Pool`
 * only hands a new request to a client after that client's `drain` event,
 * which comes a loop turn after its previous response completed, so a
 * caller that sends its next request as soon as the previous one resolved
 * would always get a second connection. A client whose `stats.size` is 0
 * has nothing queued or running and can take the request at once.
 */
class PoolEntry implements ConnectOwner {
  readonly route: ConnectRoute & { key: string };
  readonly generation: Generation;
  readonly caches: ConnectCaches;
  readonly attempts = new Set<ConnectAttempt>();
  readonly gone: Promise<void>;
  /** Jobs dispatched here and not released by undici. */
  active = 0;
  /** Jobs dispatched here whose callers still wait and that have no socket yet. */
  livePending = 0;
  /** Sockets created for this pool and not yet closed (connecting ones included). */
  openSockets = 0;
  retired = false;
  readonly #origin: string;
  readonly #clients: Client[] = [];
  readonly #clientOptions: Client.Options;
  readonly #maxClients: number;
  /** `false` with `maxIdleConnections: 0`: a finished connection is never given another request. */
  readonly #reuse: boolean;
  #clientsFinished = false;
  #resolveGone!: () => void;
  readonly #changed: (entry: PoolEntry) => void;

  constructor(
    route: Route,
    generation: Generation,
    options: ResolvedUndiciOptions,
    settings: ConnectSettings,
    changed: (entry: PoolEntry) => void,
  ) {
    this.route = { ...route.connect, key: route.key };
    this.generation = generation;
    this.caches = generation.caches;
    this.#origin = route.origin;
    this.#changed = changed;
    this.#maxClients = options.maxConnectionsPerHost;
    this.#reuse = options.maxIdleConnections > 0;
    this.gone = new Promise((resolve) => {
      this.#resolveGone = resolve;
    });
    this.#clientOptions = {
      pipelining: 1,
      connect: createConnector(this, settings),
      // undici closes a socket idle this long; a server's Keep-Alive hint
      // may shorten it but never lengthen it past idleTimeoutMs (undici
      // would otherwise accept hints up to 10 minutes).
      keepAliveTimeout: options.idleTimeoutMs,
      keepAliveMaxTimeout: options.idleTimeoutMs,
      keepAliveTimeoutThreshold: KEEP_ALIVE_THRESHOLD_MS,
      maxHeaderSize: options.maxHeaderBytes,
      // Our own per-request timer covers headers and body (timeoutMs).
      headersTimeout: 0,
      bodyTimeout: 0,
      allowH2: false,
    };
  }

  /** Hand a request to an idle connected client, else an idle unconnected one, else a new one; returns the client. */
  dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): Client {
    let chosen: Client | undefined;
    let unconnected: Client | undefined;
    let leastBusy: Client | undefined;
    let leastSize = Infinity;
    for (const client of this.#clients) {
      const { connected, size } = client.stats;
      if (size === 0 && connected && this.#reuse) {
        chosen = client;
        break;
      }
      if (size === 0 && !connected) unconnected ??= client;
      if (size < leastSize) {
        leastSize = size;
        leastBusy = client;
      }
    }
    chosen ??= unconnected;
    if (!chosen && this.#clients.length < this.#maxClients) {
      chosen = new Client(this.#origin, this.#clientOptions);
      this.#clients.push(chosen);
    }
    // Admission keeps at most maxConnectionsPerHost requests here, so this
    // fallback only queues behind a client still closing an aborted exchange.
    chosen ??= leastBusy as Client;
    chosen.dispatch(options, handler);
    return chosen;
  }

  /**
   * Destroy `client`, whose in-flight request was just aborted, unless
   * another request waits for it (then the reconnect serves that one).
   * The destroyed client leaves the pool; its socket is counted until it
   * has closed, as every socket is.
   */
  discardAborted(client: Client, error: Error): void {
    if (client.destroyed || client.stats.pending > 0) return;
    const index = this.#clients.indexOf(client);
    if (index >= 0) this.#clients.splice(index, 1);
    client.destroy(error).catch(() => {});
  }

  /** Close every client once its requests are done (graceful). */
  close(): void {
    this.#finishClients(this.#clients.map((client) => client.close()));
  }

  /** Destroy every client now; undici fails their requests with `error`. */
  destroy(error: Error): void {
    this.#finishClients(this.#clients.map((client) => client.destroy(error)));
  }

  socketOpened(_slot: ConnectionSlot): void {
    this.openSockets += 1;
  }

  socketClosed(_slot: ConnectionSlot): void {
    this.openSockets -= 1;
    this.#check();
  }

  isGone(): boolean {
    return this.retired && this.#clientsFinished && this.openSockets === 0 && this.attempts.size === 0;
  }

  #finishClients(closing: Promise<void>[]): void {
    // close() after destroy() rejects; either way the client is finished.
    Promise.allSettled(closing).then(() => {
      this.#clientsFinished = true;
      this.#check();
    });
  }

  #check(): void {
    if (this.isGone()) this.#resolveGone();
    this.#changed(this);
  }
}

/** What a job needs from its transport. */
interface JobHost {
  gate(): ConnectionGate;
  countReuse(): void;
  countBytes(n: number): void;
  /** The job got a socket. */
  started(job: Job): void;
  release(job: Job): void;
  settle(job: Job, outcome: DispatchResponse | TransportError): void;
  cancel(job: Job, error: TransportError): void;
}

type JobState = 'new' | 'waiting' | 'dispatched' | 'started' | 'done';

/**
 * One hop of one request: its admission state, its timer and abort
 * listener, and the undici dispatch handler that collects the response.
 */
class Job implements Dispatcher.DispatchHandler {
  readonly request: DispatchRequest;
  readonly route: Route;
  readonly promise: Promise<DispatchResponse>;
  state: JobState = 'new';
  entry: PoolEntry | undefined;
  /** The undici client the job was handed to. */
  client: Client | undefined;
  controller: Dispatcher.DispatchController | undefined;
  /** undici is done with the request. */
  released = false;
  settled = false;
  // Intrusive links for JobQueue.
  prev: Job | undefined;
  next: Job | undefined;

  readonly #host: JobHost;
  readonly #startedAt = performance.now();
  #resolve!: (response: DispatchResponse) => void;
  #reject!: (error: TransportError) => void;
  #timer: NodeJS.Timeout | undefined;
  #onAbort: (() => void) | undefined;
  #decoder: BodyDecoder | undefined;
  #reused = false;
  #connectedAt = 0;
  #secureAt = 0;
  #firstByteAt = 0;
  #status = 0;
  #headers: Record<string, string> = {};

  constructor(request: DispatchRequest, route: Route, host: JobHost) {
    this.request = request;
    this.route = route;
    this.#host = host;
    this.promise = new Promise<DispatchResponse>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    const signal = request.signal;
    if (signal?.aborted) {
      this.finish(new AbortError('request aborted', { cause: signal.reason }));
      return;
    }
    if (signal) {
      this.#onAbort = () => host.cancel(this, new AbortError('request aborted', { cause: signal.reason }));
      signal.addEventListener('abort', this.#onAbort, { once: true });
    }
    this.#timer = setTimeout(() => {
      host.cancel(
        this,
        new TimeoutError(`request to ${request.url.origin} timed out after ${request.totalTimeoutMs} ms`, {
          phase: 'total',
          timeoutMs: request.totalTimeoutMs,
        }),
      );
    }, request.timeoutMs);
  }

  dispatchOptions(): Dispatcher.DispatchOptions {
    const { url, method, headers, body } = this.request;
    return {
      origin: url.origin,
      path: `${url.pathname}${url.search}`,
      method,
      headers,
      body: body ?? null,
    };
  }

  /** Settle the promise and drop listeners; called once, by the transport. */
  finish(outcome: DispatchResponse | TransportError): void {
    if (this.settled) return;
    this.settled = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#onAbort) this.request.signal?.removeEventListener('abort', this.#onAbort);
    if (outcome instanceof Error) this.#reject(outcome);
    else this.#resolve(outcome);
  }

  discardBody(): void {
    this.#decoder?.destroy();
  }

  // ---- undici handler ----------------------------------------------------

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.settled) {
      // Cancelled while waiting for its connection: drop it now.
      controller.abort(new AbortError('request cancelled before it was sent'));
      return;
    }
    this.state = 'started';
    this.#host.started(this);
    const fresh = this.#host.gate().handingOver;
    if (fresh !== undefined && fresh.owner === this.entry) {
      this.#connectedAt = fresh.connectedAt;
      this.#secureAt = fresh.secureAt;
    } else {
      this.#reused = true;
      this.#host.countReuse();
    }
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    if (this.settled) return;
    if (statusCode < 100) {
      // llhttp parses any three digits; undici would fail such a response
      // with an internal assertion. libcurl refuses it as the protocol error it is.
      this.#host.cancel(this, new ProtocolError(`invalid HTTP response from ${this.request.url.origin}: status ${statusCode}`));
      return;
    }
    if (statusCode < 200) return;
    this.#firstByteAt = performance.now();
    this.#status = statusCode;
    const flat: Record<string, string> = {};
    for (const [name, value] of Object.entries(headers)) {
      if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    this.#headers = flat;
    const limit = this.request.maxResponseBytes;
    const encoding = flat['content-encoding'];
    const declared = Number(flat['content-length']);
    const hasBody = this.request.method !== 'HEAD';
    if (hasBody && (encoding === undefined || encoding.trim().toLowerCase() === 'identity') && declared > limit) {
      this.#host.cancel(
        this,
        new ResponseTooLargeError(`response body from ${this.request.url.origin} is ${declared} bytes, over the ${limit} byte limit`, {
          part: 'body',
          limit,
        }),
      );
      return;
    }
    try {
      this.#decoder = new BodyDecoder(hasBody ? encoding : undefined, limit, {
        onBytes: (n) => this.#host.countBytes(n),
        onDone: (body) => this.#done(body),
        onError: (error, stage) => this.#host.cancel(this, this.#mapError(error, stage === 'limit' ? 'exchange' : 'decode')),
        onDrain: () => controller.resume(),
      });
    } catch (error) {
      this.#host.cancel(this, this.#mapError(error, 'decode'));
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.settled || !this.#decoder) return;
    if (!this.#decoder.write(chunk)) controller.pause();
  }

  onResponseEnd(): void {
    this.#host.release(this);
    if (this.settled) return;
    if (!this.#decoder) {
      this.#done(Buffer.alloc(0));
      return;
    }
    this.#decoder.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, error: Error): void {
    this.#host.release(this);
    this.#decoder?.destroy();
    if (!this.settled) this.#host.settle(this, this.#mapError(error, 'exchange'));
  }

  #done(body: Buffer): void {
    if (this.settled) return;
    const now = performance.now();
    const since = (at: number): number => (at === 0 ? 0 : Math.max(0, Math.round(at - this.#startedAt)));
    const timing: TransportTiming = {
      connectMs: this.#reused ? 0 : since(this.#connectedAt),
      tlsMs: this.#reused || this.request.url.protocol !== 'https:' ? 0 : since(this.#secureAt),
      firstByteMs: since(this.#firstByteAt),
      totalMs: since(now),
    };
    this.#host.settle(this, {
      status: this.#status,
      headers: this.#headers,
      body,
      timing,
      reusedConnection: this.#reused,
    });
  }

  #mapError(error: unknown, stage: FailureStage): TransportError {
    const r = this.request;
    return toTransportError(error, {
      stage,
      target: r.url.origin,
      connectTimeoutMs: r.connectTimeoutMs,
      totalTimeoutMs: r.totalTimeoutMs,
      maxHeaderBytes: r.maxHeaderBytes,
      maxResponseBytes: r.maxResponseBytes,
    });
  }
}

/** FIFO of jobs with O(1) removal from the middle (a timed-out job leaves at once). */
class JobQueue {
  #head: Job | undefined;
  #tail: Job | undefined;
  size = 0;

  push(job: Job): void {
    job.prev = this.#tail;
    job.next = undefined;
    if (this.#tail) this.#tail.next = job;
    else this.#head = job;
    this.#tail = job;
    this.size += 1;
  }

  first(): Job | undefined {
    return this.#head;
  }

  remove(job: Job): void {
    if (job.prev) job.prev.next = job.next;
    else if (this.#head === job) this.#head = job.next;
    else return;
    if (job.next) job.next.prev = job.prev;
    else this.#tail = job.prev;
    job.prev = undefined;
    job.next = undefined;
    this.size -= 1;
  }
}
