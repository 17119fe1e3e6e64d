import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { distIndex, packageRoot, runNode } from '../support/child.js';
import { startTestServer, type TestServer } from '../support/https-server.js';

/**
 * Constructing a transport or resolver when the process is out of file
 * descriptors. It used to throw a plain `Error` ("could not start the
 * native engine", from binding.c when epoll_create1/eventfd failed with
 * EMFILE). Now the engine opens nothing until its first request: the
 * constructors succeed, that request fails with `InternalTransportError`
 * naming the cause, and the same transport works once descriptors are
 * free again.
 */
describe('constructing transports with file descriptors exhausted', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  }, 120_000);
  afterAll(async () => {
    await server?.close();
  });

  it('gives typed errors and recovers, in a child under ulimit -n 64', async () => {
    const script = join(packageRoot, 'test', 'support', 'curl-child.mjs');
    const result = await runNode(['-c', 'ulimit -n 64 && exec "$0" "$@"', process.execPath, script, 'fds-exhausted'], {
      node: '/bin/sh',
      env: { ATRESOLVE_TEST_DIST: distIndex, TEST_ORIGIN: server.origin, TEST_CA: server.ca.certFile },
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const out = JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '{}') as {
      construct: Record<string, unknown>;
      failed: { name: string; typed: boolean; message: string };
      recovered: unknown;
    };
    // The engine opens nothing at construction; reading caFile needs a
    // descriptor, and fails with a typed, transient error.
    for (const outcome of Object.values(out.construct)) {
      if (outcome !== 'ok') expect(outcome).toMatchObject({ typed: true });
    }
    expect(out.construct['curl']).toBe('ok');
    expect(out.construct['create']).toBe('ok');
    expect(out.construct['curlWithCaFile']).toMatchObject({ name: 'InternalTransportError', typed: true });
    expect(out.failed).toMatchObject({ name: 'InternalTransportError', typed: true });
    expect(out.failed.message).toMatch(/could not start the engine's worker thread: Too many open files/);
    expect(out.recovered).toBe(200);
  }, 60_000);
});
