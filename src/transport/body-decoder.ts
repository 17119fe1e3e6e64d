import type { Transform } from 'node:stream';
import { createGunzip, createInflate, createInflateRaw, type Zlib } from 'node:zlib';
import { ProtocolError, ResponseTooLargeError } from './errors.js';

/**
 * Content codings both transports decode, advertised as `accept-encoding`
 * on every request unless the caller sets one: the native engine
 * (`native/src/response.c`) and `BodyDecoder` implement the same rules.
 * Brotli and zstd are left out on purpose: DID documents and handle answers
 * are small, and each decoder is one more native library fed by hostile
 * servers (see `docs/security.md`).
 */
export const ACCEPT_ENCODING = 'gzip, deflate';

/** At most this many codings are undone (`Content-Encoding: gzip, gzip, gzip`). */
const MAX_CODINGS = 3;

/** What a `BodyDecoder` reports back; each callback is called at most once except `onBytes`/`onDrain`. */
export interface BodyDecoderEvents {
  /** Decoded bytes accepted under the cap (for `bytesIn`). */
  onBytes(count: number): void;
  /** The whole decoded body. */
  onDone(body: Buffer): void;
  /**
   * Decoding failed (`stage: 'decode'`: a zlib error, or an `Error` saying
   * the data is truncated or followed by more data) or the decoded body
   * passed the cap (`stage: 'limit'`, a `ResponseTooLargeError`).
   */
  onError(error: unknown, stage: 'decode' | 'limit'): void;
  /** The decoder has room again after `write()` returned `false`. */
  onDrain(): void;
}

type Coding = 'gzip' | 'deflate';

/**
 * Collects a response body while decoding its `Content-Encoding`, and
 * enforces the size cap on the *decoded* bytes as they come out of the
 * decompressor: a decompression bomb stops at the cap, with at most one
 * zlib output chunk (16 KiB) inflated beyond it. Compressed input is written
 * with backpressure (`write()` returns `false` → pause the socket), so the
 * wire side never buffers more than one chunk either.
 *
 * The rules are the native engine's (`engine_decoder_*` in
 * `native/src/response.c`), so both transports accept and refuse the same
 * bodies:
 * - codings come from `Content-Encoding` (a comma list; tokens trimmed of
 *   spaces and tabs, case-insensitive; `identity` and empty tokens
 *   ignored): `gzip`/`x-gzip` and `deflate`, undone in reverse order, at
 *   most 3; anything else is a `ProtocolError` before any body byte;
 * - gzip may have several members (RFC 1952); anything after a member that
 *   is not another member is an error;
 * - deflate is zlib-wrapped when its first two bytes are a zlib header,
 *   else raw (a common server bug browsers accept); nothing may follow it;
 * - an empty body is an empty body; otherwise every coding's stream must
 *   be complete when the body ends (a truncated stream is an error, never
 *   a shorter body).
 */
export class BodyDecoder {
  readonly #limit: number;
  readonly #events: BodyDecoderEvents;
  /** `#stages[0]` takes the raw body; the last one feeds `#accept`. */
  readonly #stages: Stage[];
  readonly #chunks: Buffer[] = [];
  #size = 0;
  #finished = false;
  #wroteAny = false;
  /** `end()` was called: the raw body is complete. */
  #ended = false;

  /**
   * @param contentEncoding the response's `Content-Encoding` header (may be empty)
   * @param limit cap on decoded bytes
   * @throws ProtocolError for a coding the transport cannot decode, or too many codings
   */
  constructor(contentEncoding: string | undefined, limit: number, events: BodyDecoderEvents) {
    this.#limit = limit;
    this.#events = events;
    // Codings are listed in the order they were applied; decode in reverse.
    const codings = parseCodings(contentEncoding).reverse();
    this.#stages = codings.map((coding, index) => new Stage(coding, index, this.#stageHost));
  }

  /** Feed raw body bytes; `false` means wait for `onDrain` before writing more. */
  write(chunk: Buffer): boolean {
    if (this.#finished || chunk.length === 0) return true;
    this.#wroteAny = true;
    const first = this.#stages[0];
    if (!first) {
      this.#accept(chunk);
      return true;
    }
    return first.write(chunk);
  }

  /** The raw body is complete. */
  end(): void {
    if (this.#finished || this.#ended) return;
    this.#ended = true;
    const first = this.#stages[0];
    if (!first || !this.#wroteAny) {
      this.#finish();
      return;
    }
    first.end();
  }

  /** Stop decoding and drop everything (idempotent). */
  destroy(): void {
    this.#finished = true;
    this.#chunks.length = 0;
    for (const stage of this.#stages) stage.destroy();
  }

  readonly #stageHost: StageHost = {
    output: (index, chunk) => {
      const next = this.#stages[index + 1];
      if (next) return next.write(chunk);
      this.#accept(chunk);
      return true;
    },
    ended: (index) => {
      const next = this.#stages[index + 1];
      if (next) next.end();
      else this.#lastEnded();
    },
    drained: (index) => {
      if (index === 0) this.#events.onDrain();
      else this.#stages[index - 1]?.resume();
    },
    failed: (error) => this.#fail(error),
  };

  /**
   * The last stage's output ended: every stream must have used all of its
   * input. (A stream that ends while input remains makes the stages after
   * it end before the raw body has.)
   */
  #lastEnded(): void {
    if (this.#finished) return;
    const trailing = this.#stages.find((stage) => stage.unused() > 0);
    if (trailing || !this.#ended) {
      this.#fail(new Error(`${trailing?.coding ?? 'compressed body'}: data after the end of the stream`));
      return;
    }
    this.#finish();
  }

  #fail(error: unknown): void {
    if (this.#finished) return;
    this.destroy();
    this.#events.onError(error, 'decode');
  }

  #accept(chunk: Buffer): void {
    if (this.#finished) return;
    if (this.#size + chunk.length > this.#limit) {
      this.destroy();
      this.#events.onError(
        new ResponseTooLargeError(`response body exceeds ${this.#limit} bytes after decoding`, {
          part: 'body',
          limit: this.#limit,
        }),
        'limit',
      );
      return;
    }
    this.#size += chunk.length;
    this.#chunks.push(chunk);
    this.#events.onBytes(chunk.length);
  }

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    const body = this.#chunks.length === 1 ? (this.#chunks[0] as Buffer) : Buffer.concat(this.#chunks, this.#size);
    this.#chunks.length = 0;
    this.#events.onDone(body);
  }
}

