import * as errors from '@opensearch-project/opensearch/lib/errors.js';
import { orderItemSchema } from '../orders/order.js';
import * as z from '../zod.js';
import type { SearchClient } from './opensearch-client-options.js';
import { describeClientError } from './opensearch-index.js';
import {
  InvalidCursorError,
  ORDERS_INDEX,
  type OrderDocument,
  type OrderSearch,
  type OrderSearchPage,
  type OrderSearchQuery,
} from './orders-index.js';

/** The search path, scoped to the index like the bulk path (the API's role may read `orders/*` only). */
export const ORDERS_SEARCH_PATH = `/${ORDERS_INDEX}/_search`;

/** The order of results: newest change first, the order id breaking ties so that every position is unique. */
export const ORDERS_SEARCH_SORT = [{ updatedAt: 'desc' }, { orderId: 'asc' }] as const;

/**
 * The simple_query_string operators a user may type: and/or/not, phrases, prefixes (`ada*`), grouping, escaping.
 * Fuzzy, slop and near are left out: they expand into many terms for a feature nobody asked of an order search.
 */
const QUERY_FLAGS = 'AND|OR|NOT|PHRASE|PREFIX|PRECEDENCE|WHITESPACE|ESCAPE';

/** A cursor's payload: the sort values of the last item of a page (updatedAt in epoch ms, orderId). */
const sortValuesSchema = z.tuple([
  z.int().check(z.gte(0), z.lte(8_640_000_000_000_000)),
  z.string().check(z.minLength(1), z.maxLength(512)),
]);
const cursorSchema = z.strictObject({ v: z.literal(1), after: sortValuesSchema });
type CursorPayload = z.infer<typeof cursorSchema>;

const BASE64URL_PATTERN = /^[A-Za-z0-9_-]+$/;

/** Encodes the position after `sortValues` as an opaque cursor: base64url (no padding) of a small JSON object. */
export function encodeCursor(sortValues: CursorPayload['after']): string {
  const payload: CursorPayload = { v: 1, after: sortValues };
  return Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
}

/**
 * Decodes a cursor strictly; anything encodeCursor could not have produced throws InvalidCursorError: characters
 * outside base64url, padding, non-canonical trailing bits, bytes that are not UTF-8 JSON, or JSON of another shape.
 * A cursor is opaque, not secret: forging a well-formed one only moves the position, which filters can do too.
 */
export function decodeCursor(cursor: string): CursorPayload['after'] {
  if (!BASE64URL_PATTERN.test(cursor)) {
    throw new InvalidCursorError();
  }
  const bytes = Buffer.from(cursor, 'base64url');
  // Node decodes leniently (stray trailing bits, a truncated last group); only the canonical encoding is ours.
  if (bytes.toString('base64url') !== cursor) {
    throw new InvalidCursorError();
  }
  let payload: unknown;
  try {
    payload = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new InvalidCursorError();
  }
  const parsed = cursorSchema.safeParse(payload);
  if (!parsed.success) {
    throw new InvalidCursorError();
  }
  return parsed.data.after;
}

/** A live order's document as the API trusts it: the stored order's schema plus `deleted: false`. */
const orderDocumentSchema = z.extend(orderItemSchema, { deleted: z.literal(false) });

const searchResponseSchema = z.looseObject({
  timed_out: z.optional(z.boolean()),
  _shards: z.optional(z.looseObject({ failed: z.optional(z.number()) })),
  hits: z.looseObject({
    hits: z.array(
      z.looseObject({
        _id: z.optional(z.string()),
        _source: z.unknown(),
        sort: z.optional(z.array(z.unknown())),
      }),
    ),
  }),
});

/** The search did not produce a complete, understandable page: a timeout, a failed shard, a document not an order. */
export class OrderSearchResponseError extends Error {
  public constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OrderSearchResponseError';
  }
}

/** OpenSearch refused or failed the search request (or could not be reached). */
export class OrderSearchRequestError extends Error {
  public constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OrderSearchRequestError';
  }
}

