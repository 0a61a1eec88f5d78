import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Rebuilds dist/ and dist-simulator/ when older than their sources: the tests run the built code.
    globalSetup: ['test/globalSetup.ts'],
    // Integration tests start real processes (exporter, simulator, Prometheus); two cores, so no oversubscription.
    fileParallelism: true,
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
