/**
 * Where a command writes. The CLI passes `process.stdout`/`stderr`; keeping
 * it behind one small interface lets the live status line know whether it
 * may redraw (a terminal) or must print whole lines (a pipe, a test).
 */
export interface CliIo {
  /** Write to standard output. */
  out(text: string): void;
  /** Write to standard error. */
  err(text: string): void;
  /** Whether standard error is a terminal (the live line is redrawn in place). */
  readonly interactive: boolean;
  /** The terminal's width in columns when standard error is a terminal, read when asked (it changes on resize). */
  readonly columns: number | undefined;
}

/** The process's own streams. */
export function processIo(): CliIo {
  return {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    interactive: process.stderr.isTTY === true,
    get columns() {
      return process.stderr.isTTY === true ? process.stderr.columns : undefined;
    },
  };
}
