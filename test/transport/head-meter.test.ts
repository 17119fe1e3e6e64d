import { describe, expect, it } from 'vitest';
import { HeadMeter } from '../../src/transport/head-meter.js';

/** Feed `parts` in turn; the index of the part that passed the cap, or -1. */
function overAt(cap: number, parts: string[], meter = new HeadMeter(cap)): number {
  return parts.findIndex((part) => !meter.feed(Buffer.from(part, 'latin1')));
}

/**
 * The undici transport's head meter counts what the engine's
 * `engine_headers_feed` counts (the same cases as `native/test`
 * "response handling"): every byte of the status line, header lines and
 * blank line, per response; a 1xx head is forgotten at the next status line.
 */
describe('HeadMeter', () => {
  it('counts the status line, header lines and the blank line, and allows exactly the cap', () => {
    // 17 + 6 + 2 = 25 bytes.
    expect(overAt(25, ['HTTP/1.1 200 OK\r\n', 'a: 1\r\n', '\r\n', 'body bytes are not counted'])).toBe(-1);
    expect(overAt(24, ['HTTP/1.1 200 OK\r\n', 'a: 1\r\n', '\r\n'])).toBe(2);
    expect(overAt(16, ['HTTP/1.1 200 OK\r\n'])).toBe(0);
  });

  it('cuts a line that never ends at the cap, wherever the reads fall', () => {
    const meter = new HeadMeter(1000);
    expect(meter.feed(Buffer.from('HTTP/1.1 200 '))).toBe(true);
    let reads = 0;
    while (meter.feed(Buffer.alloc(100, 'O'))) reads += 1;
    expect(reads).toBe(9); // 13 + 9 × 100 ≤ 1000 < 13 + 10 × 100
  });

  it('forgets a 1xx head when the final status line starts', () => {
    const early = ['HTTP/1.1 103 Early Hints\r\n', 'link: </a>\r\n', '\r\n'];
    expect(overAt(40, [...early, 'HTTP/2 200 \r\n', 'b: 2\r\n', '\r\n'])).toBe(-1);
    // A 1xx head within a few bytes of the cap: the next status line still starts afresh.
    expect(overAt(40, ['HTTP/1.1 103 Early Hints\r\n', 'x: 1234567\r\n', '\r\n', 'H', 'TTP/1.1 200 OK\r\n', '\r\n'])).toBe(-1);
  });

  it('counts a header line that merely starts with HTTP/, even a whole status line, inside a head', () => {
    const big = `${'p'.repeat(197)}\r\n`;
    const parts = ['HTTP/1.1 200 OK\r\n'];
    for (let i = 0; i < 4; i += 1) parts.push(big, 'HTTP/1.1: 200 OK\r\n');
    parts.push(big);
    expect(overAt(1000, parts)).toBe(parts.length - 1);
    expect(overAt(40, ['HTTP/1.1 200 OK\r\n', 'HTTP/1.1 200 OK\r\n', 'HTTP/1.1 200 OK\r\n'])).toBe(2);
  });

  it('accepts LF-only line ends, splits lines across reads, and starts again for the next request', () => {
    const meter = new HeadMeter(30);
    expect(overAt(30, ['HTTP/1.1 20', '0 OK\na: 1\n', '\n'], meter)).toBe(-1);
    expect(meter.feed(Buffer.from('x'.repeat(1000)))).toBe(true); // body
    meter.reset();
    expect(overAt(30, ['HTTP/1.1 200 OK\n', 'a: 123456789012345\n'], meter)).toBe(1);
  });
});
