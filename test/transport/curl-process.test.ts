import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/https-server.js';
import { distIndex, runChild } from '../support/child.js';

/**
 * Native lifecycle torture in child processes: a --expose-gc leak loop,
 * a process exiting at every lifecycle stage, and worker_threads.
 */
describe('CurlTransport in child processes', () => {
  let server: TestServer;
  let env: Record<string, string>;
  beforeAll(async () => {
    server = await startTestServer({ keepAliveTimeoutMs: 30_000 });
    env = { TEST_ORIGIN: server.origin, TEST_CA: server.ca.certFile };
  }, 120_000);
  afterAll(async () => {
    await server?.close();
  });

  it('transports dropped without close() are finalized: threads, sockets and RSS stay bounded', async () => {
    const rounds = 200;
    const child = await runChild({ dist: distIndex, scenario: 'leak', args: [String(rounds)], env, nodeArgs: ['--expose-gc'] });
    expect(child.stderr).toBe('');
    expect(child.code).toBe(0);
    const result = child.json[0] as {
      finalized: number;
      before: { sockets: number; fds: number; threads: number; rss: number };
      after: { sockets: number; fds: number; threads: number; rss: number };
      peak: { sockets: number; fds: number; threads: number; rss: number };
    };
    console.log(`leak loop: ${JSON.stringify(result)}`);
    // Nearly every transport was collected and its finalizer ran.
    expect(result.finalized).toBeGreaterThan(rounds * 0.9);
    // One worker thread per live engine: without finalizers there would be ~200 more.
    expect(result.after.threads - result.before.threads).toBeLessThanOrEqual(4);
    expect(result.peak.threads - result.before.threads).toBeLessThanOrEqual(30);
    // Each live engine holds a socketpair + one connection; all are closed.
    expect(result.after.sockets - result.before.sockets).toBeLessThanOrEqual(6);
    expect(result.after.fds - result.before.fds).toBeLessThanOrEqual(10);
    // 200 engines without finalizers would hold ~200 threads' stacks and TLS state.
    expect(result.after.rss - result.before.rss).toBeLessThan(96 * 1024 * 1024);
  }, 120_000);

  it.each([
    ['never-closed', 0, { stage: 'idle' }],
    ['exit-mid-request', 0, { stage: 'exiting' }],
    ['in-flight-then-idle', 0, { stage: 'settled', error: 'TimeoutError' }],
    ['after-close', 0, { stage: 'closed' }],
    ['exit-during-close', 0, { stage: 'exiting' }],
    ['after-destroy', 0, { stage: 'destroyed', error: 'TransportDestroyedError' }],
    ['throw-mid-request', 1, undefined],
  ] as const)('a process exits cleanly at stage %s', async (scenario, code, line) => {
    const child = await runChild({ dist: distIndex, scenario, env, timeoutMs: 30_000 });
    expect(child.signal).toBeNull();
    expect(child.code).toBe(code);
    if (line) expect(child.json[0]).toEqual(line);
    else expect(child.stderr).toMatch(/Error: boom/);
    expect(child.stderr).not.toMatch(/Segmentation|Aborted|FATAL|double free|corrupted/);
  }, 60_000);

  it('works in worker_threads, including a worker terminated mid-request', async () => {
    const child = await runChild({ dist: distIndex, scenario: 'workers', env });
    expect(child.stderr).toBe('');
    expect(child.signal).toBeNull();
    expect(child.code).toBe(0);
    expect(child.json[0]).toEqual({
      terminatedCode: 1,
      normal: { status: 200, length: 100 },
      normalExit: 0,
      mainStatus: 200,
    });
  }, 60_000);
});
