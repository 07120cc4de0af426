import type { BackfillSummary, VerifySummary } from './backfill-run.js';

/** The text summaries of `npm run backfill:search` and `npm run ops -- backfill search` (without --json). */

/** At most this many entries of a list in the text summary; --json has them all. */
const LISTED = 20;

function listed<T>(items: readonly T[], show: (item: T) => string): string[] {
  const lines = items.slice(0, LISTED).map((item) => `    - ${show(item)}`);
  if (items.length > LISTED) lines.push(`    ... and ${items.length - LISTED} more (--json lists them all)`);
  return lines;
}

/** The text summary of a write or a dry run. */
export function describeBackfill(summary: BackfillSummary): string {
  const statuses = Object.entries(summary.byStatus)
    .map(([status, count]) => `${status} ${count}`)
    .join(', ');
  const head =
    summary.mode === 'write'
      ? `Backfill of ${summary.table}: ${summary.indexed} of ${summary.orders} orders written or already current ` +
        `in ${summary.bulkRequests} _bulk requests (${summary.retries} retries)`
      : `Dry run of ${summary.table}: would write ${summary.orders} orders in ${summary.bulkRequests} _bulk requests`;
  return [
    '',
    `${head}; ${summary.scanned} items scanned with ${summary.segments} segments in ` +
      `${(summary.durationMs / 1000).toFixed(1)} s (${summary.itemsPerSecond} items/s)`,
    ...(statuses === '' ? [] : [`  by status: ${statuses}`]),
    ...(summary.invalid.length === 0
      ? []
      : [
          `  ${summary.invalid.length} items are not orders (not written):`,
          ...listed(summary.invalid, (item) => `${item.orderId ?? '(no orderId)'}: ${item.reason}`),
        ]),
    ...(summary.failed.length === 0
      ? []
      : [
          `  ${summary.failed.length} orders could not be written:`,
          ...listed(summary.failed, (item) => `${item.orderId}: ${item.reason}`),
        ]),
    summary.ok ? '  ok' : '  NOT everything is in the index',
    '',
  ].join('\n');
}

/** The text summary of a drift report. */
export function describeVerify(summary: VerifySummary): string {
  const { drift } = summary;
  const kind = <T>(name: string, items: readonly T[], show: (item: T) => string): string[] =>
    items.length === 0 ? [] : [`  ${name}: ${items.length}`, ...listed(items, show)];
  const versions = (item: { orderId: string; tableVersion: number; indexVersion: number }): string =>
    `${item.orderId}: table ${item.tableVersion}, index ${item.indexVersion}`;
  return [
    '',
    `Drift report of ${summary.table} against the index: ${drift.tableOrders} orders in the table, ` +
      `${drift.indexDocuments.live} live documents and ${drift.indexDocuments.tombstones} tombstones in the index, ` +
      `${drift.inSync} in sync`,
    ...kind('missing from the index', drift.missing, (item) => `${item.orderId}: table ${item.tableVersion}`),
    ...kind('stale (index older than the table)', drift.stale, versions),
    ...kind('ahead (index newer than the table)', drift.ahead, versions),
    ...kind('live documents of orders not in the table (a missed delete)', drift.orphaned, (item) => {
      return `${item.orderId}: index ${item.indexVersion}`;
    }),
    ...kind('tombstones of orders that exist', drift.tombstoned, versions),
    ...(summary.invalid.length === 0 ? [] : [`  (${summary.invalid.length} table items are not orders)`]),
    summary.ok ? '  no drift' : `  DRIFT: ${drift.driftCount} orders`,
    '',
  ].join('\n');
}

/** The text summary of any backfill run: the drift report of --verify, else the write's or the dry run's. */
export function describeBackfillRun(summary: BackfillSummary | VerifySummary): string {
  return summary.mode === 'verify' ? describeVerify(summary) : describeBackfill(summary);
}
