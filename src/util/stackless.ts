/**
 * Build an error without capturing a stack trace: its `stack` is just
 * `Name: message`. For the errors the overload path makes by the
 * thousand per second (a shed request), whose stack would only name the
 * admission layer's internals: capturing one, async frames included, costs
 * ~10 µs of the JS thread, against ~1 µs without (`docs/admission.md`,
 * "Cost of a refusal").
 */
export function withoutStackTrace<T extends Error>(make: () => T): T {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return make();
  } finally {
    Error.stackTraceLimit = limit;
  }
}
