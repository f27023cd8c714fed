import { defineConfig } from 'vitest/config';

// Suites start real nats-server, coordinator and agent processes. Three files at a time on this
// 2-core budget (most of a file's time is waiting on daemons and timers): runs start through one
// launcher shell per agent, not a Node process each (which used to starve the daemons'
// heartbeats), and every name, port and namespace a test makes is its own.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    fileParallelism: true,
    maxWorkers: 3,
    minWorkers: 1,
    testTimeout: 60_000,
    // longer than the harness's own waits (a coordinator's start: 60 s), so a fleet that does
    // not start fails with the harness's message and the daemons' logs, not a bare hook timeout
    hookTimeout: 150_000,
  },
});
