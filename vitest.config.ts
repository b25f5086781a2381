import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // Properties and simulations are CPU-bound; two workers match this machine.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    // One retry: the real-socket tests (test/ws, webchat, the load smoke, the WebSocket conformance
    // target) measure wall-clock bounds on a shared 2-core machine. Deterministic tests (fake clock,
    // properties, simulations) fail the same way twice, so a retry hides nothing there.
    retry: 1,
    hookTimeout: 30_000,
  },
});
