import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TRACE_CHANNELS, type FetchTraceEvent } from '../../src/telemetry/trace.js';
import { startTestServer, type TestServer } from '../support/https-server.js';
import { implementations } from '../transport/implementations.js';

describe.each(implementations)('atresolve:fetch trace on $name', ({ create }) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.close();
  });

  it('publishes each hop, with its outcome, only while subscribed', async () => {
    const events: FetchTraceEvent[] = [];
    const listener = (message: unknown): void => {
      events.push(message as FetchTraceEvent);
    };
    const transport = create({ caFile: server.ca.certFile, allowPrivateNetwork: true });
    try {
      // Twice: a route's first connection is not pooled.
      await transport.request(`${server.origin}/status/200`);
      await transport.request(`${server.origin}/status/200`);
      subscribe(TRACE_CHANNELS.fetch, listener);
      try {
        await transport.request(`${server.origin}/status/200`);
        await expect(transport.request('https://127.0.0.1:1/refused', { timeoutMs: 2000 })).rejects.toThrow();
      } finally {
        unsubscribe(TRACE_CHANNELS.fetch, listener);
      }
      await transport.request(`${server.origin}/status/200`);
    } finally {
      await transport.close();
    }
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({
      transport: transport.kind,
      method: 'GET',
      url: `${server.origin}/status/200`,
      status: 200,
      errorCode: undefined,
      reusedConnection: true,
    });
    expect(events[0]!.totalMs).toBeGreaterThan(0);
    expect(events[1]).toMatchObject({ url: 'https://127.0.0.1:1/refused', status: undefined, errorCode: 'CONNECT' });
  });
});
