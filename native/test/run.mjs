#!/usr/bin/env node
// `npm run test:native`: builds the C suite (make + gcc), starts the local
// servers (server.mjs), then runs the suite three ways: plain, under
// valgrind (definite/indirect leaks and memory errors fail), and as an
// AddressSanitizer + UBSan build. Exits non-zero when any run fails.
//
// Options: --only=plain,valgrind,asan (comma list); TEST_ONLY=<substring>
// narrows the C tests.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, 'out');
const modesArg = process.argv.find((a) => a.startsWith('--only='));
const modes = modesArg ? modesArg.slice(7).split(',') : ['plain', 'valgrind', 'asan'];

const make = spawnSync('make', ['-C', here, `OUT=${out}`], { stdio: 'inherit' });
if (make.status !== 0) {
  console.error('native tests: build failed');
  process.exit(1);
}

const server = spawn(process.execPath, [join(here, 'server.mjs')], { stdio: ['pipe', 'pipe', 'inherit'] });
const lines = createInterface({ input: server.stdout });
const [first] = await Promise.race([
  once(lines, 'line'),
  once(server, 'exit').then(() => {
    throw new Error('test server exited before it was ready');
  }),
]);
const info = JSON.parse(first);
const env = {
  ...process.env,
  TEST_PORT: String(info.port),
  TEST_CA: info.ca,
  TEST_BLACKHOLE: String(info.blackhole),
  TEST_CLOSED: String(info.closed),
  TEST_ADDRESS_CASES: join(here, '..', '..', 'test', 'fixtures', 'address-classes.txt'),
};

const runs = {
  plain: [join(out, 'engine_test')],
  valgrind: [
    'valgrind', '--leak-check=full', '--errors-for-leak-kinds=definite,indirect',
    '--show-leak-kinds=definite,indirect', '--error-exitcode=1', '--track-fds=no',
    join(out, 'engine_test'),
  ],
  asan: [join(out, 'engine_test_asan')],
};

function run(mode) {
  const [cmd, ...args] = runs[mode];
  const started = Date.now();
  console.log(`\n== native suite: ${mode} ==`);
  const asanEnv = mode === 'asan'
    ? { ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0:halt_on_error=1', UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1' }
    : mode === 'valgrind'
      ? { TEST_SLOW: '1' } // timing-sensitive cases allow for valgrind's ~20× slowdown
      : {};
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: 'inherit', env: { ...env, ...asanEnv } });
    const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      console.log(`== ${mode}: ${code === 0 ? 'passed' : `FAILED (${signal ?? code})`} in ${seconds} s ==`);
      resolve(code === 0);
    });
  });
}

let failed = 0;
for (const mode of modes) {
  if (!runs[mode]) {
    console.error(`unknown mode ${mode}`);
    failed += 1;
    continue;
  }
  if (!(await run(mode))) failed += 1;
}
server.stdin.end();
await once(server, 'exit');
console.log(`\nnative: ${modes.length - failed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
