import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadNativeAddon } from '../../src/transport/native-addon.js';
import { transportInfo } from '../../src/transport/create.js';

/**
 * Which libcurl the addon really runs on. `npm run test:old-libcurl` sets
 * `ATRESOLVE_EXPECT_CURL` (e.g. `7.74.0`) and `ATRESOLVE_EXPECT_CURL_DIR`
 * (the directory it put first on LD_LIBRARY_PATH), so the suites it runs
 * are known to have exercised that libcurl and not the system's.
 */
describe('the libcurl the native engine runs on', () => {
  const load = loadNativeAddon();
  const expected = process.env['ATRESOLVE_EXPECT_CURL'];
  const expectedDir = process.env['ATRESOLVE_EXPECT_CURL_DIR'];

  it('is supported, and createTransport() picks curl on it', () => {
    expect(load.ok).toBe(true);
    if (!load.ok) return;
    expect(load.addon.curlSupported).toBe(true);
    expect(compareVersions(load.addon.curlVersion, load.addon.curlMinimumVersion)).toBeGreaterThanOrEqual(0);
    const info = transportInfo();
    expect(info.kind).toBe('curl');
    expect(info.reason).toContain(`(libcurl ${load.addon.curlVersion})`);
  });

  it.runIf(expected !== undefined)('is the version the run asked for, mapped from the directory it named', () => {
    expect(load.ok && load.addon.curlVersion).toBe(expected);
    const mapped = readFileSync('/proc/self/maps', 'utf8')
      .split('\n')
      .map((line) => line.split(/\s+/).at(-1) ?? '')
      .filter((path) => /\/libcurl\.so/.test(path));
    expect(mapped.length).toBeGreaterThan(0);
    for (const path of mapped) expect(path.startsWith(`${expectedDir ?? '(unset)'}/`)).toBe(true);
  });
});

function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i += 1) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
