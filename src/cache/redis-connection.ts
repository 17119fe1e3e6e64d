import type { RedisClientOptions } from 'redis';
import { CacheClosedError, CacheUnavailableError } from './errors.js';
import { createClient, createCluster } from './redis-client.js';
import type { Script } from './redis-layout.js';
import type { ResolvedRedisCacheOptions } from './redis-options.js';

/** What a `RedisConnection` tells the cache that owns it. */
export interface RedisConnectionEvents {
  /** A message arrived on the invalidation channel. */
  onMessage(message: string): void;
  /**
   * A connection dropped (in a cluster: any node's, since the subscriber's
   * node is not known): messages may be missed until it is back.
   */
  onLinkLost(): void;
  /** The channel is subscribed again after a drop: messages sent meanwhile were missed. */
  onMissedMessages(): void;
}

/** Sends one command to one node, under the command timeout. */
export type NodeSender = (args: string[]) => Promise<unknown>;

type Listener = (...args: unknown[]) => void;

/** The part of a node-redis client this file uses. */
interface NodeClient {
  readonly isReady: boolean;
  connect(): Promise<unknown>;
  sendCommand(args: string[]): Promise<unknown>;
  subscribe(channel: string, listener: (message: string) => void): Promise<void>;
  duplicate(): NodeClient;
  destroy(): void;
  on(event: string, listener: Listener): unknown;
}

/** The part of a node-redis cluster this file uses. */
interface ClusterClient {
  readonly isReady: boolean;
  readonly masters: readonly unknown[];
  connect(): Promise<unknown>;
  sendCommand(firstKey: string | undefined, isReadonly: boolean, args: string[]): Promise<unknown>;
  subscribe(channel: string, listener: (message: string) => void): Promise<void>;
  nodeClient(node: unknown): Promise<NodeClient> | NodeClient;
  destroy(): void;
  on(event: string, listener: Listener): unknown;
}

const ignore = (): void => {};

/**
 * The Redis connections of one `RedisCache`: a command connection and a
 * subscriber on one node, or a cluster client (which subscribes through a
 * node of its choosing). Starts connecting when constructed; reconnects with
 * exponential backoff (a cluster whose discovery failed is rebuilt after a
 * backoff); every command fails at once while Redis is unreachable (no
 * offline queue) or `maxPendingCommands` are outstanding, and otherwise
 * within `commandTimeoutMs`. It tells its cache about messages on the
 * invalidation channel and about the times it may have missed some.
 * `docs/redis-cache.md` has the failure modes.
 */
export class RedisConnection {
  readonly #o: ResolvedRedisCacheOptions;
  readonly #channel: string;
  readonly #events: RedisConnectionEvents;
  #client: NodeClient | undefined;
  #subscriber: NodeClient | undefined;
  #cluster: ClusterClient | undefined;
  #clusterReady = false;
  #subscribed = false;
  /** The invalidation channel was down since the last subscription: messages may have been missed. */
  #linkLost = false;
  #retryTimer: NodeJS.Timeout | undefined;
  #stopped = false;
  #pending = 0;
  #connectionErrors = 0;
  readonly #ready: Promise<void>;
  #resolveReady!: () => void;
  #rejectReady!: (error: unknown) => void;

  /** Start connecting to `o.clusterNodes` (a cluster) or `o.url`, and subscribe to `channel`. */
  constructor(o: ResolvedRedisCacheOptions, channel: string, events: RedisConnectionEvents) {
    this.#o = o;
    this.#channel = channel;
    this.#events = events;
    this.#ready = new Promise<void>((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    this.#ready.catch(ignore);
    if (o.clusterNodes.length > 0) this.#startCluster(0);
    else this.#startSingle();
  }

