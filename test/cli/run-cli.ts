import { execFile } from 'node:child_process';
import { packagePath } from '../support/dist.js';

/** What one `atresolve` run printed and how it ended. */
export interface CliResult {
  /** Exit status, or `null` when killed (then `signal` is set). */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The compiled CLI entry (`bin` in package.json); `test/global-setup.ts` builds `dist/`. */
export const cliPath = packagePath('dist', 'cli', 'main.js');

/**
 * Run `node dist/cli/main.js ...args` in a child process and wait for it,
 * killing it after `timeoutMs` (the result then has `signal: 'SIGKILL'`).
 */
export function runCli(args: readonly string[], options: { timeoutMs?: number; cwd?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [cliPath, ...args],
      {
        cwd: options.cwd ?? packagePath(),
        env: { ...process.env, ...options.env },
        timeout: options.timeoutMs ?? 30_000,
        killSignal: 'SIGKILL',
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const failure = error as (Error & { code?: number | string; signal?: NodeJS.Signals }) | null;
        if (failure && typeof failure.code === 'string') {
          reject(failure);
          return;
        }
        resolve({
          code: failure ? (typeof failure.code === 'number' ? failure.code : null) : 0,
          signal: failure?.signal ?? null,
          stdout,
          stderr,
        });
      },
    );
  });
}
