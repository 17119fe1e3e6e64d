import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidOptionsError } from '../../src/errors.js';
import { WorldClosedError, WorldProcessError } from '../../src/world/errors.js';
import { startWorldProcess, type WorldProcess } from '../../src/world/process.js';
import { waitFor } from '../support/async.js';
import { alive } from '../support/child.js';
import { packagePath } from '../support/dist.js';
import { atprotoDocumentProblems } from '../support/did-document.js';
import { worldGet, worldResolver } from '../support/world-client.js';

describe('startWorldProcess', () => {
  let world: WorldProcess;

  beforeAll(async () => {
    world = await startWorldProcess({ identities: 100, seed: 3, faults: { dns: { serverError: 100 } } });
  });
  afterAll(async () => {
    await world?.close();
  });

  it('serves the identities the parent computes locally', async () => {
    expect(world.pid).not.toBe(process.pid);
    for (const id of [world.plcIdentity(2), world.webIdentity(2)]) {
      const res = await worldGet(world, id.documentUrl);
      expect(res.status).toBe(200);
      expect(atprotoDocumentProblems(JSON.parse(res.body.toString()), { did: id.did, handle: id.handle })).toEqual([]);
      expect((JSON.parse(res.body.toString()) as { verificationMethod: { publicKeyMultibase: string }[] }).verificationMethod[0]?.publicKeyMultibase).toBe(
        id.key.publicKeyMultibase,
      );
      expect((await worldGet(world, id.handleUrl)).body.toString()).toBe(id.did);
    }
    const counters = await world.counters();
    expect(counters.plc.ok).toBe(1);
    expect(counters.web.ok).toBe(1);
    expect(counters.handle.ok).toBe(2);
  });

  it('applies start-up and run-time faults over IPC, and resets counters', async () => {
    const resolver = worldResolver(world);
    await expect(resolver.resolveTxt(world.identity(1).dnsName)).rejects.toMatchObject({ code: 'ESERVFAIL' });
    expect((await world.faults()).dns).toEqual({ serverError: 100 });
    await world.setFaults({ plc: { notFound: 100 } });
    expect((await worldGet(world, world.plcIdentity(0).documentUrl)).status).toBe(404);
    expect(await resolver.resolveTxt(world.identity(1).dnsName)).toEqual([[`did=${world.identity(1).did}`]]);
    const counters = await world.counters();
    expect(counters.dns.faults.serverError).toBe(1);
    expect(counters.dns.ok).toBe(1);
    expect(counters.plc.faults.notFound).toBe(1);
    await world.resetCounters();
    expect((await world.counters()).plc.requests).toBe(0);
    await world.setFaults({});
  });

  it('validates settings in the parent', async () => {
    await expect(world.setFaults({ dns: { reset: 5 } })).rejects.toBeInstanceOf(InvalidOptionsError);
    await expect(startWorldProcess({ identities: 0 })).rejects.toBeInstanceOf(InvalidOptionsError);
    await expect(startWorldProcess({ startTimeoutMs: -1 })).rejects.toBeInstanceOf(InvalidOptionsError);
  });

  it('close() stops the child, frees its CA and keeps the final counters', async () => {
    const own = await startWorldProcess({ identities: 10 });
    const pid = own.pid as number;
    await worldGet(own, own.identity(0).handleUrl);
    expect(existsSync(own.caFile)).toBe(true);
    await Promise.all([own.close(), own.close()]);
    expect(await own.exited).toBe(0);
    expect(alive(pid)).toBe(false);
    expect(existsSync(own.caFile)).toBe(false);
    expect((await own.counters()).handle.ok).toBe(1);
    await expect(own.setFaults({})).rejects.toBeInstanceOf(WorldClosedError);
    await expect(own.resetCounters()).rejects.toBeInstanceOf(WorldClosedError);
  });

  it('rejects calls once the child has died, and close() still resolves', async () => {
    const own = await startWorldProcess({ identities: 10 });
    process.kill(own.pid as number, 'SIGKILL');
    expect(await own.exited).toBeNull();
    await expect(own.counters()).rejects.toBeInstanceOf(WorldProcessError);
    await own.close();
  });

  it('fails with WorldProcessError when the child cannot start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'atresolve-world-child-'));
    try {
      const broken = join(dir, 'child.mjs');
      writeFileSync(broken, 'process.exit(3);\n');
      await expect(startWorldProcess({ childPath: broken })).rejects.toThrow(/exited during start \(code 3\)/);
      await expect(startWorldProcess({ childPath: join(dir, 'missing.js') })).rejects.toBeInstanceOf(WorldProcessError);
      const silent = join(dir, 'silent.mjs');
      writeFileSync(silent, 'setTimeout(() => {}, 60000);\n');
      await expect(startWorldProcess({ childPath: silent, startTimeoutMs: 300 })).rejects.toThrow(/not ready after 300 ms/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the child dies with its parent', () => {
  it('exits and removes its CA when the parent is killed with SIGKILL', async () => {
    const parent = spawn(process.execPath, [packagePath('test/world/fixtures/world-parent.mjs')], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const lines = createInterface({ input: parent.stdout });
      const [line] = (await once(lines, 'line')) as [string];
      const { pid, caFile } = JSON.parse(line) as { pid: number; caFile: string };
      expect(alive(pid)).toBe(true);
      expect(existsSync(caFile)).toBe(true);
      parent.kill('SIGKILL');
      await once(parent, 'exit');
      await waitFor(`the world process ${pid} to exit`, () => !alive(pid));
      expect(existsSync(caFile)).toBe(false);
    } finally {
      parent.kill('SIGKILL');
    }
  });
});
