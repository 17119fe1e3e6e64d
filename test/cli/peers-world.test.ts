import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { distIndex, packagePath } from '../support/dist.js';

interface ChildOutput {
  did: string;
  handle: string;
  txt?: string[];
  version?: string;
  resolvedHandle?: string;
  handleBack?: string;
  error?: { name: string; code?: string; message: string };
}

/** Run test/support/peers-world-child.mjs in a fresh process (it changes process-wide network state). */
function child(mode: 'dns' | 'atproto-0.5'): Promise<ChildOutput> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [packagePath('test/support/peers-world-child.mjs'), mode],
      { env: { ...process.env, ATRESOLVE_TEST_DIST: distIndex }, timeout: 30_000 },
      (error, stdout) => (error ? reject(error) : resolve(JSON.parse(stdout.trim()) as ChildOutput)),
    );
  });
}

describe('the world network for peers', () => {
  it('reaches an ES module that bound node:dns/promises by name before it was set up', async () => {
    const out = await child('dns');
    expect(out.error).toBeUndefined();
    expect(out.txt).toEqual([`did=${out.did}`]);
  });
});

describe('@atproto/identity 0.5 (the @atproto/identity-0.5 alias)', () => {
  const major = Number(process.versions.node.split('.')[0]);

  it.runIf(major < 22)('on Node < 22, is refused before loading, with its engines field as the reason', async () => {
    const out = await child('atproto-0.5');
    expect(out.error).toMatchObject({ name: 'PeerNodeVersionError', code: 'PEER_NODE_VERSION' });
    expect(out.error?.message).toMatch(/^@atproto\/identity 0\.5\.\d+ needs Node >=22 \(its engines field: .*\); this is Node \d+\.\d+\.\d+$/);
  });

  it.runIf(major >= 22)('on Node >= 22, resolves a did:plc of the world through its safe fetch and its handle back through the world DNS', async () => {
    const out = await child('atproto-0.5');
    expect(out.error).toBeUndefined();
    expect(out.version).toMatch(/^0\.5\./);
    expect(out.resolvedHandle).toBe(out.handle);
    expect(out.handleBack).toBe(out.did);
  });
});
