import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTransport, transportInfo } from '../../src/transport/create.js';
import { distIndex, packagePath } from '../support/dist.js';
import { startTestServer, type TestServer } from '../support/https-server.js';

interface ChildOutput {
  info?: { kind: string; reason: string; nativeAvailable: boolean; nativeReason?: string };
  kind?: string;
  status?: number;
  error?: { name: string; code: string; message: string };
}

/** Run the consumer-like child with extra environment and parse its JSON line; `stderr` is what it printed there (warnings). */
function child(server: TestServer, env: Record<string, string>, nodeArgs: string[] = []): Promise<ChildOutput & { stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [...nodeArgs, packagePath('test/support/create-child.mjs')],
      {
        env: {
          ...process.env,
          ATRESOLVE_TEST_DIST: distIndex,
          TEST_URL: `${server.origin}/status/200`,
          TEST_CA: server.ca.certFile,
          ATRESOLVE_FALLBACK_WARNING: '',
          NODE_OPTIONS: '',
          ...env,
        },
        timeout: 30_000,
      },
      (error, stdout, stderr) => (error ? reject(error) : resolve({ ...(JSON.parse(stdout.trim()) as ChildOutput), stderr })),
    );
  });
}

const WARNING = /^\(node:\d+\) \[ATRESOLVE_NATIVE_UNAVAILABLE\] Warning: atresolve is using its undici fallback transport: no prebuild for /;

describe('createTransport picks the native transport, else undici, and says why', () => {
  let server: TestServer;
  let emptyDir: string;
  beforeAll(async () => {
    [server, emptyDir] = await Promise.all([startTestServer(), mkdtemp(join(tmpdir(), 'atresolve-no-addon-'))]);
  });
  afterAll(async () => {
    await server.close();
    await rm(emptyDir, { recursive: true, force: true });
  });

  it('uses curl where the addon loads, and says which libcurl and TLS library', async () => {
    const info = transportInfo();
    expect(info).toMatchObject({ kind: 'curl', nativeAvailable: true });
    expect(info.reason).toMatch(/native addon loaded from .*\(libcurl 7\.\d+\.\d+\)/);
    expect(info.curlSslVersion).toMatch(/^OpenSSL\/3\./);
    const transport = createTransport();
    expect(transport.kind).toBe('curl');
    await transport.close();
  });

  it('falls back to undici with the reason when the addon cannot load, and still works', async () => {
    const out = await child(server, { ATRESOLVE_NATIVE_DIR: emptyDir, ATRESOLVE_TRANSPORT: '' });
    expect(out.error).toBeUndefined();
    expect(out.kind).toBe('undici');
    expect(out.status).toBe(200);
    expect(out.info?.nativeAvailable).toBe(false);
    expect(out.info?.reason).toMatch(/^native addon unavailable: /);
    expect(out.info?.nativeReason).toContain(emptyDir);
  });

  it('a fallback nobody asked for emits one process warning with a code, naming the reason', async () => {
    const out = await child(server, { ATRESOLVE_NATIVE_DIR: emptyDir, ATRESOLVE_TRANSPORT: '' });
    expect(out.kind).toBe('undici');
    const lines = out.stderr.split('\n').filter((line) => line.includes('ATRESOLVE_NATIVE_UNAVAILABLE'));
    expect(lines).toHaveLength(1); // two transports were created
    expect(lines[0]).toMatch(WARNING);
    expect(lines[0]).toContain(emptyDir);
    expect(out.stderr).toContain('ATRESOLVE_FALLBACK_WARNING=0');
  });

  it('the fallback on musl names the missing linux-<arch>-musl prebuild', async () => {
    const out = await child(server, { LIBC: 'musl', PREBUILDS_ONLY: '1', ATRESOLVE_TRANSPORT: '' });
    expect(out).toMatchObject({ kind: 'undici', status: 200 });
    expect(out.info?.reason).toMatch(new RegExp(`^native addon unavailable: no prebuild for ${process.platform}-${process.arch}-musl `));
    expect(out.stderr).toMatch(WARNING);
  });

  it('ATRESOLVE_FALLBACK_WARNING=0 and node --disable-warning silence the warning; the fallback still works', async () => {
    const quiet = await child(server, { ATRESOLVE_NATIVE_DIR: emptyDir, ATRESOLVE_TRANSPORT: '', ATRESOLVE_FALLBACK_WARNING: '0' });
    expect(quiet).toMatchObject({ kind: 'undici', status: 200, stderr: '' });
    const disabled = await child(server, { ATRESOLVE_NATIVE_DIR: emptyDir, ATRESOLVE_TRANSPORT: '' }, ['--disable-warning=ATRESOLVE_NATIVE_UNAVAILABLE']);
    expect(disabled).toMatchObject({ kind: 'undici', status: 200, stderr: '' });
  });

  it('ATRESOLVE_TRANSPORT=undici forces undici even where curl loads, without a warning', async () => {
    const out = await child(server, { ATRESOLVE_TRANSPORT: 'undici' });
    expect(out).toMatchObject({ kind: 'undici', status: 200, info: { reason: 'ATRESOLVE_TRANSPORT=undici', nativeAvailable: true } });
    expect(out.stderr).toBe('');
  });

  it('ATRESOLVE_TRANSPORT=undici without the addon is not a fallback: no warning', async () => {
    const out = await child(server, { ATRESOLVE_NATIVE_DIR: emptyDir, ATRESOLVE_TRANSPORT: 'undici' });
    expect(out).toMatchObject({ kind: 'undici', status: 200, stderr: '' });
  });

  it('ATRESOLVE_TRANSPORT=curl without the addon is a TransportUnavailableError, not a silent fallback', async () => {
    const out = await child(server, { ATRESOLVE_NATIVE_DIR: emptyDir, ATRESOLVE_TRANSPORT: 'curl' });
    expect(out.error).toMatchObject({ name: 'TransportUnavailableError', code: 'TRANSPORT_UNAVAILABLE' });
    expect(out.error?.message).toContain('native engine is unavailable');
  });

  it('a bad ATRESOLVE_TRANSPORT value is an InvalidOptionsError naming the variable', async () => {
    const out = await child(server, { ATRESOLVE_TRANSPORT: 'libcurl' });
    expect(out.error).toMatchObject({ name: 'InvalidOptionsError', code: 'INVALID_OPTIONS' });
    expect(out.error?.message).toContain('ATRESOLVE_TRANSPORT');
  });
});