/**
 * {@link OrderSearch} on the `orders` index: one `POST /orders/_search` per page.
 *
 * - Tombstones are excluded with `must_not: term deleted=true` (a live document has `deleted: false`).
 * - `status` and `customerId` are exact `term` filters on their keyword fields.
 * - `q` matches when either the e-mail matches it as a `simple_query_string` (all words required, so
 *   `ada@example.com` does not match everyone at example.com), or the whole of it (trimmed) equals an order id
 *   (lower-cased: ids are stored so), a customer id or one of the SKUs. Exact `term`s rather than a multi_match on the
 *   keywords: each id field gets exactly the normalisation it needs, and ids are pasted whole, so splitting `q` into
 *   words would only make `a b` match orders of a OR b, unlike the e-mail's all-words rule.
 * - Everything sits in filter context: results are sorted, never scored, and filters are cacheable.
 * - Sorted by `updatedAt` desc, then `orderId` asc; `size: limit + 1` tells whether there is a next page without
 *   another request, and `search_after` the last item's sort values continue it: stable under concurrent writes,
 *   unlike `from`, and without the server-side state of a scroll or point in time. `track_total_hits: false`: no
 *   count is shown, so none is computed.
 * - A missing index answers an empty page: the sync creates it before its first document, so there is nothing yet.
 * - Every hit's `_source` is validated; a hit that is not a live order fails the search (OrderSearchResponseError)
 *   instead of being skipped. So does a timed-out or partial (failed shard) search.
 */
export class OpenSearchOrderSearch implements OrderSearch {
  readonly #client: SearchClient;

  public constructor(client: SearchClient) {
    this.#client = client;
  }

  public async search(query: OrderSearchQuery): Promise<OrderSearchPage> {
    if (!Number.isInteger(query.limit) || query.limit < 1 || query.limit > 100) {
      throw new RangeError(`limit must be an integer from 1 to 100, got ${query.limit}`);
    }
    const searchAfter = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    let body: unknown;
    try {
      ({ body } = await this.#client.transport.request({
        method: 'POST',
        path: ORDERS_SEARCH_PATH,
        body: searchRequestBody(query, searchAfter),
      }));
    } catch (error) {
      if (isIndexNotFound(error)) {
        return { items: [] };
      }
      throw new OrderSearchRequestError(`OpenSearch search failed: ${describeClientError(error)}`, {
        cause: error,
      });
    }
    return toPage(body, query.limit);
  }
}

/** The `_search` body of a query; `searchAfter` the decoded cursor. */
export function searchRequestBody(
  query: OrderSearchQuery,
  searchAfter?: readonly [number, string],
): Record<string, unknown> {
  const filter: Record<string, unknown>[] = [];
  if (query.status !== undefined) {
    filter.push({ term: { status: query.status } });
  }
  if (query.customerId !== undefined) {
    filter.push({ term: { customerId: query.customerId } });
  }
  const q = query.q?.trim();
  if (q !== undefined && q !== '') {
    filter.push({
      bool: {
        should: [
          {
            simple_query_string: {
              query: q,
              fields: ['customerEmail'],
              default_operator: 'and',
              flags: QUERY_FLAGS,
            },
          },
          { term: { orderId: q.toLowerCase() } },
          { term: { customerId: q } },
          { term: { 'lines.sku': q } },
        ],
        minimum_should_match: 1,
      },
    });
  }
  return {
    size: query.limit + 1,
    track_total_hits: false,
    query: { bool: { filter, must_not: [{ term: { deleted: true } }] } },
    sort: ORDERS_SEARCH_SORT,
    ...(searchAfter === undefined ? {} : { search_after: [...searchAfter] }),
  };
}

function toPage(body: unknown, limit: number): OrderSearchPage {
  const parsed = searchResponseSchema.safeParse(body);
  if (!parsed.success) {
    throw new OrderSearchResponseError('The OpenSearch response is not a search response', {
      cause: parsed.error,
    });
  }
  const { timed_out: timedOut, _shards: shards, hits } = parsed.data;
  if (timedOut === true || (shards?.failed ?? 0) > 0) {
    throw new OrderSearchResponseError(
      `The search was incomplete (timed out: ${timedOut === true}, failed shards: ${shards?.failed ?? 0})`,
    );
  }
  const page = hits.hits.slice(0, limit);
  const items: OrderDocument[] = page.map((hit) => {
    const document = orderDocumentSchema.safeParse(hit._source);
    if (!document.success) {
      throw new OrderSearchResponseError(`Search hit ${hit._id ?? '(no id)'} is not a live order document`, {
        cause: document.error,
      });
    }
    return document.data;
  });
  const last = page.at(-1);
  if (hits.hits.length <= limit || last === undefined) {
    return { items };
  }
  const sort = sortValuesSchema.safeParse(last.sort);
  if (!sort.success) {
    throw new OrderSearchResponseError(`Search hit ${last._id ?? '(no id)'} has no usable sort values`, {
      cause: sort.error,
    });
  }
  return { items, nextCursor: encodeCursor(sort.data) };
}

function isIndexNotFound(error: unknown): boolean {
  if (!(error instanceof errors.ResponseError) || error.meta.statusCode !== 404) {
    return false;
  }
  const body: unknown = error.meta.body;
  if (typeof body !== 'object' || body === null) return false;
  return (body as { error?: { type?: unknown } }).error?.type === 'index_not_found_exception';
}
