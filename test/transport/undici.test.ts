import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createServer as createNetServer, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InvalidOptionsError } from '../../src/errors.js';
import { TimeoutError } from '../../src/transport/errors.js';
import { UndiciTransport, type UndiciTransportOptions } from '../../src/transport/undici.js';
import { startTestServer, type TestServer } from '../support/https-server.js';
import { waitFor } from '../support/async.js';
import { socketsConnectedTo } from '../support/proc-sockets.js';

/** Behaviour specific to the undici transport: its options, caches and pool bookkeeping. */
describe('UndiciTransport', () => {
  let server: TestServer;
  const open: UndiciTransport[] = [];

  beforeAll(async () => {
    server = await startTestServer();
  });

  afterAll(async () => {
    await server.close();
  });

  afterEach(async () => {
    await Promise.all(open.splice(0).map((t) => t.destroy()));
  });

  function make(options: UndiciTransportOptions = {}): UndiciTransport {
    const t = new UndiciTransport({ caFile: server.ca.certFile, allowPrivateNetwork: true, ...options });
    open.push(t);
    return t;
  }

  describe('options', () => {
    it('is production-safe with no options', async () => {
      const t = new UndiciTransport();
      expect(t.kind).toBe('undici');
      await t.close();
    });

    it.each([
      [{ maxOrigins: 0 }, 'transport.maxOrigins'],
      [{ maxOrigins: 1.5 }, 'transport.maxOrigins'],
      [{ maxConnections: 0 }, 'transport.maxConnections'],
      [{ bogus: true }, 'transport.bogus'],
      [{ caFile: '/nonexistent/ca.pem' }, 'transport.caFile'],
    ])('rejects %o naming %s', (options, name) => {
      expect(() => new UndiciTransport(options as UndiciTransportOptions)).toThrow(InvalidOptionsError);
      expect(() => new UndiciTransport(options as UndiciTransportOptions)).toThrow(name);
    });

    it('rejects a caFile without a PEM certificate', async () => {
      const path = join(server.ca.dir, 'not-a-cert.pem');
      await writeFile(path, 'hello');
      expect(() => new UndiciTransport({ caFile: path })).toThrow(/no PEM certificate/);
    });
  });

  describe('caches', () => {
    it('keeps TLS sessions on clearConnections and drops them on reset', async () => {
      const t = make();
      await t.request(`https://localhost:${server.port}/status/200`);
      expect(t.stats().tlsSessionCacheEntries).toBe(1);
      await t.clearConnections();
      expect(t.stats().tlsSessionCacheEntries).toBe(1);
      await t.reset();
      expect(t.stats().tlsSessionCacheEntries).toBe(0);
    });

    it('resumes TLS sessions on new connections to the same host', async () => {
      const t = make({ maxIdleConnections: 0 });
      await t.request(`${server.origin}/status/200`);
      await t.request(`${server.origin}/status/200`);
      expect(t.stats().newConnections).toBe(2);
      expect(t.stats().tlsSessionCacheEntries).toBe(1);
    });
  });

  describe('pools and connection lifetime', () => {
    it('keeps at most maxOrigins pools, closing the least recently used', async () => {
      const t = make({ maxOrigins: 2, connectTo: { '*.web.test:443': `127.0.0.1:${server.port}` } });
      // Twice each: a route's first connection is not pooled.
      for (const host of ['h1', 'h2', 'h3']) {
        await t.request(`https://${host}.web.test/status/200`);
        await t.request(`https://${host}.web.test/status/200`);
      }
      await waitFor('two connections open', () => t.stats().openConnections === 2);
      expect(socketsConnectedTo(server.port)).toBe(2);
      // h3 and h2 are warm; h1's pool was closed.
      expect((await t.request('https://h2.web.test/status/200')).reusedConnection).toBe(true);
      expect((await t.request('https://h1.web.test/status/200')).reusedConnection).toBe(false);
    });

    it('closes an idle connection after idleTimeoutMs, under the server keep-alive hint', async () => {
      const t = make({ idleTimeoutMs: 1_000 });
      await t.request(`${server.origin}/status/200`);
      expect(t.stats().openConnections).toBe(1);
      await waitFor('every connection to close', () => t.stats().openConnections === 0);
      expect((await t.request(`${server.origin}/status/200`)).reusedConnection).toBe(false);
    });

    it('closes a connection older than maxConnectionLifetimeMs once idle', async () => {
      const t = make({ maxConnectionLifetimeMs: 1_000 });
      await t.request(`${server.origin}/status/200`);
      await waitFor('every connection to close', () => t.stats().openConnections === 0);
      expect(socketsConnectedTo(server.port)).toBe(0);
    });

    it('serves plain HTTP when allowHttp is set', async () => {
      const plain = await startTestServer({ plain: true, ca: server.ca });
      try {
        const t = make({ allowHttp: true });
        const res = await t.request(`${plain.origin}/status/200`);
        expect(res.status).toBe(200);
        expect(res.timing.tlsMs).toBe(0);
        expect((await t.request(`${plain.origin}/gzip/100`)).body.length).toBe(100);
      } finally {
        await plain.close();
      }
    });

    it('stops a connect nobody waits for any more', async () => {
      const sockets = new Set<Socket>();
      const silent = createNetServer((socket) => {
        sockets.add(socket);
        socket.resume(); // read the ClientHello, so the client's close is seen
        socket.on('error', () => {});
        socket.on('close', () => sockets.delete(socket));
      });
      silent.listen(0, '127.0.0.1');
      await once(silent, 'listening');
      const address = silent.address();
      if (address === null || typeof address === 'string') throw new Error('no address');
      try {
        const t = make({ connectTimeoutMs: 60_000 });
        const error = await t.request(`https://127.0.0.1:${address.port}/`, { timeoutMs: 200 }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(TimeoutError);
        expect((error as TimeoutError).phase).toBe('total');
        // The TLS handshake that would have waited 60 s is abandoned with the request.
        await waitFor('the abandoned handshake to close', () => t.stats().openConnections === 0 && sockets.size === 0);
        expect(t.stats()).toMatchObject({ inFlight: 0, queued: 0 });
      } finally {
        for (const socket of sockets) socket.destroy();
        silent.close();
        await once(silent, 'close');
      }
    });
  });
});
