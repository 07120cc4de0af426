import type { IndexedOrder } from './index-scan.js';

/**
 * The drift report of `npm run backfill:search -- --verify`: the Orders table against the `orders` index, order by
 * order. Pure. What the index should hold (docs/pipelines/search-sync.md): for every order of the table a live document at
 * the order's version; for a deleted order a tombstone (or nothing, had it never been indexed). Anything else is
 * drift, of one of these kinds:
 *
 * - missing: an order with no document at all;
 * - stale: a live document older than the order (index version < table version): a change did not arrive;
 * - ahead: a live document newer than the order (index version > table version). The table's version only grows, so
 *   this means the table was changed behind the versioning (an item restored from a backup, written by hand):
 *   the stream's next writes of this order will lose with 409 until the table passes the index;
 * - orphaned: a live document for an order that is not in the table: a delete that never arrived;
 * - tombstoned: a tombstone for an order that is in the table (restored or re-created after its delete): the order
 *   is hidden from searches.
 *
 * Tombstones of orders that are not in the table are what a delete leaves: counted, not drift. On a live system an
 * order changed in the last seconds can show as stale or missing only because its stream record is still on its
 * way; run the check again before acting on a handful of those.
 */

export interface VersionDrift {
  readonly orderId: string;
  readonly tableVersion: number;
  readonly indexVersion: number;
}

export interface DriftReport {
  /** Orders in the table. */
  readonly tableOrders: number;
  /** Documents in the index, live and tombstones. */
  readonly indexDocuments: { readonly live: number; readonly tombstones: number };
  /** Orders whose live document is at the table's version. */
  readonly inSync: number;
  readonly missing: readonly { readonly orderId: string; readonly tableVersion: number }[];
  readonly stale: readonly VersionDrift[];
  readonly ahead: readonly VersionDrift[];
  readonly orphaned: readonly { readonly orderId: string; readonly indexVersion: number }[];
  readonly tombstoned: readonly VersionDrift[];
  /** Sum of the drift kinds; 0 = the index is the table. */
  readonly driftCount: number;
}

/** Compares the table's orders (id -> version) with the index's documents. Lists are sorted by order id. */
export function compareTableAndIndex(
  table: ReadonlyMap<string, number>,
  documents: readonly IndexedOrder[],
): DriftReport {
  const indexed = new Map(documents.map((document) => [document.orderId, document]));
  const missing: { orderId: string; tableVersion: number }[] = [];
  const stale: VersionDrift[] = [];
  const ahead: VersionDrift[] = [];
  const tombstoned: VersionDrift[] = [];
  let inSync = 0;
  for (const [orderId, tableVersion] of table) {
    const document = indexed.get(orderId);
    if (document === undefined) {
      missing.push({ orderId, tableVersion });
    } else if (document.deleted) {
      tombstoned.push({ orderId, tableVersion, indexVersion: document.version });
    } else if (document.version < tableVersion) {
      stale.push({ orderId, tableVersion, indexVersion: document.version });
    } else if (document.version > tableVersion) {
      ahead.push({ orderId, tableVersion, indexVersion: document.version });
    } else {
      inSync += 1;
    }
  }
  const orphaned = documents
    .filter((document) => !document.deleted && !table.has(document.orderId))
    .map((document) => ({ orderId: document.orderId, indexVersion: document.version }));
  const byId = (a: { orderId: string }, b: { orderId: string }): number =>
    a.orderId < b.orderId ? -1 : a.orderId > b.orderId ? 1 : 0;
  const tombstones = documents.filter((document) => document.deleted).length;
  return {
    tableOrders: table.size,
    indexDocuments: { live: documents.length - tombstones, tombstones },
    inSync,
    missing: missing.sort(byId),
    stale: stale.sort(byId),
    ahead: ahead.sort(byId),
    orphaned: orphaned.sort(byId),
    tombstoned: tombstoned.sort(byId),
    driftCount: missing.length + stale.length + ahead.length + orphaned.length + tombstoned.length,
  };
}
