import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The package root (two levels above test/support/). */
export const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Compile `src/` with the build tsconfig into a fresh `<root>/.test-dist-*`
 * directory, for child processes (plain Node cannot import the .ts
 * sources). One level below the root, like `dist/`, so the addon loader's
 * package-root computation and module resolution work as in `dist/`.
 */
export async function compileDist(): Promise<{ dir: string; index: string; dispose(): Promise<void> }> {
  const dir = await mkdtemp(join(packageRoot, '.test-dist-'));
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  await run(process.execPath, [tsc, '-p', join(packageRoot, 'tsconfig.build.json'), '--outDir', dir, '--declaration', 'false', '--declarationMap', 'false', '--sourceMap', 'false'], {
    cwd: packageRoot,
    timeout: 120_000,
  });
  return { dir, index: join(dir, 'index.js'), dispose: () => rm(dir, { recursive: true, force: true }) };
}

/** What a child process printed and how it ended. */
export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout lines parsed as JSON (lines that are not JSON are skipped). */
  json: Array<Record<string, unknown>>;
}

/**
 * Run `test/support/curl-child.mjs <scenario> ...args` in a child process
 * and wait for it to end (killed after `timeoutMs`, which then shows up as
 * `signal: 'SIGKILL'`).
 */
export function runChild(options: {
  dist: string;
  scenario: string;
  args?: string[];
  env?: Record<string, string>;
  node?: string;
  nodeArgs?: string[];
  timeoutMs?: number;
}): Promise<ChildResult> {
  const script = join(packageRoot, 'test', 'support', 'curl-child.mjs');
  return new Promise((resolveResult, reject) => {
    execFile(
      options.node ?? process.execPath,
      [...(options.nodeArgs ?? []), script, options.scenario, ...(options.args ?? [])],
      {
        env: { ...process.env, ATRESOLVE_TEST_DIST: options.dist, ...options.env },
        timeout: options.timeoutMs ?? 60_000,
        killSignal: 'SIGKILL',
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const failure = error as (Error & { code?: number | string; signal?: NodeJS.Signals }) | null;
        if (failure && typeof failure.code === 'string') {
          reject(failure);
          return;
        }
        const json: Array<Record<string, unknown>> = [];
        for (const line of stdout.split('\n')) {
          try {
            json.push(JSON.parse(line) as Record<string, unknown>);
          } catch {
            // not a result line
          }
        }
        resolveResult({
          code: failure ? (typeof failure.code === 'number' ? failure.code : null) : 0,
          signal: failure?.signal ?? null,
          stdout,
          stderr,
          json,
        });
      },
    );
  });
}
