#!/usr/bin/env node
// `npm run prebuild`: rebuild every committed prebuild from the current
// native sources, in one command, the same way each time:
//
//   prebuilds/linux-x64/atresolve.glibc.node     x86-64, glibc >= 2.31
//   prebuilds/linux-arm64/atresolve.glibc.node   aarch64, glibc >= 2.31 (cross-compiled)
//
// Each is built by prebuildify + node-gyp from binding.gyp (the recipe of
// the development build), against a Debian 11 root (glibc 2.31, so the file
// loads on Debian 11, Ubuntu 20.04 and later) and libcurl 7.88.1's headers
// from a Debian 12 root, linked against Debian 11's libcurl.so.4 (7.74).
// The roots live in the git-ignored .cache/roots/ (scripts/debian-root.mjs).
// After each build this script checks the file (highest GLIBC_ symbol
// version, needed libraries, libcurl functions it imports) and writes
// prebuilds/<tuple>/build.json with the native source hash
// (scripts/source-hash.mjs) and what it was built from.
//
// Usage: node scripts/prebuild.mjs [--only=linux-x64,linux-arm64] [--out=DIR]
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { arch as hostArch } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheDir, ensureRoot, repoRoot, ROOTS } from './debian-root.mjs';
import { ensure } from './system-packages.mjs';
import { nativeSourceHash, nativeInputs } from './source-hash.mjs';

/** The prebuilds: Node tuple, Debian architecture, GNU triplet. */
const TARGETS = [
  { tuple: 'linux-x64', arch: 'x64', debArch: 'amd64', triplet: 'x86_64-linux-gnu' },
  { tuple: 'linux-arm64', arch: 'arm64', debArch: 'arm64', triplet: 'aarch64-linux-gnu' },
];

/** The oldest glibc the prebuilds load on (Debian 11, Ubuntu 20.04). */
const GLIBC_FLOOR = '2.31';
/** The only libraries a prebuild may need at run time. */
const ALLOWED_NEEDED = ['libcurl.so.4', 'libz.so.1', 'libpthread.so.0', 'libc.so.6'];
/** The libcurl headers the engine compiles against (Debian 12). */
const CURL_HEADERS_VERSION = '7.88.1';
/** The prebuild's file name in its tuple directory (prebuildify --napi --tag-libc). */
const PREBUILD_FILE = 'atresolve.glibc.node';

/** `a` < `b` for dotted versions. */
function versionLess(a, b) {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) < (y[i] ?? 0);
  }
  return false;
}

