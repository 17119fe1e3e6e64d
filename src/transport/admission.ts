import { LRUCache } from 'lru-cache';
import { AbortError, QueueFullError, TimeoutError, type TransportError } from './errors.js';
import { RecentPace } from '../util/recent.js';
import { withoutStackTrace } from '../util/stackless.js';

/**
 * Admission of exchanges to a transport implementation: the one place for
 * the global cap, the per-route cap, the wait queue with its deadlines and
 * aborts, service in arrival order across routes, load shedding, and the connection
 * policy that keeps hot hosts' connections. Both transports get only
 * admitted exchanges (`BaseTransport` asks here before every hop).
 *
 * A *route* is where an exchange's connection goes: an origin and the
 * address it connects to. Lives on the JS thread, one per transport.
 */
export interface AdmissionLimits {
  /** Exchanges handed to the implementation at once (`maxConnections`). */
  maxInFlight: number;
  /** Exchanges on one route at once (`maxConnectionsPerHost`). */
  maxInFlightPerRoute: number;
  /** Exchanges waiting beyond those (`maxQueuedRequests`). */
  maxQueued: number;
  /**
   * A route used again within this time is a *repeat* route and keeps its
   * connections for reuse (`idleTimeoutMs`); a route seen for the first
   * time closes its connection after the exchange, so one-off hosts never
   * take idle capacity from hot ones.
   */
  repeatWindowMs: number;
  /**
   * Idle connections kept for reuse (`maxIdleConnections`). A route used
   * again less often than the idle pool turns over would find its
   * connection gone, so it is not a repeat route (see `#repeatWindowMs`).
   */
  maxIdle: number;
  /** Routes remembered for the repeat rule (least recently used dropped first). */
  maxRoutesRemembered: number;
}

/** What an admitted exchange holds until it ends. */
export interface Grant {
  readonly route: RouteState;
  /** The route was used within the repeat window: keep the connection for reuse. */
  readonly repeat: boolean;
  /** When the exchange was admitted (`performance.now()`). */
  readonly admittedAt: number;
}

/** Admission gauges and counters (`TransportStats` shows them). */
export interface AdmissionStats {
  /** Gauge: exchanges admitted and not yet ended. */
  admitted: number;
  /** Gauge: exchanges waiting for admission. */
  waiting: number;
  /**
   * Counter: exchanges refused, never started: at once because the queue
   * was full or they could not end before their deadline at the current
   * pace, or when their turn came with less time left than an exchange takes.
   */
  shed: number;
  /** Counter: waiting exchanges whose deadline passed before they could start (never started). */
  expiredWaiting: number;
}

/** One route's admission state; kept while it has exchanges admitted or waiting. */
export class RouteState {
  readonly key: string;
  active = 0;
  #head: Waiter | undefined;
  #tail: Waiter | undefined;
  waiting = 0;
  /** The route has an entry in the ready heap (possibly outdated: checked when taken). */
  inReady = false;

  constructor(key: string) {
    this.key = key;
  }

  /** Arrival number of the route's first waiter. */
  get firstSeq(): number | undefined {
    return this.#head?.seq;
  }

