import { createRequire } from 'node:module';
import type { LibraryHandle, TypeObject } from 'koffi';
import { resolveOptions, type OptionSpec } from '../util/options.js';

/**
 * Process memory as the C allocator and the kernel see it.
 *
 * Node reports its own heaps (`process.memoryUsage()`), but most of what an
 * atresolve process holds outside V8 — libcurl's connection pool, TLS
 * state, response bodies in `Buffer`s, the native engine's command and
 * completion lists — lives in glibc malloc. glibc's `mallinfo2()` (glibc >= 2.33) counts it exactly; we
 * call it through koffi, so no extra native build is needed.
 *
 * Field mapping from `struct mallinfo2` (glibc `malloc/malloc.c`,
 * `int_mallinfo()`, summed over every arena — the main one and the
 * per-thread ones):
 *
 * | ours         | mallinfo2            | meaning                                                         |
 * |--------------|----------------------|-----------------------------------------------------------------|
 * | `inUse`      | `uordblks + hblkhd`  | bytes in allocated chunks: arena chunks plus mmapped chunks     |
 * | `arena`      | `arena`              | bytes obtained from the system for arenas (sbrk heap + thread heaps) |
 * | `mmapped`    | `hblkhd`             | bytes in chunks mmapped one by one (large allocations)          |
 * | `free`       | `fordblks`           | free bytes inside arenas (bins, fastbins, each arena's top)     |
 * | `releasable` | `keepcost`           | size of the main arena's top chunk, what `systrim` can give back|
 *
 * Consequences worth knowing: `inUse <= arena + mmapped` always, since
 * `arena = uordblks + fordblks`. Chunks parked in a thread's tcache count as
 * in use (glibc does not walk tcaches). `releasable` covers the main arena's
 * top only: `malloc_trim()` can also give back whole free pages inside any
 * arena (with `madvise(MADV_DONTNEED)`), which lowers RSS but leaves `arena`
 * and `free` unchanged, because glibc still owns the address space.
 */

/** Figures from glibc's allocator, in bytes. See the module doc for the exact mapping. */
export interface MallocFigures {
  /** Bytes in allocated chunks, arenas plus mmapped chunks (`uordblks + hblkhd`). */
  inUse: number;
  /** Bytes the arenas obtained from the system, main and per-thread (`arena`). */
  arena: number;
  /** Bytes in individually mmapped chunks (`hblkhd`). */
  mmapped: number;
  /** Free bytes held inside the arenas (`fordblks`). */
  free: number;
  /** The main arena's top chunk, which `malloc_trim()` can return with `sbrk` (`keepcost`). */
  releasable: number;
}

/** Figures from `process.memoryUsage()`, in bytes. */
export interface ProcessMemoryFigures {
  /** Resident set size: every page of the process that is in RAM. */
  rss: number;
  /** V8 heap in use by JavaScript objects. */
  heapUsed: number;
  /** V8 heap reserved (committed) by V8. */
  heapTotal: number;
  /** Memory of C++ objects bound to JavaScript objects, including `arrayBuffers`. */
  external: number;
  /** Backing stores of `ArrayBuffer`s and `Buffer`s (allocated with malloc, so also in `inUse`). */
  arrayBuffers: number;
}

/** One reading of process memory. */
export interface MemorySnapshot {
  /** Allocator figures, or `null` when they cannot be read (see `reason`); never estimated. */
  malloc: MallocFigures | null;
  /** Node's own figures; always present. */
  process: ProcessMemoryFigures;
  /** `true` when `malloc` is present. */
  available: boolean;
  /** Why `malloc` is `null`; absent when available. */
  reason?: string;
}

/** Figures compared by `trim()`, in bytes. */
export interface TrimFigures {
  /** `MallocFigures.inUse`. */
  inUse: number;
  /** `MallocFigures.arena`. */
  arena: number;
  /** Resident set size. `malloc_trim()` mostly shows here, not in `arena`. */
  rss: number;
}

/** Result of `trim()`. */
export type TrimResult =
  | {
      available: true;
      /** `malloc_trim()`'s own answer: `true` when it returned any memory to the system. */
      released: boolean;
      before: TrimFigures;
      after: TrimFigures;
    }
  | {
      available: false;
      released: false;
      /** Why nothing was attempted. */
      reason: string;
    };

/** Options for `MemoryProbe`. */
export interface MemoryProbeOptions {
  /**
   * The shared library that provides `mallinfo2()` and `malloc_trim()`.
   * Default `'libc.so.6'`: glibc's soname on every Linux architecture.
   * Tests point it at a library without the symbols to check the
   * unavailable path.
   */
  library?: string;
}

interface ResolvedMemoryProbeOptions {
  library: string;
}

