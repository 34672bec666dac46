import { defineConfig } from 'vitest/config';

// The default suite (`npm test`, what CI runs) excludes *.long.test.ts; `npm run test:long` runs only
// those (headless-browser and full-matrix suites). Kernel tests compile C++ and run the emulator:
// generous timeouts, and two workers because CI has two cores.
const long = process.env.SVDQ_LONG === '1';

export default defineConfig({
  test: {
    include: long ? ['test/**/*.long.test.ts'] : ['test/**/*.test.ts'],
    exclude: long ? ['node_modules/**'] : ['node_modules/**', 'test/**/*.long.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 600_000,
    setupFiles: ['test/setup.ts'],
    pool: 'forks',
    maxWorkers: 2,
  },
});
