import { defineConfig } from 'vitest/config';

// Suites start real nats-server, coordinator and agent processes: run files one
// at a time on this 2-core budget and give process start-up room to breathe.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