  push(waiter: Waiter): void {
    waiter.prev = this.#tail;
    waiter.next = undefined;
    if (this.#tail) this.#tail.next = waiter;
    else this.#head = waiter;
    this.#tail = waiter;
    this.waiting += 1;
  }

  shift(): Waiter | undefined {
    const waiter = this.#head;
    if (waiter) this.remove(waiter);
    return waiter;
  }

  remove(waiter: Waiter): void {
    if (waiter.prev) waiter.prev.next = waiter.next;
    else if (this.#head === waiter) this.#head = waiter.next;
    else return;
    if (waiter.next) waiter.next.prev = waiter.prev;
    else this.#tail = waiter.prev;
    waiter.prev = undefined;
    waiter.next = undefined;
    this.waiting -= 1;
  }
}

interface Waiter {
  route: RouteState;
  /** Arrival number: waiters are served in arrival order among routes with room. */
  seq: number;
  repeat: boolean;
  deadline: number;
  timeoutMs: number;
  resolve(grant: Grant): void;
  reject(error: TransportError): void;
  timer: NodeJS.Timeout;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  prev: Waiter | undefined;
  next: Waiter | undefined;
}

/** Weight of the newest sample in the moving averages of service intervals and exchange durations. */
const EWMA_WEIGHT = 0.05;

interface ReadyEntry {
  route: RouteState;
  /** The arrival number of the route's first waiter when the entry was made. */
  seq: number;
}

/**
 * Routes with a waiter and room under their per-route cap, taken by the
 * arrival of their first waiter (a binary min-heap on that number), so
 * waiters are served in arrival order across routes, and a route at its
 * cap holds nobody back. Entries are checked when taken: one whose route
 * lost its first waiter (deadline, abort) goes back under the new first
 * waiter's number; one whose route has no waiter or no room is dropped.
 */
class ReadyRoutes {
  readonly #heap: ReadyEntry[] = [];

  push(route: RouteState, seq: number): void {
    const heap = this.#heap;
    heap.push({ route, seq });
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.#seqAt(parent) <= seq) break;
      this.#swap(parent, i);
      i = parent;
    }
  }

  pop(): ReadyEntry | undefined {
    const heap = this.#heap;
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined || heap.length === 0) return top;
    heap[0] = last;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < heap.length && this.#seqAt(left) < this.#seqAt(smallest)) smallest = left;
      if (right < heap.length && this.#seqAt(right) < this.#seqAt(smallest)) smallest = right;
      if (smallest === i) break;
      this.#swap(smallest, i);
      i = smallest;
    }
    return top;
  }

  clear(): void {
    this.#heap.length = 0;
  }

  #seqAt(i: number): number {
    return (this.#heap[i] as ReadyEntry).seq;
  }

  #swap(a: number, b: number): void {
    const heap = this.#heap;
    const entry = heap[a] as ReadyEntry;
    heap[a] = heap[b] as ReadyEntry;
    heap[b] = entry;
  }
}

/** A moving average (0 until the first sample). */
class MovingAverage {
  value = 0;

  add(sample: number): void {
    this.value = this.value === 0 ? sample : this.value + EWMA_WEIGHT * (sample - this.value);
  }
}

export class Admission {
  readonly #limits: AdmissionLimits;
  /** Routes with exchanges admitted or waiting, by key. */
  readonly #routes = new Map<string, RouteState>();
  /** Routes with waiters and a free per-route slot, by the arrival of their first waiter. */
  readonly #ready = new ReadyRoutes();
  #nextSeq = 0;
  /** When each recently used route was last used (performance.now()). */
  readonly #lastUsed: LRUCache<string, number>;
  #admitted = 0;
  #waiting = 0;
  #shed = 0;
  #expiredWaiting = 0;
  /** Time between two exchanges ending while others waited, in ms. */
  readonly #serviceInterval = new MovingAverage();
  #lastEndAt = 0;
  /**
   * How long an admitted exchange lasts, in ms, apart for repeat routes
   * (a pooled connection, usually) and first-seen ones (a new connection:
   * a TLS handshake).
   */
  readonly #exchangeDuration = { repeat: new MovingAverage(), firstSeen: new MovingAverage() };
  /** Kept-alive exchanges on a new connection ending (each adds a connection to the idle pool). */
  readonly #poolEntryPace = new RecentPace();
  /** Kept-alive exchanges on a new connection since the routes were last forgotten. */
  #poolEntries = 0;

  constructor(limits: AdmissionLimits) {
    this.#limits = limits;
    this.#lastUsed = new LRUCache<string, number>({ max: limits.maxRoutesRemembered });
  }

