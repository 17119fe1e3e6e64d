// Debian roots under the git-ignored `.cache/roots/`, made with
// `mmdebstrap --variant=extract` (packages unpacked, nothing run, no root
// filesystem set up): a Debian 11 root per architecture for glibc 2.31 to
// build the prebuilds against, and a Debian 12 root per architecture for
// libcurl 7.88.1's headers and, on arm64, the libraries the arm64 suite runs
// on under qemu. Shared by scripts/prebuild.mjs and scripts/arm64-suite.mjs.
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, unlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
export const cacheDir = join(repoRoot, '.cache');

/** The roots, by name: Debian suite, architecture, packages (their dependencies come along). */
export const ROOTS = {
  // glibc 2.31 (Debian 11; Ubuntu 20.04 has 2.31 too): the prebuilds link
  // against it and so need nothing newer. libcurl4 7.74 is Debian 11's: the
  // build checks every libcurl function the addon imports is exported by it.
  // zlib1g-dev: the engine's content decoding (zlib.h, libz.so.1 1.2.11).
  // With libstdc++6, Node runs on this root under qemu: the prebuild-load
  // check on glibc 2.31 (scripts/arm64-suite.mjs).
  'bullseye-amd64': { suite: 'bullseye', arch: 'amd64', packages: ['libc6-dev', 'libgcc-s1', 'libcurl4', 'zlib1g-dev', 'libstdc++6'] },
  'bullseye-arm64': { suite: 'bullseye', arch: 'arm64', packages: ['libc6-dev', 'libgcc-s1', 'libcurl4', 'zlib1g-dev', 'libstdc++6'] },
  // libcurl 7.88.1 headers (Debian 12), the newest the engine may compile
  // against; on arm64 also the libraries the arm64 Node and the prebuild run
  // on under qemu (libstdc++6 for Node).
  'bookworm-amd64': { suite: 'bookworm', arch: 'amd64', packages: ['libcurl4-openssl-dev'] },
  'bookworm-arm64': { suite: 'bookworm', arch: 'arm64', packages: ['libcurl4-openssl-dev', 'libstdc++6', 'libgcc-s1'] },
};

const STAMP = '.atresolve-root.json';

/**
 * The Debian archive this machine's apt uses (the first `deb` source whose
 * URI ends in `/debian`), or `ATRESOLVE_DEBIAN_MIRROR`; `undefined` lets
 * mmdebstrap use its default. The security archive is left out on purpose:
 * the point releases carry every package the roots need.
 */
export function debianMirror() {
  if (process.env.ATRESOLVE_DEBIAN_MIRROR) return process.env.ATRESOLVE_DEBIAN_MIRROR;
  const files = ['/etc/apt/sources.list'];
  const dir = '/etc/apt/sources.list.d';
  if (existsSync(dir)) files.push(...readdirSync(dir).filter((f) => /\.(list|sources)$/.test(f)).map((f) => join(dir, f)));
  for (const file of files) {
    if (!existsSync(file)) continue;
    const text = readFileSync(file, 'utf8');
    const uris = [
      ...[...text.matchAll(/^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)/gm)].map((m) => m[1]),
      ...[...text.matchAll(/^URIs:\s*(\S+)/gm)].map((m) => m[1]),
    ];
    const uri = uris.find((u) => /^https?:\/\/[^ ]+\/debian\/?$/.test(u));
    if (uri) return uri;
  }
  return undefined;
}

/**
 * The directory of root `name`, made (or remade, when its package list
 * changed) with mmdebstrap. Absolute symlinks inside it are rewritten to
 * relative ones, so that a linker given `--sysroot` and qemu given `-L`
 * stay inside the root. Returns `{ dir, debs }`, `debs` being the unpacked
 * packages as `name_version_arch`.
 */
export function ensureRoot(name) {
  const spec = ROOTS[name];
  if (!spec) throw new Error(`unknown root ${name}`);
  const dir = join(cacheDir, 'roots', name);
  const stampFile = join(dir, STAMP);
  const want = { suite: spec.suite, arch: spec.arch, packages: spec.packages };
  if (existsSync(stampFile)) {
    const stamp = JSON.parse(readFileSync(stampFile, 'utf8'));
    if (JSON.stringify({ suite: stamp.suite, arch: stamp.arch, packages: stamp.packages }) === JSON.stringify(want)) return { dir, debs: stamp.debs };
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dirname(dir), { recursive: true });
  const mirror = debianMirror();
  const args = [
    '--variant=extract',
    `--architectures=${spec.arch}`,
    `--include=${spec.packages.join(',')}`,
    // Keep the downloaded .debs until their names are recorded.
    '--skip=cleanup/apt/cache',
    spec.suite,
    dir,
    ...(mirror ? [mirror] : []),
  ];
  console.error(`debian-root: mmdebstrap ${args.join(' ')}`);
  const result = spawnSync('mmdebstrap', args, { stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.status !== 0) {
    throw new Error(`mmdebstrap failed for ${name} (${result.error?.message ?? `exit ${result.status}`}); is it installed? (node scripts/system-packages.mjs ensure prebuild)`);
  }
  const archives = join(dir, 'var', 'cache', 'apt', 'archives');
  const debs = readdirSync(archives)
    .filter((f) => f.endsWith('.deb'))
    .map((f) => decodeURIComponent(f.slice(0, -4)))
    .sort();
  rmSync(archives, { recursive: true, force: true });
  relativizeSymlinks(dir, dir);
  writeFileSync(stampFile, `${JSON.stringify({ ...want, debs }, null, 2)}\n`);
  return { dir, debs };
}

/** Rewrite every absolute symlink under `dir` to a relative one inside `root`. */
function relativizeSymlinks(root, dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isSymbolicLink()) {
      const target = readlinkSync(path);
      if (target.startsWith('/')) {
        unlinkSync(path);
        symlinkSync(relative(dirname(path), join(root, target)) || '.', path);
      }
    } else if (entry.isDirectory() && !lstatSync(path).isSymbolicLink()) {
      relativizeSymlinks(root, path);
    }
  }
}
