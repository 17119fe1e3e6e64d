import { readFileSync } from 'node:fs';

/**
 * CPU meters for the soak's live line and samples, read from `/proc`: one
 * process (the load runner, the world, the soak itself) or the whole
 * machine. Each meter returns the CPU used since its previous call in % of
 * one core (so 2 busy cores = 200), `null` where `/proc` cannot be read.
 */

/** Clock ticks per second of `/proc` times (USER_HZ, 100 on Linux). */
const USER_HZ = 100;

/** User + system CPU seconds of `pid`, `null` when unreadable. */
function cpuSeconds(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
  } catch {
    return null;
  }
}

/** Busy CPU seconds of the whole machine (all cores), from `/proc/stat`; `null` when unreadable. */
function machineBusySeconds(): number | null {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = fields.reduce((a, b) => a + b, 0);
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
    return (total - idle) / USER_HZ;
  } catch {
    return null;
  }
}

function meter(read: () => number | null): () => number | null {
  let last = read();
  let lastAt = performance.now();
  return () => {
    const now = read();
    const at = performance.now();
    const value = now === null || last === null ? null : Math.round(((now - last) / ((at - lastAt) / 1_000)) * 1_000) / 10;
    last = now;
    lastAt = at;
    return value;
  };
}

/** Percent of one core used by `pid` since the previous call. */
export function processCpuMeter(pid: number | undefined): () => number | null {
  return meter(() => cpuSeconds(pid));
}

/** Percent of one core used by the whole machine since the previous call (all cores added up). */
export function machineCpuMeter(): () => number | null {
  return meter(machineBusySeconds);
}
