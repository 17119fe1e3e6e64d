import { execFile } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { distIndex, packagePath } from '../support/dist.js';

const run = promisify(execFile);

/**
 * `redis` is an optional peer dependency: the main entry must work where it
 * is not installed. A child process that refuses `redis` and `@redis/*`
 * (ES module hooks and CommonJS resolution) imports the compiled main entry,
 * and the `atresolve/redis` entry, which must fail there with a typed error.
 * test/package/pack.test.ts checks the same where redis is really absent.
 */
describe('the main entry and the redis client', () => {
  async function importWithoutRedis(file: string): Promise<{ ok: boolean; output: string }> {
    const script = `import(${JSON.stringify(pathToFileURL(file).href)}).then((m) => console.log('loaded', Object.keys(m).length), (e) => { console.log('failed', e.name, e.code, e.message); process.exitCode = 3; })`;
    try {
      const { stdout } = await run(process.execPath, ['--import', pathToFileURL(packagePath('test', 'support', 'no-redis.mjs')).href, '-e', script], {
        timeout: 20_000,
      });
      return { ok: true, output: stdout };
    } catch (error) {
      return { ok: false, output: String((error as { stdout?: string }).stdout ?? error) };
    }
  }

  it('atresolve loads without ever importing redis', async () => {
    const result = await importWithoutRedis(distIndex);
    expect(result.output).toMatch(/^loaded \d+/);
    expect(result.ok).toBe(true);
  });

  it('atresolve/redis without the client fails with a typed error that says npm i redis', async () => {
    const result = await importWithoutRedis(packagePath('dist', 'redis.js'));
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(
      /^failed RedisClientMissingError REDIS_CLIENT_MISSING atresolve\/redis needs the redis client \(an optional peer dependency\), but it is not installed: npm i redis$/m,
    );
  });
});
