import { runNode, type NodeRunResult } from '../support/child.js';
import { packagePath } from '../support/dist.js';

/** What one `atresolve` run printed and how it ended. */
export type CliResult = NodeRunResult;

/** The compiled CLI entry (`bin` in package.json); `test/global-setup.ts` builds `dist/`. */
export const cliPath = packagePath('dist', 'cli', 'main.js');

/**
 * Run `node dist/cli/main.js ...args` in a child process and wait for it,
 * killing it after `timeoutMs` (default 30 s; the result then has
 * `signal: 'SIGKILL'`).
 */
export function runCli(args: readonly string[], options: { timeoutMs?: number; cwd?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  return runNode([cliPath, ...args], { ...options, timeoutMs: options.timeoutMs ?? 30_000 });
}
