import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['{app,cli,connectors,workers,mapping,schemas,infra}/**/*.test.ts', 'test/unit/**/*.test.ts'],
          testTimeout: 30_000,
        },
      },
      {
        extends: true,
        test: {
          // Report pages in Debian's headless Chromium, which services.sh installs when missing.
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 900_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/setup/services.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          // The servers are shared: integration files run one at a time (each still uses its own names).
          fileParallelism: false,
        },
      },
      {
        extends: true,
        test: {
          // The distributed fault suite: every process of distributed mode on servers of its own (other
          // ports, another services home), which it stops and kills. npm test runs it after the others.
          name: 'distributed',
          include: ['test/distributed/**/*.test.ts'],
          globalSetup: ['test/setup/distributed-services.ts'],
          testTimeout: 600_000,
          hookTimeout: 600_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
