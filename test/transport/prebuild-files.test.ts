import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { packagePath } from '../support/dist.js';

const run = promisify(execFile);

/**
 * What the committed prebuilds need from the machine that loads them, read
 * from the files themselves with binutils: nothing above glibc 2.31
 * (Debian 11, Ubuntu 20.04), no library besides libcurl, zlib and libc, and only
 * libcurl functions old enough. `scripts/prebuild.mjs` makes and checks
 * them; this re-checks what is committed.
 */
const EXPECTED = [
  { tuple: 'linux-x64', machine: 'Advanced Micro Devices X86-64' },
  { tuple: 'linux-arm64', machine: 'AArch64' },
];
const GLIBC_FLOOR = [2, 31];

/**
 * The libcurl functions the engine may import, with the release that added
 * each (curl's docs/libcurl/symbols-in-versions and the man pages'
 * AVAILABILITY). All are far below the oldest libcurl the prebuilds are
 * linked against (Debian 11's 7.74.0); an import missing here fails the
 * test until its version is checked and added.
 */
const CURL_FUNCTIONS: Record<string, string> = {
  curl_easy_cleanup: '7.1',
  curl_easy_getinfo: '7.4.1',
  curl_easy_init: '7.1',
  curl_easy_reset: '7.12.1',
  curl_easy_setopt: '7.1',
  curl_easy_strerror: '7.12.0',
  curl_free: '7.7',
  curl_global_init: '7.8',
  curl_multi_add_handle: '7.9.6',
  curl_multi_assign: '7.15.5',
  curl_multi_cleanup: '7.9.6',
  curl_multi_info_read: '7.9.6',
  curl_multi_init: '7.9.6',
  curl_multi_remove_handle: '7.9.6',
  curl_multi_setopt: '7.15.4',
  curl_multi_socket_action: '7.15.4',
  curl_share_cleanup: '7.10',
  curl_share_init: '7.10',
  curl_share_setopt: '7.10',
  curl_slist_append: '7.1',
  curl_slist_free_all: '7.1',
  // The URL API (curl 7.62.0 release notes).
  curl_url: '7.62.0',
  curl_url_cleanup: '7.62.0',
  curl_url_get: '7.62.0',
  curl_url_set: '7.62.0',
  curl_version_info: '7.10',
};
const CURL_LINK_FLOOR = [7, 74, 0];

function versionTuple(v: string): number[] {
  return v.split('.').map(Number);
}

function atMost(a: number[], b: number[]): boolean {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) < (b[i] ?? 0);
  }
  return true;
}

describe('committed prebuilds', () => {
  it('are exactly linux-x64 and linux-arm64, glibc-tagged (prebuildify --tag-libc), each with its build.json', () => {
    const tuples = readdirSync(packagePath('prebuilds')).sort();
    expect(tuples).toEqual(['linux-arm64', 'linux-x64']);
    for (const tuple of tuples) expect(readdirSync(packagePath('prebuilds', tuple)).sort()).toEqual(['atresolve.glibc.node', 'build.json']);
  });

  for (const { tuple, machine } of EXPECTED) {
    describe(tuple, () => {
      const file = packagePath('prebuilds', tuple, 'atresolve.glibc.node');
      const info = JSON.parse(readFileSync(packagePath('prebuilds', tuple, 'build.json'), 'utf8')) as Record<string, unknown>;

      it(`is an ELF shared object for ${machine}`, async () => {
        const { stdout } = await run('readelf', ['-h', file]);
        expect(stdout).toMatch(/Type:\s+DYN/);
        expect(/Machine:\s+(.+)/.exec(stdout)?.[1]?.trim()).toBe(machine);
      });

      it('needs no glibc symbol version above 2.31 (objdump -T)', async () => {
        const { stdout } = await run('objdump', ['-T', file]);
        const versions = [...new Set([...stdout.matchAll(/\(GLIBC_(\d+(?:\.\d+)+)\)/g)].map((m) => m[1]!))];
        expect(versions.length).toBeGreaterThan(0);
        const newest = versions.map(versionTuple).reduce((max, v) => (atMost(max, v) ? v : max));
        expect(atMost(newest, GLIBC_FLOOR), `highest GLIBC_${newest.join('.')}`).toBe(true);
        expect(info['glibcMax']).toBe(newest.join('.'));
      });

      it('needs only libcurl.so.4, libz.so.1 and the C library (readelf -d)', async () => {
        const { stdout } = await run('readelf', ['-d', file]);
        const needed = [...stdout.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
        expect(needed.sort()).toEqual(['libc.so.6', 'libcurl.so.4', 'libpthread.so.0', 'libz.so.1']);
        expect(info['needed']).toEqual(expect.arrayContaining(needed));
      });

      it('imports only libcurl functions from releases up to 7.74.0, and records them', async () => {
        const { stdout } = await run('objdump', ['-T', file]);
        const imports = [...new Set([...stdout.matchAll(/\*UND\*.*\s(curl_\w+)$/gm)].map((m) => m[1]!))].sort();
        expect(imports.length).toBeGreaterThan(10);
        for (const name of imports) {
          const since = CURL_FUNCTIONS[name];
          expect(since, `${name} is not in the table of checked libcurl functions`).toBeDefined();
          expect(atMost(versionTuple(since!), CURL_LINK_FLOOR), `${name} (libcurl ${since})`).toBe(true);
        }
        expect(info['curlImports']).toEqual(imports);
      });

      it('was compiled against libcurl 7.88.1 headers and a Debian 11 (glibc 2.31) root', () => {
        expect(info).toMatchObject({ file: 'atresolve.glibc.node', glibcFloor: '2.31', curlHeaders: '7.88.1' });
        expect(info['buildRoot']).toEqual(
          expect.arrayContaining([expect.stringMatching(/^libc6-dev_2\.31-/), expect.stringMatching(/^libcurl4_7\.74\.0-/), expect.stringMatching(/^zlib1g-dev_1:1\.2\.11/)]),
        );
        expect(info['headerRoot']).toEqual([expect.stringMatching(/^libcurl4-openssl-dev_7\.88\.1-/)]);
      });
    });
  }

  it('each was built from the current native sources (source hash in build.json; scripts/source-hash.mjs check)', async () => {
    const { stdout: hash } = await run(process.execPath, [packagePath('scripts', 'source-hash.mjs'), 'print']);
    for (const { tuple } of EXPECTED) {
      const info = JSON.parse(readFileSync(join(packagePath('prebuilds', tuple), 'build.json'), 'utf8')) as { sourceHash: string };
      expect(info.sourceHash, `${tuple} is stale: run npm run prebuild`).toBe(hash.trim());
    }
    const { stdout } = await run(process.execPath, [packagePath('scripts', 'source-hash.mjs'), 'check']);
    expect(stdout).toBe(`prebuilds match sources (linux-arm64, linux-x64: ${hash.trim()})\n`);
  });
});