  /** The command connection (every node, in a cluster) is up. */
  get connected(): boolean {
    if (this.#stopped) return false;
    if (this.#cluster !== undefined) return this.#clusterReady && this.#cluster.isReady;
    return this.#client?.isReady === true;
  }

  /** The invalidation channel is subscribed. */
  get subscribed(): boolean {
    return this.#subscribed;
  }

  /** Commands sent and not yet answered (including those given up on after the timeout). */
  get pendingCommands(): number {
    return this.#pending;
  }

  /** Connection errors reported by the client (refused, reset, …). */
  get connectionErrors(): number {
    return this.#connectionErrors;
  }

  /** Resolves once connected and subscribed; rejects with `CacheClosedError` after `stop()`. */
  ready(): Promise<void> {
    return this.#ready;
  }

  /** Send one command (routed by `firstKey` in a cluster) under the command timeout. */
  send(firstKey: string | undefined, args: string[]): Promise<unknown> {
    if (this.#stopped) return Promise.reject(unavailable('the Redis cache is closed'));
    let sent: Promise<unknown>;
    try {
      if (this.#cluster !== undefined) {
        if (!this.#clusterReady) return Promise.reject(unavailable('not connected to the Redis cluster'));
        sent = this.#cluster.sendCommand(firstKey, false, args);
      } else if (this.#client !== undefined) {
        sent = this.#client.sendCommand(args);
      } else {
        return Promise.reject(unavailable('not connected to Redis'));
      }
    } catch (error) {
      return Promise.reject(unavailable('the Redis client refused the command', error));
    }
    return this.#timed(sent);
  }

  /** Run a script by its SHA, loading it with EVAL when the node does not know it yet. */
  async eval(script: Script, keys: readonly string[], args: string[]): Promise<unknown> {
    const tail = [String(keys.length), ...keys, ...args];
    try {
      return await this.send(keys[0], ['EVALSHA', script.sha, ...tail]);
    } catch (error) {
      if (!(error instanceof CacheUnavailableError) || !/NOSCRIPT/.test(String((error.cause as Error | undefined)?.message))) throw error;
    }
    return this.send(keys[0], ['EVAL', script.source, ...tail]);
  }

  /** One sender per master (the single node, or each cluster master), for commands every node must run (SCAN). */
  async nodes(): Promise<NodeSender[]> {
    if (this.#stopped) throw unavailable('the Redis cache is closed');
    if (this.#cluster !== undefined) {
      if (!this.#clusterReady) throw unavailable('not connected to the Redis cluster');
      const cluster = this.#cluster;
      const clients = await Promise.all(cluster.masters.map((m) => cluster.nodeClient(m)));
      return clients.map((c) => (args: string[]) => this.#timed(c.sendCommand(args)));
    }
    const client = this.#client;
    if (client === undefined) throw unavailable('not connected to Redis');
    return [(args: string[]) => this.#timed(client.sendCommand(args))];
  }

  /**
   * Refuse new commands, stop reconnecting and reject `ready()`. Commands
   * already sent still settle (each within the command timeout); `destroy()`
   * then closes the clients.
   */
  stop(): void {
    this.#stopped = true;
    this.#rejectReady(new CacheClosedError('the Redis cache was closed'));
    clearTimeout(this.#retryTimer);
  }

  /** Close the clients (after `stop()`). */
  destroy(): void {
    this.stop();
    for (const client of [this.#client, this.#subscriber, this.#cluster]) {
      try {
        client?.destroy();
      } catch {
        // already closed
      }
    }
    this.#subscribed = false;
  }

  /** Settle with `sent`, or reject after `commandTimeoutMs` (the command itself is left to settle later). */
  #timed(sent: Promise<unknown>): Promise<unknown> {
    this.#pending++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(unavailable(`Redis did not answer within ${this.#o.commandTimeoutMs} ms`)), this.#o.commandTimeoutMs);
      timer.unref();
      sent.then(
        (value) => {
          this.#pending--;
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          this.#pending--;
          clearTimeout(timer);
          reject(unavailable('Redis command failed', error));
        },
      );
    });
  }

  /** node-redis client options: the caller's, under ours. */
  #clientOptions(): RedisClientOptions {
    const user = this.#o.redis;
    return {
      ...user,
      RESP: 2,
      disableOfflineQueue: true,
      commandsQueueMaxLength: this.#o.maxPendingCommands,
      socket: {
        ...(user.socket ?? {}),
        connectTimeout: this.#o.connectTimeoutMs,
        reconnectStrategy: (retries: number) => this.#backoff(retries),
      },
    } as unknown as RedisClientOptions;
  }

  /** Exponential backoff with jitter (50–100 % of the step), capped at `reconnectMaxMs`; stops after `stop()`. */
  #backoff(retries: number): number | false {
    if (this.#stopped) return false;
    const step = Math.min(this.#o.reconnectMaxMs, this.#o.reconnectMinMs * 2 ** Math.min(retries, 30));
    return Math.max(1, Math.round(step * (0.5 + Math.random() / 2)));
  }

  #startSingle(): void {
    const client = createClient({ ...this.#clientOptions(), url: this.#o.url }) as unknown as NodeClient;
    const subscriber = client.duplicate();
    this.#client = client;
    this.#subscriber = subscriber;
    let everSubscribed = false;
    const onError = (): void => {
      this.#connectionErrors++;
    };
    client.on('error', onError);
    client.on('ready', () => this.#maybeReady());
    subscriber.on('error', onError);
    subscriber.on('reconnecting', () => this.#onLinkLost());
    // node-redis subscribes again on every reconnection before 'ready';
    // only the first subscription is made below.
    subscriber.on('ready', () => {
      if (everSubscribed && !this.#stopped) this.#onSubscribed();
    });
    client.connect().catch(ignore);
    subscriber
      .connect()
      .then(() => subscriber.subscribe(this.#channel, (message) => this.#events.onMessage(message)))
      .then(() => {
        everSubscribed = true;
        if (!this.#stopped) this.#onSubscribed();
      })
      .catch(ignore);
  }

  #startCluster(attempt: number): void {
    if (this.#stopped) return;
    const cluster = createCluster({
      rootNodes: this.#o.clusterNodes.map((url) => ({ url })),
      defaults: this.#clientOptions() as never,
      RESP: 2,
    }) as unknown as ClusterClient;
    this.#cluster = cluster;
    cluster.on('error', () => {
      this.#connectionErrors++;
    });
    cluster.on('node-error', () => {
      this.#connectionErrors++;
    });
    cluster.on('node-reconnecting', () => this.#onLinkLost());
    cluster.on('node-ready', () => {
      if (this.#linkLost && this.#subscribed) this.#missedMessages();
    });
    cluster
      .connect()
      .then(async () => {
        this.#clusterReady = true;
        await cluster.subscribe(this.#channel, (message) => this.#events.onMessage(message));
        if (!this.#stopped) this.#onSubscribed();
      })
      .catch(() => {
        // Discovery failed (no root node answered): retry with a fresh
        // cluster client after a backoff, until stopped.
        this.#connectionErrors++;
        this.#clusterReady = false;
        try {
          cluster.destroy();
        } catch {
          // never connected
        }
        const delay = this.#backoff(attempt);
        if (delay === false) return;
        this.#retryTimer = setTimeout(() => this.#startCluster(attempt + 1), delay);
        this.#retryTimer.unref();
      });
  }

  #onLinkLost(): void {
    this.#linkLost = true;
    if (this.#cluster === undefined) this.#subscribed = false;
    this.#events.onLinkLost();
  }

  /** The invalidation channel is (again) subscribed. */
  #onSubscribed(): void {
    this.#subscribed = true;
    if (this.#linkLost) this.#missedMessages();
    this.#maybeReady();
  }

  #missedMessages(): void {
    this.#linkLost = false;
    this.#events.onMissedMessages();
  }

  #maybeReady(): void {
    if (this.connected && this.#subscribed) this.#resolveReady();
  }
}

/** A `CacheUnavailableError` saying `message` (and the cause's message); a `CacheUnavailableError` cause is passed on as it is. */
export function unavailable(message: string, cause?: unknown): CacheUnavailableError {
  if (cause instanceof CacheUnavailableError) return cause;
  return new CacheUnavailableError(cause instanceof Error ? `${message}: ${cause.message}` : message, { cause });
}
