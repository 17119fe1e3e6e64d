#!/usr/bin/env node
// The one list of Debian/Ubuntu packages atresolve's suites and builds need,
// and the check that runs first in `npm test` and in `.ci/run`.
//
//   node scripts/system-packages.mjs ensure <group>...   check; install what is missing when root or
//                                                        passwordless sudo, else print the exact
//                                                        `apt-get install` line and exit 1
//   node scripts/system-packages.mjs list <group>...     print the package names, one a line
//
// Groups: `test` (what `npm test` needs), `prebuild` (`npm run prebuild`:
// Debian roots and the arm64 cross compiler), `ci` (everything `.ci/run`
// runs: test + prebuild + fuzzing + the arm64 suite under qemu).
// Add a package by adding one row to PACKAGES, with the reason it is needed.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Every system package, the groups that need it, and why. */
export const PACKAGES = [
  { name: 'build-essential', groups: ['test', 'prebuild'], why: 'gcc and make: node-gyp and the native C suite' },
  { name: 'python3', groups: ['test', 'prebuild'], why: 'node-gyp' },
  { name: 'pkg-config', groups: ['test', 'prebuild'], why: "binding.gyp and the C suite find libcurl's flags" },
  { name: 'libcurl4-openssl-dev', groups: ['test'], why: 'curl/curl.h and libcurl for the addon and the native C suite' },
  { name: 'libgmp10', groups: ['test'], why: "libgmp.so.10, which curve_point.c opens for the curve check (the addon and the C suite; on every Debian/Ubuntu already, coreutils pre-depends on it)" },
  { name: 'zlib1g-dev', groups: ['test'], why: "zlib.h and libz: the engine's content decoding (addon, C suite, fuzzers)" },
  { name: 'ca-certificates', groups: ['test'], why: 'the system TLS roots both transports load' },
  { name: 'openssl', groups: ['test'], why: 'the openssl CLI makes the throw-away test CAs (tests, soak world)' },
  { name: 'valgrind', groups: ['test'], why: 'the native C suite runs under valgrind' },
  { name: 'redis-server', groups: ['test'], why: 'the Redis cache tests start their own servers' },
  { name: 'redis-tools', groups: ['test'], why: 'redis-cli: the Redis Cluster tests create their cluster with it' },
  { name: 'iproute2', groups: ['test'], why: 'ip: the network-namespace SSRF suite' },
  { name: 'mmdebstrap', groups: ['prebuild', 'ci'], why: 'Debian 11/12 roots the prebuilds are built against and the arm64 suite runs on' },
  { name: 'gcc-aarch64-linux-gnu', groups: ['prebuild'], why: 'cross-compiles the linux-arm64 prebuild' },
  { name: 'binutils-aarch64-linux-gnu', groups: ['prebuild'], why: 'strips the linux-arm64 prebuild' },
  { name: 'clang', groups: ['ci'], why: 'libFuzzer: npm run fuzz' },
  { name: 'qemu-user-static', groups: ['ci'], why: 'qemu-aarch64 and its binfmt entry: the arm64 prebuild suite' },
];

/** Group → the groups it includes. */
const INCLUDES = { test: ['test'], prebuild: ['prebuild'], ci: ['test', 'prebuild', 'ci'] };

/** The rows of `groups` (and the groups they include), in table order. */
export function packagesFor(groups) {
  const unknown = groups.filter((g) => !(g in INCLUDES));
  if (unknown.length > 0) throw new Error(`unknown group ${unknown.join(', ')} (groups: ${Object.keys(INCLUDES).join(', ')})`);
  const wanted = new Set(groups.flatMap((g) => INCLUDES[g]));
  return PACKAGES.filter((p) => p.groups.some((g) => wanted.has(g)));
}

