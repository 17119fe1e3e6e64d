import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorld, type World } from '../../src/world/world.js';
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

/** A TCP port on 127.0.0.1 that refuses connections (bound, then closed). */
async function refusingPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  await new Promise((resolve) => server.close(resolve));
  return port;
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

  it('exits 5 when the PLC directory refuses connections', async () => {
    const port = await refusingPort();
    const id = world.plcIdentity(5);
    const result = await runCli(['resolve', ...worldFlags({ 'plc.test:443': `127.0.0.1:${port}` }), id.did]);
    expect(result.code).toBe(5);
    expect(result.stderr).toMatch(/\[RESOLUTION_FAILED\]/);
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
