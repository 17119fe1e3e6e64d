import type { CliIo } from './io.js';
import type { SoakSample } from './soak-ipc.js';

/** Bytes as MiB with one decimal. */
export function mib(bytes: number | null): string {
  return bytes === null ? 'n/a' : `${(bytes / 1_048_576).toFixed(1)} MiB`;
}

/** A slope in bytes/s as signed KiB/s. */
export function kibPerSecond(bytesPerSecond: number | null): string {
  if (bytesPerSecond === null) return 'n/a';
  const kib = bytesPerSecond / 1_024;
  return `${kib >= 0 ? '+' : ''}${kib.toFixed(1)} KiB/s`;
}

function ms(value: number | null): string {
  if (value === null) return '-';
  return value < 10 ? `${value.toFixed(1)}ms` : `${Math.round(value)}ms`;
}

/** The one-line status of a second of the run. */
export function formatStatus(name: string, totalSeconds: number, sample: SoakSample): string {
  const cpu = sample.cpu ? `  cpu ${pct(sample.cpu.runner)} world ${pct(sample.cpu.world)} box ${pct(sample.cpu.machine)}` : '';
  return (
    `[${name}] ${sample.t}/${totalSeconds}s  ${Math.round(sample.ok / (sample.seconds || 1))} res/s  p50 ${ms(sample.p50Ms)} p99 ${ms(sample.p99Ms)}  ` +
    `err ${sample.errors}${late(sample)}  conns ${sample.openConnections}  malloc ${mib(sample.mallocInUse)}  ` +
    `slope ${kibPerSecond(sample.slopeBytesPerSecond)}${cpu}`
  );
}

/** Flags a sample that covers more than a second (the runner's event loop woke late). */
function late(sample: SoakSample): string {
  return sample.seconds > 1.5 ? ` (over ${sample.seconds.toFixed(1)}s: event loop late)` : '';
}

function pct(value: number | null): string {
  return value === null ? '?' : `${Math.round(value)}%`;
}

/**
 * The live status of a run. On a terminal the line is redrawn in place every
 * second; otherwise (a pipe, a log, a test) a whole line is printed every
 * `everySeconds` seconds and for the last second, so logs stay short.
 */
export class StatusLine {
  readonly #io: CliIo;
  readonly #name: string;
  readonly #totalSeconds: number;
  readonly #everySeconds: number;
  #drawn = false;
  #nextPrint: number;

  constructor(io: CliIo, name: string, totalSeconds: number, everySeconds = 10) {
    this.#io = io;
    this.#name = name;
    this.#totalSeconds = totalSeconds;
    this.#everySeconds = everySeconds;
    this.#nextPrint = everySeconds;
  }

  /** Show the status after `sample`. */
  update(sample: SoakSample): void {
    const line = formatStatus(this.#name, this.#totalSeconds, sample);
    if (this.#io.interactive) {
      this.#io.err(`\r\x1b[2K${line}`);
      this.#drawn = true;
    } else if (sample.t === 1 || sample.t === this.#totalSeconds || sample.t >= this.#nextPrint) {
      this.#io.err(`${line}\n`);
    }
    while (this.#nextPrint <= sample.t) this.#nextPrint += this.#everySeconds;
  }

  /** End the live line (a newline on a terminal), before anything else is printed. */
  finish(): void {
    if (this.#drawn) this.#io.err('\n');
    this.#drawn = false;
  }
}
