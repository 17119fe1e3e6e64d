import type { Socket } from 'node:net';
import { errors } from 'undici';
import { RECENT_PEAK_BUCKET_MS, RecentPeak } from '../util/recent.js';
import { withoutStackTrace } from '../util/stackless.js';

/**
 * The error every socket the gate closes is destroyed with: one object,
 * made once. undici reads a socket's error when it closes and otherwise
 * builds a new `SocketError` for each close, with a stack trace (~10 µs of
 * the JS thread each); an informational one (`UND_ERR_INFO`) fails no
 * request (an idle socket has none).
 */
const CLOSED_BY_GATE = withoutStackTrace(() => new errors.InformationalError('closed by the connection gate'));

/** Limits the gate enforces; all come from `TransportOptions`. */
export interface ConnectionGateLimits {
  maxConnections: number;
  maxIdleConnections: number;
  maxConnectionLifetimeMs: number;
}

/**
 * One socket's place under the global cap. A slot is taken just before a
 * socket is created and given back when that socket has emitted `close`
 * (its file descriptor is gone), or at once when no socket was created.
 */
export class ConnectionSlot {
  /** Whoever asked for the slot (the undici transport passes its pool entry). */
  readonly owner: object;
  socket: Socket | undefined;
  /** Set while undici has no request queued or running on the socket. */
  idle = false;
  /** Set once the socket is older than `maxConnectionLifetimeMs`; it is closed as soon as it is idle. */
  expired = false;
  /** Set for a one-off route's connection: it is closed as soon as it is idle. */
  closeWhenIdle = false;
  /** Set when the gate destroyed the socket to make room or enforce a limit. */
  evicted = false;
  /** `performance.now()` when TCP connected, then when TLS finished (both 0 until then). */
  connectedAt = 0;
  secureAt = 0;
  released = false;
  lifetimeTimer: NodeJS.Timeout | undefined;

  constructor(owner: object) {
    this.owner = owner;
  }
}

/**
 * How long a waiting connect lets sockets that are already closing give
 * their slots back before an idle socket is closed for it. Admission keeps
 * at most maxConnections exchanges, so the cap (maxConnections +
 * maxIdleConnections) is reached only while finished connections close
 * (a first-seen route's connection, an aborted exchange's): their slots come
 * back within a loop turn, and the idle pool, the hot hosts' connections,
 * stays whole. Without the grace, every new host under overload closed an
 * idle PLC connection (575 new repeat-route connections a second in
 * `bench:overload`).
 */
const ROOM_GRACE_MS = 10;

interface Waiter {
  owner: object;
  resolve: (slot: ConnectionSlot) => void;
  reject: (error: unknown) => void;
}

/**
 * The global connection cap that undici lacks. undici keeps one pool per
 * origin and limits connections per pool only; every socket of a transport
 * is created by our connector, which asks this gate for a slot first.
 *
 * - At most `maxConnections` slots exist across all origins and all pool
 *   generations (old generations still draining after `reset()` count).
 * - When the cap is reached, the connect waits (FIFO) for a closing socket's
 *   slot; if none has come back within `ROOM_GRACE_MS`, the gate closes the
 *   least recently idle socket to make room (and a socket that becomes idle
 *   while someone still waits is closed for them).
 * - At most `maxIdleConnections` idle sockets are kept, across origins, on
 *   top of those the last one to two seconds' peak of busy sockets needed
 *   (a dip within a burst closes nothing that the burst will open again);
 *   the least recently used go first.
 * - A socket older than `maxConnectionLifetimeMs` is closed once it is idle.
 *
 * Idleness comes from undici itself: an HTTP/1.1 client `unref()`s its socket
 * when it has no request queued or running and `ref()`s it before using it
 * again. `adopt()` observes those two calls on the socket instance, so a
 * socket the gate sees as idle can be destroyed without failing a request
 * (exactly as if the server had closed an idle keep-alive connection). If
 * undici ever stopped making those calls, sockets would only look busy: the
 * caps would still hold, with less reuse and longer waits.
 *
 * Lives on the JS thread for the lifetime of its transport.
 */
