import { defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

// Workspace packages export their TypeScript sources under the `@drover/source` condition,
// so tests run against src/ without a build. Not `module`: Node never uses it, and packages such as
// @opentelemetry/api map it to a bundler-only build (extensionless imports) that Node cannot load.
const conditions = ['@drover/source', ...defaultServerConditions.filter((c) => c !== 'module')];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['@drover/source'] } },
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
