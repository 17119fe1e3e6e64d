import type { Transform } from 'node:stream';
import {
  constants as zlib,
  createBrotliDecompress,
  createGunzip,
  createInflate,
  createInflateRaw,
} from 'node:zlib';
import { ProtocolError, ResponseTooLargeError } from './errors.js';

/** Content codings the transport can decode; `accept-encoding` advertises exactly these. */
export const ACCEPT_ENCODING = 'gzip, deflate, br';

/** What a `BodyDecoder` reports back; each callback is called at most once except `onBytes`/`onDrain`. */
export interface BodyDecoderEvents {
  /** Decoded bytes accepted under the cap (for `bytesIn`). */
  onBytes(count: number): void;
  /** The whole decoded body. */
  onDone(body: Buffer): void;
  /**
   * Decoding failed (`stage: 'decode'`, raw zlib error) or the decoded body
   * passed the cap (`stage: 'limit'`, a `ResponseTooLargeError`).
   */
  onError(error: unknown, stage: 'decode' | 'limit'): void;
  /** The decoder has room again after `write()` returned `false`. */
  onDrain(): void;
}

type Coding = 'gzip' | 'deflate' | 'br';

/**
 * Collects a response body while decoding its `Content-Encoding`, and
 * enforces the size cap on the *decoded* bytes as they come out of the
 * decompressor: a decompression bomb stops at the cap, with at most one
 * zlib output chunk (16 KiB) inflated beyond it. Compressed input is written
 * with backpressure (`write()` returns `false` → pause the socket), so the
 * wire side never buffers more than one chunk either.
 *
 * Decoding is lenient about a missing end-of-stream marker (as browsers and
 * libcurl are); a corrupt stream is an error.
 */
export class BodyDecoder {
  readonly #codings: Coding[];
  readonly #limit: number;
  readonly #events: BodyDecoderEvents;
  readonly #chunks: Buffer[] = [];
  #size = 0;
  #finished = false;
  #wroteAny = false;
  #chain: Transform[] | undefined;

  /**
   * @param contentEncoding the response's `Content-Encoding` header (may be empty)
   * @param limit cap on decoded bytes
   * @throws ProtocolError for a coding the transport cannot decode
   */
  constructor(contentEncoding: string | undefined, limit: number, events: BodyDecoderEvents) {
    this.#limit = limit;
    this.#events = events;
    this.#codings = parseCodings(contentEncoding);
  }

  /** Feed raw body bytes; `false` means wait for `onDrain` before writing more. */
  write(chunk: Buffer): boolean {
    if (this.#finished || chunk.length === 0) return true;
    this.#wroteAny = true;
    if (this.#codings.length === 0) {
      this.#accept(chunk);
      return true;
    }
    const chain = (this.#chain ??= this.#buildChain(chunk));
    const first = chain[0];
    return first ? first.write(chunk) : true;
  }

  /** The raw body is complete. */
  end(): void {
    if (this.#finished) return;
    if (this.#chain === undefined || !this.#wroteAny) {
      this.#finish();
      return;
    }
    this.#chain[0]?.end();
  }

  /** Stop decoding and drop everything (idempotent). */
  destroy(): void {
    this.#finished = true;
    this.#chunks.length = 0;
    for (const stream of this.#chain ?? []) stream.destroy();
  }

  #buildChain(firstChunk: Buffer): Transform[] {
    // Codings are listed in the order they were applied; decode in reverse.
    const chain = [...this.#codings].reverse().map((coding, index) => createDecoder(coding, index === 0 ? firstChunk : undefined));
    for (let i = 0; i < chain.length; i += 1) {
      const stream = chain[i] as Transform;
      stream.on('error', (error) => {
        if (this.#finished) return;
        this.destroy();
        this.#events.onError(error, 'decode');
      });
      const next = chain[i + 1];
      if (next) stream.pipe(next);
    }
    const first = chain[0] as Transform;
    const last = chain[chain.length - 1] as Transform;
    first.on('drain', () => this.#events.onDrain());
    last.on('data', (chunk: Buffer) => this.#accept(chunk));
    last.on('end', () => this.#finish());
    return chain;
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

/**
 * Parse `Content-Encoding` into the codings to undo, ignoring `identity`.
 * @throws ProtocolError for anything else
 */
function parseCodings(header: string | undefined): Coding[] {
  if (header === undefined) return [];
  const codings: Coding[] = [];
  for (const raw of header.split(',')) {
    const coding = raw.trim().toLowerCase();
    if (coding === '' || coding === 'identity') continue;
    if (coding === 'gzip' || coding === 'x-gzip') codings.push('gzip');
    else if (coding === 'deflate') codings.push('deflate');
    else if (coding === 'br') codings.push('br');
    else throw new ProtocolError(`unsupported content encoding '${coding.slice(0, 40)}'`);
  }
  if (codings.length > 3) throw new ProtocolError(`too many content encodings (${codings.length})`);
  return codings;
}

function createDecoder(coding: Coding, firstChunk: Buffer | undefined): Transform {
  switch (coding) {
    case 'gzip':
      return createGunzip({ flush: zlib.Z_SYNC_FLUSH, finishFlush: zlib.Z_SYNC_FLUSH });
    case 'deflate':
      // "deflate" is meant to be zlib-wrapped, but some servers send raw
      // deflate; the zlib header is recognisable from its first two bytes.
      return firstChunk !== undefined && !looksLikeZlib(firstChunk)
        ? createInflateRaw({ flush: zlib.Z_SYNC_FLUSH, finishFlush: zlib.Z_SYNC_FLUSH })
        : createInflate({ flush: zlib.Z_SYNC_FLUSH, finishFlush: zlib.Z_SYNC_FLUSH });
    case 'br':
      return createBrotliDecompress({
        flush: zlib.BROTLI_OPERATION_FLUSH,
        finishFlush: zlib.BROTLI_OPERATION_FLUSH,
      });
  }
}

function looksLikeZlib(chunk: Buffer): boolean {
  if (chunk.length < 2) return true;
  const cmf = chunk[0] as number;
  const flg = chunk[1] as number;
  return (cmf & 0x0f) === 8 && ((cmf << 8) | flg) % 31 === 0;
}
