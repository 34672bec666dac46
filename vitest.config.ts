import { defineConfig } from 'vitest/config';

// Kernel tests compile C++ with g++ and run the emulator: generous timeouts, and at most two
// workers because CI has two cores.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 600_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
