import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { sleep, timed } from '../support/async.js';

/**
 * Shared checks of the hostile-input suite. Every attack asserts four
 * things: a typed error, an end within a bound derived from the configured
 * limit, no growth in open sockets, and no unhandled rejection.
 */

/**
 * Slack added to a configured time limit when asserting that an attack
 * ended in time. It is not a performance threshold: it covers timer
 * granularity and a loaded 2-core CI box, and is small next to what an
 * unbounded attack would take (forever).
 */
export const TIME_SLACK_MS = 2_000;

type ErrorClass<E> = abstract new (...args: never[]) => E;

/**
 * Expect `work` to reject with `expected` within `boundMs`; returns the error.
 * `label` names the attack in failure messages.
 */
export async function expectTypedFailure<E extends Error>(
  label: string,
  work: () => Promise<unknown>,
  expected: ErrorClass<E> | readonly ErrorClass<E>[],
  boundMs: number,
): Promise<E> {
  const outcome = await timed(work);
  const classes = Array.isArray(expected) ? expected : [expected];
  expect(outcome.error, `${label}: expected a rejection`).toBeDefined();
  expect(
    classes.some((Class) => outcome.error instanceof Class),
    `${label}: ${String(outcome.error)} is not ${classes.map((c) => c.name).join(' | ')}`,
  ).toBe(true);
  expect(outcome.elapsedMs, `${label}: took ${Math.round(outcome.elapsedMs)} ms, bound ${boundMs} ms`).toBeLessThanOrEqual(boundMs);
  return outcome.error as E;
}

/**
 * Record unhandled rejections and uncaught exceptions for the whole file and
 * fail the test during which one appeared. Call once at the top of a file.
 */
export function failOnUnhandledRejections(): void {
  const seen: unknown[] = [];
  const onRejection = (reason: unknown): void => {
    seen.push(reason);
  };
  beforeAll(() => {
    process.on('unhandledRejection', onRejection);
  });
  afterAll(() => {
    process.off('unhandledRejection', onRejection);
  });
  afterEach(async () => {
    // Rejections are reported after the microtask queue drains.
    await sleep(0);
    expect(seen.splice(0).map(String), 'unhandled rejections').toEqual([]);
  });
}
