import fc from 'fast-check';
import { deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { BodyDecoder } from '../../src/transport/body-decoder.js';
import { ProtocolError, ResponseTooLargeError } from '../../src/transport/errors.js';
import { loadNativeAddon } from '../../src/transport/native-addon.js';

/**
 * Content decoding, held to one contract on both sides: the undici
 * transport's `BodyDecoder` and the native engine's `engine_decoder_*`
 * (through the addon's `decodeBody`). Every case runs against both, and a
 * property test feeds both the same mutated bodies.
 */

type Kind = 'ok' | 'limit' | 'decode';

interface Outcome {
  kind: Kind;
  body?: Buffer;
  /** Decoded bytes reported under the cap (BodyDecoder only). */
  bytes?: number;
  error?: unknown;
}

type Decode = (encoding: string | undefined, wire: Buffer, limit: number, chunkSize?: number) => Promise<Outcome>;

/** Feed `wire` to a BodyDecoder in chunks of `chunkSize`, honouring backpressure. */
const decodeTs: Decode = (encoding, wire, limit, chunkSize = 4096) =>
  new Promise((resolve) => {
    let bytes = 0;
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
        onBytes: (n) => (bytes += n),
        onDone: (body) => resolve({ kind: 'ok', body, bytes }),
        onError: (error, stage) => resolve({ kind: stage === 'limit' ? 'limit' : 'decode', error, bytes }),
        onDrain: pump,
      });
    } catch (error) {
      resolve({ kind: 'decode', error, bytes });
      return;
    }
    pump();
  });

const load = loadNativeAddon();

const decodeNative: Decode = (encoding, wire, limit, chunkSize = 4096) => {
  if (!load.ok) throw new Error(load.reason);
  const result = load.addon.decodeBody(encoding ?? null, wire, chunkSize, limit);
  const kind: Kind = result.outcome === 'OK' ? 'ok' : result.outcome === 'BODY_TOO_LARGE' ? 'limit' : 'decode';
  if (result.outcome === 'NOMEM') throw new Error('native decoder out of memory');
  return Promise.resolve({ kind, ...(result.body ? { body: result.body } : {}), error: result.message });
};

const text = Buffer.from('atproto identity '.repeat(2000));
const did = Buffer.from('did:plc:ewvi7nxzyoun6zhxrhs64oiz');

describe.each([
  { name: 'BodyDecoder (undici transport)', decode: decodeTs },
  { name: 'engine_decoder (native engine)', decode: decodeNative },
])('$name', ({ decode }) => {
  it.each([
    ['identity', undefined, text],
    ['explicit identity', 'identity', text],
    ['gzip', 'gzip', gzipSync(text)],
    ['x-gzip', 'x-gzip', gzipSync(text)],
    ['zlib deflate', 'deflate', deflateSync(text)],
    ['raw deflate (a common server bug)', 'deflate', deflateRawSync(text)],
    ['deflate then gzip', 'deflate, gzip', gzipSync(deflateSync(text))],
    ['gzip twice', 'gzip, gzip', gzipSync(gzipSync(text))],
    ['upper case, blanks and empty tokens', ' GZIP\t, ,identity', gzipSync(text)],
    ['two gzip members (RFC 1952)', 'gzip', Buffer.concat([gzipSync(text.subarray(0, 1000)), gzipSync(text.subarray(1000))])],
  ])('decodes %s', async (_name, encoding, wire) => {
    for (const chunkSize of [1, 7, 4096, wire.length]) {
      const outcome = await decode(encoding, wire, 1_000_000, chunkSize);
      expect(outcome.kind, `chunks of ${chunkSize}`).toBe('ok');
      expect(outcome.body?.equals(text)).toBe(true);
    }
  });

  it.each([
    ['gzip followed by junk', 'gzip', Buffer.concat([gzipSync(did), Buffer.from('junk')])],
    ['gzip followed by zero padding', 'gzip', Buffer.concat([gzipSync(did), Buffer.alloc(4)])],
    ['gzip followed by half a member', 'gzip', Buffer.concat([gzipSync(did), gzipSync(did).subarray(0, 5)])],
    ['zlib deflate followed by junk', 'deflate', Buffer.concat([deflateSync(did), Buffer.from('x')])],
    ['two zlib deflate streams', 'deflate', Buffer.concat([deflateSync(did), deflateSync(did)])],
    ['raw deflate followed by a byte', 'deflate', Buffer.concat([deflateRawSync(did), Buffer.from([0])])],
    ['a corrupt stream', 'gzip', Buffer.concat([gzipSync(did).subarray(0, 12), Buffer.alloc(40, 0x55)])],
    ['the wrong order of codings', 'gzip, deflate', gzipSync(deflateSync(did))],
    ['an inner stream that never started', 'gzip, gzip', gzipSync(Buffer.alloc(0))],
  ])('refuses %s', async (_name, encoding, wire) => {
    for (const chunkSize of [1, 3, wire.length]) {
      expect((await decode(encoding, wire, 1_000_000, chunkSize)).kind, `chunks of ${chunkSize}`).toBe('decode');
    }
  });

  it('refuses every truncation of a gzip or deflate body, never returning a shorter one', async () => {
    for (const [encoding, wire] of [
      ['gzip', gzipSync(did)],
      ['deflate', deflateSync(did)],
      ['deflate', deflateRawSync(did)],
      ['deflate, gzip', gzipSync(deflateSync(did))],
    ] as const) {
      for (let cut = 1; cut < wire.length; cut += 1) {
        const outcome = await decode(encoding, wire.subarray(0, cut), 1_000_000, 5);
        expect(outcome.kind, `${encoding}, first ${cut} of ${wire.length} bytes`).toBe('decode');
      }
    }
  });

  it('treats an empty encoded body as empty', async () => {
    const outcome = await decode('gzip', Buffer.alloc(0), 1000);
    expect(outcome.kind).toBe('ok');
    expect(outcome.body?.length).toBe(0);
  });

  it.each([
    ['br', 'br'],
    ['zstd', 'zstd'],
    ['compress', 'compress'],
    ['one unknown among known ones', 'gzip, snappy'],
    ['four codings', 'gzip, gzip, gzip, gzip'],
  ])('refuses %s before any body byte', async (_name, encoding) => {
    expect((await decode(encoding, Buffer.alloc(0), 1000)).kind).toBe('decode');
    expect((await decode(encoding, gzipSync(did), 1000)).kind).toBe('decode');
  });

  it('accepts exactly the limit and refuses one byte more, after decoding', async () => {
    const exact = await decode('gzip', gzipSync(text), text.length);
    expect(exact.kind).toBe('ok');
    expect(exact.body?.length).toBe(text.length);
    expect((await decode('gzip', gzipSync(text), text.length - 1)).kind).toBe('limit');
  });

  it('stops a decompression bomb at the cap', async () => {
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024));
    const outcome = await decode('gzip', bomb, 1_048_576, 16_384);
    expect(outcome.kind).toBe('limit');
    if (outcome.bytes !== undefined) expect(outcome.bytes).toBeLessThanOrEqual(1_048_576);
  });
});