/** What `objdump -T` and `readelf -d` say about an ELF file. */
function inspectElf(file) {
  const symbols = execFileSync('objdump', ['-T', file], { encoding: 'utf8' });
  const glibc = [...new Set([...symbols.matchAll(/\(GLIBC_(\d+(?:\.\d+)+)\)/g)].map((m) => m[1]))];
  const glibcMax = glibc.reduce((max, v) => (versionLess(max, v) ? v : max), '0');
  const curlImports = [...new Set([...symbols.matchAll(/\*UND\*.*\s(curl_\w+)$/gm)].map((m) => m[1]))].sort();
  const dynamic = execFileSync('readelf', ['-d', file], { encoding: 'utf8' });
  const needed = [...dynamic.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
  const header = execFileSync('readelf', ['-h', file], { encoding: 'utf8' });
  const machine = /Machine:\s+(.+)/.exec(header)?.[1]?.trim() ?? 'unknown';
  return { glibcMax, curlImports, needed, machine };
}

/** The `curl_*` functions a shared library exports (`objdump -T`, defined symbols). */
function curlExports(file) {
  const symbols = execFileSync('objdump', ['-T', file], { encoding: 'utf8' });
  return new Set([...symbols.matchAll(/^\S+\s+g\s+DF\s+\.text.*\s(curl_\w+)$/gm)].map((m) => m[1]));
}

/** The debs of root `name` that its spec asked for by name (`name_version_arch`). */
function requested(name, debs) {
  return debs.filter((d) => ROOTS[name].packages.includes(d.split('_')[0]));
}

function toolPrefix(target) {
  if (target.arch === hostArch()) return '';
  return `${target.triplet}-`;
}

/** The directory holding Node's headers for node-gyp: npm's `nodedir`, else the running Node's own. */
function nodeDir() {
  const candidates = [process.env.npm_config_nodedir, join(dirname(process.execPath), '..')].filter(Boolean);
  const dir = candidates.find((d) => existsSync(join(d, 'include', 'node', 'node_api.h')));
  if (!dir) throw new Error(`no Node headers (include/node/node_api.h) in ${candidates.join(' or ')}; set npm_config_nodedir`);
  return dir;
}

function build(target, outDir) {
  const buildRoot = ensureRoot(`bullseye-${target.debArch}`);
  const headerRoot = ensureRoot(`bookworm-${target.debArch}`);
  const curlInclude = join(headerRoot.dir, 'usr', 'include', target.triplet);
  const curlver = readFileSync(join(curlInclude, 'curl', 'curlver.h'), 'utf8');
  const headersVersion = /#define LIBCURL_VERSION "([^"]+)"/.exec(curlver)?.[1];
  if (headersVersion !== CURL_HEADERS_VERSION) throw new Error(`${curlInclude}/curl is libcurl ${headersVersion}, expected ${CURL_HEADERS_VERSION}`);

  // A clean stage with only the build's inputs, so build/ (the development
  // build) is never overwritten by a cross build.
  const stage = join(cacheDir, 'prebuild', target.tuple);
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });
  for (const input of nativeInputs()) cpSync(join(repoRoot, input), join(stage, input), { recursive: true });
  writeFileSync(join(stage, 'package.json'), JSON.stringify({ name: 'atresolve', private: true }));
  // binding.gyp asks pkg-config for libcurl and zlib: answer libcurl with
  // 7.88.1 headers and Debian 11's library, zlib with Debian 11's (its
  // zlib.h is in the sysroot's /usr/include).
  const pcDir = join(stage, 'pkgconfig');
  mkdirSync(pcDir);
  const libDir = join(buildRoot.dir, 'usr', 'lib', target.triplet);
  const pc = (name, description, version, cflags, libs) =>
    writeFileSync(join(pcDir, `${name}.pc`), [`Name: ${name}`, `Description: ${description}`, `Version: ${version}`, `Cflags: ${cflags}`, `Libs: ${libs}`, ''].join('\n'));
  pc('libcurl', `libcurl ${CURL_HEADERS_VERSION} headers (Debian 12), libcurl.so.4 of Debian 11`, CURL_HEADERS_VERSION, `-I${curlInclude}`, `-L${libDir} -l:libcurl.so.4`);
  pc('zlib', 'zlib of Debian 11', '1.2.11', '', `-L${libDir} -lz`);

  const prefix = toolPrefix(target);
  const cc = `${prefix}gcc`;
  const sysroot = `--sysroot=${buildRoot.dir}`;
  const env = {
    ...process.env,
    CC: cc,
    CXX: cc,
    LINK: cc,
    CFLAGS: sysroot,
    LDFLAGS: sysroot,
    PKG_CONFIG_LIBDIR: pcDir,
    PKG_CONFIG_PATH: '',
    PKG_CONFIG_SYSROOT_DIR: '',
    npm_config_nodedir: nodeDir(),
    PREBUILD_NODE_GYP: join(repoRoot, 'node_modules', '.bin', 'node-gyp'),
  };
  const args = [
    join(repoRoot, 'node_modules', 'prebuildify', 'bin.js'),
    '--napi', '--strip', '--tag-libc', `--arch=${target.arch}`, `--strip-bin=${prefix}strip`,
  ];
  console.error(`prebuild: ${target.tuple}: ${cc} ${sysroot} (glibc ${GLIBC_FLOOR}), libcurl ${CURL_HEADERS_VERSION} headers`);
  const result = spawnSync(process.execPath, args, { cwd: stage, env, stdio: ['ignore', 'ignore', 'inherit'] });
  if (result.status !== 0) throw new Error(`prebuildify failed for ${target.tuple} (${result.error?.message ?? `exit ${result.status}`})`);
  const built = join(stage, 'prebuilds', target.tuple, PREBUILD_FILE);
  if (!existsSync(built)) throw new Error(`prebuildify did not write ${built} (found ${readdirSync(dirname(built)).join(', ')})`);

  const elf = inspectElf(built);
  const problems = [];
  if (versionLess(GLIBC_FLOOR, elf.glibcMax)) problems.push(`needs GLIBC_${elf.glibcMax}, above the ${GLIBC_FLOOR} floor`);
  const extra = elf.needed.filter((n) => !ALLOWED_NEEDED.includes(n));
  if (extra.length > 0) problems.push(`needs ${extra.join(', ')} (allowed: ${ALLOWED_NEEDED.join(', ')})`);
  const exported = curlExports(join(libDir, 'libcurl.so.4'));
  const absent = elf.curlImports.filter((s) => !exported.has(s));
  if (absent.length > 0) problems.push(`imports ${absent.join(', ')}, which Debian 11's libcurl 7.74 does not export`);
  if (problems.length > 0) throw new Error(`${target.tuple}: ${problems.join('; ')}`);

  const dest = join(outDir, target.tuple);
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(dest, { recursive: true });
  cpSync(built, join(dest, PREBUILD_FILE));
  const info = {
    file: PREBUILD_FILE,
    sourceHash: nativeSourceHash(),
    glibcFloor: GLIBC_FLOOR,
    glibcMax: elf.glibcMax,
    needed: elf.needed,
    curlHeaders: CURL_HEADERS_VERSION,
    curlImports: elf.curlImports,
    compiler: execFileSync(cc, ['--version'], { encoding: 'utf8' }).split('\n')[0],
    // The packages asked for (their dependencies are in .cache/roots/*/.atresolve-root.json).
    buildRoot: requested(`bullseye-${target.debArch}`, buildRoot.debs),
    headerRoot: requested(`bookworm-${target.debArch}`, headerRoot.debs).filter((d) => d.startsWith('libcurl4-openssl-dev_')),
  };
  writeFileSync(join(dest, 'build.json'), `${JSON.stringify(info, null, 2)}\n`);
  console.error(`prebuild: wrote ${join(dest, PREBUILD_FILE)} (GLIBC_${elf.glibcMax}, needs ${elf.needed.join(' ')}, source ${info.sourceHash.slice(0, 12)})`);
}

function main() {
  const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7).split(',');
  const outDir = process.argv.find((a) => a.startsWith('--out='))?.slice(6) ?? join(repoRoot, 'prebuilds');
  const targets = TARGETS.filter((t) => !only || only.includes(t.tuple));
  if (targets.length === 0) {
    console.error(`prebuild: no target matches ${only}; targets: ${TARGETS.map((t) => t.tuple).join(', ')}`);
    return 2;
  }
  if (ensure(['prebuild']) !== 0) return 1;
  try {
    if (!only && outDir === join(repoRoot, 'prebuilds')) {
      // A full rebuild replaces prebuilds/ entirely, so no stale tuple survives.
      for (const entry of existsSync(outDir) ? readdirSync(outDir) : []) rmSync(join(outDir, entry), { recursive: true, force: true });
    }
    for (const target of targets) build(target, outDir);
  } catch (error) {
    console.error(`prebuild: ${error.message}`);
    return 1;
  }
  return 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = main();
