import { LRUCache } from 'lru-cache';

/**
 * Fair admission of DNS lookups by domain. A domain (a registrable domain,
 * e.g. `example.co.uk`) is *failing* for `failingForMs` after a lookup
 * under it timed out or got SERVFAIL, until one succeeds. A failing domain
 * has at most `maxInFlight` lookups being waited for; further lookups of
 * its names wait here, in order, each within its own deadline. Domains
 * that are not failing never wait: a flood of dead names can only queue
 * behind itself.
 *
 * Lives on the JS thread, one per `DnsResolver`. Memory is bounded by the
 * lookups in flight (`#inFlight`), the waiters (each bounded by its
 * deadline) and `maxTracked` failing domains.
 */
export class FailingDomains {
  readonly #maxInFlight: number;
  readonly #failing: LRUCache<string, true>;
  /** Lookups at the DNS servers, by domain; only domains with at least one. */
  readonly #inFlight = new Map<string, number>();
  readonly #waiters = new Map<string, Waiter[]>();
  #waiting = 0;

  constructor(options: { maxInFlight: number; failingForMs: number; maxTracked: number }) {
    this.#maxInFlight = options.maxInFlight;
    this.#failing = new LRUCache<string, true>({ max: options.maxTracked, ttl: options.failingForMs });
  }

  /** Lookups waiting for a failing domain's slot right now. */
  get waiting(): number {
    return this.#waiting;
  }

  /** Domains currently marked failing. */
  get failingCount(): number {
    return this.#failing.size;
  }

  /**
   * Take a slot for `domain`: at once (returns `true`) unless the domain is
   * failing and already has its share in flight; then wait until a slot
   * frees (resolves `true`) or `deadline` (ms, `performance.now()` clock)
   * passes or `signal` aborts (resolves `false`).
   */
  acquire(domain: string, deadline: number, signal: AbortSignal | undefined): true | Promise<boolean> {
    if (this.#hasRoom(domain) && !this.#waiters.has(domain)) {
      this.#take(domain);
      return true;
    }
    return new Promise<boolean>((resolve) => {
      const waiter: Waiter = {
        settle: (admitted) => {
          clearTimeout(waiter.timer);
          signal?.removeEventListener('abort', waiter.onAbort);
          resolve(admitted);
        },
        timer: setTimeout(() => this.#drop(domain, waiter), Math.max(0, deadline - performance.now())),
        onAbort: () => this.#drop(domain, waiter),
      };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      let queue = this.#waiters.get(domain);
      if (!queue) {
        queue = [];
        this.#waiters.set(domain, queue);
      }
      queue.push(waiter);
      this.#waiting += 1;
    });
  }

  /** Give back a slot taken by `acquire()`, when its lookup has settled. */
  release(domain: string): void {
    const count = (this.#inFlight.get(domain) ?? 1) - 1;
    if (count > 0) this.#inFlight.set(domain, count);
    else this.#inFlight.delete(domain);
    this.#wake(domain);
  }

  /** Record how a lookup under `domain` ended: `false` for a timeout or server failure. */
  report(domain: string, ok: boolean): void {
    if (!ok) {
      this.#failing.set(domain, true);
      return;
    }
    if (this.#failing.delete(domain)) this.#wake(domain);
  }

  /** Forget every failing mark (`DnsResolver.clear()`); waiters are admitted as slots allow. */
  clear(): void {
    this.#failing.clear();
    for (const domain of [...this.#waiters.keys()]) this.#wake(domain);
  }

  #hasRoom(domain: string): boolean {
    return !this.#failing.has(domain) || (this.#inFlight.get(domain) ?? 0) < this.#maxInFlight;
  }

  #take(domain: string): void {
    this.#inFlight.set(domain, (this.#inFlight.get(domain) ?? 0) + 1);
  }

  #wake(domain: string): void {
    const queue = this.#waiters.get(domain);
    while (queue && queue.length > 0 && this.#hasRoom(domain)) {
      const waiter = queue.shift() as Waiter;
      this.#waiting -= 1;
      this.#take(domain);
      waiter.settle(true);
    }
    if (queue && queue.length === 0) this.#waiters.delete(domain);
  }

  #drop(domain: string, waiter: Waiter): void {
    const queue = this.#waiters.get(domain);
    const at = queue?.indexOf(waiter) ?? -1;
    if (!queue || at < 0) return;
    queue.splice(at, 1);
    if (queue.length === 0) this.#waiters.delete(domain);
    this.#waiting -= 1;
    waiter.settle(false);
  }
}

interface Waiter {
  settle(admitted: boolean): void;
  timer: NodeJS.Timeout;
  onAbort(): void;
}
