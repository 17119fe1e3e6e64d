import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { BodyDecoder } from '../../src/transport/body-decoder.js';
import { ProtocolError, ResponseTooLargeError } from '../../src/transport/errors.js';

interface Outcome {
  body?: Buffer;
  error?: unknown;
  stage?: 'decode' | 'limit';
  bytes: number;
}

/** Feed `wire` in chunks of `chunkSize`, honouring backpressure, and collect the outcome. */
function decode(encoding: string | undefined, wire: Buffer, limit: number, chunkSize = 4096): Promise<Outcome> {
  return new Promise((resolve) => {
    const outcome: Outcome = { bytes: 0 };
    let offset = 0;
    let decoder: BodyDecoder | undefined;
    const pump = (): void => {
      while (offset < wire.length) {
        const chunk = wire.subarray(offset, offset + chunkSize);
        offset += chunk.length;
        if (!decoder?.write(chunk)) return; // wait for onDrain
      }
      decoder?.end();
    };
    try {
      decoder = new BodyDecoder(encoding, limit, {
        onBytes: (n) => (outcome.bytes += n),
        onDone: (body) => resolve({ ...outcome, body }),
        onError: (error, stage) => resolve({ ...outcome, error, stage }),
        onDrain: pump,
      });
    } catch (error) {
      resolve({ ...outcome, error });
      return;
    }
    pump();
  });
}

const text = Buffer.from('atproto identity '.repeat(2000));

describe('BodyDecoder', () => {
  it.each([
    ['identity', undefined, text],
    ['explicit identity', 'identity', text],
    ['gzip', 'gzip', gzipSync(text)],
    ['x-gzip', 'x-gzip', gzipSync(text)],
    ['zlib deflate', 'deflate', deflateSync(text)],
    ['raw deflate (a common server bug)', 'deflate', deflateRawSync(text)],
    ['br', 'br', brotliCompressSync(text)],
    ['gzip then br', 'gzip, br', brotliCompressSync(gzipSync(text))],
    ['upper case', 'GZIP', gzipSync(text)],
  ])('decodes %s', async (_name, encoding, wire) => {
    const outcome = await decode(encoding, wire, 1_000_000);
    expect(outcome.error).toBeUndefined();
    expect(outcome.body?.equals(text)).toBe(true);
    expect(outcome.bytes).toBe(text.length);
  });

  it('accepts exactly the limit and refuses one byte more, after decoding', async () => {
    expect((await decode('gzip', gzipSync(text), text.length)).body?.length).toBe(text.length);
    const over = await decode('gzip', gzipSync(text), text.length - 1);
    expect(over.stage).toBe('limit');
    expect(over.error).toBeInstanceOf(ResponseTooLargeError);
    expect((over.error as ResponseTooLargeError).limit).toBe(text.length - 1);
    expect(over.bytes).toBeLessThanOrEqual(text.length - 1);
  });

  it('stops a decompression bomb at the cap', async () => {
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024));
    const outcome = await decode('gzip', bomb, 1_048_576, 16_384);
    expect(outcome.stage).toBe('limit');
    expect(outcome.bytes).toBeLessThanOrEqual(1_048_576);
  });

  it('reports a corrupt stream as a decode error', async () => {
    const corrupt = gzipSync(text);
    corrupt.fill(0x55, 12, 100);
    const outcome = await decode('gzip', corrupt, 1_000_000);
    expect(outcome.stage).toBe('decode');
    expect(outcome.error).toBeInstanceOf(Error);
  });

  it('refuses an unknown coding with ProtocolError', async () => {
    const outcome = await decode('zstd', Buffer.from('x'), 1000);
    expect(outcome.error).toBeInstanceOf(ProtocolError);
  });

  it('treats an empty encoded body as empty', async () => {
    const outcome = await decode('gzip', Buffer.alloc(0), 1000);
    expect(outcome.body?.length).toBe(0);
  });
});
