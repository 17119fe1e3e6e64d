import { AsyncLocalStorage } from 'node:async_hooks';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { TRACE_CHANNELS, type DnsTraceEvent, type FetchTraceEvent } from '../telemetry/trace.js';

/**
 * What `atresolve resolve` learns from the trace channels
 * (`src/telemetry/trace.ts`) while it resolves: every HTTP hop a transport
 * finishes (`atresolve:fetch`) and every DNS lookup (`atresolve:dns`). Each
 * event is attributed to the input whose resolution caused it (an
 * `AsyncLocalStorage` around each resolution: inputs resolve concurrently),
 * printed at once with `--verbose`, and kept (the last few) to explain a
 * failure: which step failed, or was still running when `--timeout` passed.
 */

/** One traced step of a resolution. */
export type TraceStep = { channel: 'fetch'; event: FetchTraceEvent } | { channel: 'dns'; event: DnsTraceEvent };

/** The steps of one input's resolution. */
export interface InputTrace {
  readonly input: string;
  /** The most recent steps, oldest first (at most `MAX_STEPS`). */
  readonly steps: TraceStep[];
}

/** Steps kept per input: a resolution makes a handful (a DNS lookup, a fetch or two, redirects). */
const MAX_STEPS = 32;

export class ResolveTracer {
  readonly #context = new AsyncLocalStorage<InputTrace>();
  readonly #print: ((input: string, line: string) => void) | undefined;
  readonly #onFetch = (message: unknown): void => this.#record({ channel: 'fetch', event: message as FetchTraceEvent });
  readonly #onDns = (message: unknown): void => this.#record({ channel: 'dns', event: message as DnsTraceEvent });
  #subscribed = false;

  /** @param print called with each step as it finishes (`--verbose`); steps are kept either way */
  constructor(print?: (input: string, line: string) => void) {
    this.#print = print;
  }

  /** Listen on the trace channels (transports publish only while someone listens). */
  start(): void {
    if (this.#subscribed) return;
    subscribe(TRACE_CHANNELS.fetch, this.#onFetch);
    subscribe(TRACE_CHANNELS.dns, this.#onDns);
    this.#subscribed = true;
  }

  /** Stop listening. Idempotent. */
  stop(): void {
    if (!this.#subscribed) return;
    unsubscribe(TRACE_CHANNELS.fetch, this.#onFetch);
    unsubscribe(TRACE_CHANNELS.dns, this.#onDns);
    this.#subscribed = false;
  }

  /** Run `resolve` with the steps it causes recorded under `input`. */
  run<T>(input: string, resolve: (trace: InputTrace) => Promise<T>): Promise<T> {
    const trace: InputTrace = { input, steps: [] };
    return this.#context.run(trace, () => resolve(trace));
  }

  #record(step: TraceStep): void {
    const trace = this.#context.getStore();
    if (trace === undefined) return;
    trace.steps.push(step);
    if (trace.steps.length > MAX_STEPS) trace.steps.shift();
    this.#print?.(trace.input, formatStep(step));
  }
}

/** Whether a step failed (an HTTP hop without a response, a DNS lookup without an answer). */
export function stepFailed(step: TraceStep): boolean {
  return step.channel === 'fetch' ? step.event.errorCode !== undefined : step.event.errorReason !== undefined;
}

/** One step as a line: what was asked, what came back, and how long each part took. */
export function formatStep(step: TraceStep): string {
  return step.channel === 'fetch' ? formatFetch(step.event) : formatDns(step.event);
}

function formatFetch(e: FetchTraceEvent): string {
  const head = `fetch ${e.method} ${e.url} (${e.transport})`;
  if (e.errorCode !== undefined) return `${head} failed after ${ms(e.totalMs)}: ${e.errorCode} ${e.errorMessage ?? ''}`.trimEnd();
  const connection = e.reusedConnection
    ? 'reused connection'
    : `new connection: connect ${ms(e.connectMs)}${e.tlsMs > 0 ? `, TLS ${ms(e.tlsMs)}` : ''}`;
  return `${head} → ${e.status ?? '?'}, ${bytes(e.bytes)} in ${ms(e.totalMs)} (${connection}, first byte ${ms(e.firstByteMs)})`;
}

function formatDns(e: DnsTraceEvent): string {
  const head = `dns ${e.type} ${e.hostname}`;
  if (e.errorReason !== undefined) return `${head} failed after ${ms(e.ms)}: ${e.errorReason}`;
  const ttl = e.ttlSeconds === undefined ? '' : `, ttl ${e.ttlSeconds} s`;
  return `${head} → ${e.answers.length === 0 ? '(no records)' : e.answers.join(', ')} (${e.source}, ${ms(e.ms)}${ttl})`;
}

function ms(value: number): string {
  return value < 10 ? `${value.toFixed(1)} ms` : `${Math.round(value)} ms`;
}

function bytes(n: number): string {
  return n < 1_024 ? `${n} B` : `${(n / 1_024).toFixed(1)} KiB`;
}
