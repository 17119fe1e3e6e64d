import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionGate, type ConnectionSlot } from '../../src/transport/connection-gate.js';
import { waitFor } from '../support/async.js';

/**
 * The gate against real loopback sockets. undici marks a socket idle by
 * calling `unref()` and busy by calling `ref()`; the tests make the same
 * calls.
 */
describe('ConnectionGate', () => {
  let server: Server;
  let port: number;
  const accepted = new Set<Socket>();

  beforeAll(async () => {
    server = createServer((socket) => {
      accepted.add(socket);
      socket.on('close', () => accepted.delete(socket));
      socket.on('error', () => {});
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no address');
    port = address.port;
  });

  afterAll(async () => {
    for (const socket of accepted) socket.destroy();
    server.close();
    await once(server, 'close');
  });

  async function open(gate: ConnectionGate, owner: object): Promise<{ slot: ConnectionSlot; socket: Socket }> {
    const slot = await gate.acquire(owner);
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => {});
    gate.adopt(slot, socket);
    await once(socket, 'connect');
    return { slot, socket };
  }

  const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

  /** Resolves when the gate has closed `socket`: destroyed with its one shared informational error. */
  const closedByGate = (socket: Socket): Promise<void> =>
    new Promise((resolve) => {
      socket.once('close', () => {
        expect(socket.errored).toMatchObject({ code: 'UND_ERR_INFO', message: 'closed by the connection gate' });
        resolve();
      });
    });

  it('makes a connect wait at the cap and closes an idle socket for it', async () => {
    const gate = new ConnectionGate({ maxConnections: 2, maxIdleConnections: 10, maxConnectionLifetimeMs: 60_000 });
    const a = await open(gate, {});
    const b = await open(gate, {});
    let granted = false;
    const waiting = gate.acquire({}).then((slot) => {
      granted = true;
      return slot;
    });
    await tick();
    expect(granted).toBe(false);
    expect(gate.waiting).toBe(1);
    // Both busy: nothing may be closed.
    expect(a.socket.destroyed || b.socket.destroyed).toBe(false);
    b.socket.unref(); // b goes idle
    const slot = await waiting;
    expect(b.socket.destroyed).toBe(true);
    expect(a.socket.destroyed).toBe(false);
    expect(gate.open).toBe(2);
    gate.release(slot);
    a.socket.destroy();
    await gate.whenEmpty();
    expect(gate.open).toBe(0);
  });

  it('gives a waiting connect the slot of a socket that is closing, and keeps the idle one', async () => {
    const gate = new ConnectionGate({ maxConnections: 2, maxIdleConnections: 10, maxConnectionLifetimeMs: 60_000 });
    const busy = await open(gate, {});
    const idle = await open(gate, {});
    idle.socket.unref();
    const waiting = gate.acquire({});
    busy.socket.destroy(); // as undici closes a first-seen route's connection after its exchange
    const slot = await waiting;
    expect(idle.socket.destroyed).toBe(false);
    expect(gate.idle).toBe(1);
    gate.release(slot);
    idle.socket.destroy();
    await gate.whenEmpty();
  });

  it('keeps maxIdleConnections idle sockets beyond the busy peak of the last 1–2 s, then closes the least recently idle', async () => {
    const gate = new ConnectionGate({ maxConnections: 10, maxIdleConnections: 1, maxConnectionLifetimeMs: 60_000 });
    const a = await open(gate, {});
    const b = await open(gate, {});
    // A dip: both go idle a moment after both were busy. The burst needed
    // two, so neither is closed yet (closing would reopen it in the next rise).
    const idleAt = performance.now();
    a.socket.unref();
    b.socket.unref();
    await tick();
    await tick();
    expect(a.socket.destroyed || b.socket.destroyed).toBe(false);
    expect(gate.idle).toBe(2);
    // Once the peak is behind, only maxIdleConnections stay: the least recently idle goes.
    await closedByGate(a.socket);
    expect(performance.now() - idleAt).toBeGreaterThanOrEqual(900);
    expect(b.socket.destroyed).toBe(false);
    expect(gate.idle).toBe(1);
    b.socket.destroy();
    await gate.whenEmpty();
  });

  it('closes at once an idle socket beyond maxIdleConnections + the busy peak', async () => {
    const gate = new ConnectionGate({ maxConnections: 10, maxIdleConnections: 1, maxConnectionLifetimeMs: 60_000 });
    // One busy at a time: the peak is 1, so at most 1 + 1 sockets are kept.
    const sockets: Socket[] = [];
    for (let i = 0; i < 3; i += 1) {
      const { socket } = await open(gate, {});
      socket.unref();
      sockets.push(socket);
      await tick();
    }
    const [a, b, c] = sockets as [Socket, Socket, Socket];
    expect(a.destroyed).toBe(true); // the least recently idle, closed in the same turn
    expect(b.destroyed || c.destroyed).toBe(false);
    expect(gate.idle).toBe(2);
    b.destroy();
    c.destroy();
    await gate.whenEmpty();
  });

  it('never closes a socket that became busy again before maintenance ran', async () => {
    const gate = new ConnectionGate({ maxConnections: 10, maxIdleConnections: 0, maxConnectionLifetimeMs: 60_000 });
    const a = await open(gate, {});
    a.socket.unref();
    a.socket.ref(); // reused in the same tick
    await tick();
    expect(a.socket.destroyed).toBe(false);
    expect(gate.idle).toBe(0);
    a.socket.unref();
    await closedByGate(a.socket);
    await gate.whenEmpty();
  });

  it('closes a socket past its lifetime once it is idle, not while busy', async () => {
    const gate = new ConnectionGate({ maxConnections: 10, maxIdleConnections: 10, maxConnectionLifetimeMs: 30 });
    const a = await open(gate, {});
    await waitFor('the slot to expire', () => a.slot.expired);
    await tick();
    expect(a.socket.destroyed).toBe(false); // busy
    a.socket.unref();
    await closedByGate(a.socket);
    await gate.whenEmpty();
  });

  it('rejects waiting connects of a cancelled owner and releases slots without sockets', async () => {
    const gate = new ConnectionGate({ maxConnections: 1, maxIdleConnections: 10, maxConnectionLifetimeMs: 60_000 });
    const held = await gate.acquire({});
    const owner = {};
    const waiting = gate.acquire(owner);
    const reason = new Error('nobody waits');
    expect(gate.cancelWaiters((o) => o === owner, reason)).toBe(1);
    await expect(waiting).rejects.toBe(reason);
    gate.release(held);
    gate.release(held); // idempotent
    expect(gate.open).toBe(0);
    await gate.whenEmpty();
  });
});
