import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['@drover/source'] },
  ssr: { resolve: { conditions: ['@drover/source'], externalConditions: ['@drover/source'] } },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['./test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two cores: suites that start servers and child processes run better two at a time.
    maxWorkers: 2,
  },
});
