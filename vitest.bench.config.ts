import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['bench/**/*.bench.ts'],
    // Rebuilds dist/ and dist-simulator/ when older than their sources: the tests run the built code.
    globalSetup: ['test/globalSetup.ts'],
    fileParallelism: false,
    testTimeout: 900_000,
  },
});
