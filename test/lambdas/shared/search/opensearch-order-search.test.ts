import { describe, expect, it } from 'vitest';
import { createOpenSearchClient } from '../../../../lambdas/shared/search/opensearch-client.js';
import {
  decodeCursor,
  encodeCursor,
  OpenSearchOrderSearch,
  OrderSearchRequestError,
  OrderSearchResponseError,
} from '../../../../lambdas/shared/search/opensearch-order-search.js';
import {
  InvalidCursorError,
  type OrderDocument,
  tombstoneDocument,
  toOrderDocument,
} from '../../../../lambdas/shared/search/orders-index.js';
import { errorBody, OpenSearchConnectionMock } from '../../../support/opensearch-connection-mock.js';
import { storedOrder } from '../../../support/orders.js';

function orderId(n: number): string {
  return `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
}

function document(n: number, updatedAt = `2030-01-0${n}T00:00:00.000Z`): OrderDocument {
  return toOrderDocument(storedOrder({ orderId: orderId(n), updatedAt }));
}

function setup() {
  const mock = new OpenSearchConnectionMock();
  const client = createOpenSearchClient({
    endpoint: 'http://127.0.0.1:9200',
    sign: false,
    Connection: mock.Connection,
  });
  return { mock, search: new OpenSearchOrderSearch(client) };
}

/** A search response whose hits carry the sort values OpenSearch returns: updatedAt in epoch ms, then orderId. */
function hitsResponse(documents: readonly unknown[]): { status: number; body: unknown } {
  return {
    status: 200,
    body: {
      took: 2,
      timed_out: false,
      _shards: { total: 1, successful: 1, skipped: 0, failed: 0 },
      hits: {
        max_score: null,
        hits: documents.map((source) => {
          const { orderId: id, updatedAt } = source as { orderId: string; updatedAt?: string };
          return {
            _index: 'orders',
            _id: id,
            _score: null,
            _source: source,
            sort: [Date.parse(updatedAt ?? '2030-01-01T00:00:00.000Z'), id],
          };
        }),
      },
    },
  };
}

const BASE_QUERY = {
  bool: { filter: [], must_not: [{ term: { deleted: true } }] },
};

describe('OpenSearchOrderSearch', () => {
  it('sends POST /orders/_search excluding tombstones, newest first, one more than the limit, no total', async () => {
    // Prepare
    const { mock, search } = setup();
    mock.reply(hitsResponse([document(2), document(1)]));

    // Act
    const page = await search.search({ limit: 20 });

    // Assess
    expect(page).toEqual({ items: [document(2), document(1)] });
    expect(mock.requests.map(({ method, path, querystring }) => ({ method, path, querystring }))).toEqual([
      { method: 'POST', path: '/orders/_search', querystring: '' },
    ]);
    expect(mock.jsonBodies()[0]).toEqual({
      size: 21,
      track_total_hits: false,
      query: BASE_QUERY,
      sort: [{ updatedAt: 'desc' }, { orderId: 'asc' }],
    });
  });

  it('filters by status and customer exactly, and matches q on the e-mail or exactly on the ids', async () => {
    // Prepare
    const { mock, search } = setup();
    mock.reply(hitsResponse([]));

    // Act
    await search.search({
      q: '  0B8E1C9E-4F6A-4D2B-9C1E-2F3A4B5C6D7E ',
      status: 'PAID',
      customerId: 'cust-7',
      limit: 5,
    });

    // Assess
    expect(mock.jsonBodies()[0]).toEqual({
      size: 6,
      track_total_hits: false,
      query: {
        bool: {
          filter: [
            { term: { status: 'PAID' } },
            { term: { customerId: 'cust-7' } },
            {
              bool: {
                should: [
                  {
                    simple_query_string: {
                      query: '0B8E1C9E-4F6A-4D2B-9C1E-2F3A4B5C6D7E',
                      fields: ['customerEmail'],
                      default_operator: 'and',
                      flags: 'AND|OR|NOT|PHRASE|PREFIX|PRECEDENCE|WHITESPACE|ESCAPE',
                    },
                  },
                  { term: { orderId: '0b8e1c9e-4f6a-4d2b-9c1e-2f3a4b5c6d7e' } },
                  { term: { customerId: '0B8E1C9E-4F6A-4D2B-9C1E-2F3A4B5C6D7E' } },
                  { term: { 'lines.sku': '0B8E1C9E-4F6A-4D2B-9C1E-2F3A4B5C6D7E' } },
                ],
                minimum_should_match: 1,
              },
            },
          ],
          must_not: [{ term: { deleted: true } }],
        },
      },
      sort: [{ updatedAt: 'desc' }, { orderId: 'asc' }],
    });
  });

  it('ignores a blank q', async () => {
    // Prepare
    const { mock, search } = setup();
    mock.reply(hitsResponse([]));

    // Act
    await search.search({ q: '   ', limit: 1 });

    // Assess
    expect(mock.jsonBodies()[0]).toMatchObject({ query: BASE_QUERY });
  });

  it('pages with search_after from the cursor of the last item, until a page is not full', async () => {
    // Prepare
    const { mock, search } = setup();
    mock.reply(
      hitsResponse([document(4), document(3), document(2)]),
      hitsResponse([document(2), document(1)]),
    );

    // Act
    const first = await search.search({ limit: 2 });
    const second = await search.search({ limit: 2, cursor: first.nextCursor });

    // Assess
    expect(first.items).toEqual([document(4), document(3)]);
    expect(first.nextCursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(first.nextCursor ?? '')).toEqual([
      Date.parse('2030-01-03T00:00:00.000Z'),
      orderId(3),
    ]);
    expect(mock.jsonBodies()[1]).toMatchObject({
      size: 3,
      search_after: [Date.parse('2030-01-03T00:00:00.000Z'), orderId(3)],
    });
    expect(second).toEqual({ items: [document(2), document(1)] });
  });

  it.each([
    { name: 'not base64url', cursor: 'abc+/=' },
    { name: 'padded', cursor: `${encodeCursor([1, 'a'])}==` },
    // The canonical encoding of {"v":1} ends in Q; R decodes to the same bytes.
    { name: 'non-canonical trailing bits', cursor: 'eyJ2IjoxfR' },
    { name: 'not JSON', cursor: Buffer.from('not json').toString('base64url') },
    { name: 'not UTF-8', cursor: Buffer.from([0xff, 0xfe, 0x7b]).toString('base64url') },
    { name: 'another version', cursor: Buffer.from('{"v":2,"after":[1,"a"]}').toString('base64url') },
    { name: 'an extra key', cursor: Buffer.from('{"v":1,"after":[1,"a"],"x":1}').toString('base64url') },
    { name: 'a fractional time', cursor: Buffer.from('{"v":1,"after":[1.5,"a"]}').toString('base64url') },
    { name: 'a negative time', cursor: Buffer.from('{"v":1,"after":[-1,"a"]}').toString('base64url') },
    { name: 'an empty id', cursor: Buffer.from('{"v":1,"after":[1,""]}').toString('base64url') },
    { name: 'three sort values', cursor: Buffer.from('{"v":1,"after":[1,"a",2]}').toString('base64url') },
    { name: 'an array', cursor: Buffer.from('[1,"a"]').toString('base64url') },
  ])('refuses a cursor that is $name with InvalidCursorError, without a request', async ({ cursor }) => {
    // Prepare
    const { mock, search } = setup();

    // Act
    const searching = search.search({ limit: 10, cursor });

    // Assess
    await expect(searching).rejects.toBeInstanceOf(InvalidCursorError);
    expect(mock.requests).toEqual([]);
  });

  it('round-trips a cursor', () => {
    // Prepare
    const position: [number, string] = [1_893_456_000_000, orderId(5)];

    // Act
    const decoded = decodeCursor(encodeCursor(position));

    // Assess
    expect(decoded).toEqual(position);
  });

  it('answers an empty page while the index does not exist yet', async () => {
    // Prepare
    const { mock, search } = setup();
    mock.reply({ status: 404, body: errorBody(404, 'index_not_found_exception', 'no such index [orders]') });

    // Act
    const page = await search.search({ limit: 20 });

    // Assess
    expect(page).toEqual({ items: [] });
  });

  it.each([
    { name: 'a 500', answer: { status: 500, body: errorBody(500, 'exception', 'boom') }, requests: 1 },
    {
      name: 'a 503, retried once',
      answer: { status: 503, body: errorBody(503, 'unavailable', 'x') },
      requests: 2,
    },
    {
      name: 'a 400',
      answer: { status: 400, body: errorBody(400, 'parsing_exception', 'bad query') },
      requests: 1,
    },
    { name: 'a network error, retried once', answer: { fail: 'network' as const }, requests: 2 },
  ])('fails with OrderSearchRequestError on $name', async ({ answer, requests }) => {
    // Prepare
    const { mock, search } = setup();
    mock.reply(answer, answer);

    // Act
    const searching = search.search({ limit: 20 });

    // Assess
    await expect(searching).rejects.toBeInstanceOf(OrderSearchRequestError);
    expect(mock.requests).toHaveLength(requests);
  });

  it.each([
    { name: 'a tombstone', source: tombstoneDocument(orderId(1), 3, '2030-01-01T00:00:00.000Z', 'user') },
    { name: 'a document without lines', source: { ...document(1), lines: [] } },
    { name: 'a document with a bad status', source: { ...document(1), status: 'LOST' } },
  ])('fails instead of skipping a hit that is $name', async ({ source }) => {
    // Prepare
    const { mock, search } = setup();
    mock.reply(hitsResponse([document(2), source]));

    // Act
    const searching = search.search({ limit: 20 });

    // Assess
    await expect(searching).rejects.toThrow(OrderSearchResponseError);
    await expect(searching).rejects.toThrow(`Search hit ${orderId(1)} is not a live order document`);
  });

  it.each([
    { name: 'timed out', patch: { timed_out: true } },
    { name: 'partial', patch: { _shards: { total: 1, successful: 0, failed: 1 } } },
  ])('fails on a search that $name', async ({ patch }) => {
    // Prepare
    const { mock, search } = setup();
    const response = hitsResponse([document(1)]);
    mock.reply({ status: 200, body: { ...(response.body as object), ...patch } });

    // Act
    const searching = search.search({ limit: 20 });

    // Assess
    await expect(searching).rejects.toThrow(OrderSearchResponseError);
  });

  it('refuses a limit outside 1 to 100 without a request', async () => {
    // Prepare
    const { mock, search } = setup();

    // Act
    const searching = search.search({ limit: 101 });

    // Assess
    await expect(searching).rejects.toThrow(RangeError);
    expect(mock.requests).toEqual([]);
  });
});
