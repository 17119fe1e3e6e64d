import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResolveErrorJson } from '../../src/cli/resolve.js';
import { startWorld, type World } from '../../src/world/world.js';
import { startSilentDns } from '../support/dns-server.js';
import { freePort } from '../support/free-port.mjs';
import { startSilentTcpServer } from '../support/hostile-server.js';
import { runCli } from './run-cli.js';

// `atresolve resolve` against a local world (real HTTPS and DNS on
// loopback), pointed at it with flags only. Never the internet.
let world: World;

beforeAll(async () => {
  world = await startWorld({ identities: 200 });
});

afterAll(async () => {
  await world?.close();
});

/** The flags that point the CLI at the world (optionally with one host sent elsewhere). */
function worldFlags(override: Record<string, string> = {}): string[] {
  const routes = { ...world.connectTo, ...override };
  return [
    '--plc-url', world.plcUrl,
    '--dns-server', world.dnsServer,
    '--ca-file', world.caFile,
    ...Object.entries(routes).flatMap(([from, to]) => ['--connect-to', `${from}:${to}`]),
    '--allow-private-network',
    '--allow-test-tlds',
    '--timeout', '2s',
  ];
}

describe('atresolve resolve', () => {
  it('prints a verified identity as JSON and exits 0', async () => {
    const id = world.plcIdentity(3);
    const result = await runCli(['resolve', ...worldFlags(), id.handle]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(json).toMatchObject({ did: id.did, handle: id.handle, declaredHandle: id.handle, pds: 'https://pds.test', signingKey: id.key.didKey });
    expect((json.doc as { id: string }).id).toBe(id.did);
  });

  it('prints one line per input for several inputs (did:plc and did:web)', async () => {
    const plc = world.plcIdentity(4);
    const web = world.webIdentity(1);
    const result = await runCli(['resolve', ...worldFlags(), plc.did, web.did]);
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as { did: string; handle: string });
    expect(lines.map((l) => [l.did, l.handle])).toEqual([
      [plc.did, plc.handle],
      [web.did, web.handle],
    ]);
  });

  it.each([
    ['127.0.0.1:0', /port must be between 1 and 65535/],
    ['1.2.3.4:99999', /port must be between 1 and 65535/],
    ['_', /not an IP address/],
  ])('exits 2 for --dns-server %s, naming the flag, before anything starts', async (server, why) => {
    const result = await runCli(['resolve', '--dns-server', server, 'alice.example.com']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--dns-server/);
    expect(result.stderr).toMatch(why);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('exits 3 for input that is neither a DID nor a handle', async () => {
    const result = await runCli(['resolve', ...worldFlags(), 'not a handle!']);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/not a handle!: .*\[INVALID_HANDLE\]/);
    expect(result.stdout).toBe('');
  });

  it('exits 3 for an unsupported DID method', async () => {
    const result = await runCli(['resolve', ...worldFlags(), 'did:example:123']);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/\[(UNSUPPORTED_DID_METHOD|INVALID_DID)\]/);
  });

  it('exits 4 when the handle has no DID (NXDOMAIN and 404)', async () => {
    const result = await runCli(['resolve', ...worldFlags(), 'u999999.handle.test']);
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/\[HANDLE_NOT_FOUND\]/);
  });

  it('exits 4 when the PLC directory does not know the DID', async () => {
    const result = await runCli(['resolve', ...worldFlags(), 'did:plc:aaaaaaaaaaaaaaaaaaaaaaaa']);
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/\[DID_NOT_FOUND\]/);
  });

  it('exits 5 when the PLC directory refuses connections, and says so down the cause chain', async () => {
    const port = await freePort();
    const id = world.plcIdentity(5);
    const result = await runCli(['resolve', ...worldFlags({ 'plc.test:443': `127.0.0.1:${port}` }), id.did]);
    expect(result.code).toBe(5);
    // The resolver's error, what it was doing, and what the transport saw.
    expect(result.stderr).toMatch(
      new RegExp(`^atresolve: ${id.did}: resolving "${id.did}" failed: fetching https://plc.test failed: .*(refused|connect).* \\[RESOLUTION_FAILED/CONNECT\\]\n$`, 'i'),
    );
  });

  it('--json prints the failure as an object with its causes, in input order with the identities', async () => {
    const port = await freePort();
    const good = world.webIdentity(2);
    const bad = world.plcIdentity(8);
    const result = await runCli(['resolve', ...worldFlags({ 'plc.test:443': `127.0.0.1:${port}` }), '--json', bad.did, good.did]);
    expect(result.code).toBe(5);
    expect(result.stderr).toBe('');
    const [first, second] = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    const failure = first as unknown as ResolveErrorJson;
    expect(failure.input).toBe(bad.did);
    expect(failure.error).toMatchObject({ code: 'RESOLUTION_FAILED/CONNECT', kind: 'unavailable', exitStatus: 5 });
    expect(failure.error.causes.map((c) => [c.name, c.code])).toEqual([
      ['ResolutionFailedError', 'RESOLUTION_FAILED'],
      ['ConnectError', 'CONNECT'],
      ...failure.error.causes.slice(2).map((c) => [c.name, c.code]),
    ]);
    expect(failure.error.causes[0]?.details).toMatchObject({ target: bad.did });
    expect(failure.error.message).toMatch(/^resolving .* failed: fetching https:\/\/plc\.test failed: /);
    expect(second).toMatchObject({ did: good.did, handle: good.handle });
  });

  it('--verbose shows the transport and each fetch with its timing and connection', async () => {
    const id = world.webIdentity(3);
    const result = await runCli(['resolve', ...worldFlags(), '--verbose', id.did]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ did: id.did, handle: id.handle });
    expect(result.stderr).toMatch(/^transport (curl|undici) \(.*\); --timeout 2s per input\n/);
    expect(result.stderr).toMatch(
      new RegExp(`^fetch GET ${id.documentUrl.replaceAll('.', '\\.')} \\((curl|undici)\\) → 200, [\\d.]+ (B|KiB) in [\\d.]+ ms \\((new connection: connect [\\d.]+ ms, TLS [\\d.]+ ms|reused connection), first byte [\\d.]+ ms\\)$`, 'm'),
    );
    expect(result.stderr).toMatch(/^resolved in \d+ ms$/m);
  });

  it('--verbose shows each DNS answer of a handle lookup', async () => {
    const id = world.plcIdentity(5);
    const result = await runCli(['resolve', ...worldFlags(), '--handle-strategy', 'dns-first', '--verbose', id.handle]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ did: id.did, handle: id.handle });
    expect(result.stderr).toMatch(
      new RegExp(`^dns TXT _atproto\\.${id.handle.replaceAll('.', '\\.')} → did=${id.did} \\(dns, .*\\d+ ms.*\\)$`, 'm'),
    );
  });

  it('exits 6 when the document names another DID', async () => {
    world.setFaults({ plc: { wrongId: 100 } });
    try {
      const result = await runCli(['resolve', ...worldFlags(), world.plcIdentity(6).did]);
      expect(result.code).toBe(6);
      expect(result.stderr).toMatch(/\[DID_DOCUMENT_MISMATCH\]/);
    } finally {
      world.setFaults({});
    }
  });

  it('--timeout bounds the whole resolution, DNS included', async () => {
    // Three DNS servers that never answer: c-ares alone would try for ~9 s (1 s, then 2 s, per server).
    const silent = await Promise.all([startSilentDns(), startSilentDns(), startSilentDns()]);
    try {
      const id = world.plcIdentity(9);
      const dns = silent.flatMap((s) => ['--dns-server', s.address]);
      const flags = worldFlags().filter((f, i, all) => f !== '--dns-server' && all[i - 1] !== '--dns-server' && f !== '--timeout' && all[i - 1] !== '--timeout');
      const startedAt = Date.now();
      const result = await runCli(['resolve', ...flags, ...dns, '--timeout', '1s', '--handle-strategy', 'dns-first', '--verbose', id.handle]);
      const elapsed = Date.now() - startedAt;
      expect(result.code).toBe(5);
      expect(result.stderr).toMatch(new RegExp(`^atresolve: ${id.handle}: no answer within 1s \\(--timeout\\)`, 'm'));
      expect(result.stderr).toMatch(/\[TIMEOUT\]$/m);
      // The resolution gave up at its deadline (1 s, plus the 100 ms it may take to say what it was doing) ...
      const failedAfter = Number(/^failed after (\d+) ms$/m.exec(result.stderr)?.[1]);
      expect(failedAfter).toBeGreaterThanOrEqual(1_000);
      expect(failedAfter).toBeLessThan(1_000 + 100 + 1_500);
      // ... and the process ended with it: start-up on a loaded box is the slack, far below the 9 s of DNS tries.
      expect(elapsed).toBeLessThan(6_000);
    } finally {
      await Promise.all(silent.map((server) => server.close()));
    }
  });

  it('--timeout names the fetch it cut off', async () => {
    const server = await startSilentTcpServer();
    try {
      const id = world.plcIdentity(10);
      const flags = worldFlags({ 'plc.test:443': `127.0.0.1:${server.port}` }).filter((f, i, all) => f !== '--timeout' && all[i - 1] !== '--timeout');
      const result = await runCli(['resolve', ...flags, '--timeout', '500ms', '--json', id.did]);
      expect(result.code).toBe(5);
      const failure = JSON.parse(result.stdout) as ResolveErrorJson;
      expect(failure.error).toMatchObject({ code: 'TIMEOUT', kind: 'timeout' });
      expect(failure.error.causes[0]?.details).toMatchObject({ phase: 'total', timeoutMs: 500 });
      // The fetch's own limit is the same 500 ms: whichever clock fires
      // first, the cut-off fetch is named (ABORTED by --timeout, or TIMEOUT).
      expect(failure.error.failedSteps).toEqual([expect.stringMatching(/^fetch GET https:\/\/plc\.test\/did%3Aplc%3A\w+ \((curl|undici)\) failed after [\d.]+ ms: (ABORTED|TIMEOUT)/)]);
      expect(failure.error.message).toMatch(/^no answer within 500ms \(--timeout\); failed step: fetch GET https:\/\/plc\.test\/\S+ \((curl|undici)\) failed after [\d.]+ ms: (ABORTED|TIMEOUT) /);
    } finally {
      await server.close();
    }
  });

  it('with several inputs, prints what resolved and exits with the first failure', async () => {
    const good = world.plcIdentity(7);
    const result = await runCli(['resolve', ...worldFlags(), 'u999998.handle.test', good.did, 'bad input!']);
    expect(result.code).toBe(4);
    expect(result.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ did: good.did });
    expect(result.stderr).toMatch(/HANDLE_NOT_FOUND/);
    expect(result.stderr).toMatch(/INVALID_HANDLE/);
  });
});
