import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One DynamoDB Local for the whole run; each test file creates its own uniquely named tables in it.
    globalSetup: ['test/support/global-setup.ts'],
    // Hang detectors, not performance assertions: no test may fail because the machine is slow or busy (2 cores
    // shared with DynamoDB Local, esbuild and other runs), so only a test that hangs reaches them. 15 minutes each
    // leaves room inside CI's 90-minute budget for the rest of the run to report. Tests and helpers set no shorter
    // deadlines of their own (test/support/hang.ts), but for a wait that is the subject of a test and whose outcome a
    // slow machine cannot change (a fake clock, or a timeout that must fire).
    testTimeout: 15 * 60_000,
    hookTimeout: 15 * 60_000,
    // 2 cores: more workers only contend with DynamoDB Local and esbuild for CPU.
    maxWorkers: 2,
    env: { AWS_REGION: 'eu-west-1', POWERTOOLS_DEV: 'false', POWERTOOLS_LOG_LEVEL: 'SILENT' },
  },
});
