// Meters shared by the benchmarks: CPU of this process in total and on its
// JS thread, busy CPU of the whole machine, and bytes allocated on the V8
// heap. Each meter is started before a measured stretch and read after it.
import { readFileSync } from 'node:fs';
import v8 from 'node:v8';

const SCHEDSTAT = `/proc/self/task/${process.pid}/schedstat`;

/**
 * Nanoseconds the JS (main) thread has run on a CPU: the first field of its
 * `/proc/self/task/<tid>/schedstat` (the main thread's tid is the pid).
 * `null` where `/proc` has no schedstat (not Linux, or no CONFIG_SCHEDSTATS).
 */
export function jsThreadCpuNs() {
  try {
    return Number(readFileSync(SCHEDSTAT, 'utf8').split(' ', 1)[0]);
  } catch {
    return null;
  }
}

/**
 * A CPU meter started now. `read()` returns the CPU used since, in µs: in
 * total (`process.cpuUsage()`: user + system of every thread of the
 * process, the engine's worker and libuv's pool included) and on the JS
 * thread alone (`null` when unavailable).
 */
export function cpuMeter() {
  const total0 = process.cpuUsage();
  const js0 = jsThreadCpuNs();
  return {
    read() {
      const total = process.cpuUsage(total0);
      const js = jsThreadCpuNs();
      return { totalUs: total.user + total.system, jsUs: js === null || js0 === null ? null : (js - js0) / 1_000 };
    },
  };
}

/** Busy jiffies of the whole machine (all cores), to show how shared the box was. */
function machineBusyJiffies() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number);
  return f.reduce((a, b) => a + b, 0) - f[3] - f[4];
}

/**
 * A meter of the whole machine's busy CPU, started now. `read()` returns
 * the busy CPU since, in % of one core (a busy 2-core box reads 200): what
 * exceeds the measured process is other work on the box (the world child,
 * other jobs).
 */
export function machineMeter() {
  const busy0 = machineBusyJiffies();
  const at0 = performance.now();
  return {
    read() {
      return (machineBusyJiffies() - busy0) / ((performance.now() - at0) / 1_000);
    },
  };
}

/**
 * A meter of bytes allocated on the V8 heap, started now (`v8.GCProfiler`:
 * every collection reports the heap's used size before and after it, so
 * allocation = growth between collections, summed). `read()` stops it and
 * returns `{ allocated, collections }`. One per process at a time.
 */
export function heapAllocationMeter() {
  const profiler = new v8.GCProfiler();
  profiler.start();
  const used0 = v8.getHeapStatistics().used_heap_size;
  return {
    read() {
      const used1 = v8.getHeapStatistics().used_heap_size;
      const { statistics } = profiler.stop();
      let allocated = 0;
      let previous = used0;
      for (const gc of statistics) {
        allocated += gc.beforeGC.heapStatistics.usedHeapSize - previous;
        previous = gc.afterGC.heapStatistics.usedHeapSize;
      }
      allocated += used1 - previous;
      return { allocated, collections: statistics.length };
    },
  };
}

/** `1234.5` → `1,235`; `null` → `-`. */
export function n0(value) {
  return value === null || value === undefined || !Number.isFinite(value) ? '-' : Math.round(value).toLocaleString('en-US');
}

/** `12.345` → `12.3`; `null` → `-`. */
export function n1(value) {
  return value === null || value === undefined || !Number.isFinite(value) ? '-' : value.toFixed(1);
}
