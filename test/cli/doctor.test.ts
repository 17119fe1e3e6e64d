import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DoctorReport } from '../../src/cli/doctor.js';
import { packagePath } from '../support/dist.js';
import { runCli } from './run-cli.js';

/** The environment of a run where the native transport is picked as usual. */
const PLAIN = { ATRESOLVE_TRANSPORT: '', ATRESOLVE_NATIVE_DIR: '', PREBUILDS_ONLY: '1' };

describe('atresolve doctor', () => {
  let empty: string;
  beforeAll(async () => {
    empty = await mkdtemp(join(tmpdir(), 'atresolve-doctor-'));
  });
  afterAll(async () => {
    await rm(empty, { recursive: true, force: true });
  });

  it('--json: the native transport with its libcurl, TLS library and file; glibc; malloc figures; peers', async () => {
    const result = await runCli(['doctor', '--json'], { env: PLAIN });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as DoctorReport;
    const glibc = (process.report.getReport() as { header: { glibcVersionRuntime: string } }).header.glibcVersionRuntime;
    expect(report).toMatchObject({
      node: { version: process.version, platform: process.platform, arch: process.arch },
      libc: { family: 'glibc', version: glibc },
      transport: {
        kind: 'curl',
        native: true,
        addonPath: packagePath('prebuilds', `${process.platform}-${process.arch}`, 'atresolve.glibc.node'),
        curlVersion: '7.88.1',
      },
      memory: { mallocFigures: true },
      curveCheck: 'native',
    });
    expect(report.transport.tlsLibrary).toMatch(/^OpenSSL\/3\./);
    expect(report.transport.curlLibrary).toMatch(/\/libcurl\.so\.4[.\d]*$/);
    // The devDependencies are installed in this checkout.
    for (const name of ['prom-client', 'redis', 'echarts'] as const) {
      expect(report.peers[name]).toMatchObject({ present: true, version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
    }
  });

  it('--require-native exits 0 when the native transport is used', async () => {
    const result = await runCli(['doctor', '--require-native'], { env: PLAIN });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^transport: +curl \(native libcurl\): native addon loaded from /m);
    expect(result.stdout).toMatch(/^TLS library: +OpenSSL\/3\./m);
  });

  it('without the addon: the report names the reason, and --require-native exits 1', async () => {
    const env = { ...PLAIN, ATRESOLVE_NATIVE_DIR: empty };
    const text = await runCli(['doctor'], { env });
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`transport:      undici: native addon unavailable: no prebuild for ${process.platform}-${process.arch}-glibc`);
    expect(text.stdout).toContain(`${empty}/prebuilds/`);
    expect(text.stdout).not.toMatch(/^libcurl:/m);

    const json = JSON.parse((await runCli(['doctor', '--json'], { env })).stdout) as DoctorReport;
    expect(json.transport).toMatchObject({ kind: 'undici', native: false });
    expect(json.transport.curlVersion).toBeUndefined();
    expect(json.transport.nativeReason).toContain(empty);
    expect(json.curveCheck).toBe('node:crypto');
    expect(text.stdout).toMatch(/^curve check: +node:crypto/m);

    const gate = await runCli(['doctor', '--require-native'], { env });
    expect(gate.code).toBe(1);
    expect(gate.stderr).toMatch(/^atresolve doctor: the native transport is not available: native addon unavailable: no prebuild for /);
  });

  it('--require-native fails when ATRESOLVE_TRANSPORT=undici, though the addon loads', async () => {
    const result = await runCli(['doctor', '--require-native', '--json'], { env: { ...PLAIN, ATRESOLVE_TRANSPORT: 'undici' } });
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as DoctorReport;
    expect(report.transport).toMatchObject({ kind: 'undici', forced: 'undici', native: false, reason: 'ATRESOLVE_TRANSPORT=undici' });
  });

  it('usage errors exit 2', async () => {
    const flag = await runCli(['doctor', '--verbose']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/unknown flag --verbose/);
    const extra = await runCli(['doctor', 'now']);
    expect(extra.code).toBe(2);
    expect(extra.stderr).toMatch(/doctor takes no arguments, got 'now'/);
  });
});
