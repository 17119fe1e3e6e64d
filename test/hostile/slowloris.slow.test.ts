import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResolutionFailedError } from '../../src/resolve/errors.js';
import { IdResolver } from '../../src/resolve/id-resolver.js';
import { TimeoutError } from '../../src/transport/errors.js';
import type { Transport } from '../../src/transport/types.js';
import { startHostileServer, type HostileServer } from '../support/hostile-server.js';
import { socketsConnectedTo } from '../support/proc-sockets.js';
import { implementations } from '../transport/implementations.js';
import { eventually, timed } from '../support/async.js';
import { failOnUnhandledRejections, TIME_SLACK_MS } from './support.js';

/**
 * Slowloris in real time: one byte per second of headers, of body, of an
 * endless chunked body, against IdResolver with its default time limit
 * (3 s). A trickle must never extend the deadline, and a crowd of
 * slowloris hosts must not hold more sockets than maxConnections nor make
 * queued resolutions wait past their own deadline.
 */

failOnUnhandledRejections();

const RESOLVER_TIMEOUT_MS = 3_000; // IdResolver's default timeoutMs
const MAX_CONNECTIONS = 8;

let server: HostileServer;

beforeAll(async () => {
  server = await startHostileServer({ trickleMs: 1_000 });
  server.mode('trickle-chunked', (ex) => {
    ex.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n');
    ex.every(1_000, () => ex.write('1\r\na\r\n'));
  });
});
afterAll(() => server.close());

describe.each(implementations)('$name transport', ({ create }) => {
  let transport: Transport;
  let resolver: IdResolver;
  beforeAll(() => {
    transport = create({
      caFile: server.ca.certFile,
      allowPrivateNetwork: true,
      connectTo: { '*.web.test:443': `127.0.0.1:${server.port}`, '*.handle.test:443': `127.0.0.1:${server.port}` },
      maxConnections: MAX_CONNECTIONS,
    });
    // Defaults otherwise: timeoutMs 3 s, 64 KiB documents, 2 KiB well-known bodies.
    resolver = new IdResolver({ transport, allowTestTlds: true, cache: false });
  });
  afterAll(async () => {
    await resolver.close();
    await transport.destroy();
  });

  it.each(['slow-headers', 'slow-body', 'trickle-chunked'])(
    '%s at one byte per second: ResolutionFailedError at the 3 s deadline, not later',
    async (mode) => {
      const [doc, wellKnown] = await Promise.all([
        timed(() => resolver.did.resolve(`did:web:${mode}.web.test`)),
        timed(() => resolver.handle.resolveHttp(`${mode}.handle.test`)),
      ]);
      for (const outcome of [doc, wellKnown]) {
        expect(outcome.error).toBeInstanceOf(ResolutionFailedError);
        expect((outcome.error as Error).cause).toBeInstanceOf(TimeoutError);
        expect(outcome.elapsedMs).toBeGreaterThanOrEqual(RESOLVER_TIMEOUT_MS - 50);
        expect(outcome.elapsedMs).toBeLessThanOrEqual(RESOLVER_TIMEOUT_MS + TIME_SLACK_MS);
      }
    },
  );

  it('a crowd of 40 slowloris hosts: at most maxConnections sockets, every resolution ends by its deadline', async () => {
    let peak = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, socketsConnectedTo(server.port));
    }, 20);
    try {
      const modes = ['slow-headers', 'slow-body', 'trickle-chunked', 'silent'];
      const outcomes = await Promise.all(
        Array.from({ length: 40 }, (_, i) => timed(() => resolver.did.resolve(`did:web:${modes[i % 4]}.web.test`))),
      );
      for (const outcome of outcomes) {
        expect(outcome.error).toBeInstanceOf(ResolutionFailedError);
        // Queued resolutions time out in the queue: the deadline covers waiting for a socket.
        expect(outcome.elapsedMs).toBeLessThanOrEqual(RESOLVER_TIMEOUT_MS + TIME_SLACK_MS);
      }
      expect(peak).toBeGreaterThan(0);
      expect(peak).toBeLessThanOrEqual(MAX_CONNECTIONS);
    } finally {
      clearInterval(sampler);
    }
    await transport.clearConnections();
    expect(await eventually(() => socketsConnectedTo(server.port), (n) => n === 0)).toBe(0);
  });
});
