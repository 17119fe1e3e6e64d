import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runNode } from '../support/child.js';
import { packagePath } from '../support/dist.js';

/**
 * The world's test CA needs the openssl CLI (a stated prerequisite; Debian's
 * ca-certificates depends on it). Where it is missing, starting a world
 * fails at once with a typed error naming the package, not a spawn error.
 */
describe('the world without the openssl CLI', () => {
  let emptyBin: string;
  beforeAll(async () => {
    emptyBin = await mkdtemp(join(tmpdir(), 'atresolve-no-openssl-'));
  });
  afterAll(async () => {
    await rm(emptyBin, { recursive: true, force: true });
  });

  it('createTestCa() rejects with OpensslMissingError saying what to install', async () => {
    const world = pathToFileURL(packagePath('dist', 'world', 'index.js')).href;
    const script = `import(${JSON.stringify(world)}).then((w) => w.createTestCa()).then(() => console.log('made a CA'), (e) => console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message, world: e instanceof Error })))`;
    const result = await runNode(['-e', script], { env: { PATH: emptyBin } });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      name: 'OpensslMissingError',
      code: 'WORLD_OPENSSL_MISSING',
      message: expect.stringContaining('openssl command-line tool, which is not installed: apt-get install openssl'),
      world: true,
    });
  });
});
