import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    pool: 'forks',
    // Two files at once on two cores (vitest would take one less than the cores): much of a file's time is
    // its store's engine or a child process. Projects whose files run one at a time say so themselves.
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['{app,cli,connectors,workers,mapping,schemas,infra}/**/*.test.ts', 'test/unit/**/*.test.ts'],
          testTimeout: 30_000,
          // A file's scenario (a store filled and computed in beforeAll) shares two cores with the other
          // projects' servers: its set-up gets the time of a test, not vitest's 10 s default.
          hookTimeout: 60_000,
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
          // The unit tests that lean on the store, again with testStore() on the ClickHouse server the
          // integration suite starts instead of the in-process engine: one product, two stores.
          name: 'store-server',
          include: [
            'infra/store/*.test.ts',
            'workers/normalize/*.test.ts',
            'workers/link/*.test.ts',
            'workers/metrics/engine.test.ts',
            'workers/registers/registers.test.ts',
            'workers/forecast/job.test.ts',
            'workers/alerts/stalls.test.ts',
            'workers/reports/status.test.ts',
            'workers/reports/facts.test.ts',
            'workers/metrics/definitions/program-facts.test.ts',
          ],
          // The bridge serves the in-process engine to other processes; a server needs none.
          exclude: [...configDefaults.exclude, 'infra/store/bridge.test.ts'],
          globalSetup: ['test/setup/services.ts'],
          setupFiles: ['test/setup/store-server.ts'],
          // After the integration suite, some of whose tests stop and restart the shared servers.
          sequence: { groupOrder: 1 },
          // The work is mostly the server's: two files at once keep it busy on two cores.
          maxWorkers: 2,
          testTimeout: 60_000,
          hookTimeout: 180_000,
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
