import { describe, expect, it } from 'vitest';
import { runAuditHistoryCli } from '../../../ops/audit-history/audit-history-cli.js';

/** The sandbox's composed CLI (with its local store) is tested in test/sandbox/audit-history.test.ts. */
describe('runAuditHistoryCli without a local store', () => {
  it('refuses a local read with exit code 2, naming --bucket, since only the sandbox can open its store', async () => {
    // Prepare
    let stderr = '';
    let opened = false;

    // Act
    const code = await runAuditHistoryCli(['order-1'], {
      stdout: () => {
        opened = true;
      },
      stderr: (text) => {
        stderr += text;
      },
    });

    // Assess
    expect(code).toBe(2);
    expect(opened).toBe(false);
    expect(stderr).toContain(
      'a local store is read only through the sandbox (npm run audit:history): give --bucket',
    );
  });
});
