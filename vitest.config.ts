import { defineConfig } from 'vitest/config';

// Three projects: `unit` covers the pure core and runs in parallel; `integration` runs against one real local
// control plane and Prometheus started by test/harness/global-setup.ts, one file at a time; `faults` starts a
// control plane of its own (it stops and restarts etcd and the API server) and plays failures on it.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'test/unit/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/harness/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 300_000,
        },
      },
      {
        test: {
          name: 'faults',
          include: ['test/faults/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 900_000,
        },
      },
    ],
  },
});
