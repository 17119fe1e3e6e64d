import { describe, expect, it } from 'vitest';
import type { CliIo } from '../../src/cli/io.js';
import { formatStatus, StatusLine } from '../../src/cli/status-line.js';
import { sample } from './samples.js';

const seconds = { warmup: 5, run: 30 };
const busy = sample(17, { cpu: { runner: 73, world: 42, soak: 1, machine: 118 }, slopeBytesPerSecond: 12_700, p50Ms: 4.1, p99Ms: 24 });

/** An io that records what was written, as a terminal of `columns` or as a pipe. */
function recordingIo(columns: number | undefined): CliIo & { text: () => string } {
  let text = '';
  return { out: () => undefined, err: (t) => (text += t), interactive: columns !== undefined, columns, text: () => text };
}

describe('the live status line', () => {
  it('is whole where it fits, counting run seconds after the warm-up', () => {
    expect(formatStatus('atresolve (curl)', seconds, busy)).toBe(
      '[atresolve (curl)] 12/30s  1000 res/s  p50 4.1ms p99 24ms  err 0  conns 60  malloc 10.0 MiB  slope +12.4 KiB/s  cpu 73% world 42% box 118%',
    );
    expect(formatStatus('atresolve (curl)', seconds, sample(3, { phase: 'warmup' }))).toMatch(/^\[atresolve \(curl\)\] warm-up 3\/5s /);
  });

  it.each([120, 100, 80, 60, 40])('fits %d columns, dropping the least useful parts first', (columns) => {
    const line = formatStatus('atresolve (undici)', seconds, busy, columns);
    expect(line.length).toBeLessThanOrEqual(columns);
    // What an operator needs most stays while it can.
    expect(line).toMatch(/^\[atresolve \(undici\)\] 12\/30s {2}1000 res\/s/);
    if (columns >= 60) expect(line).toMatch(/p99 24ms {2}err 0/);
    if (columns >= 80) expect(line).toContain('malloc 10.0 MiB');
    if (columns < 120) expect(line).not.toContain('box');
  });

  it('cuts the line as a last resort', () => {
    const line = formatStatus('a contender with a very long name indeed', seconds, busy, 30);
    expect(line).toHaveLength(30);
    expect(line.endsWith('…')).toBe(true);
  });

  it('redraws in place on a terminal, one column short of its width', () => {
    const io = recordingIo(80);
    const status = new StatusLine(io, 'atresolve (curl)', seconds);
    status.update(busy);
    status.finish();
    const [drawn] = io.text().split('\n');
    expect(drawn?.startsWith('\r\x1b[2K')).toBe(true);
    expect(drawn!.length - '\r\x1b[2K'.length).toBeLessThanOrEqual(79);
  });

  it('prints whole lines in a pipe: the first second, the end of the warm-up, every 10 s and the last', () => {
    const io = recordingIo(undefined);
    const status = new StatusLine(io, 'x', seconds);
    for (let t = 1; t <= 35; t++) status.update(sample(t, { phase: t <= 5 ? 'warmup' : 'run' }));
    const lines = io.text().trim().split('\n').map((l) => /\] (warm-up )?(\d+)\//.exec(l)?.[2]);
    expect(lines).toEqual(['1', '5', '5', '15', '25', '30']);
  });
});
