import { describe, expect, it } from 'vitest';
import { Admission, type AdmissionLimits, type Grant } from '../../src/transport/admission.js';
import { AbortError, QueueFullError, TimeoutError, TransportDestroyedError } from '../../src/transport/errors.js';
import { sleep } from '../support/async.js';

/** The admission layer alone: caps, queue, fairness, deadlines, shedding, the repeat-route rule. */

const limits = (overrides: Partial<AdmissionLimits> = {}): AdmissionLimits => ({
  maxInFlight: 2,
  maxInFlightPerRoute: 2,
  maxQueued: 10,
  repeatWindowMs: 60_000,
  maxIdle: 10,
  maxRoutesRemembered: 100,
  ...overrides,
});

const far = (): number => performance.now() + 60_000;

function granted(value: Grant | Promise<Grant>): Grant {
  if ('then' in value) throw new Error('expected an immediate grant');
  return value;
}

/**
 * An admission with one slot on route `r`, a pace set (one exchange ended
 * every ~20 ms while others waited), then the slot held and five more
 * waiting on `r` (rejected later by the test's own cleanup).
 */
async function pacedWithFiveWaiting(): Promise<Admission> {
  const a = new Admission(limits({ maxInFlight: 1, maxQueued: 100 }));
  let g = granted(a.admit('r', far(), undefined, 10_000));
  const queue: Promise<Grant>[] = [];
  for (let i = 0; i < 5; i += 1) queue.push(Promise.resolve(a.admit('r', far(), undefined, 10_000)));
  for (const next of queue) {
    await sleep(20);
    a.release(g);
    g = await next;
  }
  for (let i = 0; i < 5; i += 1) void Promise.resolve(a.admit('r', far(), undefined, 10_000)).catch(() => undefined);
  return a;
}

