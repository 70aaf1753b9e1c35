// The benchmarks' own tests (pure logic and small subprocesses; no timing is asserted):
// `npx vitest run --config bench/vitest.config.ts`.
import { resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: resolve(import.meta.dirname, '..'),
  test: {
    include: ['bench/test/**/*.test.ts'],
    testTimeout: 30_000,
  },
});
