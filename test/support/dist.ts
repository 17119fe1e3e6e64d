import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root (two levels above test/support/). */
export const packageRoot = resolve(fileURLToPath(import.meta.url), '../../..');

/** Absolute path of a file in the package. */
export function packagePath(...parts: string[]): string {
  return join(packageRoot, ...parts);
}

/**
 * The compiled entry point child processes import. `test/global-setup.ts`
 * builds `dist/` from `src/` before any test file runs.
 */
export const distIndex = packagePath('dist', 'index.js');

/** The compiled `atresolve/transport` entry (createTransport, the transports). */
export const distTransport = packagePath('dist', 'transport', 'index.js');