const memoryProbeOptionSpec = {
  library: { kind: 'string', default: 'libc.so.6' },
} as const satisfies OptionSpec;

/** The raw struct as koffi decodes it; `size_t` fields arrive as numbers (or bigints past 2^53). */
interface RawMallinfo2 {
  arena: number | bigint;
  uordblks: number | bigint;
  hblkhd: number | bigint;
  fordblks: number | bigint;
  keepcost: number | bigint;
}

type KoffiModule = typeof import('koffi');
/** A function declared with koffi's `func()`. */
type KoffiFunction = ReturnType<LibraryHandle['func']>;

/** What a successful load holds. Lives as long as the probe; koffi keeps the library mapped. */
interface Loaded {
  mallinfo2: KoffiFunction;
  /** `null` when the library has `mallinfo2` but no `malloc_trim`. */
  mallocTrim: KoffiFunction | null;
  trimReason: string | undefined;
}

type LoadState = { ok: true; fns: Loaded } | { ok: false; reason: string };

/**
 * One size_t-field struct type per koffi module, made once: koffi keeps every
 * type it creates for the life of the process.
 */
let mallinfo2Type: TypeObject | undefined;

function loadKoffi(): KoffiModule {
  // koffi is a CommonJS native module; require() keeps loading synchronous
  // so `snapshot()` stays synchronous.
  const require = createRequire(import.meta.url);
  return require('koffi') as KoffiModule;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function toNumber(value: number | bigint): number {
  return typeof value === 'bigint' ? Number(value) : value;
}

function readProcess(): ProcessMemoryFigures {
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers };
}

/**
 * Reads glibc malloc figures through koffi and trims the allocator.
 *
 * The library is loaded lazily on the first call and only once, whether the
 * load succeeds or not; a failure is remembered as `reason` and every later
 * call answers at once. No method throws: when glibc's `mallinfo2` cannot be
 * used (musl, macOS, glibc < 2.33, koffi missing, or malloc replaced by
 * another allocator such as jemalloc via `LD_PRELOAD`), `snapshot().malloc`
 * is `null` and `reason` says why. The older `mallinfo()` is never used as a
 * fallback: its `int` fields wrap past 2 GiB, which would be a fake number.
 *
 * Cost: `snapshot()` is ~12 µs on a compact heap, of which ~9 µs is
 * `process.memoryUsage()` reading `/proc`. `mallinfo2()` walks every free
 * chunk of every arena while holding that arena's lock, so it grows with
 * fragmentation: ~0.2 ms with 10,000 free chunks (`npm run bench:memory`).
 * Each arena is locked only while it is walked, so the transport's worker
 * thread, which allocates in its own arena, is rarely held up.
 */
export class MemoryProbe {
  readonly #options: ResolvedMemoryProbeOptions;
  #state: LoadState | undefined;

  /** @throws InvalidOptionsError when `options` is invalid */
  constructor(options?: MemoryProbeOptions) {
    this.#options = resolveOptions<ResolvedMemoryProbeOptions>(memoryProbeOptionSpec, options, 'memory');
  }

  /** `true` when malloc figures can be read. Loads the library on first use. */
  get available(): boolean {
    return this.#load().ok;
  }

  /** Why malloc figures cannot be read, or `undefined` when they can. Loads the library on first use. */
  get reason(): string | undefined {
    const state = this.#load();
    return state.ok ? undefined : state.reason;
  }

  /**
   * Read allocator and process figures now. Never throws; `malloc` is `null`
   * with a `reason` when the allocator cannot be read.
   */
  snapshot(): MemorySnapshot {
    const state = this.#load();
    const proc = readProcess();
    if (!state.ok) return { malloc: null, process: proc, available: false, reason: state.reason };
    return { malloc: this.#readMalloc(state.fns), process: proc, available: true };
  }

  /**
   * Call `malloc_trim(0)`: consolidate free chunks and give free memory back
   * to the system — whole free pages inside every arena (`madvise`) and the
   * top of the main arena (`sbrk`). It cannot return pages that still hold a
   * live allocation (fragmentation), chunks cached in per-thread tcaches, or
   * anything owned by V8. Takes each arena's lock, so it pauses threads that
   * allocate for its duration (milliseconds on a large heap). Never throws.
   */
  trim(): TrimResult {
    const state = this.#load();
    if (!state.ok) return { available: false, released: false, reason: state.reason };
    const { mallocTrim, trimReason } = state.fns;
    if (mallocTrim === null) return { available: false, released: false, reason: trimReason ?? 'malloc_trim is unavailable' };
    const before = this.#trimFigures(state.fns);
    const released = (mallocTrim(0) as number) !== 0;
    const after = this.#trimFigures(state.fns);
    return { available: true, released, before, after };
  }

  #trimFigures(fns: Loaded): TrimFigures {
    const m = this.#readMalloc(fns);
    return { inUse: m.inUse, arena: m.arena, rss: process.memoryUsage.rss() };
  }

