import type { Order, OrderStatus } from '../orders/order.js';
import type { RecordOutcome } from '../stream/stream-handler.js';

/**
 * The `orders` search index: its name, its explicit mappings, the document written for an order and for a deleted
 * order (a tombstone), and the ports through which code writes and searches it. Pure: no client here, so the CDK app
 * (index name in IAM paths), the sync function, the API and the sandbox share it.
 *
 * Versioning (docs/pipelines/search-sync.md): every document is written with `version_type=external_gte` and
 * version = the order's `version` attribute, which every API write increments. OpenSearch keeps a write whose
 * version is greater than or equal to the stored one and refuses an older one with 409, which the sync treats as
 * success (a newer version is there already). A delete is a tombstone document at version + 1, not a DELETE: a
 * deleted document's version is forgotten after `index.gc_deletes` (60 s), after which a late stale write would
 * bring the order back. Searches exclude tombstones.
 */

/** The index name. */
export const ORDERS_INDEX = 'orders';

/** A line as indexed. */
export interface OrderDocumentLine {
  readonly sku: string;
  readonly qty: number;
  readonly unitPriceCents: number;
}

/** The document of a live order. */
export interface OrderDocument {
  readonly orderId: string;
  readonly customerId: string;
  readonly customerEmail: string;
  readonly currency: string;
  readonly totalCents: number;
  readonly status: OrderStatus;
  readonly version: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly lines: readonly OrderDocumentLine[];
  readonly deleted: false;
}

/** The document that replaces a deleted order: enough to be excluded and to win over any stale write. */
export interface TombstoneDocument {
  readonly orderId: string;
  /** The deleted order's last version + 1. */
  readonly version: number;
  readonly deleted: true;
  /** ISO-8601 time of the delete (the stream record's time). */
  readonly deletedAt: string;
  readonly removedBy: 'user' | 'ttl';
}

export type IndexedDocument = OrderDocument | TombstoneDocument;

/**
 * The explicit mappings (`dynamic: strict`: a field the code does not know is a mapping error, never a silently
 * guessed type): keyword ids, status and currency; long cents and versions; date timestamps; text (with a keyword
 * sub-field) for the customer's e-mail, the one free-text field.
 */
export const ORDERS_INDEX_MAPPINGS = {
  dynamic: 'strict',
  properties: {
    orderId: { type: 'keyword' },
    customerId: { type: 'keyword' },
    customerEmail: { type: 'text', fields: { raw: { type: 'keyword', ignore_above: 254 } } },
    currency: { type: 'keyword' },
    totalCents: { type: 'long' },
    status: { type: 'keyword' },
    version: { type: 'long' },
    createdAt: { type: 'date', format: 'strict_date_optional_time' },
    updatedAt: { type: 'date', format: 'strict_date_optional_time' },
    lines: {
      properties: {
        sku: { type: 'keyword' },
        qty: { type: 'integer' },
        unitPriceCents: { type: 'long' },
      },
    },
    deleted: { type: 'boolean' },
    deletedAt: { type: 'date', format: 'strict_date_optional_time' },
    removedBy: { type: 'keyword' },
  },
} as const;

/**
 * The index settings. One shard: the index holds one document per order, far below a shard's comfortable size, and
 * one shard keeps `search_after` pagination and relevance simple. Replicas follow the domain's zone awareness.
 */
export function ordersIndexSettings(replicas: number): Record<string, unknown> {
  return { number_of_shards: 1, number_of_replicas: replicas };
}

export function toOrderDocument(order: Order): OrderDocument {
  return {
    orderId: order.orderId,
    customerId: order.customerId,
    customerEmail: order.customerEmail,
    currency: order.currency,
    totalCents: order.totalCents,
    status: order.status,
    version: order.version,
    createdAt: order.createdAt,
    updatedAt: order.updatedAt,
    lines: order.lines.map((line) => ({ sku: line.sku, qty: line.qty, unitPriceCents: line.unitPriceCents })),
    deleted: false,
  };
}

/** The tombstone of an order deleted at `lastVersion`: one version higher than anything the order ever had. */
export function tombstoneDocument(
  orderId: string,
  lastVersion: number,
  deletedAt: string,
  removedBy: 'user' | 'ttl',
): TombstoneDocument {
  return { orderId, version: lastVersion + 1, deleted: true, deletedAt, removedBy };
}

/** One document to write: id = orderId, written with `version_type=external_gte` at `document.version`. */
export interface IndexOperation {
  readonly document: IndexedDocument;
}

/**
 * Port: writes documents to the `orders` index. One call = one `_bulk` request. `results[i]` is the outcome of
 * `operations[i]`: ok (created, updated, or 409: a newer or equal version is indexed), transient (429, 5xx) or
 * permanent (a mapping or parse error of this document). A request that fails as a whole throws.
 */
export interface SearchIndex {
  bulkIndex(operations: readonly IndexOperation[]): Promise<RecordOutcome[]>;
}

/** What `GET /orders/search` asks. */
export interface OrderSearchQuery {
  /** Free text: matched against the e-mail, and exactly against order id, customer id and SKUs. */
  readonly q?: string;
  readonly status?: OrderStatus;
  readonly customerId?: string;
  /** Page size, 1 to 100. */
  readonly limit: number;
  /** Opaque cursor from the previous page's `nextCursor`. */
  readonly cursor?: string;
}

export interface OrderSearchPage {
  /** Live orders only (tombstones are excluded), newest `updatedAt` first, then by order id. */
  readonly items: readonly OrderDocument[];
  /** Present when there may be more. */
  readonly nextCursor?: string;
}

/** Port: searches the `orders` index, for the API. */
export interface OrderSearch {
  search(query: OrderSearchQuery): Promise<OrderSearchPage>;
}

/** Thrown for a cursor the API did not issue (or that was tampered with): the caller answers 400 naming `cursor`. */
export class InvalidCursorError extends Error {
  public constructor() {
    super('cursor is not a cursor this API issued');
    this.name = 'InvalidCursorError';
  }
}