describe('Admission', () => {
  it('grants at once under the caps, then queues in order and starts the next on release', async () => {
    const a = new Admission(limits());
    const g1 = granted(a.admit('r', far(), undefined, 1000));
    const g2 = granted(a.admit('r', far(), undefined, 1000));
    const third = a.admit('r', far(), undefined, 1000);
    expect('then' in third).toBe(true);
    expect(a.stats()).toMatchObject({ admitted: 2, waiting: 1 });
    a.release(g1);
    const g3 = await third;
    expect(a.stats()).toMatchObject({ admitted: 2, waiting: 0 });
    a.release(g2);
    a.release(g3);
    expect(a.stats()).toMatchObject({ admitted: 0, waiting: 0 });
  });

  it('keeps a route under its own cap while other routes go ahead', async () => {
    const a = new Admission(limits({ maxInFlight: 3, maxInFlightPerRoute: 1 }));
    const busy = granted(a.admit('busy', far(), undefined, 1000));
    const queued = a.admit('busy', far(), undefined, 1000);
    expect('then' in queued).toBe(true);
    // Another route is not stuck behind busy's queue... but waits its turn in fairness order.
    const other = a.admit('other', far(), undefined, 1000);
    const otherGrant = 'then' in other ? await other : other;
    expect(otherGrant.route.key).toBe('other');
    a.release(busy);
    expect((await queued).route.key).toBe('busy');
  });

  it('serves waiters in arrival order across routes, so a hot route gets the share its callers asked for', async () => {
    const a = new Admission(limits({ maxInFlight: 1, maxInFlightPerRoute: 5 }));
    let current = granted(a.admit('other', far(), undefined, 1000));
    // Two callers of the hot route arrived before one of a cold route:
    // served in that order (taking routes in turn would put cold second).
    const waiters = [a.admit('hot', far(), undefined, 1000), a.admit('hot', far(), undefined, 1000), a.admit('cold', far(), undefined, 1000)];
    const order: string[] = [];
    for (const waiter of waiters) {
      a.release(current);
      current = await waiter;
      order.push(current.route.key);
    }
    a.release(current);
    expect(order).toEqual(['hot', 'hot', 'cold']);
  });

  it('lets a route at its own cap hold nobody back, however long its queue', async () => {
    const a = new Admission(limits({ maxInFlight: 2, maxInFlightPerRoute: 1 }));
    const slow = granted(a.admit('slow', far(), undefined, 1000));
    const other = granted(a.admit('other', far(), undefined, 1000));
    const firstSlow = a.admit('slow', far(), undefined, 1000);
    const secondSlow = a.admit('slow', far(), undefined, 1000);
    const later = a.admit('later', far(), undefined, 1000);
    a.release(other); // room for one: 'slow' is at its cap, so the later arrival goes
    expect((await later).route.key).toBe('later');
    expect(a.stats()).toMatchObject({ admitted: 2, waiting: 2 });
    a.release(slow);
    expect((await firstSlow).route.key).toBe('slow');
    a.rejectWaiting(new TransportDestroyedError('done'));
    await expect(secondSlow).rejects.toBeInstanceOf(TransportDestroyedError);
  });

  it('serves the next waiter of a route whose first waiter left (deadline or abort)', async () => {
    const a = new Admission(limits({ maxInFlight: 1 }));
    const g = granted(a.admit('r', far(), undefined, 1000));
    const controller = new AbortController();
    const leaving = a.admit('r', far(), controller.signal, 1000);
    const staying = a.admit('r', far(), undefined, 1000);
    controller.abort();
    await expect(leaving).rejects.toBeInstanceOf(AbortError);
    a.release(g);
    const next = await staying;
    expect(a.stats()).toMatchObject({ admitted: 1, waiting: 0 });
    a.release(next);
  });

  it('refuses at once when the queue is full', async () => {
    const a = new Admission(limits({ maxInFlight: 1, maxQueued: 1 }));
    granted(a.admit('r', far(), undefined, 1000));
    const queued = a.admit('r', far(), undefined, 1000);
    await expect(a.admit('r', far(), undefined, 1000)).rejects.toBeInstanceOf(QueueFullError);
    expect(a.stats()).toMatchObject({ shed: 1, waiting: 1 });
    a.rejectWaiting(new TransportDestroyedError('gone'));
    await expect(queued).rejects.toBeInstanceOf(TransportDestroyedError);
  });

  it('refuses without a stack trace (one line: name and message) and leaves Error.stackTraceLimit as it was', async () => {
    const a = new Admission(limits({ maxInFlight: 1, maxQueued: 0 }));
    granted(a.admit('r', far(), undefined, 1000));
    const limitBefore = Error.stackTraceLimit;
    const error = await Promise.resolve(a.admit('r', far(), undefined, 1000)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QueueFullError);
    expect((error as Error).stack).toBe(`QueueFullError: ${(error as Error).message}`);
    expect(Error.stackTraceLimit).toBe(limitBefore);
    expect(new Error('after').stack?.split('\n').length).toBeGreaterThan(1);
  });

  it('a waiter whose deadline passes leaves the queue with TimeoutError and is never started', async () => {
    const a = new Admission(limits({ maxInFlight: 1 }));
    const g = granted(a.admit('r', far(), undefined, 1000));
    const started = performance.now();
    await expect(a.admit('r', performance.now() + 50, undefined, 50)).rejects.toBeInstanceOf(TimeoutError);
    expect(performance.now() - started).toBeLessThan(200);
    expect(a.stats()).toMatchObject({ waiting: 0, expiredWaiting: 1 });
    a.release(g);
    expect(a.stats().admitted).toBe(0);
  });

  it('an abort removes a waiter at once', async () => {
    const a = new Admission(limits({ maxInFlight: 1 }));
    granted(a.admit('r', far(), undefined, 1000));
    const controller = new AbortController();
    const waiting = a.admit('r', far(), controller.signal, 1000);
    controller.abort();
    await expect(waiting).rejects.toBeInstanceOf(AbortError);
    expect(a.stats().waiting).toBe(0);
  });

  it('sheds at once what cannot start before its deadline at the current pace', async () => {
    const a = await pacedWithFiveWaiting();
    // Six ahead at ~20 ms each: a request with 30 ms left cannot start in time.
    const error = await Promise.resolve(a.admit('r', performance.now() + 30, undefined, 30)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QueueFullError);
    expect((error as Error).message).toMatch(/overloaded/);
    // One with plenty of time is queued.
    const patient = a.admit('r', performance.now() + 10_000, undefined, 10_000);
    expect('then' in patient).toBe(true);
    a.rejectWaiting(new TransportDestroyedError('done'));
    await expect(patient).rejects.toBeInstanceOf(TransportDestroyedError);
  });

  it('counts the waiters ahead of a request once: a hot route with room is not shed for its own queue', async () => {
    // One slot (the global cap); 'r' has room under its own cap (2). Turns
    // of ≥ 50 ms set the pace and an exchange's length (each moving
    // average starts at its first sample).
    const a = new Admission(limits({ maxInFlight: 1, maxQueued: 100 }));
    let g = granted(a.admit('r', far(), undefined, 10_000));
    const next = [Promise.resolve(a.admit('r', far(), undefined, 10_000)), Promise.resolve(a.admit('r', far(), undefined, 10_000))];
    for (const waiter of next) {
      await sleep(50);
      a.release(g);
      g = await waiter;
    }
    for (let i = 0; i < 15; i += 1) void Promise.resolve(a.admit('r', far(), undefined, 10_000)).catch(() => undefined);
    expect(a.stats().waiting).toBe(15);
    // Fifteen waiting, all on 'r': a new request starts after them, in ~16
    // turns, and ends a turn later: ≤ 1,500 ms while a turn is under ~88
    // ms, whichever route it is on. Counting 'r''s own waiters a second
    // time makes it ≥ 32 turns of ≥ 50 ms, and refuses it.
    const onHotRoute = a.admit('r', performance.now() + 1_500, undefined, 1_500);
    const elsewhere = a.admit('other', performance.now() + 1_500, undefined, 1_500);
    expect('then' in onHotRoute && 'then' in elsewhere).toBe(true);
    a.rejectWaiting(new TransportDestroyedError('done'));
    await expect(onHotRoute).rejects.toBeInstanceOf(TransportDestroyedError);
    await expect(elsewhere).rejects.toBeInstanceOf(TransportDestroyedError);
  });

  it("sheds a request whose route, at its own cap, will not get to it in time, however fast other routes move", async () => {
    const a = new Admission(limits({ maxInFlight: 3, maxInFlightPerRoute: 1, maxQueued: 100 }));
    a.release(granted(a.admit('r', far(), undefined, 10_000))); // first-seen; from here 'r' is a repeat route
    const slow = granted(a.admit('r', far(), undefined, 10_000));
    await sleep(100);
    a.release(slow); // a repeat exchange takes ~100 ms
    granted(a.admit('r', far(), undefined, 10_000)); // 'r' at its cap (1)
    for (let i = 0; i < 3; i += 1) void Promise.resolve(a.admit('r', far(), undefined, 10_000)).catch(() => undefined);
    // Exchanges on other routes end every moment while 'r''s three wait: the pace is well under 1 ms.
    for (let i = 0; i < 5; i += 1) a.release(granted(a.admit(`quick-${i}`, far(), undefined, 10_000)));
    // 'r' frees a slot every ~100 ms: the fourth waiter on it starts in ~400 ms, ends in ~500.
    const error = await Promise.resolve(a.admit('r', performance.now() + 250, undefined, 250)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QueueFullError);
    expect((error as Error).message).toMatch(/overloaded: about \d+ ms of queue ahead/);
    // The same deadline on a route with room is granted at once.
    a.release(granted(a.admit('fresh', performance.now() + 250, undefined, 250)));
    a.rejectWaiting(new TransportDestroyedError('done'));
  });

  it('refuses before a DNS lookup only what admit() would refuse on any route, and counts it as shed', async () => {
    // Room for one more: never refused before the lookup.
    const idle = new Admission(limits({ maxInFlight: 1, maxQueued: 100 }));
    expect(idle.refusalBeforeLookup(performance.now() + 1, 1)).toBeUndefined();
    const a = await pacedWithFiveWaiting();
    const shedBefore = a.stats().shed;
    // Five waiting at ~20 ms each: 30 ms is not enough on any route, 10 s is.
    const refusal = a.refusalBeforeLookup(performance.now() + 30, 30);
    expect(refusal).toBeInstanceOf(QueueFullError);
    expect(refusal?.message).toMatch(/overloaded/);
    expect(a.refusalBeforeLookup(performance.now() + 10_000, 10_000)).toBeUndefined();
    expect(a.stats().shed).toBe(shedBefore + 1);
    // admit() agrees on a route of its own.
    await expect(Promise.resolve(a.admit('other', performance.now() + 30, undefined, 30))).rejects.toBeInstanceOf(QueueFullError);
    a.rejectWaiting(new TransportDestroyedError('done'));
  });

  it('refuses a waiter whose turn comes with less time left than an exchange takes, and starts the next', async () => {
    const a = new Admission(limits({ maxInFlight: 1, maxQueued: 100 }));
    a.release(granted(a.admit('r', far(), undefined, 10_000))); // first-seen; from here 'r' is a repeat route
    // Exchanges on 'r' take ~100 ms now.
    const slow = granted(a.admit('r', far(), undefined, 10_000));
    await sleep(100);
    a.release(slow);
    const running = granted(a.admit('r', far(), undefined, 10_000));
    // No pace measured yet (nobody waited), so both are queued.
    const late = a.admit('r', performance.now() + 60, undefined, 60);
    const patient = a.admit('r', far(), undefined, 10_000);
    expect('then' in late && 'then' in patient).toBe(true);
    const shedBefore = a.stats().shed;
    a.release(running); // late's turn: under 60 ms left, an exchange takes ~100 ms
    const error = await Promise.resolve(late).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QueueFullError);
    expect((error as Error).message).toMatch(/an exchange takes about \d+ ms now/);
    expect(a.stats()).toMatchObject({ shed: shedBefore + 1, admitted: 1, waiting: 0 });
    a.release(await patient); // the slot went to the next waiter
    expect(a.stats()).toMatchObject({ admitted: 0, waiting: 0 });
  });

  it('keeps a route repeat only while it comes back before the idle pool has turned over', async () => {
    const a = new Admission(limits({ maxInFlight: 10, maxIdle: 2 }));
    const use = (key: string, newConnection = false): boolean => {
      const grant = granted(a.admit(key, far(), undefined, 1000));
      a.release(grant, newConnection);
      return grant.repeat;
    };
    use('hot');
    use('cold');
    // A route that reuses its connection adds nothing to the idle pool: the
    // window stays idleTimeoutMs however often it comes back.
    for (let i = 0; i < 5; i += 1) expect(use('hot')).toBe(true);
    await sleep(50);
    expect(use('cold')).toBe(true);
    // Now 'hot' comes back every few ms on a new connection each time (as a
    // busy set of hosts would): one enters the idle pool that often, so an
    // idle connection survives about 2 of those intervals (maxIdle 2).
    const hot: boolean[] = [];
    for (let i = 0; i < 20; i += 1) {
      await sleep(5);
      hot.push(use('hot', true));
    }
    expect(hot.every(Boolean)).toBe(true);
    // 'cold' was last used 20 intervals ago: its connection would be gone.
    expect(use('cold')).toBe(false);
    // A quiet spell widens the window again: the pace is that of the last
    // half second to second, and nothing kept alive ended in it.
    await sleep(1_100);
    expect(use('cold')).toBe(true);
  });

  it('reads the pace of the last second, not the length of a busy turn of the event loop', () => {
    // A saturated loop: kept-alive exchanges end every ~1 ms for 300 ms,
    // then one turn runs 100 ms with none ending, then admits a one-off
    // host last used 400 ms ago. The pace is still one per ~1 ms, so with
    // maxIdle 10 an idle connection lasts ~10–35 ms: the host is first-seen.
    // (Reading the pace as the time since the last entry made the window
    // 10 × 100 ms and kept the host's connection, pushing a hot one out.)
    const a = new Admission(limits({ maxInFlight: 10, maxIdle: 10, repeatWindowMs: 60_000 }));
    const busyFor = (ms: number): void => {
      const until = performance.now() + ms;
      while (performance.now() < until) {
        // the event loop is busy
      }
    };
    a.release(granted(a.admit('one-off', far(), undefined, 1000)));
    for (let i = 0; i < 300; i += 1) {
      busyFor(1);
      a.release(granted(a.admit(`hot-${i % 3}`, far(), undefined, 1000)), true);
    }
    busyFor(100);
    expect(granted(a.admit('one-off', far(), undefined, 1000)).repeat).toBe(false);
  });

  it('marks a route used again within the window as repeat, and forgets on forgetRoutes()', () => {
    const a = new Admission(limits({ maxInFlight: 10, repeatWindowMs: 60_000 }));
    const first = granted(a.admit('r', far(), undefined, 1000));
    a.release(first);
    const second = granted(a.admit('r', far(), undefined, 1000));
    a.release(second);
    expect([first.repeat, second.repeat]).toEqual([false, true]);
    a.forgetRoutes();
    expect(granted(a.admit('r', far(), undefined, 1000)).repeat).toBe(false);
  });
});
