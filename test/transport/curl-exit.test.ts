import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { distIndex, packageRoot } from '../support/child.js';
import { startSilentTcpServer } from '../support/hostile-server.js';
import { startTestServer, type TestServer } from '../support/https-server.js';
import { sleep } from '../support/async.js';

/**
 * `process.exit()` while the native engine is busy. Node runs no N-API
 * cleanup hook on `process.exit()`, so engine workers were still inside
 * OpenSSL (a handshake, loading the CA bundle) when OpenSSL's exit-time
 * cleanup freed its global state: SIGSEGV in 4 of 10 runs under load. The
 * engine's exit handler (native/src/engine.c, on_process_exit) now stops
 * every worker first. Each run here is a real child process that a real
 * SIGTERM makes call `process.exit(code)`.
 */
describe('process.exit() while the curl transport works', () => {
  let server: TestServer;
  let silent: Awaited<ReturnType<typeof startSilentTcpServer>>;
  let env: Record<string, string>;
  beforeAll(async () => {
    server = await startTestServer({ keepAliveTimeoutMs: 1000 });
    silent = await startSilentTcpServer();
    env = { TEST_ORIGIN: server.origin, TEST_CA: server.ca.certFile, TEST_SILENT: String(silent.port) };
  }, 120_000);
  afterAll(async () => {
    await silent?.close();
    await server?.close();
  });

  it('50 exits, under load and with requests hanging on a silent server, each end with the code asked for', async () => {
    const runs = Array.from({ length: 50 }, (_, i) => ({ mode: i % 2 === 0 ? 'load' : 'hang', code: i % 3 === 0 ? 0 : 40 + (i % 7), index: i }));
    const results: Array<{ index: number; mode: string; asked: number; code: number | null; signal: string | null; stderr: string }> = [];
    // Two children at a time: the box has two cores.
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < runs.length) {
        const run = runs[next++]!;
        results.push({ index: run.index, mode: run.mode, asked: run.code, ...(await exitOnce(run.mode, run.code, run.index)) });
      }
    };
    await Promise.all([worker(), worker()]);
    const wrong = results.filter((r) => r.code !== r.asked || r.signal !== null);
    expect(wrong).toEqual([]);
    expect(results).toHaveLength(50);
  }, 240_000);

  /** Start a child, SIGTERM it once it is busy (after a varying delay), return how it ended. */
  async function exitOnce(mode: string, code: number, index: number) {
    const child = spawn(process.execPath, [join(packageRoot, 'test', 'support', 'curl-child.mjs'), 'exit-on-sigterm', mode, String(code)], {
      env: { ...process.env, ATRESOLVE_TEST_DIST: distIndex, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
    const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    await Promise.race([once(child.stdout, 'data'), exited]);
    // 10–200 ms into the work: handshakes, CA loads and hanging requests in flight.
    await sleep(10 + ((index * 37) % 190));
    child.kill('SIGTERM');
    const [exitCode, signal] = await exited;
    clearTimeout(killer);
    return { code: exitCode, signal, stderr: stderr.slice(0, 500) };
  }
});
