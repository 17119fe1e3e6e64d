import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The package's version, from package.json two levels above this module
 * (`dist/cli` or `src/cli` → the package root); `unknown` when unreadable.
 * Its own module so that every command can print it without importing the
 * dispatcher (`cli.ts` loads the commands, never the other way round).
 */
export function packageVersion(): string {
  try {
    const json = JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as { version?: unknown };
    return typeof json.version === 'string' ? json.version : 'unknown';
  } catch {
    return 'unknown';
  }
}
