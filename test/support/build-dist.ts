import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');

/** Newest modification time (ms) of any `.ts` file under `dir`. */
function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * Make sure `dist/` holds a build of the current `src/`, which the world's
 * child process (`dist/world/child.js`) runs from: when the child entry is
 * missing or older than any source file, run `tsc -p tsconfig.build.json`
 * (the `build:ts` script). Only the child-process test calls this, once per
 * file, so no two forks build at the same time.
 */
export async function ensureDistBuilt(): Promise<void> {
  const child = join(ROOT, 'dist/world/child.js');
  if (existsSync(child) && statSync(child).mtimeMs >= newestSource(join(ROOT, 'src'))) return;
  await run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json')], {
    cwd: ROOT,
    timeout: 180_000,
  });
}

/** Absolute path of a file in the package. */
export function packagePath(...parts: string[]): string {
  return join(ROOT, ...parts);
}
