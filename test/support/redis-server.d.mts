/** Types of `redis-server.mjs` (plain ESM so that bench/redis-cache.mjs can use it too). */

/** Why the Redis tests cannot run (`redis-server` is not installed), or `undefined` when they can. */
export function redisSkipReason(): string | undefined;

/** One redis-server process on 127.0.0.1, without persistence, in its own temporary directory. */
export interface RedisServer {
  readonly host: string;
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /** The server's pid while it runs. */
  readonly pid: number | undefined;
  /** Start again after `stop()`, on the same port. */
  start(): Promise<void>;
  /** SIGKILL (an outage, not a shutdown); waits until the process is gone. */
  stop(): Promise<void>;
  /** `stop()` then `start()`: same port, empty data set. */
  restart(): Promise<void>;
  /** SIGSTOP: connections stay open, nothing is answered. */
  pause(): void;
  /** SIGCONT after `pause()`. */
  resume(): void;
  /** Run `redis-cli -p <port> ...args`; returns trimmed stdout. */
  cli(...args: string[]): Promise<string>;
  /** Stop and remove the directory. Idempotent. */
  close(): Promise<void>;
}

/** A Redis Cluster of masters without replicas. */
export interface RedisClusterServers {
  readonly nodes: RedisServer[];
  /** One `redis://…` URL per node, for `createCluster({ rootNodes })`. */
  readonly rootNodes: string[];
  close(): Promise<void>;
}

/** One node on a free port (or on `port`, e.g. one a client already waits on). */
export function startRedis(options?: { port?: number; extraArgs?: string[] }): Promise<RedisServer>;

export function startRedisCluster(options?: { masters?: number; extraArgs?: string[] }): Promise<RedisClusterServers>;
