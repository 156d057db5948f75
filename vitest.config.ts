import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Tests share one Redis and the model cache; files run one at a time so figures stay honest.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    globalSetup: ['test/global-setup.ts'],
    env: { FACECHAIN_LOG_LEVEL: 'warn' },
  },
});
