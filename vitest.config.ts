import { defineConfig } from 'vitest/config';

// Two projects: fast pure/handler/CDK tests, and integration tests that drive the HTTP API of a
// real local stack (DynamoDB Local + s3rver + the real handlers) started once by global setup.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'test/handlers/**/*.test.ts', 'test/infra/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
      {
        // Not part of `npm test`: run with `npm run test:reliability` (CI runs it too). Each file
        // starts its own local stack in-process so it can inject faults into the handlers' clients.
        test: {
          name: 'reliability',
          include: ['test/reliability/**/*.test.ts'],
          testTimeout: 600_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'integration',
          // The console's browser tests (Debian's Chromium through playwright-core) use the same stack.
          include: ['test/integration/**/*.test.ts', 'test/browser/**/*.test.ts'],
          globalSetup: ['test/integration/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
