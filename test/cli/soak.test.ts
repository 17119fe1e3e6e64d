import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { SoakReport } from '../../src/cli/report.js';
import { runCli } from './run-cli.js';

// Short, bounded soak runs (seconds, low rates) through the real CLI: a
// world child, a load-runner child, report.json and memory.svg.
const dirs: string[] = [];

function outDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'atresolve-soak-test-'));
  dirs.push(dir);
  return dir;
}

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('atresolve soak', () => {
  it('writes a report with one sample per second, a chart, a live line and a verdict', async () => {
    const out = outDir();
    const args = ['soak', '--duration', '3s', '--rate', '100', '--hosts', '200', '--recycle-after', '100', '--out', out];
    const result = await runCli(args, { timeoutMs: 60_000 });
    expect(result.stderr).not.toMatch(/Error|failed/);
    expect(result.code).toBe(0);

    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as SoakReport;
    expect(report.config).toMatchObject({ durationMs: 3_000, rate: 100, hosts: 200, cache: false, mix: { plc: 50, web: 40, handle: 10 } });
    expect(report.contenders).toHaveLength(1);
    const [run] = report.contenders;
    expect(run?.failure).toBeUndefined();
    expect(run?.samples.map((s) => s.t)).toEqual([1, 2, 3]);
    expect(run?.totals?.offered).toBe(300);
    expect(run?.totals?.byKind).toEqual({
      plc: expect.objectContaining({ offered: 150 }),
      web: expect.objectContaining({ offered: 120 }),
      handle: expect.objectContaining({ offered: 30 }),
    });
    expect(run?.totals?.ok).toBe(300);
    expect(run?.latencyMs?.p99).toBeGreaterThan(0);
    for (const sample of run?.samples ?? []) {
      expect(sample.rss).toBeGreaterThan(0);
      expect(sample.openConnections).toBeGreaterThanOrEqual(0);
      expect(Object.keys(sample.cpu ?? {})).toEqual(['runner', 'world', 'soak', 'machine']);
    }
    // Each resolution fetched one document; handles went through DNS only (dns-first).
    expect((run?.world?.plc.ok ?? 0) + (run?.world?.web.ok ?? 0)).toBe(300);
    expect(run?.world?.dns.ok).toBe(30);
    expect(run?.world?.handle.requests).toBe(0);
    expect(run?.verdict?.line).toMatch(/^verdict \[atresolve \((curl|undici)\)\]: /);
    // ~300 requests with a recycle every 100: each one is counted in its second and marked on the chart.
    expect(run?.samples.reduce((sum, s) => sum + s.recycles, 0)).toBeGreaterThanOrEqual(2);

    const svg = readFileSync(join(out, 'memory.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('malloc in use');
    expect(svg).toContain('RSS');
    expect(svg).toContain('recycle');

    expect(result.stderr).toMatch(/\[atresolve \((curl|undici)\)\] 1\/3s .* res\/s .* p50 .* p99 .* err 0 .* conns \d+ .* malloc [\d.]+ MiB .* slope /);
    expect(result.stderr).toMatch(/\] 3\/3s /);
    expect(result.stdout).toMatch(/^verdict \[atresolve \((curl|undici)\)\]: malloc in use [+-][\d.]+ KiB\/s over the last half \(2–3 s\)/m);
  });

  it('--compare runs curl, undici and @atproto/identity in their own processes on one chart', async () => {
    const out = outDir();
    const result = await runCli(['soak', '--compare', '--duration', '2s', '--rate', '50', '--hosts', '200', '--out', out], { timeoutMs: 90_000 });
    expect(result.code).toBe(0);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as SoakReport;
    expect(report.contenders.map((c) => c.name)).toEqual(['atresolve (curl)', 'atresolve (undici)', '@atproto/identity']);
    for (const run of report.contenders) {
      expect(run.failure).toBeUndefined();
      expect(run.samples.map((s) => s.t)).toEqual([1, 2]);
      expect(run.totals?.offered).toBe(100);
      expect(run.totals?.ok).toBe(100);
    }
    const svg = readFileSync(join(out, 'memory.svg'), 'utf8');
    for (const name of ['atresolve (curl)', 'atresolve (undici)', '@atproto/identity']) expect(svg).toContain(name);
    expect(result.stdout.trim().split('\n')).toHaveLength(3);
  });

  it('counts what cannot start beyond --max-in-flight as OVERFLOW errors', async () => {
    const out = outDir();
    // One resolution may be outstanding at a time, at 200/s: most are due while one runs.
    const result = await runCli(['soak', '--duration', '2s', '--rate', '200', '--hosts', '200', '--max-in-flight', '1', '--out', out], { timeoutMs: 60_000 });
    expect(result.code).toBe(0);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as SoakReport;
    const totals = report.contenders[0]?.totals;
    expect(totals?.offered).toBe(400);
    expect(totals?.overflow).toBeGreaterThan(0);
    expect(totals?.errorCodes['OVERFLOW']).toBe(totals?.overflow);
    expect((totals?.ok ?? 0) + (totals?.errors ?? 0)).toBe(400);
    expect(existsSync(join(out, 'memory.svg'))).toBe(true);
  });
});
