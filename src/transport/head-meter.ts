import type { Socket } from 'node:net';
import { ResponseTooLargeError } from './errors.js';

/** Where the meter is in the current response, as `engine_headers_feed` in `native/src/response.c`. */
type HeadState = 'status' | 'block' | 'body';

/** Enough of a line's start to recognise `HTTP/<version> <code>`. */
const LINE_PREFIX_BYTES = 64;

/**
 * Counts each response's head on an HTTP/1.1 socket the way the native
 * engine does (`engine_headers_feed`): every byte of the status line, the
 * header lines and the blank line, line ends included; a 1xx response's
 * head is forgotten when the next status line starts. When the count passes
 * `maxHeaderBytes` the socket is destroyed with a `ResponseTooLargeError`
 * (`part: 'headers'`), which undici hands to the request.
 *
 * undici's own `maxHeaderSize` counts header names and values only, never
 * the status line, so a server could stream an endless status line; this
 * meter closes that gap and makes the cap mean the same on both transports.
 * undici's count stays as the backstop for trailers, which the meter does
 * not see (it stops at the end of the final head and starts again when the
 * next request is written; undici sends one request at a time).
 *
 * It watches the socket passively: `'data'` events, which a readable
 * stream emits for every `read()` undici makes (undici's `'readable'`
 * listener keeps the socket in paused mode), and `write()`.
 */
export function meterResponseHeads(socket: Socket, maxHeaderBytes: number, target: string): void {
  const meter = new HeadMeter(maxHeaderBytes);
  const write = socket.write;
  socket.write = function meteredWrite(this: Socket, ...args: Parameters<Socket['write']>): boolean {
    meter.reset();
    return write.apply(this, args);
  } as Socket['write'];
  socket.on('data', (chunk: Buffer) => {
    if (meter.feed(chunk)) return;
    socket.destroy(
      new ResponseTooLargeError(`response headers from ${target} exceed ${maxHeaderBytes} bytes`, {
        part: 'headers',
        limit: maxHeaderBytes,
      }),
    );
  });
}

/** The counting itself, byte for byte what `engine_headers_feed` counts. */
export class HeadMeter {
  readonly #cap: number;
  #state: HeadState = 'status';
  /** Bytes of the current response's head before the current line. */
  #counted = 0;
  /** The current head is a 1xx response's. */
  #informational = false;
  /** Bytes of the current (unfinished) line. */
  #lineBytes = 0;
  /** The current line's first bytes (up to `LINE_PREFIX_BYTES`). */
  #prefix = '';
  #over = false;

  constructor(cap: number) {
    this.#cap = cap;
  }

  /** A new request was written: its response starts afresh. */
  reset(): void {
    this.#state = 'status';
    this.#counted = 0;
    this.#informational = false;
    this.#startLine();
    this.#over = false;
  }

  /** Count received bytes; `false` once the head is over the cap. */
  feed(chunk: Buffer): boolean {
    if (this.#over) return false;
    let offset = 0;
    while (offset < chunk.length && this.#state !== 'body') {
      const newline = chunk.indexOf(0x0a, offset);
      const end = newline < 0 ? chunk.length : newline + 1;
      this.#lineBytes += end - offset;
      const room = LINE_PREFIX_BYTES - this.#prefix.length;
      if (room > 0) this.#prefix += chunk.toString('latin1', offset, Math.min(end, offset + room));
      // Checked as bytes arrive, not only at the line's end, so an endless
      // line stops at the cap. A line that may still become a status line
      // counts alone, as it will once it is one.
      const maybeStatus = this.#state === 'status' && isStatusPrefix(this.#prefix, newline < 0);
      const total = maybeStatus ? this.#lineBytes : this.#counted + this.#lineBytes;
      if (total > this.#cap) {
        this.#over = true;
        return false;
      }
      if (newline < 0) break;
      this.#endLine(maybeStatus, total);
      offset = end;
    }
    return true;
  }

  #endLine(statusLine: boolean, total: number): void {
    const blank = this.#prefix === '\r\n' || this.#prefix === '\n';
    this.#counted = total;
    if (statusLine) {
      this.#informational = /^HTTP\/[^ ]* +1/.test(this.#prefix);
      this.#state = 'block';
    } else if (blank) {
      if (this.#state === 'block') this.#state = this.#informational ? 'status' : 'body';
    } else if (this.#state === 'status') {
      this.#state = 'block'; // a header block without a status line
    }
    this.#startLine();
  }

  #startLine(): void {
    this.#lineBytes = 0;
    this.#prefix = '';
  }
}

/**
 * Is a line starting with `prefix` a status line (`HTTP/…`)? While the line
 * is unfinished and shorter than `HTTP/`, it may still become one.
 */
function isStatusPrefix(prefix: string, unfinished: boolean): boolean {
  if (prefix.length >= 5) return prefix.startsWith('HTTP/');
  return unfinished && 'HTTP/'.startsWith(prefix);
}
