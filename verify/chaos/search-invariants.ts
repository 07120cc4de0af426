import { isDeepStrictEqual } from 'node:util';
import type { Order } from '../../lambdas/shared/orders/order.js';
import { toOrderDocument } from '../../lambdas/shared/search/orders-index.js';
import { MAX_PROBLEMS } from './invariants.js';

/**
 * The search sync's check of a chaos run (docs/pipelines/search-sync.md): after the streams drained, the `orders` index must
 * equal the Orders table, whatever the run's faults did to the deliveries (crashes and timeouts of the function,
 * 503s of whole requests and 429s of bulk items from the local OpenSearch). Pure, for its own tests.
 *
 * - every order in the table has a live document with exactly its version and fields (toOrderDocument of the
 *   scanned item): otherwise `missing` (no document) or `stale` (another version or other fields, or a tombstone);
 * - every order the run deleted has its tombstone (`{ orderId, version: last + 1, deleted: true, deletedAt,
 *   removedBy }`) or no document: a live document is `resurrected`, a tombstone of another version or shape `stale`;
 * - no document exists for an order the run never had: `extra`.
 */

/** The document of an index as the check reads it. */
export interface IndexedDocument {
  readonly version: number;
  readonly source: Readonly<Record<string, unknown>>;
}

/** An order the run deleted, and the version it had then (chaos/truth.ts: the If-Match of its DELETE). */
export interface DeletedOrderTruth {
  readonly orderId: string;
  readonly lastVersion: number;
}

export interface SearchCheckInput {
  /** Every order of the Orders table at the end of the run. */
  readonly table: readonly Order[];
  /** Every order the run deleted. */
  readonly deleted: readonly DeletedOrderTruth[];
  /** The documents of the `orders` index, by id. */
  readonly documents: ReadonlyMap<string, IndexedDocument>;
}

/** The result, part of the chaos result as `search`. */
export interface SearchReport {
  /** Documents in the index. */
  readonly documents: number;
  /** Of them, live order documents (`deleted: false`). */
  readonly live: number;
  /** Of them, tombstones (`deleted: true`). */
  readonly tombstones: number;
  /** Orders of the table without a document. */
  readonly missing: number;
  /**
   * Documents that are not what the table says: another version or fields, a tombstone of a live order, a wrong
   * tombstone.
   */
  readonly stale: number;
  /** Documents of orders the run never had. */
  readonly extra: number;
  /** Live documents of deleted orders. */
  readonly resurrected: number;
  readonly ok: boolean;
  /** Up to MAX_PROBLEMS examples, for the log. */
  readonly problems: readonly string[];
}

const TOMBSTONE_FIELDS = ['deleted', 'deletedAt', 'orderId', 'removedBy', 'version'];

/** Why a document is not the tombstone of `orderId` deleted at `lastVersion`; undefined when it is. */
function tombstoneProblem(
  orderId: string,
  lastVersion: number,
  document: IndexedDocument,
): string | undefined {
  const { source } = document;
  const fields = Object.keys(source).sort();
  if (!isDeepStrictEqual(fields, TOMBSTONE_FIELDS)) return `its fields are ${fields.join(', ')}`;
  if (source.orderId !== orderId) return `it names order ${String(source.orderId)}`;
  if (document.version !== lastVersion + 1 || source.version !== lastVersion + 1) {
    return `it is at version ${document.version} (source ${String(source.version)}), not ${lastVersion + 1}`;
  }
  if (source.removedBy !== 'user' && source.removedBy !== 'ttl')
    return `removedBy is ${String(source.removedBy)}`;
  if (typeof source.deletedAt !== 'string' || !Number.isFinite(Date.parse(source.deletedAt))) {
    return `deletedAt is ${String(source.deletedAt)}`;
  }
  return undefined;
}

/** Checks the index against the table; see the module comment. */
export function checkSearchIndex(input: SearchCheckInput): SearchReport {
  const problems: string[] = [];
  const problem = (text: string): void => {
    if (problems.length < MAX_PROBLEMS) problems.push(text);
  };
  let missing = 0;
  let stale = 0;
  let extra = 0;
  let resurrected = 0;
  const known = new Set<string>();

  for (const order of input.table) {
    known.add(order.orderId);
    const document = input.documents.get(order.orderId);
    if (document === undefined) {
      missing += 1;
      problem(`order ${order.orderId} (version ${order.version}) has no document in the index`);
      continue;
    }
    if (document.source.deleted === true) {
      stale += 1;
      problem(
        `order ${order.orderId} exists at version ${order.version}, but the index holds its tombstone (version ${document.version})`,
      );
      continue;
    }
    const expected = toOrderDocument(order);
    if (document.version !== order.version || !isDeepStrictEqual({ ...document.source }, { ...expected })) {
      stale += 1;
      problem(
        `order ${order.orderId}: the index holds version ${document.version} ${JSON.stringify(document.source)}, ` +
          `the table version ${order.version} ${JSON.stringify(expected)}`,
      );
    }
  }

  for (const { orderId, lastVersion } of input.deleted) {
    if (known.has(orderId)) {
      // The traffic log says deleted, the table says present: truth.ts reports that; nothing to check here.
      continue;
    }
    known.add(orderId);
    const document = input.documents.get(orderId);
    if (document === undefined) continue;
    if (document.source.deleted !== true) {
      resurrected += 1;
      problem(
        `order ${orderId} was deleted at version ${lastVersion}, but the index holds a live document at version ${document.version}`,
      );
      continue;
    }
    const why = tombstoneProblem(orderId, lastVersion, document);
    if (why !== undefined) {
      stale += 1;
      problem(`the tombstone of order ${orderId} (deleted at version ${lastVersion}) is wrong: ${why}`);
    }
  }

  let live = 0;
  let tombstones = 0;
  for (const [id, document] of input.documents) {
    if (document.source.deleted === true) tombstones += 1;
    else live += 1;
    if (!known.has(id)) {
      extra += 1;
      problem(
        `the index holds a document of ${id} (version ${document.version}), an order the run never had`,
      );
    }
  }

  return {
    documents: input.documents.size,
    live,
    tombstones,
    missing,
    stale,
    extra,
    resurrected,
    ok: missing === 0 && stale === 0 && extra === 0 && resurrected === 0,
    problems,
  };
}
