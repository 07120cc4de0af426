import type { SearchClient } from '../../lambdas/shared/search/opensearch-client-options.js';
import { ORDERS_INDEX } from '../../lambdas/shared/search/orders-index.js';

/**
 * The verify side of the backfill: every document of the `orders` index, read with `search_after` pages sorted by
 * `orderId` (a keyword field every document has, live or tombstone, and unique: it is the document id), so the scan
 * needs no server-side state (a scroll context) and pages do not shift as documents are written meanwhile.
 */

/** What the drift report needs of one indexed document. */
export interface IndexedOrder {
  readonly orderId: string;
  /** The document's version: `_version` (with external versioning, the version the writer gave). */
  readonly version: number;
  /** A tombstone (the order was deleted). */
  readonly deleted: boolean;
}

/**
 * The client the scan calls: the project's OpenSearch client (lambdas/shared/search/opensearch-client.ts), whose
 * transport sends `POST /<index>/_refresh` and `POST /<index>/_search`.
 */
export type IndexScanClient = Pick<SearchClient, 'transport'>;

/** Documents per search page; OpenSearch's default `index.max_result_window` allows up to 10,000. */
export const INDEX_SCAN_PAGE_SIZE = 1_000;

interface Hit {
  readonly _id?: string;
  readonly _version?: number;
  readonly _source?: { orderId?: unknown; version?: unknown; deleted?: unknown };
  readonly sort?: readonly unknown[];
}

/** Whether an error is the client's 404 for an index that does not exist. */
function isIndexNotFound(error: unknown): boolean {
  const candidate = error as { statusCode?: unknown; meta?: { statusCode?: unknown } } | null;
  return candidate?.statusCode === 404 || candidate?.meta?.statusCode === 404;
}

/**
 * Reads every document of the index. A refresh first makes what was written up to now searchable (a search sees
 * a document only after the index refreshed, once a second by default). An index that does not exist has no
 * documents.
 */
export async function scanIndexedOrders(
  client: IndexScanClient,
  options: { readonly index?: string; readonly pageSize?: number } = {},
): Promise<IndexedOrder[]> {
  const index = options.index ?? ORDERS_INDEX;
  const size = options.pageSize ?? INDEX_SCAN_PAGE_SIZE;
  try {
    await client.transport.request({ method: 'POST', path: `/${encodeURIComponent(index)}/_refresh` });
  } catch (error) {
    if (isIndexNotFound(error)) return [];
    throw error;
  }
  const documents: IndexedOrder[] = [];
  let after: readonly unknown[] | undefined;
  for (;;) {
    const { body } = await client.transport.request({
      method: 'POST',
      path: `/${encodeURIComponent(index)}/_search`,
      body: {
        size,
        query: { match_all: {} },
        sort: [{ orderId: 'asc' }],
        ...(after === undefined ? {} : { search_after: after }),
        _source: ['orderId', 'version', 'deleted'],
        version: true,
        track_total_hits: false,
      },
    });
    const hits = ((body as { hits?: { hits?: Hit[] } }).hits?.hits ?? []) as Hit[];
    for (const hit of hits) {
      const orderId = typeof hit._source?.orderId === 'string' ? hit._source.orderId : hit._id;
      const version =
        hit._version ?? (typeof hit._source?.version === 'number' ? hit._source.version : undefined);
      if (orderId === undefined || version === undefined) continue;
      documents.push({ orderId, version, deleted: hit._source?.deleted === true });
    }
    const last = hits.at(-1);
    if (hits.length < size || last?.sort === undefined) return documents;
    after = last.sort;
  }
}
