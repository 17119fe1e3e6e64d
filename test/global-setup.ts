import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { packagePath } from './support/dist.js';

const run = promisify(execFile);

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
 * Runs once before any test file: child processes (the world's child, the
 * curl lifecycle children, the prebuild loader) run compiled JavaScript
 * from `dist/`, so build it when it is missing or older than `src/`. Once
 * here, so no two test files ever build at the same time.
 */
export default async function setup(): Promise<void> {
  const marker = packagePath('dist/index.js');
  if (existsSync(marker) && statSync(marker).mtimeMs >= newestSource(packagePath('src'))) return;
  await run(process.execPath, [packagePath('node_modules/typescript/bin/tsc'), '-p', packagePath('tsconfig.build.json')], {
    cwd: packagePath(),
    timeout: 180_000,
  });
}
