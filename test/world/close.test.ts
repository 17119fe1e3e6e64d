import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { InvalidOptionsError } from '../../src/errors.js';
import { WorldClosedError } from '../../src/world/errors.js';
import { startWorld } from '../../src/world/world.js';
import { waitFor } from '../support/async.js';
import { FetchFailed, keepAliveAgent, worldGet, worldResolver } from '../support/world-client.js';

const WATCHED = ['TCPServerWrap', 'TCPSocketWrap', 'TLSWrap', 'UDPWrap', 'Timeout'];

function resources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const name of WATCHED) counts[name] = 0;
  for (const name of process.getActiveResourcesInfo()) if (name in counts) counts[name] = (counts[name] ?? 0) + 1;
  return counts;
}

describe('World.close()', () => {
  it('frees sockets, timers, ports and the CA directory, even with requests held open', async () => {
    const before = resources();
    const world = await startWorld({
      identities: 50,
      faults: { plc: { slow: 100 }, web: { timeout: 100 }, dns: { slow: 100 }, slowMs: 60_000 },
    });
    const agent = keepAliveAgent();
    const resolver = worldResolver(world, 30_000);
    expect((await worldGet(world, world.identity(1).handleUrl, { agent })).status).toBe(200);
    const slow = worldGet(world, world.plcIdentity(0).documentUrl, { timeoutMs: 30_000 }).catch((e: unknown) => e);
    const held = worldGet(world, world.webIdentity(0).documentUrl, { timeoutMs: 30_000 }).catch((e: unknown) => e);
    const dns = resolver.resolveTxt(world.identity(2).dnsName).catch((e: unknown) => e);
    await waitFor('the three held requests to arrive', () => {
      const c = world.counters();
      return c.plc.faults.slow === 1 && c.web.faults.timeout === 1 && c.dns.faults.slow === 1;
    });
    expect(world.counters().connections.open).toBe(3);

    await Promise.all([world.close(), world.close()]);
    expect(world.closed).toBe(true);
    expect(await slow).toBeInstanceOf(FetchFailed);
    expect(await held).toBeInstanceOf(FetchFailed);
    resolver.cancel();
    expect(await dns).toMatchObject({ code: 'ECANCELLED' });
    agent.destroy();

    expect(existsSync(world.caFile)).toBe(false);
    expect(world.counters().connections.open).toBe(0);
    await waitFor('the watched resources to be freed', () => WATCHED.every((name) => (resources()[name] ?? 0) <= (before[name] ?? 0)));

    // Both ports can be bound again.
    const tcp = createServer();
    tcp.listen(world.httpsPort, '127.0.0.1');
    await once(tcp, 'listening');
    tcp.close();
    const udp = createSocket('udp4');
    udp.bind(world.dnsPort, '127.0.0.1');
    await once(udp, 'listening');
    udp.close();
  });

  it('keeps the final counters readable and refuses control calls after close', async () => {
    const world = await startWorld({ identities: 5 });
    await worldGet(world, world.identity(0).handleUrl);
    await world.close();
    expect(world.counters().handle.ok).toBe(1);
    expect(() => world.setFaults({})).toThrow(WorldClosedError);
    expect(() => world.resetCounters()).toThrow(WorldClosedError);
    await world.close();
  });

  it('rejects bad options before creating anything', async () => {
    await expect(startWorld({ identities: -1 })).rejects.toBeInstanceOf(InvalidOptionsError);
    await expect(startWorld({ webPercent: 101 })).rejects.toBeInstanceOf(InvalidOptionsError);
    await expect(startWorld({ faults: { plc: { slow: 200 } } })).rejects.toMatchObject({ option: 'world.faults.plc.slow' });
    await expect(startWorld({ colour: 'blue' } as never)).rejects.toMatchObject({ option: 'world.colour' });
  });
});
