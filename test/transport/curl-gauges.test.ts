import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CurlTransport } from '../../src/transport/curl.js';
import { startSilentTcpServer } from '../support/hostile-server.js';
import { socketsConnectedTo } from '../support/proc-sockets.js';

/**
 * `stats().openConnections` of the curl transport against the kernel's
 * count. libcurl 7.88 closes a socket that never finished connecting (a
 * happy-eyeballs attempt dropped when its transfer is removed or times out)
 * with a plain close(), without CURLOPT_CLOSESOCKETFUNCTION, so a gauge
 * counted in the open/close callbacks drifted upward (13–20 with no socket
 * left after TLS handshakes timed out, and it stayed after reset()). The
 * engine now checks each socket it opened against the kernel.
 */
describe('curl openConnections equals the sockets the kernel holds', () => {
  let silent: Awaited<ReturnType<typeof startSilentTcpServer>>;
  beforeAll(async () => {
    silent = await startSilentTcpServer();
  });
  afterAll(async () => {
    await silent?.close();
  });

  it('through 200 TLS handshake timeouts and resets', async () => {
    // More requests than maxConnectionsPerHost (32), so some wait inside
    // libcurl and are removed by the total deadline while still connecting;
    // the connect and total limits are close so both paths fire.
    const t = new CurlTransport({ allowPrivateNetwork: true, connectTimeoutMs: 150 });
    const url = `https://127.0.0.1:${silent.port}/`;
    const steps: Array<{ step: string; gauge: number; kernel: number }> = [];
    // Read at rest (nothing in flight), where both counts are stable.
    const check = (step: string): void => {
      steps.push({ step, gauge: t.stats().openConnections, kernel: socketsConnectedTo(silent.port) });
    };
    let failures = 0;
    for (let round = 0; round < 4; round += 1) {
      const batch = Array.from({ length: 50 }, () => t.request(url, { timeoutMs: 160 }).then(() => 'ok', (error: Error) => error.name));
      const outcomes = await Promise.all(batch);
      failures += outcomes.filter((o) => o === 'TimeoutError').length;
      check(`round ${round} settled`);
      await t.reset();
      check(`round ${round} after reset`);
    }
    await t.close();
    check('closed');
    expect(failures).toBe(200);
    for (const s of steps) expect(s, s.step).toMatchObject({ gauge: s.kernel });
    expect(steps.at(-1)).toMatchObject({ gauge: 0, kernel: 0 });
  }, 60_000);
});
