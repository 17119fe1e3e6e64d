import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { packageRoot } from './dist.js';

export { distIndex, packageRoot } from './dist.js';

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