/** What a stage reports to its decoder, by stage index. */
interface StageHost {
  /** Decoded output of stage `index`; `false` asks it to pause. */
  output(index: number, chunk: Buffer): boolean;
  /** Stage `index` produced its last output. */
  ended(index: number): void;
  /** Stage `index` can take input again. */
  drained(index: number): void;
  failed(error: unknown): void;
}

/**
 * One coding to undo: a zlib stream, created on the stage's first input
 * (a deflate stage waits for two bytes to tell zlib-wrapped from raw).
 * Its output is passed on with backpressure, as `pipe()` would.
 */
class Stage {
  readonly coding: Coding;
  readonly #index: number;
  readonly #host: StageHost;
  #stream: (Transform & Zlib) | undefined;
  /** Deflate: the first byte, while the wrapper is unknown. */
  #held: Buffer | undefined;
  /** Bytes written to this stage. */
  #fed = 0;

  constructor(coding: Coding, index: number, host: StageHost) {
    this.coding = coding;
    this.#index = index;
    this.#host = host;
  }

  write(chunk: Buffer): boolean {
    this.#fed += chunk.length;
    if (this.#stream) return this.#stream.write(chunk);
    let head = chunk;
    if (this.coding === 'deflate') {
      head = this.#held ? Buffer.concat([this.#held, chunk]) : chunk;
      if (head.length < 2) {
        this.#held = head;
        return true;
      }
      this.#held = undefined;
    }
    return this.#start(head).write(head);
  }

  end(): void {
    const stream = this.#stream ?? this.#start(this.#held ?? Buffer.alloc(0));
    if (this.#held) stream.write(this.#held);
    this.#held = undefined;
    stream.end();
  }

  resume(): void {
    this.#stream?.resume();
  }

  /**
   * Bytes written to this stage that its zlib stream did not consume: data
   * after the end of the stream. (node:zlib counts consumed input in
   * `bytesWritten`; a Gunzip stops consuming at a zero byte after a member.)
   */
  unused(): number {
    return this.#fed - (this.#stream?.bytesWritten ?? 0);
  }

  destroy(): void {
    this.#stream?.destroy();
  }

  #start(head: Buffer): Transform & Zlib {
    const stream =
      this.coding === 'gzip' ? createGunzip() : looksLikeZlib(head) ? createInflate() : createInflateRaw();
    this.#stream = stream;
    stream.on('data', (chunk: Buffer) => {
      if (!this.#host.output(this.#index, chunk)) stream.pause();
    });
    stream.on('end', () => this.#host.ended(this.#index));
    stream.on('drain', () => this.#host.drained(this.#index));
    stream.on('error', (error) => this.#host.failed(error));
    return stream;
  }
}

/**
 * Parse `Content-Encoding` into the codings to undo, ignoring `identity`.
 * @throws ProtocolError for anything else, or more than `MAX_CODINGS`
 */
function parseCodings(header: string | undefined): Coding[] {
  if (header === undefined) return [];
  const codings: Coding[] = [];
  for (const raw of header.split(',')) {
    const coding = raw.replace(/^[ \t]+|[ \t]+$/g, '').toLowerCase();
    if (coding === '' || coding === 'identity') continue;
    if (coding === 'gzip' || coding === 'x-gzip') codings.push('gzip');
    else if (coding === 'deflate') codings.push('deflate');
    else throw new ProtocolError(`unsupported content encoding '${coding.slice(0, 40)}'`);
  }
  if (codings.length > MAX_CODINGS) throw new ProtocolError(`too many content encodings (${codings.length})`);
  return codings;
}

/** Do the first two bytes form a zlib header for deflate (RFC 1950 §2.2)? */
function looksLikeZlib(head: Buffer): boolean {
  if (head.length < 2) return true;
  const cmf = head[0] as number;
  const flg = head[1] as number;
  return (cmf & 0x0f) === 8 && ((cmf << 8) | flg) % 31 === 0;
}
