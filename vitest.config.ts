import { defineConfig } from 'vitest/config';

// Suites start real nats-server, coordinator and agent processes. Two files at a time on this
// 2-core budget: runs start under a shell wrapper (a Node wrapper per run used to starve the
// daemons' heartbeats when two files ran at once), and every name, port and namespace a test
// makes is its own.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    fileParallelism: true,
    maxWorkers: 2,
    minWorkers: 1,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
