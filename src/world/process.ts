import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveOptions, type OptionSpec } from '../util/options.js';
import type { WorldCounters } from './counters.js';
import { WorldView, type WorldEndpoints } from './endpoints.js';
import { WorldClosedError, WorldProcessError } from './errors.js';
import { resolveFaults, type FaultSettings } from './faults.js';
import type { ChildMessage, ParentMessage } from './ipc.js';
import { resolveWorldOptions, type ResolvedWorldOptions, type WorldOptions } from './options.js';

/** Options of `startWorldProcess()`: the world's, plus how to run the child. */
export interface WorldProcessOptions extends WorldOptions {
  /**
   * How long the child may take to become ready. Default `30000` (30 s):
   * Node start-up plus two openssl key generations, on a loaded 2-core box.
   */
  startTimeoutMs?: number;
  /**
   * How long `close()` waits for the child to close the world and exit before
   * it is killed with SIGKILL. Default `5000` (5 s), far above a normal close.
   */
  closeTimeoutMs?: number;
  /**
   * The compiled child entry. Default: `child.js` next to this module; when
   * this module runs from TypeScript sources (vitest), `dist/world/child.js`
   * of the package, which `npm run build:ts` produces.
   */
  childPath?: string;
  /**
   * Node flags for the child. Default `[]`: the parent's flags (a test
   * runner's loaders, `--inspect`) are not inherited.
   */
  execArgv?: string[];
  /**
   * Start the child in its own process group. Default `false`. A terminal's
   * Ctrl-C signals the whole foreground group; a caller that handles it
   * itself (`atresolve soak` writes its report, then closes the world) sets
   * this so the world does not shut down under it first. The child still
   * exits when this process goes away (its IPC channel closes).
   */
  detached?: boolean;
}

interface ResolvedProcessOptions {
  startTimeoutMs: number;
  closeTimeoutMs: number;
  childPath: string | undefined;
  execArgv: string[];
  detached: boolean;
}

const PROCESS_OPTION_SPEC: OptionSpec = {
  startTimeoutMs: { kind: 'integer', default: 30_000, min: 1, max: 600_000 },
  closeTimeoutMs: { kind: 'integer', default: 5_000, min: 1, max: 600_000 },
  childPath: { kind: 'optional-string' },
  execArgv: { kind: 'string-list', default: [] },
  detached: { kind: 'boolean', default: false },
};

/**
 * The default child entry: `child.js` beside this module, or the compiled
 * one under `dist/` when this module is the TypeScript source.
 */
export function defaultChildPath(): string {
  const here = fileURLToPath(import.meta.url);
  return here.endsWith('.ts') ? resolve(dirname(here), '../../dist/world/child.js') : join(dirname(here), 'child.js');
}

/**
 * Start the local world in a child process (so its memory and CPU do not
 * pollute a measured process) and control it over IPC. The child exits when
 * this process exits or dies, closing its world.
 *
 * @throws InvalidOptionsError for bad options (before anything starts)
 * @throws WorldProcessError when the child cannot start or is not ready within `startTimeoutMs`
 */
