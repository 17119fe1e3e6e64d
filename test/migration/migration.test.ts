import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runNode } from '../support/child.js';
import { distIndex, packagePath } from '../support/dist.js';

/**
 * The migration, tested: `identity-app.ts` is written for
 * `@atproto/identity`. The "Switching a file" diff in docs/migrating.md is
 * applied to it line by line; the result must type-check against atresolve
 * (through the package's own `exports`, as a user imports it), and both
 * versions, compiled and run in child processes against a local world,
 * must give the same results.
 */

const FIXTURE = packagePath('test', 'migration', 'identity-app.ts');
const GUIDE = packagePath('docs', 'migrating.md');
// Inside the package, so that `import … from 'atresolve'` resolves to this
// package (self-reference through package.json `exports`), and outside every
// tsconfig's `include`.
const WORK = packagePath('.migration-check', `${process.pid}-${randomBytes(4).toString('hex')}`);

/** The `-`/`+` line pairs of the guide's "Switching a file" diff. */
function documentedChanges(): [from: string, to: string][] {
  const guide = readFileSync(GUIDE, 'utf8');
  const section = guide.slice(guide.indexOf('## Switching a file'));
  const block = /```diff\n([\s\S]*?)```/.exec(section)?.[1];
  if (block === undefined) throw new Error('docs/migrating.md has no diff under "Switching a file"');
  const lines = block.trimEnd().split('\n');
  const pairs: [string, string][] = [];
  for (let i = 0; i < lines.length; i += 2) {
    const from = lines[i];
    const to = lines[i + 1];
    if (!from?.startsWith('-') || !to?.startsWith('+')) throw new Error(`the diff must alternate - and + lines, at line ${i + 1}`);
    pairs.push([from.slice(1), to.slice(1)]);
  }
  return pairs;
}

/** The fixture with each documented line replaced; every `-` line must be in it exactly once. */
function migrated(source: string, changes: [string, string][]): string {
  const lines = source.split('\n');
  for (const [from, to] of changes) {
    const at = lines.flatMap((line, index) => (line === from ? [index] : []));
    expect(at, `"${from.trim()}" appears once in identity-app.ts`).toHaveLength(1);
    lines[at[0] as number] = to;
  }
  return lines.join('\n');
}

/** Compile `source` to `<dir>/out/app.js` with the package's compiler settings; returns tsc's output. */
async function compile(dir: string, source: string): Promise<{ code: number | null; output: string }> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'app.ts'), source);
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      extends: packagePath('tsconfig.json'),
      compilerOptions: { rootDir: dir, outDir: join(dir, 'out'), declaration: false, sourceMap: false },
      include: [join(dir, 'app.ts')],
    }),
  );
  const result = await runNode([packagePath('node_modules', 'typescript', 'bin', 'tsc'), '-p', join(dir, 'tsconfig.json')], {
    timeoutMs: 120_000,
  });
  return { code: result.code, output: result.stdout + result.stderr };
}

async function run(dir: string, lib: 'atproto' | 'atresolve'): Promise<Record<string, unknown>> {
  const result = await runNode([packagePath('test', 'migration', 'run-app.mjs')], {
    env: { ATRESOLVE_TEST_DIST: distIndex, APP: join(dir, 'out', 'app.js'), LIB: lib },
    timeoutMs: 60_000,
  });
  expect(result.stderr, `${lib} run`).toBe('');
  expect(result.code, `${lib} run`).toBe(0);
  return JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
}

let changes: [string, string][];
let atprotoResults: Record<string, unknown>;
let atresolveResults: Record<string, unknown>;

beforeAll(async () => {
  changes = documentedChanges();
  const source = readFileSync(FIXTURE, 'utf8');
  const [atproto, atresolve] = await Promise.all([
    compile(join(WORK, 'atproto'), source),
    compile(join(WORK, 'atresolve'), migrated(source, changes)),
  ]);
  expect(atproto.output).toBe('');
  expect(atresolve.output).toBe('');
  [atprotoResults, atresolveResults] = await Promise.all([run(join(WORK, 'atproto'), 'atproto'), run(join(WORK, 'atresolve'), 'atresolve')]);
}, 240_000);

afterAll(() => {
  rmSync(WORK, { recursive: true, force: true });
});

describe('switching a file from @atproto/identity to atresolve', () => {
  it('takes only the documented one-line changes, and type-checks against atresolve', () => {
    expect(changes.length).toBeLessThanOrEqual(5);
    for (const [from, to] of changes) {
      expect(from).not.toContain('\n');
      expect(to).not.toContain('\n');
    }
    // The atresolve version imports nothing from @atproto/identity.
    expect(migrated(readFileSync(FIXTURE, 'utf8'), changes)).not.toContain("from '@atproto/identity'");
  });

  it('gives the same results on both libraries', () => {
    const { expected: _a, ...atproto } = atprotoResults;
    const { expected: _b, ...atresolve } = atresolveResults;
    expect(atresolve).toEqual(atproto);
  });

  it('and those results are the right ones', () => {
    const expected = atresolveResults.expected as Record<string, unknown>;
    expect(atresolveResults).toMatchObject({
      feedKeys: [expected.plcKey, expected.plcKey, expected.webKey],
      // The second lookup of the same DID came from the cache.
      feedKeyRequests: { plc: 1, web: 1 },
      didKey: expected.plcKey,
      jwtGood: { value: expected.signer },
      jwtGoodRequests: 1,
      // verifyJwt refetched the key after the bad signature: forceRefresh was honoured.
      jwtBad: { error: 'Error' },
      jwtBadRequests: 2,
      byDidUnknown: { notFound: 'did:plc:aaaaaaaaaaaaaaaaaaaaaaaa' },
      byHandleUnknown: { notFound: 'nobody.handle.test' },
      indexHandle: [expected.plcHandle, expected.webHandle],
      repoHost: { pds: expected.pds, signingKey: expected.webKey },
    });
    // Documents as published, @context included.
    expect(atresolveResults.byDid).toEqual(expected.plcDocument);
    expect(atresolveResults.byHandle).toEqual(expected.plcDocument);
  });
});