  #readMalloc(fns: Loaded): MallocFigures {
    const raw = fns.mallinfo2() as RawMallinfo2;
    const uordblks = toNumber(raw.uordblks);
    const hblkhd = toNumber(raw.hblkhd);
    return {
      inUse: uordblks + hblkhd,
      arena: toNumber(raw.arena),
      mmapped: hblkhd,
      free: toNumber(raw.fordblks),
      releasable: toNumber(raw.keepcost),
    };
  }

  #load(): LoadState {
    this.#state ??= this.#tryLoad();
    return this.#state;
  }

  #tryLoad(): LoadState {
    const library = this.#options.library;
    let koffi: KoffiModule;
    try {
      koffi = loadKoffi();
    } catch (error) {
      return { ok: false, reason: `koffi could not be loaded, so malloc figures are unavailable: ${message(error)}` };
    }
    let lib: LibraryHandle;
    try {
      lib = koffi.load(library);
    } catch (error) {
      const hint = process.platform === 'linux' ? 'malloc figures need glibc >= 2.33' : `malloc figures need glibc >= 2.33 on Linux; this platform is ${process.platform}`;
      return { ok: false, reason: `cannot load '${library}' (${message(error)}); ${hint}` };
    }
    mallinfo2Type ??= koffi.struct({
      arena: 'size_t',
      ordblks: 'size_t',
      smblks: 'size_t',
      hblks: 'size_t',
      hblkhd: 'size_t',
      usmblks: 'size_t',
      fsmblks: 'size_t',
      uordblks: 'size_t',
      fordblks: 'size_t',
      keepcost: 'size_t',
    });
    let mallinfo2: KoffiFunction;
    try {
      mallinfo2 = lib.func('mallinfo2', mallinfo2Type, []);
    } catch (error) {
      return {
        ok: false,
        reason:
          `'${library}' has no mallinfo2 (${message(error)}); it needs glibc >= 2.33, and musl or other C libraries do not provide it. ` +
          'mallinfo() is not used instead because its int fields wrap past 2 GiB',
      };
    }
    let mallocTrim: KoffiFunction | null = null;
    let trimReason: string | undefined;
    try {
      mallocTrim = lib.func('malloc_trim', 'int', ['size_t']);
    } catch (error) {
      trimReason = `'${library}' has no malloc_trim (${message(error)})`;
    }
    const fns: Loaded = { mallinfo2, mallocTrim, trimReason };
    const foreign = checkGlibcIsTheAllocator(koffi, fns);
    if (foreign !== undefined) return { ok: false, reason: foreign };
    return { ok: true, fns };
  }
}

/**
 * glibc's `mallinfo2` only sees glibc's own arenas. When another allocator
 * (jemalloc, tcmalloc, mimalloc via `LD_PRELOAD`) has replaced `malloc`, its
 * figures would stay near zero while the process grows — a fake number. So
 * allocate 1 MiB through the process's real `malloc` (the symbol as the
 * dynamic linker resolves it for the program) and check that glibc saw it.
 * The block is never touched, so it costs address space, not RAM.
 *
 * @returns a reason when glibc is not the allocator; `undefined` when it is
 *   or when the check itself cannot run (then glibc is assumed, as on every
 *   stock Node build).
 */
function checkGlibcIsTheAllocator(koffi: KoffiModule, fns: Loaded): string | undefined {
  const probeBytes = 1 << 20;
  let processMalloc: KoffiFunction;
  let processFree: KoffiFunction;
  try {
    const program = koffi.load(null);
    processMalloc = program.func('malloc', 'void *', ['size_t']);
    processFree = program.func('free', 'void', ['void *']);
  } catch {
    return undefined;
  }
  const inUse = (): number => {
    const raw = fns.mallinfo2() as RawMallinfo2;
    return toNumber(raw.uordblks) + toNumber(raw.hblkhd);
  };
  const before = inUse();
  const block: unknown = processMalloc(probeBytes);
  if (block === null) return undefined;
  const after = inUse();
  processFree(block);
  // Half the block is a margin for other threads freeing memory meanwhile.
  if (after - before >= probeBytes / 2) return undefined;
  return (
    'malloc is not glibc\'s (another allocator, e.g. jemalloc or tcmalloc via LD_PRELOAD, replaced it): ' +
    `a 1 MiB malloc() raised glibc's in-use figure by ${after - before} bytes, so mallinfo2 would not see this process's memory`
  );
}

/**
 * The process-wide probe on `libc.so.6`. Malloc is one per process, so one
 * probe is enough; it loads koffi and the library on first use.
 */
export const memory: MemoryProbe = new MemoryProbe();