/** Names of the packages among `rows` that dpkg does not list as installed; `null` without dpkg. */
function missingPackages(rows) {
  const query = spawnSync('dpkg-query', ['-W', '-f=${Package} ${db:Status-Status}\n', ...rows.map((p) => p.name)], { encoding: 'utf8' });
  if (query.error) return null;
  const installed = new Set(
    query.stdout
      .split('\n')
      .map((line) => line.split(' '))
      .filter(([, status]) => status === 'installed')
      .map(([name]) => name),
  );
  return rows.filter((p) => !installed.has(p.name));
}

/**
 * How this process may run apt-get: `{ prefix: [] }` as root,
 * `{ prefix: ['sudo', '-n'] }` with passwordless sudo, else `{ prefix: null }`
 * and whether sudo exists at all (for the line to print).
 */
function privilege() {
  if (process.getuid?.() === 0) return { prefix: [], sudo: false };
  const sudo = spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore', timeout: 5_000 });
  if (sudo.status === 0) return { prefix: ['sudo', '-n'], sudo: true };
  return { prefix: null, sudo: !sudo.error };
}

function describe(rows) {
  return rows.map((p) => `  ${p.name.padEnd(28)} ${p.why}`).join('\n');
}

/**
 * Make sure the packages of `groups` are installed. Returns an exit status:
 * 0 when everything is (now) installed, 1 when something is missing and
 * cannot be installed from here (the message says what to run).
 */
export function ensure(groups, log = console.error) {
  const rows = packagesFor(groups);
  if (process.env.ATRESOLVE_SYSTEM_CHECK === 'skip') {
    log(`system-packages: ATRESOLVE_SYSTEM_CHECK=skip: not checking ${rows.map((p) => p.name).join(' ')}`);
    return 0;
  }
  const missing = missingPackages(rows);
  if (missing === null) {
    log(
      `system-packages: dpkg-query not found, so the system packages cannot be checked on this machine.\n` +
        `The ${groups.join('/')} suites need the equivalents of these Debian packages:\n${describe(rows)}\n` +
        'Install them, then run again with ATRESOLVE_SYSTEM_CHECK=skip.',
    );
    return 1;
  }
  if (missing.length === 0) return 0;
  const names = missing.map((p) => p.name);
  const { prefix, sudo } = privilege();
  if (prefix === null) {
    const line = `${sudo ? 'sudo ' : ''}apt-get install -y --no-install-recommends ${names.join(' ')}`;
    log(
      `system-packages: missing ${names.length} system package${names.length === 1 ? '' : 's'} ` +
        `(not root, and ${sudo ? 'sudo asks for a password' : 'no sudo'}):\n` +
        `${describe(missing)}\nInstall them${sudo ? '' : ' as root'} with:\n\n  ${line}\n`,
    );
    return 1;
  }
  log(`system-packages: installing ${names.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['apt-get', 'update', '-q'], ['apt-get', 'install', '-y', '-q', '--no-install-recommends', ...names]]) {
    const [cmd, ...rest] = [...prefix, ...args];
    const step = spawnSync(cmd, rest, { stdio: ['ignore', 'inherit', 'inherit'], env });
    if (step.status !== 0) {
      log(`system-packages: '${[...prefix, ...args].join(' ')}' failed (${step.error?.message ?? `exit ${step.status}`})`);
      return 1;
    }
  }
  const still = missingPackages(rows) ?? [];
  if (still.length > 0) {
    log(`system-packages: still missing after apt-get install: ${still.map((p) => p.name).join(' ')}`);
    return 1;
  }
  return 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [command, ...groups] = process.argv.slice(2);
  try {
    if (command === 'ensure' && groups.length > 0) process.exitCode = ensure(groups);
    else if (command === 'list' && groups.length > 0) console.log(packagesFor(groups).map((p) => p.name).join('\n'));
    else {
      console.error('usage: system-packages.mjs ensure|list <group>...   (groups: test, prebuild, ci)');
      process.exitCode = 2;
    }
  } catch (error) {
    console.error(`system-packages: ${error.message}`);
    process.exitCode = 2;
  }
}
