import { runAuditHistoryCli } from './audit-history-cli.js';

/**
 * `npm run audit:history -- <orderId>`: the change history of one order from the audit bucket, or from the sandbox's
 * local store (see audit-history-cli.ts and `--help`).
 */
process.exitCode = await runAuditHistoryCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
});
