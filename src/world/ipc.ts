import type { WorldCounters } from './counters.js';
import type { WorldEndpoints } from './endpoints.js';
import type { FaultSettings } from './faults.js';
import type { WorldOptions } from './options.js';

/**
 * The IPC protocol between `WorldProcess` (parent) and `child.ts`. Messages
 * are JSON over the `fork()` channel; every call carries an `id` and gets
 * exactly one `reply` with that id.
 */

/** Parent → child: the one `start` message, then calls. */
export type ParentMessage =
  | { op: 'start'; options: WorldOptions }
  | { op: 'setFaults'; id: number; faults: FaultSettings }
  | { op: 'counters'; id: number }
  | { op: 'resetCounters'; id: number }
  | { op: 'close'; id: number };

/** Child → parent. A `close` reply carries the final counters. */
export type ChildMessage =
  | { type: 'ready'; endpoints: WorldEndpoints }
  | { type: 'startFailed'; error: string }
  | { type: 'reply'; id: number; value?: WorldCounters; error?: string };

/** `error` as one line for the other side: `Name: message`. */
export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
