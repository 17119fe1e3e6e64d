import type { Client, Dispatcher } from 'undici';
import type { DispatchRequest, DispatchResponse } from './base.js';
import { BodyDecoder } from './body-decoder.js';
import type { ConnectionGate } from './connection-gate.js';
import { AbortError, ProtocolError, ResponseTooLargeError, TimeoutError, type TransportError } from './errors.js';
import type { TransportTiming } from './types.js';
import { toTransportError, type FailureStage } from './undici-errors.js';
import type { PoolEntry, Route } from './undici-pool.js';

/** What a job needs from its transport. */
export interface JobHost {
  gate(): ConnectionGate;
  countReuse(): void;
  countBytes(n: number): void;
  /** The job got a socket. */
  started(job: Job): void;
  release(job: Job): void;
  settle(job: Job, outcome: DispatchResponse | TransportError): void;
  cancel(job: Job, error: TransportError): void;
}

type JobState = 'new' | 'dispatched' | 'started' | 'done';

/**
 * One hop of one request, from dispatch to answer: its state, its timer
 * and abort listener, and the undici dispatch handler that collects the
 * response (status, headers, the body through a `BodyDecoder`, timing).
 */
export class Job implements Dispatcher.DispatchHandler {
  readonly request: DispatchRequest;
  readonly route: Route;
  readonly promise: Promise<DispatchResponse>;
  state: JobState = 'new';
  entry: PoolEntry | undefined;
  /** The undici client the job was handed to. */
  client: Client | undefined;
  controller: Dispatcher.DispatchController | undefined;
  /** undici is done with the request. */
  released = false;
  settled = false;

  readonly #host: JobHost;
  readonly #startedAt = performance.now();
  #resolve!: (response: DispatchResponse) => void;
  #reject!: (error: TransportError) => void;
  #timer: NodeJS.Timeout | undefined;
  #onAbort: (() => void) | undefined;
  #decoder: BodyDecoder | undefined;
  #reused = false;
  #connectedAt = 0;
  #secureAt = 0;
  #firstByteAt = 0;
  #status = 0;
  #headers: Record<string, string> = {};