export class ConnectionGate {
  readonly #limits: ConnectionGateLimits;
  #open = 0;
  #evicting = 0;
  readonly #waiters: Waiter[] = [];
  /** Idle slots, least recently idle first (Map keeps insertion order). */
  readonly #idle = new Map<ConnectionSlot, true>();
  #maintenanceScheduled = false;
  #roomTimer: NodeJS.Timeout | undefined;
  /** Busy sockets (open, not idle) at their peak over the last 1–2 s. */
  readonly #busyPeak = new RecentPeak();
  /** Runs maintenance again once a burst's peak has passed, to close the idle sockets it left. */
  #afterPeakTimer: NodeJS.Timeout | undefined;
  #emptyWaiters: (() => void)[] = [];

  /**
   * The slot whose socket is being handed to undici right now. undici writes
   * the first request on a new connection synchronously inside the connect
   * callback, so a request that starts while this is set runs on a new
   * connection; any other start is a reuse.
   */
  handingOver: ConnectionSlot | undefined;

  constructor(limits: ConnectionGateLimits) {
    this.#limits = limits;
  }

  /** Slots held: sockets open or about to be opened. */
  get open(): number {
    return this.#open;
  }

  /** Sockets idle in some pool. */
  get idle(): number {
    return this.#idle.size;
  }

  /** Connects waiting for a slot. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /** Take a slot, waiting (and evicting an idle socket) when the cap is reached. */
  acquire(owner: object): Promise<ConnectionSlot> {
    if (this.#open < this.#limits.maxConnections && this.#waiters.length === 0) {
      this.#open += 1;
      this.#observeBusy();
      return Promise.resolve(new ConnectionSlot(owner));
    }
    return new Promise<ConnectionSlot>((resolve, reject) => {
      this.#waiters.push({ owner, resolve, reject });
      this.#scheduleMaintenance();
    });
  }

  /** Reject the waiting connects whose owner matches; returns how many. */
  cancelWaiters(matches: (owner: object) => boolean, error: unknown): number {
    let cancelled = 0;
    for (let i = this.#waiters.length - 1; i >= 0; i -= 1) {
      const waiter = this.#waiters[i];
      if (waiter && matches(waiter.owner)) {
        this.#waiters.splice(i, 1);
        waiter.reject(error);
        cancelled += 1;
      }
    }
    return cancelled;
  }

