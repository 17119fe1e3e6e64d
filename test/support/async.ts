import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'vitest';

/**
 * The small waiting helpers every suite needs, written once. Each wait is a
 * bound, never a timing assertion: it gives something asynchronous (a
 * socket's `close` event, a pub/sub message, a worker thread parking) time
 * to happen, and a test fails only when it never does.
 */

/** Resolve after `ms`: a pause in a test's script. */
export { sleep };

/** How often the waits below look again. */
const POLL_MS = 10;

/**
 * Poll `check` until it holds; throw `timed out after … waiting for <what>`
 * after `withinMs`.
 */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, withinMs = 10_000): Promise<void> {
  const deadline = performance.now() + withinMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${withinMs} ms waiting for ${what}`);
    await sleep(POLL_MS);
  }
}

/**
 * Poll `read` until `check` holds for its value or `withinMs` passes, and
 * return the last value, for an assertion that shows it when it is wrong.
 */
export async function eventually<T>(read: () => T, check: (value: T) => boolean, withinMs = 5_000): Promise<T> {
  const deadline = performance.now() + withinMs;
  let value = read();
  while (!check(value) && performance.now() < deadline) {
    await sleep(POLL_MS);
    value = read();
  }
  return value;
}

type ErrorClass<E> = abstract new (...args: never[]) => E;

/**
 * Await `promise`'s rejection, check the error's class, and return it for
 * further checks; fails when the promise resolves.
 */
export async function rejection<E extends Error = Error>(promise: Promise<unknown>, expected?: ErrorClass<E>): Promise<E> {
  const outcome = await promise.then(
    (value: unknown) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error(`expected ${expected?.name ?? 'a rejection'}, but it resolved`);
  expect(outcome.error).toBeInstanceOf(expected ?? Error);
  return outcome.error as E;
}

/** What `timed()` saw: the value or the error, and how long it took. */
export interface Timed<T> {
  value: T | undefined;
  error: unknown;
  elapsedMs: number;
}

/** Run `work` and time it; never throws. */
export async function timed<T>(work: () => Promise<T>): Promise<Timed<T>> {
  const started = performance.now();
  try {
    const value = await work();
    return { value, error: undefined, elapsedMs: performance.now() - started };
  } catch (error) {
    return { value: undefined, error, elapsedMs: performance.now() - started };
  }
}
