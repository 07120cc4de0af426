import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createOrdersApiFromTables } from '../../../lambdas/orders-api/compose.js';
import { createOpenSearchClient } from '../../../lambdas/shared/search/opensearch-client.js';
import { OpenSearchOrderSearch } from '../../../lambdas/shared/search/opensearch-order-search.js';
import { type OrderDocument, toOrderDocument } from '../../../lambdas/shared/search/orders-index.js';
import { apiEvent, lambdaContext, responseHeader, responseJson } from '../../support/api-events.js';
import { localDynamoDb } from '../../support/dynamodb.js';
import { OpenSearchConnectionMock } from '../../support/opensearch-connection-mock.js';
import { storedOrder } from '../../support/orders.js';
import { type ApiHarness, createApiHarness, RecordingLogger } from './api-harness.js';
import { InMemoryOrderSearch } from './in-memory-order-search.js';

let harness: ApiHarness;
let search: InMemoryOrderSearch;

function orderId(n: number): string {
  return `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
}

/** Order n, changed on day n of January 2030: a higher n is newer. */
function document(n: number, overrides: Parameters<typeof storedOrder>[0] = {}): OrderDocument {
  return toOrderDocument(
    storedOrder({
      orderId: orderId(n),
      updatedAt: `2030-01-${String(n).padStart(2, '0')}T00:00:00.000Z`,
      ...overrides,
    }),
  );
}

/** What the API answers for an order: the order resource, as `GET /orders/{orderId}` has it (no `deleted`). */
function resource(doc: OrderDocument): Record<string, unknown> {
  const { deleted: _deleted, ...order } = doc;
  return order;
}

const DOCUMENTS = [
  document(1, { customerId: 'cust-a', customerEmail: 'ada@example.com', status: 'PLACED' }),
  document(2, { customerId: 'cust-b', customerEmail: 'bob@example.org', status: 'PAID' }),
  document(3, { customerId: 'cust-a', customerEmail: 'ada@example.com', status: 'PAID' }),
  document(4, { customerId: 'cust-c', customerEmail: 'cy@example.net', status: 'SHIPPED' }),
  document(5, {
    customerId: 'cust-a',
    customerEmail: 'ada@example.com',
    status: 'PAID',
    lines: [{ sku: 'SKU-RARE', qty: 1, unitPriceCents: 100 }],
  }),
];

type Via = 'search resource' | 'order resource' | 'path only';

/**
 * `GET /orders/search` with a query string, as API Gateway sends it: through the `/orders/search` resource; through
 * `/orders/{orderId}` with `orderId = search` (a deployment without the literal resource, or a server that ranks
 * resources by name); or with only a path (a proxy resource, the local server).
 */
function searchEvent(
  query: Readonly<Record<string, string | readonly string[]>> = {},
  via: Via = 'search resource',
  method = 'GET',
): APIGatewayProxyEvent {
  const event = apiEvent({ method, path: '/orders/search' });
  const names = Object.keys(query);
  const multi = Object.fromEntries(
    Object.entries(query).map(([name, value]) => [name, typeof value === 'string' ? [value] : [...value]]),
  );
  const single = Object.fromEntries(
    Object.entries(multi).map(([name, values]) => [name, values.at(-1) ?? '']),
  );
  const routing =
    via === 'search resource'
      ? { resource: '/orders/search', pathParameters: null }
      : via === 'order resource'
        ? { resource: '/orders/{orderId}', pathParameters: { orderId: 'search' } }
        : { resource: '/{proxy+}', pathParameters: { proxy: 'orders/search' } };
  return {
    ...event,
    ...routing,
    queryStringParameters: names.length === 0 ? null : single,
    multiValueQueryStringParameters: names.length === 0 ? null : multi,
  };
}

function get(
  query: Readonly<Record<string, string | readonly string[]>> = {},
  via?: Via,
): Promise<APIGatewayProxyResult> {
  return harness.api(searchEvent(query, via), lambdaContext());
}

interface PageJson {
  items: Record<string, unknown>[];
  nextCursor?: string;
}

beforeAll(async () => {
  search = new InMemoryOrderSearch(DOCUMENTS);
  harness = await createApiHarness({ search });
});

afterAll(async () => {
  await harness.tables.drop();
});

beforeEach(() => {
  search.queries.length = 0;
  search.failWith = undefined;
  harness.logger.entries.length = 0;
});

describe('GET /orders/search', () => {
  it.each<Via>(['search resource', 'order resource', 'path only'])(
    'answers 200 with the orders, newest first, via the %s',
    async (via) => {
      // Act
      const response = await get({}, via);

      // Assess
      expect(response.statusCode).toBe(200);
      expect(responseHeader(response, 'Content-Type')).toBe('application/json; charset=utf-8');
      expect(responseHeader(response, 'Cache-Control')).toBe('no-store');
      expect(responseJson(response)).toEqual({ items: [...DOCUMENTS].reverse().map(resource) });
      expect(search.queries).toEqual([{ limit: 20 }]);
    },
  );

  it('passes the filters on, trimmed, and answers their matches', async () => {
    // Act
    const response = await get({
      q: '  ada@example.com ',
      status: 'PAID',
      customerId: 'cust-a',
      limit: '10',
    });

    // Assess
    expect(response.statusCode).toBe(200);
    expect(responseJson(response)).toEqual({ items: [resource(DOCUMENTS[4]!), resource(DOCUMENTS[2]!)] });
    expect(search.queries).toEqual([
      { q: 'ada@example.com', status: 'PAID', customerId: 'cust-a', limit: 10 },
    ]);
  });

  it('treats a blank q as no text filter', async () => {
    // Act
    const response = await get({ q: '   ' });

    // Assess
    expect(response.statusCode).toBe(200);
    expect(search.queries).toEqual([{ limit: 20 }]);
  });

  it('pages with nextCursor until the last page, which has none', async () => {
    // Act
    const first = responseJson(await get({ limit: '2' })) as PageJson;
    const second = responseJson(await get({ limit: '2', cursor: first.nextCursor ?? '' })) as PageJson;
    const third = responseJson(await get({ limit: '2', cursor: second.nextCursor ?? '' })) as PageJson;

    // Assess
    expect(first.items.map((item) => item.orderId)).toEqual([orderId(5), orderId(4)]);
    expect(second.items.map((item) => item.orderId)).toEqual([orderId(3), orderId(2)]);
    expect(third).toEqual({ items: [resource(DOCUMENTS[0]!)] });
    expect(first.nextCursor).toEqual(expect.any(String));
    expect(second.nextCursor).toEqual(expect.any(String));
  });

  it.each<{ name: string; query: Readonly<Record<string, string | readonly string[]>>; field: string }>([
    { name: 'an unknown status', query: { status: 'LOST' }, field: 'status' },
    { name: 'a lower-case status', query: { status: 'paid' }, field: 'status' },
    { name: 'a limit of 0', query: { limit: '0' }, field: 'limit' },
    { name: 'a limit of 101', query: { limit: '101' }, field: 'limit' },
    { name: 'a limit in exponent notation', query: { limit: '1e1' }, field: 'limit' },
    { name: 'a negative limit', query: { limit: '-5' }, field: 'limit' },
    { name: 'a fractional limit', query: { limit: '2.5' }, field: 'limit' },
    { name: 'an empty limit', query: { limit: '' }, field: 'limit' },
    { name: 'an invalid customer id', query: { customerId: '../cust' }, field: 'customerId' },
    { name: 'a q over 200 characters', query: { q: 'a'.repeat(201) }, field: 'q' },
    { name: 'a q with a control character', query: { q: 'ada\u0000' }, field: 'q' },
    { name: 'a cursor over 512 characters', query: { cursor: 'a'.repeat(513) }, field: 'cursor' },
    { name: 'a cursor outside base64url', query: { cursor: 'abc+/=' }, field: 'cursor' },
    { name: 'an empty cursor', query: { cursor: '' }, field: 'cursor' },
    { name: 'a well-formed cursor the API did not issue', query: { cursor: 'bm90LW91cnM' }, field: 'cursor' },
    {
      name: 'a parameter repeated with different values',
      query: { status: ['PAID', 'SHIPPED'] },
      field: 'status',
    },
  ])('answers 400 naming $field for $name', async ({ query, field }) => {
    // Act
    const response = await get(query);

    // Assess
    expect(response.statusCode).toBe(400);
    expect(responseJson(response)).toEqual({ error: expect.any(String), field });
  });

  it('answers 400 naming an unknown query parameter, and lists every unknown one', async () => {
    // Act
    const response = await get({ stauts: 'PAID', page: '2', limit: '5' });

    // Assess
    expect(response.statusCode).toBe(400);
    expect(responseJson(response)).toEqual({
      error: 'Unknown query parameters: stauts, page; known: q, status, customerId, limit, cursor',
      field: 'stauts',
    });
    expect(search.queries).toEqual([]);
  });

  it('accepts a parameter repeated with the same value', async () => {
    // Act
    const response = await get({ status: ['PAID', 'PAID'] });

    // Assess
    expect(response.statusCode).toBe(200);
    expect(search.queries).toEqual([{ status: 'PAID', limit: 20 }]);
  });

  it('answers 503 and logs the error when the search fails', async () => {
    // Prepare
    const outage = new Error('connect ECONNREFUSED');
    search.failWith = outage;

    // Act
    const response = await get({ q: 'ada' });

    // Assess
    expect(response.statusCode).toBe(503);
    expect(responseJson(response)).toEqual({
      error: 'Order search is temporarily unavailable; try again later',
      field: null,
    });
    expect(responseHeader(response, 'Retry-After')).toBe('1');
    expect(harness.logger.entries).toEqual([
      {
        level: 'error',
        message: 'Order search failed',
        attributes: expect.objectContaining({ error: outage }),
      },
    ]);
  });

  it('answers 405 with Allow: GET for another method', async () => {
    // Act
    const response = await harness.api(searchEvent({}, 'search resource', 'POST'), lambdaContext());

    // Assess
    expect(response.statusCode).toBe(405);
    expect(responseHeader(response, 'Allow')).toBe('GET');
  });

  it('still routes an order id to GET /orders/{orderId}', async () => {
    // Act
    const response = await harness.call({ method: 'GET', path: `/orders/${orderId(99)}` });

    // Assess
    expect(response.statusCode).toBe(404);
    expect(responseJson(response)).toEqual({ error: 'Order not found', field: null });
    expect(search.queries).toEqual([]);
  });
});

describe('GET /orders/search without a search configured', () => {
  function apiWithoutSearch() {
    const logger = new RecordingLogger();
    const api = createOrdersApiFromTables({
      documentClient: localDynamoDb().documentClient,
      tables: {
        orders: harness.tables.Orders,
        votes: harness.tables.Votes,
        pollResults: harness.tables.PollResults,
        idempotency: harness.tables.Idempotency,
      },
      logger,
    });
    return { api, logger };
  }

  it('answers 503 saying so', async () => {
    // Prepare
    const { api } = apiWithoutSearch();

    // Act
    const response = await api(searchEvent({ q: 'ada' }), lambdaContext());

    // Assess
    expect(response.statusCode).toBe(503);
    expect(responseJson(response)).toEqual({
      error: 'Order search is not configured in this deployment',
      field: null,
    });
  });

  it('still answers 400 for a bad request', async () => {
    // Prepare
    const { api } = apiWithoutSearch();

    // Act
    const response = await api(searchEvent({ limit: '1000' }), lambdaContext());

    // Assess
    expect(response.statusCode).toBe(400);
    expect(responseJson(response)).toMatchObject({ field: 'limit' });
  });
});

describe('GET /orders/search on OpenSearchOrderSearch', () => {
  it('sends the filters to OpenSearch and answers its hits with a cursor that comes back as search_after', async () => {
    // Prepare
    const mock = new OpenSearchConnectionMock();
    const hit = (doc: OrderDocument) => ({
      _id: doc.orderId,
      _source: doc,
      sort: [Date.parse(doc.updatedAt), doc.orderId],
    });
    mock.reply(
      {
        status: 200,
        body: {
          timed_out: false,
          _shards: { failed: 0 },
          hits: { hits: [hit(DOCUMENTS[4]!), hit(DOCUMENTS[2]!)] },
        },
      },
      { status: 200, body: { timed_out: false, _shards: { failed: 0 }, hits: { hits: [] } } },
    );
    const client = createOpenSearchClient({
      endpoint: 'http://127.0.0.1:9200',
      sign: false,
      Connection: mock.Connection,
    });
    const api = createOrdersApiFromTables({
      documentClient: localDynamoDb().documentClient,
      tables: {
        orders: harness.tables.Orders,
        votes: harness.tables.Votes,
        pollResults: harness.tables.PollResults,
        idempotency: harness.tables.Idempotency,
      },
      logger: new RecordingLogger(),
      search: new OpenSearchOrderSearch(client),
    });

    // Act
    const first = await api(searchEvent({ status: 'PAID', limit: '1' }), lambdaContext());
    const page = responseJson(first) as PageJson;
    const second = await api(
      searchEvent({ status: 'PAID', limit: '1', cursor: page.nextCursor ?? '' }),
      lambdaContext(),
    );

    // Assess
    expect(first.statusCode).toBe(200);
    expect(page.items).toEqual([resource(DOCUMENTS[4]!)]);
    expect(responseJson(second)).toEqual({ items: [] });
    expect(mock.requests.map(({ method, path }) => `${method} ${path}`)).toEqual([
      'POST /orders/_search',
      'POST /orders/_search',
    ]);
    expect(mock.jsonBodies()).toEqual([
      expect.objectContaining({
        size: 2,
        query: { bool: { filter: [{ term: { status: 'PAID' } }], must_not: [{ term: { deleted: true } }] } },
      }),
      expect.objectContaining({ search_after: [Date.parse(DOCUMENTS[4]!.updatedAt), DOCUMENTS[4]!.orderId] }),
    ]);
  });

  it('answers 400 naming cursor for a cursor the adapter did not issue', async () => {
    // Prepare
    const mock = new OpenSearchConnectionMock();
    const client = createOpenSearchClient({
      endpoint: 'http://127.0.0.1:9200',
      sign: false,
      Connection: mock.Connection,
    });
    const api = createOrdersApiFromTables({
      documentClient: localDynamoDb().documentClient,
      tables: {
        orders: harness.tables.Orders,
        votes: harness.tables.Votes,
        pollResults: harness.tables.PollResults,
        idempotency: harness.tables.Idempotency,
      },
      logger: new RecordingLogger(),
      search: new OpenSearchOrderSearch(client),
    });
    const forged = Buffer.from('{"v":1,"after":["yesterday","x"]}').toString('base64url');

    // Act
    const response = await api(searchEvent({ cursor: forged }), lambdaContext());

    // Assess
    expect(response.statusCode).toBe(400);
    expect(responseJson(response)).toEqual({
      error: 'cursor is not a cursor this API issued',
      field: 'cursor',
    });
    expect(mock.requests).toEqual([]);
  });
});