  /**
   * Bind a newly created socket to its slot: the slot is released when the
   * socket closes, and undici's `ref()`/`unref()` calls mark it busy/idle.
   */
  adopt(slot: ConnectionSlot, socket: Socket): void {
    const gate = this;
    slot.socket = socket;
    socket.once('close', () => this.release(slot));
    const proto = Object.getPrototypeOf(socket) as Socket;
    socket.unref = function unref(this: Socket): Socket {
      gate.#markIdle(slot);
      return proto.unref.call(this);
    };
    socket.ref = function ref(this: Socket): Socket {
      gate.#markBusy(slot);
      return proto.ref.call(this);
    };
    slot.lifetimeTimer = setTimeout(() => {
      slot.expired = true;
      if (slot.idle) this.#scheduleMaintenance();
    }, this.#limits.maxConnectionLifetimeMs);
    slot.lifetimeTimer.unref();
  }

  /** Give a slot back (idempotent) and hand it to the next waiter. */
  release(slot: ConnectionSlot): void {
    if (slot.released) return;
    slot.released = true;
    this.#open -= 1;
    this.#idle.delete(slot);
    slot.idle = false;
    if (slot.lifetimeTimer) clearTimeout(slot.lifetimeTimer);
    if (slot.evicted) this.#evicting -= 1;
    while (this.#open < this.#limits.maxConnections && this.#waiters.length > 0) {
      const waiter = this.#waiters.shift();
      if (!waiter) break;
      this.#open += 1;
      this.#observeBusy();
      waiter.resolve(new ConnectionSlot(waiter.owner));
    }
    if (this.#open === 0) {
      const waiters = this.#emptyWaiters;
      this.#emptyWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  /** Close every idle socket whose owner matches (used when pools are retired). */
  closeIdle(matches: (owner: object) => boolean): void {
    for (const slot of [...this.#idle.keys()]) {
      if (matches(slot.owner)) this.#evict(slot);
    }
  }

  /** Resolves once no slot is held (every socket has closed). */
  whenEmpty(): Promise<void> {
    if (this.#open === 0) return Promise.resolve();
    return new Promise((resolve) => this.#emptyWaiters.push(resolve));
  }

  #markIdle(slot: ConnectionSlot): void {
    if (slot.released || slot.evicted) return;
    slot.idle = true;
    this.#idle.delete(slot);
    this.#idle.set(slot, true);
    this.#scheduleMaintenance();
  }

  #markBusy(slot: ConnectionSlot): void {
    slot.idle = false;
    this.#idle.delete(slot);
    this.#observeBusy();
  }

  /** Busy sockets now; records the peak. Returns the peak of the last 1–2 s. */
  #observeBusy(): number {
    return this.#busyPeak.observe(this.#open - this.#idle.size, performance.now());
  }

  /**
   * Evictions run in a microtask, never inside undici's own call to
   * `unref()`; a slot still idle by then has had no request given to it.
   */
  #scheduleMaintenance(): void {
    if (this.#maintenanceScheduled) return;
    this.#maintenanceScheduled = true;
    queueMicrotask(() => {
      this.#maintenanceScheduled = false;
      this.#maintain();
    });
  }

  #maintain(): void {
    for (const slot of [...this.#idle.keys()]) {
      if (slot.expired || slot.closeWhenIdle) this.#evict(slot);
    }
    // Keep maxIdleConnections idle beyond what the busy peak of the last
    // 1–2 s needed: under overload the busy count of a hot route swings by
    // more than the idle budget within a second, and closing the idle
    // connections of each dip reopened them in the next rise (100–580 new
    // PLC connections a second in bench:overload). With maxIdleConnections
    // 0 nothing is kept idle at all: no connection is ever reused then.
    const busy = this.#open - this.#idle.size;
    const maxIdle = this.#limits.maxIdleConnections;
    const keep = maxIdle === 0 ? 0 : maxIdle + Math.max(0, this.#observeBusy() - busy);
    while (this.#idle.size > keep) {
      const oldest = this.#idle.keys().next().value;
      if (!oldest) break;
      this.#evict(oldest);
    }
    if (this.#idle.size > this.#limits.maxIdleConnections && this.#afterPeakTimer === undefined) {
      this.#afterPeakTimer = setTimeout(() => {
        this.#afterPeakTimer = undefined;
        this.#maintain();
      }, 2 * RECENT_PEAK_BUCKET_MS);
      this.#afterPeakTimer.unref();
    }
    if (this.#waiters.length > this.#evicting && this.#idle.size > 0 && this.#roomTimer === undefined) {
      this.#roomTimer = setTimeout(() => {
        this.#roomTimer = undefined;
        this.#makeRoom();
      }, ROOM_GRACE_MS);
      this.#roomTimer.unref();
    }
  }

  /** Close idle sockets for waiting connects: one per waiter not already covered. */
  #makeRoom(): void {
    while (this.#waiters.length > this.#evicting && this.#idle.size > 0) {
      const oldest = this.#idle.keys().next().value;
      if (!oldest) break;
      this.#evict(oldest);
    }
  }

  #evict(slot: ConnectionSlot): void {
    this.#idle.delete(slot);
    slot.idle = false;
    if (slot.evicted || slot.released) return;
    slot.evicted = true;
    this.#evicting += 1;
    slot.socket?.destroy(CLOSED_BY_GATE);
  }
}
