import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from './dist.js';

export { distIndex, packageRoot } from './dist.js';

/** What a node child process printed and how it ended. */
export interface NodeRunResult {
  /** Exit status, or `null` when killed (then `signal` is set). */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** How to run a node child process. */
export interface NodeRunOptions {
  /** The node binary. Default: this process's. */
  node?: string;
  /** Extra environment on top of this process's. */
  env?: Record<string, string>;
  cwd?: string;
  /** Killed with SIGKILL after this long. Default 60 s. */
  timeoutMs?: number;
}

/**
 * Run `node ...args` and wait for it to end. A non-zero exit or a kill is
 * a result (`code`, `signal`), not a rejection; only a failure to start
 * rejects.
 */
export function runNode(args: readonly string[], options: NodeRunOptions = {}): Promise<NodeRunResult> {
  return new Promise((resolve, reject) => {
    execFile(
      options.node ?? process.execPath,
      [...args],
      {
        cwd: options.cwd ?? packageRoot,
        env: { ...process.env, ...options.env },
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

/** What a curl-child scenario printed and how it ended. */
export interface ChildResult extends NodeRunResult {
  /** stdout lines parsed as JSON (lines that are not JSON are skipped). */
  json: Array<Record<string, unknown>>;
}

/**
 * Run `test/support/curl-child.mjs <scenario> ...args` in a child process
 * and wait for it to end (killed after `timeoutMs`, which then shows up as
 * `signal: 'SIGKILL'`).
 */
export async function runChild(options: {
  dist: string;
  scenario: string;
  args?: string[];
  env?: Record<string, string>;
  node?: string;
  nodeArgs?: string[];
  timeoutMs?: number;
}): Promise<ChildResult> {
  const script = join(packageRoot, 'test', 'support', 'curl-child.mjs');
  const result = await runNode([...(options.nodeArgs ?? []), script, options.scenario, ...(options.args ?? [])], {
    node: options.node,
    env: { ATRESOLVE_TEST_DIST: options.dist, ...options.env },
    timeoutMs: options.timeoutMs,
  });
  const json: Array<Record<string, unknown>> = [];
  for (const line of result.stdout.split('\n')) {
    try {
      json.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // not a result line
    }
  }
  return { ...result, json };
}

/** Whether process `pid` is still running (a zombie counts as gone). */
export function alive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}
