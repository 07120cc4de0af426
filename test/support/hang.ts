/**
 * How long a test's wait for a condition (a polling helper, `vi.waitFor`, a drain, a local server's start) may take
 * before it fails the test with a message naming what it waited for. Only a hang gets near it: no test may fail
 * because the machine is slow or busy. Below vitest's testTimeout (15 minutes, vitest.config.ts), so that a hang
 * fails with the helper's message rather than a bare test timeout.
 */
export const HANG_TIMEOUT_MS = 10 * 60_000;
