import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runNode } from '../support/child.js';
import { packagePath } from '../support/dist.js';

const run = promisify(execFile);

interface Manifest {
  name: string;
  files: string[];
  scripts?: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  repository?: unknown;
  homepage?: unknown;
  bugs?: unknown;
}

const manifest = JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as Manifest;

/** Every file under `dir`, relative to it. */
function walk(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name), base) : [relative(base, join(dir, e.name))]));
}

/**
 * The package as a user gets it: `npm pack` (its real prepack/postpack
 * scripts) in a copy of the package, so this checkout's dist/ and
 * package.json are never touched while other test files run, then
 * `npm install <tarball>` into an empty project, offline from npm's cache
 * (which `npm ci` filled), so no test touches the network.
 */
describe('the packed tarball, installed into an empty project', () => {
  let work: string;
  let project: string;
  let installed: string;
  let installOutput: string;
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'atresolve-pack-'));
    const copy = join(work, 'package');
    for (const entry of [...manifest.files, 'package.json', 'README.md', 'LICENSE', 'tsconfig.json', 'tsconfig.build.json', 'scripts/pack-manifest.mjs']) {
      if (existsSync(packagePath(entry))) cpSync(packagePath(entry), join(copy, entry), { recursive: true });
    }
    symlinkSync(packagePath('node_modules'), join(copy, 'node_modules'));
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: copy, timeout: 240_000, maxBuffer: 64 * 1024 * 1024 });
    const tarball = join(work, (JSON.parse(stdout.slice(stdout.indexOf('['))) as Array<{ filename: string }>)[0]!.filename);

    project = join(work, 'project');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'empty-project', version: '1.0.0', private: true }));
    const install = await run('npm', ['install', '--offline', '--no-audit', '--no-fund', tarball], { cwd: project, timeout: 120_000 });
    installOutput = install.stdout + install.stderr;
    installed = join(project, 'node_modules', 'atresolve');
  }, 300_000);
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('runs no script of atresolve: no install-script warning names it, and the packed package.json has none', () => {
    expect(installOutput).not.toMatch(/install-scripts\s+atresolve@/);
    const packed = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as Manifest;
    for (const script of ['preinstall', 'install', 'postinstall', 'prepare']) expect(packed.scripts?.[script], script).toBeUndefined();
    expect(existsSync(join(installed, 'build'))).toBe(false);
    // The checkout's package.json got its prepare script back after packing.
    expect(manifest.scripts?.['prepare']).toBe('npm run build:ts');
  });

  it('installs atresolve and its dependencies, nothing else: no devDependency, no optional peer', () => {
    const present = new Set<string>();
    const modules = join(project, 'node_modules');
    for (const entry of readdirSync(modules)) {
      if (entry.startsWith('.')) continue;
      if (entry.startsWith('@')) for (const scoped of readdirSync(join(modules, entry))) present.add(`${entry}/${scoped}`);
      else present.add(entry);
    }
    // The dependency closure, from the installed packages' own manifests.
    const closure = new Set<string>(['atresolve']);
    const queue = Object.keys(manifest.dependencies);
    while (queue.length > 0) {
      const name = queue.pop()!;
      if (closure.has(name) || !present.has(name)) continue;
      closure.add(name);
      const dep = JSON.parse(readFileSync(join(modules, name, 'package.json'), 'utf8')) as { dependencies?: object; optionalDependencies?: object };
      queue.push(...Object.keys({ ...dep.dependencies, ...dep.optionalDependencies }));
    }
    for (const name of Object.keys(manifest.dependencies)) expect(present, name).toContain(name);
    expect([...present].sort()).toEqual([...closure].sort());
    for (const name of [...Object.keys(manifest.devDependencies), ...Object.keys(manifest.peerDependencies)]) expect(present, name).not.toContain(name);
  });

  it('ships LICENSE, CHANGELOG.md, README.md, the repository fields, both prebuilds, and src/ for the source maps', () => {
    for (const file of ['LICENSE', 'CHANGELOG.md', 'README.md', 'prebuilds/linux-x64/atresolve.glibc.node', 'prebuilds/linux-arm64/atresolve.glibc.node']) {
      expect(existsSync(join(installed, file)), file).toBe(true);
    }
    expect(readFileSync(join(installed, 'LICENSE'), 'utf8')).toMatch(/^MIT License/);
    const packed = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as Manifest;
    expect(packed).toMatchObject({ repository: { type: 'git' }, homepage: expect.any(String), bugs: { url: expect.any(String) } });

    const maps = walk(installed).filter((f) => f.endsWith('.map'));
    expect(maps.length).toBeGreaterThan(50);
    for (const map of maps) {
      const { sources } = JSON.parse(readFileSync(join(installed, map), 'utf8')) as { sources: string[] };
      for (const source of sources) expect(existsSync(join(installed, dirname(map), source)), `${map} → ${source}`).toBe(true);
    }
  });

  it('atresolve doctor: the native transport from the shipped prebuild; the optional peers are absent', async () => {
    const result = await runNode([join(project, 'node_modules', '.bin', 'atresolve'), 'doctor', '--json', '--require-native'], {
      cwd: project,
      env: { ATRESOLVE_TRANSPORT: '', ATRESOLVE_NATIVE_DIR: '', PREBUILDS_ONLY: '' },
    });
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as { transport: { kind: string; addonPath: string }; peers: Record<string, { present: boolean }> };
    expect(report.transport).toMatchObject({ kind: 'curl', addonPath: join(installed, 'prebuilds', `linux-${process.arch}`, 'atresolve.glibc.node') });
    expect(report.peers).toMatchObject({ 'prom-client': { present: false }, redis: { present: false }, echarts: { present: false } });
  });

  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  const requireEsm = major >= 23 || (major === 22 && minor >= 12) || (major === 20 && minor >= 19);
  it.skipIf(!requireEsm)('require() works where Node supports require(esm) (20.19+, 22.12+), and atresolve/redis says npm i redis', async () => {
    const script = [
      "const { IdResolver } = require('atresolve');",
      "const { transportInfo } = require('atresolve/transport');",
      "console.log(typeof IdResolver, transportInfo().kind);",
      "try { require('atresolve/redis'); } catch (e) { console.log(e.name, e.code, e.message); }",
    ].join('\n');
    const result = await runNode(['-e', script], { cwd: project, env: { ATRESOLVE_TRANSPORT: '' } });
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(
      'function curl\nRedisClientMissingError REDIS_CLIENT_MISSING atresolve/redis needs the redis client (an optional peer dependency), but it is not installed: npm i redis\n',
    );
  });
});