describe('BodyDecoder errors', () => {
  it('reports the cap as ResponseTooLargeError with the limit, and counts only bytes under it', async () => {
    const over = await decodeTs('gzip', gzipSync(text), text.length - 1);
    expect(over.error).toBeInstanceOf(ResponseTooLargeError);
    expect((over.error as ResponseTooLargeError).limit).toBe(text.length - 1);
    expect(over.bytes).toBeLessThanOrEqual(text.length - 1);
  });

  it('refuses an unknown coding with ProtocolError', async () => {
    expect((await decodeTs('br', Buffer.from('x'), 1000)).error).toBeInstanceOf(ProtocolError);
  });
});

describe('BodyDecoder and the native decoder agree', () => {
  /** A body compressed with `codings` (listed in the order applied), then damaged. */
  const encoded = fc
    .record({
      payload: fc.uint8Array({ maxLength: 3000 }),
      repeat: fc.integer({ min: 1, max: 40 }),
      codings: fc.array(fc.constantFrom('gzip', 'x-gzip', 'deflate', 'raw', 'identity', 'GZip', ' deflate\t', 'br'), {
        maxLength: 4,
      }),
      damage: fc.oneof(
        fc.constant({ kind: 'none' as const }),
        fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
        fc.record({ kind: fc.constant('append' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
        fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
        fc.constant({ kind: 'member' as const }),
      ),
      chunkSize: fc.integer({ min: 1, max: 5000 }),
      cap: fc.oneof(fc.integer({ min: 0, max: 200_000 }), fc.constant(1_000_000)),
    })
    .map(({ payload, repeat, codings, damage, chunkSize, cap }) => {
      const plain = Buffer.concat(Array.from({ length: repeat }, () => Buffer.from(payload)));
      let wire = plain;
      for (const coding of codings) {
        const name = coding.trim().toLowerCase();
        if (name === 'gzip' || name === 'x-gzip') wire = gzipSync(wire);
        else if (name === 'deflate') wire = deflateSync(wire);
        else if (name === 'raw') wire = deflateRawSync(wire);
      }
      if (damage.kind === 'truncate') wire = wire.subarray(0, wire.length === 0 ? 0 : damage.at % wire.length);
      else if (damage.kind === 'append') wire = Buffer.concat([wire, Buffer.from(damage.bytes)]);
      else if (damage.kind === 'member') wire = Buffer.concat([wire, gzipSync(plain.subarray(0, 10))]);
      else if (damage.kind === 'flip' && wire.length > 0) {
        wire = Buffer.from(wire);
        const at = damage.at % wire.length;
        wire[at] = (wire[at] as number) ^ (1 << damage.bit);
      }
      const header = codings.map((c) => (c === 'raw' ? 'deflate' : c)).join(',');
      return { encoding: codings.length === 0 ? undefined : header, wire, chunkSize, cap };
    });

  it.skipIf(!load.ok)('on the same bodies: the same outcome, the same bytes', async () => {
    await fc.assert(
      fc.asyncProperty(encoded, async ({ encoding, wire, chunkSize, cap }) => {
        const [ts, native] = await Promise.all([
          decodeTs(encoding, wire, cap, chunkSize),
          decodeNative(encoding, wire, cap, chunkSize),
        ]);
        if (ts.kind !== native.kind) {
          // A body that is both over the cap and corrupt may be reported
          // as either, depending on where zlib's output chunks fall.
          expect([ts.kind, native.kind].sort()).toEqual(['decode', 'limit']);
          expect((await decodeNative(encoding, wire, 2 ** 30, chunkSize)).kind).toBe('decode');
          return;
        }
        if (ts.kind === 'ok') expect(ts.body?.equals(native.body as Buffer)).toBe(true);
      }),
      { numRuns: 400 },
    );
  });
});