  constructor(request: DispatchRequest, route: Route, host: JobHost) {
    this.request = request;
    this.route = route;
    this.#host = host;
    this.promise = new Promise<DispatchResponse>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    const signal = request.signal;
    if (signal?.aborted) {
      this.finish(new AbortError('request aborted', { cause: signal.reason }));
      return;
    }
    if (signal) {
      this.#onAbort = () => host.cancel(this, new AbortError('request aborted', { cause: signal.reason }));
      signal.addEventListener('abort', this.#onAbort, { once: true });
    }
    this.#timer = setTimeout(() => {
      host.cancel(
        this,
        new TimeoutError(`request to ${request.url.origin} timed out after ${request.totalTimeoutMs} ms`, {
          phase: 'total',
          timeoutMs: request.totalTimeoutMs,
        }),
      );
    }, request.timeoutMs);
  }

  dispatchOptions(): Dispatcher.DispatchOptions {
    const { url, method, headers, body } = this.request;
    return {
      origin: url.origin,
      path: `${url.pathname}${url.search}`,
      method,
      headers,
      body: body ?? null,
      // A one-off route's connection closes after the exchange, but by the
      // gate once it is idle (onRequestStart), not by undici's `reset`:
      // undici closes a reset connection with a new InformationalError
      // whose stack Node's destroy() formats, ~10% of the JS thread when
      // every did:web host is new (docs/undici-transport.md).
      reset: false,
    };
  }

  /** Settle the promise and drop listeners; called once, by the transport. */
  finish(outcome: DispatchResponse | TransportError): void {
    if (this.settled) return;
    this.settled = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#onAbort) this.request.signal?.removeEventListener('abort', this.#onAbort);
    if (outcome instanceof Error) this.#reject(outcome);
    else this.#resolve(outcome);
  }

  discardBody(): void {
    this.#decoder?.destroy();
  }

  // ---- undici handler ----------------------------------------------------

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.settled) {
      // Cancelled while waiting for its connection: drop it now.
      controller.abort(new AbortError('request cancelled before it was sent'));
      return;
    }
    this.state = 'started';
    this.#host.started(this);
    const fresh = this.#host.gate().handingOver;
    if (fresh !== undefined && fresh.owner === this.entry) {
      this.#connectedAt = fresh.connectedAt;
      this.#secureAt = fresh.secureAt;
      // A one-off route's connection, opened for this exchange: closed as
      // soon as undici is done with it. (On a pooled connection a one-off
      // exchange leaves it pooled: the route had a repeat exchange too.)
      if (!this.request.keepAlive && this.client) this.entry.closeAfterUse(this.client, fresh);
    } else {
      this.#reused = true;
      this.#host.countReuse();
    }
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    if (this.settled) return;
    if (statusCode < 100) {
      // llhttp parses any three digits; undici would fail such a response
      // with an internal assertion. libcurl refuses it as the protocol error it is.
      this.#host.cancel(this, new ProtocolError(`invalid HTTP response from ${this.request.url.origin}: status ${statusCode}`));
      return;
    }
    if (statusCode < 200) return;
    this.#firstByteAt = performance.now();
    this.#status = statusCode;
    const flat: Record<string, string> = {};
    for (const [name, value] of Object.entries(headers)) {
      if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    this.#headers = flat;
    const limit = this.request.maxResponseBytes;
    const encoding = flat['content-encoding'];
    const declared = Number(flat['content-length']);
    const hasBody = this.request.method !== 'HEAD';
    if (hasBody && (encoding === undefined || encoding.trim().toLowerCase() === 'identity') && declared > limit) {
      this.#host.cancel(
        this,
        new ResponseTooLargeError(`response body from ${this.request.url.origin} is ${declared} bytes, over the ${limit} byte limit`, {
          part: 'body',
          limit,
        }),
      );
      return;
    }
    try {
      this.#decoder = new BodyDecoder(hasBody ? encoding : undefined, limit, {
        onBytes: (n) => this.#host.countBytes(n),
        onDone: (body) => this.#done(body),
        onError: (error, stage) => this.#host.cancel(this, this.#mapError(error, stage === 'limit' ? 'exchange' : 'decode')),
        onDrain: () => controller.resume(),
      });
    } catch (error) {
      this.#host.cancel(this, this.#mapError(error, 'decode'));
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.settled || !this.#decoder) return;
    if (!this.#decoder.write(chunk)) controller.pause();
  }

  onResponseEnd(): void {
    this.#host.release(this);
    if (this.settled) return;
    if (!this.#decoder) {
      this.#done(Buffer.alloc(0));
      return;
    }
    this.#decoder.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, error: Error): void {
    this.#host.release(this);
    this.#decoder?.destroy();
    if (!this.settled) this.#host.settle(this, this.#mapError(error, 'exchange'));
  }

  #done(body: Buffer): void {
    if (this.settled) return;
    const now = performance.now();
    const since = (at: number): number => (at === 0 ? 0 : Math.max(0, Math.round(at - this.#startedAt)));
    const timing: TransportTiming = {
      connectMs: this.#reused ? 0 : since(this.#connectedAt),
      tlsMs: this.#reused || this.request.url.protocol !== 'https:' ? 0 : since(this.#secureAt),
      firstByteMs: since(this.#firstByteAt),
      totalMs: since(now),
    };
    this.#host.settle(this, {
      status: this.#status,
      headers: this.#headers,
      body,
      timing,
      reusedConnection: this.#reused,
    });
  }

  #mapError(error: unknown, stage: FailureStage): TransportError {
    const r = this.request;
    return toTransportError(error, {
      stage,
      target: r.url.origin,
      connectTimeoutMs: r.connectTimeoutMs,
      totalTimeoutMs: r.totalTimeoutMs,
      maxHeaderBytes: r.maxHeaderBytes,
      maxResponseBytes: r.maxResponseBytes,
    });
  }
}
