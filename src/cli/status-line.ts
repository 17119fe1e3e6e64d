import type { CliIo } from './io.js';
import type { SoakSample } from './soak-ipc.js';

/** Bytes as MiB with one decimal. */
export function mib(bytes: number | null): string {
  return bytes === null ? 'n/a' : `${(bytes / 1_048_576).toFixed(1)} MiB`;
}

/** Bytes as signed KiB with one decimal (`+1.2`, `-0.3`), `n/a` for `null`. */
export function signedKib(bytes: number | null): string {
  if (bytes === null) return 'n/a';
  const kib = bytes / 1_024;
  return `${kib >= 0 ? '+' : ''}${kib.toFixed(1)}`;
}

/** A slope in bytes/s as signed KiB/s. */
export function kibPerSecond(bytesPerSecond: number | null): string {
  return bytesPerSecond === null ? 'n/a' : `${signedKib(bytesPerSecond)} KiB/s`;
}

function ms(value: number | null): string {
  if (value === null) return '-';
  return value < 10 ? `${value.toFixed(1)}ms` : `${Math.round(value)}ms`;
}

/**
 * The one-line status of a second of the run, at most `columns` characters
 * wide: whole when it fits, else without its least useful parts (CPU, then
 * the live slope, the connections, the median), and cut as a last resort.
 * Without `columns` (not a terminal) the line is whole.
 */
export function formatStatus(name: string, seconds: { warmup: number; run: number }, sample: SoakSample, columns?: number): string {
  const clock =
    sample.phase === 'warmup'
      ? `warm-up ${formatSecond(sample.t)}/${seconds.warmup}s`
      : `${formatSecond(sample.t - seconds.warmup)}/${seconds.run}s`;
  // Lower `drop` goes first when the line is too wide; Infinity never goes.
  const parts: { text: string; drop: number }[] = [
    { text: `[${name}] ${clock}`, drop: Infinity },
    { text: `  ${Math.round(sample.ok / (sample.seconds || 1))} res/s`, drop: Infinity },
    { text: `  p50 ${ms(sample.p50Ms)}`, drop: 4 },
    { text: ` p99 ${ms(sample.p99Ms)}`, drop: Infinity },
    { text: `  err ${sample.errors}${late(sample)}`, drop: Infinity },
    { text: `  conns ${sample.openConnections}`, drop: 3 },
    { text: `  malloc ${mib(sample.mallocInUse)}`, drop: 5 },
    { text: `  slope ${kibPerSecond(sample.slopeBytesPerSecond)}`, drop: 2 },
  ];
  if (sample.cpu) {
    parts.push({ text: `  cpu ${pct(sample.cpu.runner)}`, drop: 1 });
    parts.push({ text: ` world ${pct(sample.cpu.world)} box ${pct(sample.cpu.machine)}`, drop: 0 });
  }
  const join = (): string => parts.map((p) => p.text).join('');
  let line = join();
  if (columns === undefined) return line;
  while (line.length > columns) {
    const droppable = parts.filter((p) => p.drop !== Infinity);
    if (droppable.length === 0) break;
    const lowest = droppable.reduce((a, b) => (b.drop < a.drop ? b : a));
    parts.splice(parts.indexOf(lowest), 1);
    line = join();
  }
  return line.length > columns ? `${line.slice(0, Math.max(0, columns - 1))}…` : line;
}

/** Flags a sample that covers more than a second (the runner's event loop woke late). */
function late(sample: SoakSample): string {
  return sample.seconds > 1.5 ? ` (over ${sample.seconds.toFixed(1)}s: event loop late)` : '';
}

function pct(value: number | null): string {
  return value === null ? '?' : `${Math.round(value)}%`;
}

function formatSecond(t: number): string {
  return Number.isInteger(t) ? String(t) : t.toFixed(1);
}

/**
 * The live status of a run. On a terminal the line is redrawn in place every
 * second, fitted to the terminal's width (read each time: the window may be
 * resized); otherwise (a pipe, a log, a test) a whole line is printed every
 * `everySeconds` seconds, at the end of the warm-up and for the last
 * second, so logs stay short.
 */
export class StatusLine {
  readonly #io: CliIo;
  readonly #name: string;
  readonly #seconds: { warmup: number; run: number };
  readonly #everySeconds: number;
  #drawn = false;
  #nextPrint: number;

  constructor(io: CliIo, name: string, seconds: { warmup: number; run: number }, everySeconds = 10) {
    this.#io = io;
    this.#name = name;
    this.#seconds = seconds;
    this.#everySeconds = everySeconds;
    this.#nextPrint = everySeconds;
  }

  /** Show the status after `sample`. */
  update(sample: SoakSample): void {
    if (this.#io.interactive) {
      // One column short of the width: writing the last column wraps on some terminals.
      const columns = this.#io.columns === undefined ? undefined : Math.max(20, this.#io.columns - 1);
      this.#io.err(`\r\x1b[2K${formatStatus(this.#name, this.#seconds, sample, columns)}`);
      this.#drawn = true;
    } else if (
      sample.t === 1 ||
      sample.t === this.#seconds.warmup ||
      sample.t >= this.#seconds.warmup + this.#seconds.run ||
      sample.t >= this.#nextPrint ||
      !Number.isInteger(sample.t)
    ) {
      this.#io.err(`${formatStatus(this.#name, this.#seconds, sample)}\n`);
    }
    while (this.#nextPrint <= sample.t) this.#nextPrint += this.#everySeconds;
  }

  /** End the live line (a newline on a terminal), before anything else is printed. */
  finish(): void {
    if (this.#drawn) this.#io.err('\n');
    this.#drawn = false;
  }
}
