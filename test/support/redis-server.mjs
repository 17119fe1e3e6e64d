// Real redis-server instances on loopback for the Redis cache tests and
// bench/redis-cache.mjs: one node, or a cluster of masters. Plain ESM so the
// benchmark (run by node, not vitest) can import it; types are in
// redis-server.d.mts.
//
// redis-server cannot listen on port 0 and report the port, so ports are
// picked by binding a probe socket to 127.0.0.1:0 and closing it; a start
// that loses the race for the port ("Address already in use") is retried
// with new ports. Each server runs in its own temporary directory with
// persistence off (--save '' --appendonly no), bound to 127.0.0.1 only.
//
// Every server is started under a small `sh` guard that holds the write end
// of a pipe from this process: when this process exits for any reason (even
// SIGKILL), the pipe closes, `read` returns and the guard kills the server,
// so no redis-server outlives the test that started it. The guard also
// reaps the server (`wait`), so a stopped server leaves no zombie behind.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './free-port.mjs';

const run = promisify(execFile);

/** How long one server may take to print "Ready to accept connections". */
const READY_TIMEOUT_MS = 10_000;
/** Attempts at finding free ports before giving up. */
const PORT_ATTEMPTS = 5;

let probed;

/**
 * Why the Redis tests cannot run, or `undefined` when they can: a missing
 * `redis-server` is the only reason. (`redis-cli`, which the tests also
 * use, comes with it: Debian's redis-server depends on redis-tools. If it
 * is missing anyway, the tests fail rather than skip.)
 */
export function redisSkipReason() {
  if (probed === undefined) {
    try {
      execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
      probed = null;
    } catch {
      probed = 'redis-server is not installed (apt-get install redis-server); skipping the Redis tests';
    }
  }
  return probed ?? undefined;
}

class RedisServer {
  #args;
  #dir;
  #ownsDir;
  #guard;
  #exited;
  /** The server's pid while it runs. */
  pid = undefined;
  /** Recent output, for error messages. */
  #log = '';

  constructor(port, args, dir, ownsDir) {
    this.port = port;
    this.host = '127.0.0.1';
    this.url = `redis://127.0.0.1:${port}`;
    this.#args = args;
    this.#dir = dir;
    this.#ownsDir = ownsDir;
  }

  /** Start the process and wait until it accepts connections. */
  async start() {
    if (this.#guard) throw new Error(`redis-server on ${this.port} is already running`);
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.#dir, ...this.#args];
    const guard = spawn('sh', ['-c', 'redis-server "$@" & pid=$!; echo "guard-pid $pid"; read _; kill -9 $pid 2>/dev/null; wait $pid', 'sh', ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.#guard = guard;
    this.#log = '';
    this.#exited = new Promise((resolve) => guard.once('exit', resolve));
    const ready = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server on ${this.port} not ready after ${READY_TIMEOUT_MS} ms:\n${this.#log}`)), READY_TIMEOUT_MS);
      const onData = (chunk) => {
        this.#log = (this.#log + chunk.toString()).slice(-8192);
        const pid = /guard-pid (\d+)/.exec(this.#log);
        if (pid && this.pid === undefined) this.pid = Number(pid[1]);
        if (this.#log.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        } else if (/Address already in use|Could not create server TCP/.test(this.#log)) {
          clearTimeout(timer);
          reject(Object.assign(new Error(`port ${this.port} is taken`), { code: 'EADDRINUSE' }));
        }
      };
      guard.stdout.on('data', onData);
      guard.stderr.on('data', onData);
      guard.once('exit', () => {
        clearTimeout(timer);
        reject(new Error(`redis-server on ${this.port} exited before it was ready:\n${this.#log}`));
      });
    });
    try {
      await ready;
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  /** Kill the server with SIGKILL (an outage, not a shutdown) and wait for it to be gone. */
  async stop() {
    const guard = this.#guard;
    if (!guard) return;
    if (this.pid !== undefined) {
      try {
        process.kill(this.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    guard.stdin.end();
    await this.#exited;
    // The guard exits right after the server; make sure the port is released.
    if (this.pid !== undefined) await waitGone(this.pid);
    this.#guard = undefined;
    this.pid = undefined;
  }

  /** Start again on the same port, with an empty data set (no persistence). */
  async restart() {
    await this.stop();
    await this.start();
  }

  /** SIGSTOP: the server keeps its connections but answers nothing (a hung Redis). */
  pause() {
    if (this.pid !== undefined) process.kill(this.pid, 'SIGSTOP');
  }

  /** SIGCONT after `pause()`. */
  resume() {
    if (this.pid !== undefined) process.kill(this.pid, 'SIGCONT');
  }

  /** `redis-cli -p <port> ...args`, trimmed stdout. */
  async cli(...args) {
    const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(this.port), ...args], { timeout: 10_000 });
    return stdout.trim();
  }

  /** Stop the server and remove its directory. Idempotent. */
  async close() {
    await this.stop();
    if (this.#ownsDir) rmSync(this.#dir, { recursive: true, force: true });
  }
}

async function waitGone(pid) {
  for (let i = 0; i < 200; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function startOne(makeArgs, dir, ownsDir, fixedPort) {
  let lastError;
  for (let attempt = 0; attempt < (fixedPort === undefined ? PORT_ATTEMPTS : 1); attempt++) {
    const port = fixedPort ?? (await freePort());
    const server = new RedisServer(port, await makeArgs(port), dir, ownsDir);
    try {
      await server.start();
      return server;
    } catch (error) {
      lastError = error;
      if (error.code !== 'EADDRINUSE') break;
    }
  }
  if (ownsDir) rmSync(dir, { recursive: true, force: true });
  throw lastError;
}

/**
 * Start one redis-server on a free loopback port (or on `port`), in its own
 * temporary directory, without persistence. `extraArgs` are appended to the
 * command line.
 */
export async function startRedis(options = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'atresolve-redis-'));
  return startOne(() => options.extraArgs ?? [], dir, true, options.port);
}

/**
 * Start a Redis Cluster of `masters` (default 3) nodes without replicas:
 * each node on its own free port and cluster-bus port (`--cluster-port`,
 * also probed), then `redis-cli --cluster create … --cluster-replicas 0
 * --cluster-yes`, then wait until every node reports `cluster_state:ok`.
 */
export async function startRedisCluster(options = {}) {
  const masters = options.masters ?? 3;
  const dir = mkdtempSync(join(tmpdir(), 'atresolve-redis-cluster-'));
  const nodes = [];
  try {
    for (let i = 0; i < masters; i++) {
      const nodeDir = join(dir, `node-${i}`);
      execFileSync('mkdir', ['-p', nodeDir]);
      nodes.push(
        await startOne(
          async () => [
            '--cluster-enabled', 'yes',
            '--cluster-port', String(await freePort()),
            '--cluster-config-file', join(nodeDir, 'nodes.conf'),
            '--cluster-node-timeout', '2000',
            ...(options.extraArgs ?? []),
          ],
          nodeDir,
          false,
        ),
      );
    }
    await run('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'], {
      timeout: 30_000,
    });
    const deadline = Date.now() + 20_000;
    for (const node of nodes) {
      while (!(await node.cli('cluster', 'info')).includes('cluster_state:ok')) {
        if (Date.now() > deadline) throw new Error(`cluster node ${node.port} never reached cluster_state:ok`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  } catch (error) {
    await Promise.all(nodes.map((n) => n.close()));
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    nodes,
    rootNodes: nodes.map((n) => n.url),
    async close() {
      await Promise.all(nodes.map((n) => n.close()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
