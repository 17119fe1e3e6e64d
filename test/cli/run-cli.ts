import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { runNode, type NodeRunResult } from '../support/child.js';
import { packagePath, packageRoot } from '../support/dist.js';

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

/** A CLI run in progress (see `startCli`). */
export interface RunningCli {
  child: ChildProcess;
  /** Everything printed so far. */
  output(): { stdout: string; stderr: string };
  /** Resolves when the process has exited. */
  exited: Promise<CliResult>;
}

/**
 * Start `node dist/cli/main.js ...args` without waiting for it, to signal it
 * while it runs. It is killed after `timeoutMs` (default 60 s).
 */
export function startCli(args: readonly string[], options: { timeoutMs?: number } = {}): RunningCli {
  const child = spawn(process.execPath, [cliPath, ...args], { cwd: packageRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const killer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  const exited = new Promise<CliResult>((resolve) => {
    child.once('close', (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { child, output: () => ({ stdout, stderr }), exited };
}

/** The ids of the child processes of `pid` (empty when it has none or is gone). */
export function childPids(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((task) =>
      readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number),
    );
  } catch {
    return [];
  }
}
