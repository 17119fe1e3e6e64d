import { defineConfig } from 'vitest/config';

/**
 * The slow hostile suite (`npm run test:hostile`): real-time slowloris at one
 * byte per second, killing and restarting the world mid-run. Not part of
 * `npm test`; CI runs it after `npm test`.
 */
export default defineConfig({
  test: {
    include: ['test/**/*.slow.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    // gc() before memory readings in the restart test.
    execArgv: ['--expose-gc'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
