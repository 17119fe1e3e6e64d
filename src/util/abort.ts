/**
 * Settle with `promise`, or reject with `reason(signal)` as soon as
 * `signal` aborts (at once when it already has). The abort listener is
 * removed when `promise` settles, so a long-lived signal does not collect
 * one listener per call. `promise` itself runs on: use this where the work
 * cannot be cancelled (a shared cache load, a c-ares query) and only the
 * caller's wait should end.
 */
export function untilAborted<T>(
  promise: Promise<T>,
  signal: AbortSignal | undefined,
  reason: (signal: AbortSignal) => unknown = (s) => s.reason,
): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(reason(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(reason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
