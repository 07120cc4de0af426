import { runAuditHistoryCli } from '../ops/audit-history/audit-history-cli.js';
import { openLocalAuditObjects } from './local-audit-store.js';

/**
 * `npm run audit:history -- <orderId>`: the change history of one order from the audit bucket (ops/audit-history),
 * or, without --bucket, from this sandbox's local store, which this entry point injects.
 */
process.exitCode = await runAuditHistoryCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  openLocal: (source) => openLocalAuditObjects(source),
});
