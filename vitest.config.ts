import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Slow hostile tests run with `npm run test:hostile`; the network-namespace
    // ones only inside `npm run test:netns` (scripts/netns-run.mjs).
    exclude: [...configDefaults.exclude, 'test/**/*.slow.test.ts', 'test/**/*.netns.test.ts'],
    // Builds dist/ once (when stale) for the tests that run child processes.
    globalSetup: ['test/global-setup.ts'],
    // Real servers on loopback start per file; keep files isolated in forks
    // so one file's native handles and sockets never leak into another.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
