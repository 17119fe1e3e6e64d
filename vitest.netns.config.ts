import { defineConfig } from 'vitest/config';

/**
 * The network-namespace suite (`npm run test:netns`): run only through
 * `scripts/netns-run.mjs`, which gives it public-looking addresses on `lo`
 * and makes a scripted DNS server on 127.0.0.1:53 the system resolver.
 */
export default defineConfig({
  test: {
    include: ['test/**/*.netns.test.ts'],
    // Child processes and workers run the compiled package (dist/).
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    // Files would compete for 127.0.0.1:53 and :443 inside the one namespace.
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