  stats(): AdmissionStats {
    return { admitted: this.#admitted, waiting: this.#waiting, shed: this.#shed, expiredWaiting: this.#expiredWaiting };
  }

  /**
   * Before a hop's DNS lookup, the refusal that `admit()` would give an
   * exchange on any route at this moment, if any: the queue is full, or
   * even with nobody ahead of it on its own route and the shorter of the two
   * exchange durations, it could not end before `deadline`. The lookup of a
   * request that is refused anyway is work for nobody (a query on the JS
   * thread, and a nameserver's time); `admit()` still decides the rest,
   * route by route. Counted as shed.
   */
  refusalBeforeLookup(deadline: number, timeoutMs: number): TransportError | undefined {
    if (this.#admitted < this.#limits.maxInFlight) return undefined;
    const { repeat, firstSeen } = this.#exchangeDuration;
    const refusal = this.#refusalOf(undefined, Math.min(repeat.value, firstSeen.value), deadline - performance.now(), timeoutMs);
    if (refusal) this.#shed += 1;
    return refusal;
  }

  /**
   * Admit an exchange on `key`: at once (a `Grant`) when the global and
   * route caps allow and nobody waits before it, else a promise that
   * resolves when it is its turn, or rejects with `TimeoutError` at
   * `deadline` (`performance.now()` clock), `AbortError` when `signal`
   * aborts, or `QueueFullError` at once when the queue is full or the
   * exchange could not start before its deadline at the current pace.
   */
  admit(key: string, deadline: number, signal: AbortSignal | undefined, timeoutMs: number): Grant | Promise<Grant> {
    const now = performance.now();
    const lastUsed = this.#lastUsed.get(key);
    const repeat = lastUsed !== undefined && now - lastUsed <= this.#repeatWindowMs(now);
    this.#lastUsed.set(key, now);
    let route = this.#routes.get(key);
    if (!route) {
      route = new RouteState(key);
      this.#routes.set(key, route);
    }
    // Below the global cap nobody waits on a route with room (#pump serves
    // them as soon as room appears), so no one is passed here.
    if (this.#admitted < this.#limits.maxInFlight && route.active < this.#limits.maxInFlightPerRoute && route.waiting === 0) {
      return this.#grant(route, repeat);
    }
    const refusal = this.#refusal(route, repeat, deadline - now, timeoutMs);
    if (refusal) {
      this.#shed += 1;
      this.#forgetIfIdle(route);
      return Promise.reject(refusal);
    }
    const queued = route;
    return new Promise<Grant>((resolve, reject) => {
      const waiter: Waiter = {
        route: queued,
        seq: this.#nextSeq++,
        repeat,
        deadline,
        timeoutMs,
        resolve,
        reject,
        signal,
        onAbort: undefined,
        prev: undefined,
        next: undefined,
        timer: setTimeout(() => {
          this.#expiredWaiting += 1;
          this.#drop(
            waiter,
            new TimeoutError(`request timed out after ${timeoutMs} ms waiting for a connection slot`, { phase: 'total', timeoutMs }),
          );
        }, Math.max(0, deadline - now)),
      };
      if (signal) {
        waiter.onAbort = () => this.#drop(waiter, new AbortError('request aborted', { cause: signal.reason }));
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      queued.push(waiter);
      this.#waiting += 1;
      this.#offerReady(queued);
      // Queued behind its own route's waiters with room to spare: start now.
      if (this.#admitted < this.#limits.maxInFlight) this.#pump();
    });
  }

  /**
   * An admitted exchange ended: free its slots and start whoever is next.
   * `newConnection`: it ran on a connection opened for it (`false` when it
   * reused one, or failed).
   */
  release(grant: Grant, newConnection = false): void {
    const route = grant.route;
    route.active -= 1;
    this.#admitted -= 1;
    const now = performance.now();
    this.#durationOf(grant.repeat).add(now - grant.admittedAt);
    if (grant.repeat && newConnection) {
      this.#poolEntryPace.add(now);
      this.#poolEntries += 1;
    }
    if (this.#waiting > 0 && this.#lastEndAt > 0) this.#serviceInterval.add(now - this.#lastEndAt);
    this.#lastEndAt = now;
    this.#offerReady(route);
    this.#pump();
    this.#forgetIfIdle(route);
  }

  /** Reject every waiting exchange (destroy). */
  rejectWaiting(error: TransportError): void {
    for (const route of [...this.#routes.values()]) {
      for (let waiter = route.shift(); waiter; waiter = route.shift()) {
        this.#waiting -= 1;
        this.#settleWaiter(waiter);
        waiter.reject(error);
      }
      route.inReady = false;
      this.#forgetIfIdle(route);
    }
    this.#ready.clear();
  }

  /** Forget which routes were used recently, and the idle pool's pace (`reset()`: the pools are new). */
  forgetRoutes(): void {
    this.#lastUsed.clear();
    this.#poolEntries = 0;
    this.#poolEntryPace.clear();
  }

  #grant(route: RouteState, repeat: boolean): Grant {
    route.active += 1;
    this.#admitted += 1;
    return { route, repeat, admittedAt: performance.now() };
  }

  /**
   * How recently a route must have been used to keep its connection: within
   * `repeatWindowMs`, and within the time the idle pool turns over. Both
   * transports close the least recently used idle connection beyond
   * maxIdle, so once maxIdle connections have entered the pool, each new
   * one pushes the oldest out: an idle connection lasts about maxIdle ×
   * the time between two new kept connections. A connection kept for a
   * route used less often than that is closed before its reuse, and on its
   * way in pushes a hot route's connection out. Reused connections add
   * nothing to the pool, so a few hot routes never shrink the window.
   *
   * The pace is that of the last second ({@link RecentPace}). It was the
   * time since the last entry, or a moving average between entries if
   * longer: on a saturated event loop, a batch admitted tens of ms after
   * the last entry then read a window 64 × that long (3–6 s) while entries
   * came every 0.3 ms, so one-off hosts met again within seconds counted
   * as repeat routes, and each pushed a PLC connection out (700–800 such
   * evictions a second under 2× overload in `bench:overload`). A pace
   * that slows is still seen within a second, so a window learnt in a busy
   * minute does not keep every route first-seen once it is quiet.
   */
  #repeatWindowMs(now: number): number {
    if (this.#poolEntries < this.#limits.maxIdle) return this.#limits.repeatWindowMs;
    return Math.min(this.#limits.repeatWindowMs, this.#limits.maxIdle * this.#poolEntryPace.meanInterval(now));
  }

  #durationOf(repeat: boolean): MovingAverage {
    return repeat ? this.#exchangeDuration.repeat : this.#exchangeDuration.firstSeen;
  }

  /** Why an exchange that would have to wait is refused at once, if it is. */
  #refusal(route: RouteState, repeat: boolean, leftMs: number, timeoutMs: number): TransportError | undefined {
    return this.#refusalOf(route, this.#durationOf(repeat).value, leftMs, timeoutMs);
  }

  /**
   * {@link #refusal} given the exchange's route (`undefined`: the best
   * case, a route with room and nobody of its own waiting) and expected
   * duration.
   */
  #refusalOf(route: RouteState | undefined, exchangeMs: number, leftMs: number, timeoutMs: number): TransportError | undefined {
    const { maxQueued, maxInFlight, maxInFlightPerRoute } = this.#limits;
    if (this.#waiting >= maxQueued) {
      return withoutStackTrace(
        () => new QueueFullError(`too many requests waiting: maxConnections (${maxInFlight}) in flight and maxQueuedRequests (${maxQueued}) waiting`),
      );
    }
    // Shed what cannot end before its deadline at the current pace: a
    // request that would time out in the queue, or start too late to
    // finish, only takes a slot from one that would not, and its caller
    // learns at once.
    const intervalMs = this.#serviceInterval.value;
    if (intervalMs === 0) return undefined;
    // Waiters start in arrival order among routes with room: everyone
    // waiting now starts first. A route at its own cap adds a wait of its
    // own: each of its waiters, and this one, needs one of its exchanges
    // to end, and its `maxInFlightPerRoute` exchanges end one every
    // `exchangeMs / maxInFlightPerRoute`. The longer of the two is the wait.
    let expectedWaitMs = (this.#waiting + 1) * intervalMs;
    if (route !== undefined && route.active >= maxInFlightPerRoute) {
      expectedWaitMs = Math.max(expectedWaitMs, ((route.waiting + 1) * exchangeMs) / maxInFlightPerRoute);
    }
    if (expectedWaitMs + exchangeMs > leftMs) {
      return withoutStackTrace(
        () =>
          new QueueFullError(
            `overloaded: about ${Math.round(expectedWaitMs)} ms of queue ahead of this request and ${Math.round(exchangeMs)} ms for its exchange, more than the ${Math.max(0, Math.round(leftMs))} ms left of its ${timeoutMs} ms`,
          ),
      );
    }
    return undefined;
  }

  /** Put `route` in the ready heap if it has a waiter and room and is not there already. */
  #offerReady(route: RouteState): void {
    const first = route.firstSeq;
    if (route.inReady || first === undefined || route.active >= this.#limits.maxInFlightPerRoute) return;
    route.inReady = true;
    this.#ready.push(route, first);
  }

  /** Start waiters while there is room, the earliest arrival first among routes with room. */
  #pump(): void {
    while (this.#admitted < this.#limits.maxInFlight) {
      const entry = this.#ready.pop();
      if (entry === undefined) break;
      const route = entry.route;
      route.inReady = false;
      if (route.firstSeq !== entry.seq) {
        // Its first waiter left (deadline, abort): back under the next one.
        this.#offerReady(route);
        continue;
      }
      if (route.active >= this.#limits.maxInFlightPerRoute) continue; // offered again on release
      const waiter = route.shift() as Waiter;
      this.#waiting -= 1;
      this.#settleWaiter(waiter);
      const tooLate = this.#tooLateError(waiter);
      if (tooLate !== undefined) {
        // Its turn came too late to finish: never start work its caller
        // would not get in time.
        this.#shed += 1;
        this.#offerReady(route);
        this.#forgetIfIdle(route);
        waiter.reject(tooLate);
        continue;
      }
      const grant = this.#grant(route, waiter.repeat);
      this.#offerReady(route);
      waiter.resolve(grant);
    }
  }

  /** Why a waiter whose turn has come is refused: an exchange now takes longer than what is left of its deadline. */
  #tooLateError(waiter: Waiter): TransportError | undefined {
    const exchangeMs = this.#durationOf(waiter.repeat).value;
    const leftMs = waiter.deadline - performance.now();
    if (exchangeMs <= leftMs) return undefined;
    return withoutStackTrace(
      () =>
        new QueueFullError(
          `overloaded: waited for a connection slot until ${Math.max(0, Math.round(leftMs))} ms were left of its ${waiter.timeoutMs} ms, and an exchange takes about ${Math.round(exchangeMs)} ms now`,
        ),
    );
  }

  #drop(waiter: Waiter, error: TransportError): void {
    const route = waiter.route;
    const before = route.waiting;
    route.remove(waiter);
    if (route.waiting === before) return; // already started or dropped
    this.#waiting -= 1;
    this.#settleWaiter(waiter);
    this.#forgetIfIdle(route);
    waiter.reject(error);
  }

  #settleWaiter(waiter: Waiter): void {
    clearTimeout(waiter.timer);
    if (waiter.onAbort) waiter.signal?.removeEventListener('abort', waiter.onAbort);
  }

  #forgetIfIdle(route: RouteState): void {
    if (route.active === 0 && route.waiting === 0 && this.#routes.get(route.key) === route) this.#routes.delete(route.key);
  }
}
