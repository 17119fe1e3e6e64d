import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidOptionsError } from '../../src/errors.js';
import type { Transport } from '../../src/transport/types.js';
import { startTestServer, type TestServer } from '../support/https-server.js';
import { implementations } from './implementations.js';

/**
 * Per-request options are validated as constructor options are: a bad value
 * rejects with InvalidOptionsError naming `request.<field>`, and nothing is
 * sent (the server sees no request).
 */

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

const BAD: [string, Record<string, unknown>][] = [
  ['request.timeoutMs', { timeoutMs: Number.NaN }],
  ['request.timeoutMs', { timeoutMs: 0 }],
  ['request.method', { method: 'DELETE' }],
  ['request.maxRedirects', { maxRedirects: 21 }],
  ['request.maxResponseBytes', { maxResponseBytes: -1 }],
  ['request.connectTimeoutMs', { connectTimeoutMs: 1.5 }],
  ['request.headers.x-n', { headers: { 'x-n': 5 } }],
  ['request.signal', { signal: 'stop' }],
  ['request.body', { method: 'POST', body: 42 }],
  ['request.retries', { retries: 3 }],
];

describe.each(implementations)('$name transport: per-request options', ({ name, create }) => {
  let transport: Transport;
  const path = `/counted-${name}`;
  beforeAll(() => {
    server.route(path, (_req, res) => res.end('ok'));
    transport = create({ caFile: server.ca.certFile, allowPrivateNetwork: true });
  });
  afterAll(() => transport.destroy());

  it.each(BAD)('refuses %s in %o before sending anything', async (option, options) => {
    const error = await transport.request(`${server.origin}${path}`, options as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect((error as InvalidOptionsError).option).toBe(option);
    expect(server.hits.get(path)).toBeUndefined();
  });

  it('accepts every valid field, and the limits at the ends of their ranges', async () => {
    const signal = new AbortController().signal;
    const ok = await transport.request(`${server.origin}${path}`, {
      method: 'GET',
      headers: { accept: 'text/plain' },
      timeoutMs: 10_000,
      connectTimeoutMs: 5_000,
      maxResponseBytes: 1_048_576,
      maxRedirects: 20,
      signal,
    });
    expect(ok.body.toString()).toBe('ok');
  });
});
