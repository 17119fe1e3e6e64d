import type { PhaseTotals, SoakSample } from '../../src/cli/soak-ipc.js';

/** A one-second soak sample at second `t`: 1,000 offered and succeeded, 10 MiB of malloc, unless `extra` says otherwise. */
export function sample(t: number, extra: Partial<SoakSample> = {}): SoakSample {
  return {
    t,
    seconds: 1,
    phase: 'run',
    offered: 1000,
    ok: 1000,
    errors: 0,
    overflow: 0,
    errorsByClass: {},
    inFlight: 3,
    openConnections: 60,
    mallocInUse: 10 * 1_048_576,
    rss: 100e6,
    heapUsed: 1,
    arrayBuffers: 1,
    slopeBytesPerSecond: null,
    p50Ms: 4,
    p99Ms: 20,
    recycles: 0,
    ...extra,
  };
}

/** The totals of a measured run of `seconds` at 1,000/s, unless `extra` says otherwise. */
export function totals(seconds: number, extra: Partial<PhaseTotals> = {}): PhaseTotals {
  const offered = extra.offered ?? seconds * 1000;
  const errors = extra.errors ?? 0;
  const ok = extra.ok ?? offered - errors;
  return {
    offered,
    ok,
    errors,
    overflow: 0,
    unfinished: 0,
    byKind: { plc: { offered: 0, ok: 0, errors: 0 }, web: { offered: 0, ok: 0, errors: 0 }, handle: { offered: 0, ok: 0, errors: 0 } },
    errorsByClass: {},
    errorCodes: {},
    seconds,
    achievedPerSecond: ok / seconds,
    ...extra,
  };
}