export async function startWorldProcess(options: WorldProcessOptions = {}): Promise<WorldProcess> {
  const { startTimeoutMs, closeTimeoutMs, childPath, execArgv, detached, ...rest } = options;
  const own = resolveOptions<ResolvedProcessOptions>(
    PROCESS_OPTION_SPEC,
    { startTimeoutMs, closeTimeoutMs, childPath, execArgv, detached },
    'worldProcess',
  );
  const resolved = resolveWorldOptions(rest, 'worldProcess');
  const entry = own.childPath ?? defaultChildPath();
  if (!existsSync(entry)) {
    throw new WorldProcessError(`world child entry ${entry} does not exist; run 'npm run build:ts' first`);
  }
  const child = fork(entry, [], {
    execArgv: own.execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'json',
    detached: own.detached,
  });
  const ready = await new Promise<ChildMessage & { type: 'ready' }>((resolveReady, reject) => {
    const timer = setTimeout(() => fail(new WorldProcessError(`world process not ready after ${own.startTimeoutMs} ms`)), own.startTimeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      child.off('error', onError);
    };
    const fail = (error: Error): void => {
      cleanup();
      child.kill('SIGKILL');
      reject(error);
    };
    const onMessage = (message: ChildMessage): void => {
      if (message.type === 'ready') {
        cleanup();
        resolveReady(message);
      } else if (message.type === 'startFailed') {
        fail(new WorldProcessError(`world process failed to start: ${message.error}`));
      }
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void =>
      fail(new WorldProcessError(`world process exited during start (${signal ?? `code ${String(code)}`})`));
    const onError = (error: Error): void => fail(new WorldProcessError(`world process failed: ${error.message}`, { cause: error }));
    child.on('message', onMessage);
    child.once('exit', onExit);
    child.once('error', onError);
    const start: ParentMessage = { op: 'start', options: plainOptions(resolved) };
    child.send(start);
  });
  return new WorldProcess(child, ready.endpoints, resolved, own.closeTimeoutMs);
}

/** The resolved options as a plain `WorldOptions` object for the child. */
function plainOptions(resolved: ResolvedWorldOptions): WorldOptions {
  const { faults, ...rest } = resolved;
  return { ...rest, faults: faults.settings };
}

type Pending = { resolve: (value: WorldCounters | undefined) => void; reject: (error: Error) => void };

/**
 * A local world running in a child process (see `startWorldProcess()`). It
 * has the endpoints and identity helpers of an in-process `World` (computed
 * locally: they are pure functions of the options) and the same control
 * methods, asynchronous: `await world.counters()` works for both.
 */
export class WorldProcess extends WorldView {
  readonly #child: ChildProcess;
  readonly #closeTimeoutMs: number;
  readonly #pending = new Map<number, Pending>();
  readonly #exited: Promise<number | null>;
  #nextId = 1;
  #faults: FaultSettings;
  #exit: string | undefined;
  #closing: Promise<void> | undefined;
  #final: WorldCounters | undefined;

  /** @internal use `startWorldProcess()` */
  constructor(child: ChildProcess, endpoints: WorldEndpoints, options: ResolvedWorldOptions, closeTimeoutMs: number) {
    super(endpoints, options);
    this.#child = child;
    this.#closeTimeoutMs = closeTimeoutMs;
    this.#faults = options.faults.settings;
    this.#exited = new Promise((resolveExit) => {
      child.once('exit', (code, signal) => {
        this.#exit = signal ?? `code ${String(code)}`;
        const error = new WorldProcessError(`world process exited (${this.#exit})`);
        for (const pending of this.#pending.values()) pending.reject(error);
        this.#pending.clear();
        resolveExit(code);
      });
    });
    child.on('message', (message: ChildMessage) => this.#onMessage(message));
    // Neither the child nor an idle channel keeps this process alive; the
    // channel is referenced only while a call waits for its reply.
    child.unref();
    this.#updateRef();
  }

  /** The child's process id. */
  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Resolves with the child's exit code (`null` when killed by a signal) once it has exited. */
  get exited(): Promise<number | null> {
    return this.#exited;
  }

  /**
   * Replace the fault settings as a whole (see `World.setFaults()`).
   * @throws InvalidOptionsError for bad settings (validated here, before sending)
   * @throws WorldClosedError after `close()`
   */
  async setFaults(faults: FaultSettings): Promise<void> {
    const resolved = resolveFaults(faults);
    await this.#call('setFaults', { faults: resolved.settings });
    this.#faults = resolved.settings;
  }

  /** The fault settings in force, defaults filled in. */
  async faults(): Promise<FaultSettings> {
    return structuredClone(this.#faults);
  }

  /** A snapshot of the child's counters; after `close()`, the final one. */
  async counters(): Promise<WorldCounters> {
    if (this.#final !== undefined) return this.#final;
    const value = await this.#call('counters', {});
    if (value === undefined) throw new WorldProcessError('world process sent no counters');
    return value;
  }

  /**
   * Zero the counters and restart the seeded fault streams.
   * @throws WorldClosedError after `close()`
   */
  async resetCounters(): Promise<void> {
    await this.#call('resetCounters', {});
  }

  /**
   * Close the world in the child and wait for the child to exit; after
   * `closeTimeoutMs` the child is killed. Idempotent. The final counters stay
   * readable through `counters()`.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#exit === undefined) {
        const killer = setTimeout(() => this.#child.kill('SIGKILL'), this.#closeTimeoutMs);
        try {
          this.#final = await this.#send('close', {});
        } catch {
          // The child died or was killed; its exit is awaited below.
        }
        await this.#exited;
        clearTimeout(killer);
      }
    })();
    return this.#closing;
  }

  /** `close()`, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #call(op: 'setFaults' | 'counters' | 'resetCounters', body: object): Promise<WorldCounters | undefined> {
    if (this.#closing !== undefined) return Promise.reject(new WorldClosedError(`world.${op}() called after close()`));
    return this.#send(op, body);
  }

  #send(op: ParentMessage['op'], body: object): Promise<WorldCounters | undefined> {
    if (this.#exit !== undefined) return Promise.reject(new WorldProcessError(`world process exited (${this.#exit})`));
    const id = this.#nextId++;
    return new Promise((resolveCall, reject) => {
      this.#pending.set(id, { resolve: resolveCall, reject });
      this.#updateRef();
      this.#child.send({ op, id, ...body } as ParentMessage, (error) => {
        if (error === null) return;
        this.#pending.delete(id);
        this.#updateRef();
        reject(new WorldProcessError(`could not send ${op} to the world process: ${error.message}`, { cause: error }));
      });
    });
  }

  #onMessage(message: ChildMessage): void {
    if (message.type !== 'reply') return;
    const pending = this.#pending.get(message.id);
    if (pending === undefined) return;
    this.#pending.delete(message.id);
    this.#updateRef();
    if (message.error !== undefined) pending.reject(new WorldProcessError(`world process: ${message.error}`));
    else pending.resolve(message.value);
  }

  #updateRef(): void {
    const channel = this.#child.channel;
    if (channel === null || channel === undefined) return;
    if (this.#pending.size > 0) channel.ref();
    else channel.unref();
  }
}
