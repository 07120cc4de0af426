import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';
import { Client, errors } from '@opensearch-project/opensearch';
import { afterEach, describe, expect, it } from 'vitest';
import type { Order } from '../../../lambdas/shared/orders/order.js';
import { OpenSearchIndex } from '../../../lambdas/shared/search/opensearch-index.js';
import { OpenSearchOrderSearch } from '../../../lambdas/shared/search/opensearch-order-search.js';
import {
  ORDERS_INDEX,
  ORDERS_INDEX_MAPPINGS,
  tombstoneDocument,
  toOrderDocument,
} from '../../../lambdas/shared/search/orders-index.js';
import { ensureOrdersIndex } from '../../../lambdas/shared/search/orders-index-bootstrap.js';
import {
  LOCAL_OPENSEARCH_VERSION,
  type LocalOpenSearch,
  type LocalOpenSearchFaults,
  startLocalOpenSearch,
} from '../../../sandbox/opensearch/local-opensearch.js';
import { storedOrder } from '../../support/orders.js';

/** The calls of @elastic/elasticsearch 7.13 the baseline package makes (its own typings do not load as ESM). */
interface ElasticsearchClient {
  index(params: Record<string, unknown>): Promise<{ body: unknown }>;
  exists(params: Record<string, unknown>): Promise<{ body: boolean }>;
  delete(params: Record<string, unknown>): Promise<{ body: unknown }>;
  bulk(params: Record<string, unknown>): Promise<{ body: { errors: boolean; items: unknown[] } }>;
  close(): Promise<void>;
}
const { Client: ElasticsearchClientClass } = createRequire(import.meta.url)('@elastic/elasticsearch') as {
  Client: new (options: { node: string }) => ElasticsearchClient;
};

const started: LocalOpenSearch[] = [];
const clients: Client[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await Promise.all(started.splice(0).map((server) => server.stop()));
});

async function server(
  options: Parameters<typeof startLocalOpenSearch>[0] = {},
): Promise<{ server: LocalOpenSearch; client: Client }> {
  const local = await startLocalOpenSearch(options);
  started.push(local);
  const client = new Client({ node: local.url, maxRetries: 1 });
  clients.push(client);
  return { server: local, client };
}

function order(n: number, overrides: Partial<Order> = {}): Order {
  return storedOrder({ orderId: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`, ...overrides });
}

/** The error body of a failed client call. */
async function failure(call: Promise<unknown>): Promise<{ status: number | undefined; type: unknown }> {
  try {
    await call;
  } catch (error) {
    if (!(error instanceof errors.ResponseError)) throw error;
    return {
      status: error.meta.statusCode ?? undefined,
      type: (error.meta.body as { error?: { type?: unknown } }).error?.type,
    };
  }
  throw new Error('the call succeeded');
}

describe("startLocalOpenSearch: what the project's code sends", () => {
  it('answers GET / as an OpenSearch 2.x cluster', async () => {
    // Prepare
    const { client } = await server();

    // Act
    const { body } = await client.info();

    // Assess
    expect(body.version).toMatchObject({ distribution: 'opensearch', number: LOCAL_OPENSEARCH_VERSION });
  });

  it('creates the orders index with the bootstrap, once, and refuses a second create', async () => {
    // Prepare
    const { client } = await server();

    // Act
    const first = await ensureOrdersIndex(client, { replicas: 0 });
    const second = await ensureOrdersIndex(client, { replicas: 0 });
    const again = failure(client.indices.create({ index: ORDERS_INDEX, body: {} }));
    const { body: mapping } = await client.indices.getMapping({ index: ORDERS_INDEX });

    // Assess
    expect(first).toEqual({ kind: 'created', addedFields: [] });
    expect(second).toEqual({ kind: 'exists', addedFields: [] });
    expect(await again).toEqual({ status: 400, type: 'resource_already_exists_exception' });
    expect(mapping.orders?.mappings).toMatchObject({
      dynamic: 'strict',
      properties: { version: { type: 'long' } },
    });
  });

  it('adds a missing field with PUT _mapping and refuses a changed type', async () => {
    // Prepare: an older index without removedBy.
    const { client } = await server();
    const { removedBy: _removed, ...older } = ORDERS_INDEX_MAPPINGS.properties;
    await client.indices.create({
      index: ORDERS_INDEX,
      body: { mappings: { dynamic: 'strict', properties: older } },
    });

    // Act
    const result = await ensureOrdersIndex(client, { replicas: 0 });
    const changed = failure(
      client.indices.putMapping({
        index: ORDERS_INDEX,
        body: { properties: { version: { type: 'keyword' } } },
      }),
    );

    // Assess
    expect(result).toEqual({ kind: 'exists', addedFields: ['removedBy'] });
    expect(await changed).toEqual({ status: 400, type: 'illegal_argument_exception' });
  });

  it("answers the sync's _bulk per item: created, a version conflict, a strict mapping error", async () => {
    // Prepare
    const { server: local, client } = await server();
    await ensureOrdersIndex(client, { replicas: 0 });
    const index = new OpenSearchIndex(client);
    await index.bulkIndex([{ document: toOrderDocument(order(1, { version: 3, status: 'PAID' })) }]);

    // Act
    const outcomes = await index.bulkIndex([
      { document: toOrderDocument(order(1, { version: 2 })) },
      { document: toOrderDocument(order(2)) },
      {
        document: { ...toOrderDocument(order(3)), note: 'x' } as unknown as ReturnType<
          typeof toOrderDocument
        >,
      },
      { document: tombstoneDocument(order(4).orderId, 5, '2030-01-01T00:00:00.000Z', 'ttl') },
    ]);

    // Assess
    expect(outcomes.map((outcome) => outcome.kind)).toEqual(['ok', 'ok', 'permanent', 'ok']);
    expect(outcomes[2]).toMatchObject({ errorName: 'strict_dynamic_mapping_exception' });
    const documents = local.documents(ORDERS_INDEX);
    expect(documents.get(order(1).orderId)).toMatchObject({ version: 3, source: { status: 'PAID' } });
    expect(documents.get(order(4).orderId)).toMatchObject({ version: 6, source: { deleted: true } });
    expect(documents.has(order(3).orderId)).toBe(false);
  });

  it("serves the API's search over what the sync wrote, tombstones excluded", async () => {
    // Prepare
    const { client } = await server();
    await ensureOrdersIndex(client, { replicas: 0 });
    await new OpenSearchIndex(client).bulkIndex([
      { document: toOrderDocument(order(1, { updatedAt: '2030-01-01T00:00:01.000Z' })) },
      { document: toOrderDocument(order(2, { updatedAt: '2030-01-01T00:00:02.000Z', status: 'PAID' })) },
      { document: tombstoneDocument(order(3).orderId, 1, '2030-01-01T00:00:03.000Z', 'user') },
    ]);
    const search = new OpenSearchOrderSearch(client);

    // Act
    const first = await search.search({ limit: 1 });
    const second = await search.search({ limit: 1, cursor: first.nextCursor! });
    const paid = await search.search({ limit: 10, status: 'PAID', q: 'ada@example.com' });

    // Assess
    expect(first.items.map((item) => item.orderId)).toEqual([order(2).orderId]);
    expect(second.items.map((item) => item.orderId)).toEqual([order(1).orderId]);
    expect(second.nextCursor).toBeUndefined();
    expect(paid.items.map((item) => item.orderId)).toEqual([order(2).orderId]);
  });

  it('indexes, gets and deletes single documents with their versions', async () => {
    // Prepare
    const { client } = await server();

    // Act
    const created = await client.index({
      index: 'things',
      id: 'a',
      body: { n: 1 },
      version: 5,
      version_type: 'external',
    } as never);
    const conflict = failure(
      client.index({
        index: 'things',
        id: 'a',
        body: { n: 0 },
        version: 4,
        version_type: 'external',
      } as never),
    );
    const { body: got } = await client.get({ index: 'things', id: 'a' });
    const deleted = await client.delete({ index: 'things', id: 'a' });
    const missing = failure(client.get({ index: 'things', id: 'a' }));
    const { body: exists } = await client.exists({ index: 'things', id: 'a' });

    // Assess
    expect(created.statusCode).toBe(201);
    expect(created.body).toMatchObject({ _index: 'things', _id: 'a', _version: 5, result: 'created' });
    expect(await conflict).toEqual({ status: 409, type: 'version_conflict_engine_exception' });
    expect(got).toMatchObject({ found: true, _version: 5, _source: { n: 1 } });
    expect(deleted.body).toMatchObject({ result: 'deleted', _version: 6 });
    expect((await missing).status).toBe(404);
    expect(exists).toBe(false);
  });

  it('answers a missing index with index_not_found_exception, and auto-creates one on a write', async () => {
    // Prepare
    const { server: local, client } = await server();

    // Act
    const search = failure(client.search({ index: 'nothing', body: { query: { match_all: {} } } }));
    await client.bulk({ body: [{ index: { _index: 'fresh', _id: '1' } }, { title: 'hello', count: 2 }] });
    const { body: mapping } = await client.indices.getMapping({ index: 'fresh' });

    // Assess
    expect(await search).toEqual({ status: 404, type: 'index_not_found_exception' });
    expect(local.indices()).toEqual(['fresh']);
    expect(mapping.fresh?.mappings.properties).toMatchObject({
      title: { type: 'text' },
      count: { type: 'long' },
    });
  });
});

describe("startLocalOpenSearch: the baseline package's client (@elastic/elasticsearch 7.13)", () => {
  it('answers index with refresh, exists, delete and bulk as the package sends them', async () => {
    // Prepare
    const { server: local } = await server();
    const es = new ElasticsearchClientClass({ node: local.url });

    // Act
    await es.index({
      index: 'sandbox-orders',
      id: 'o-1',
      body: { orderId: 'o-1', status: 'PLACED' },
      refresh: true,
      timeout: '5m',
    });
    const { body: existed } = await es.exists({ index: 'sandbox-orders', id: 'o-1' });
    await es.delete({ index: 'sandbox-orders', id: 'o-1', refresh: true });
    const { body: exists } = await es.exists({ index: 'sandbox-orders', id: 'o-1' });
    const { body: bulk } = await es.bulk({
      refresh: true,
      body: [
        { index: { _index: 'sandbox-orders', _id: 'o-2' } },
        { orderId: 'o-2', status: 'PAID' },
        { delete: { _index: 'sandbox-orders', _id: 'o-9' } },
      ],
    });
    await es.close();

    // Assess
    expect([existed, exists]).toEqual([true, false]);
    expect(bulk.errors).toBe(false);
    expect(bulk.items).toEqual([
      { index: expect.objectContaining({ _id: 'o-2', status: 201, result: 'created' }) },
      { delete: expect.objectContaining({ _id: 'o-9', status: 404, result: 'not_found' }) },
    ]);
    expect(local.stats().byRoute).toMatchObject({
      'PUT /{index}/_doc/{id}': 1,
      'HEAD /{index}/_doc/{id}': 2,
      'DELETE /{index}/_doc/{id}': 1,
      'POST /_bulk': 1,
    });
  });
});

describe('startLocalOpenSearch: HTTP details', () => {
  it('answers unknown routes and methods as OpenSearch does', async () => {
    // Prepare
    const { server: local } = await server();

    // Act
    const unknown = await fetch(`${local.url}/_nodes/stats/x/y`);
    const method = await fetch(`${local.url}/orders/_doc/1`, { method: 'PATCH' });

    // Assess
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toEqual({
      error: 'no handler found for uri [/_nodes/stats/x/y] and method [GET]',
    });
    expect(method.status).toBe(405);
    expect(unknown.headers.get('content-type')).toBe('application/json; charset=UTF-8');
  });

  it('refuses a body without a JSON content type (406) and a bulk body without its final newline (400)', async () => {
    // Prepare
    const { server: local } = await server();

    // Act
    const plain = await fetch(`${local.url}/things/_doc/1`, { method: 'PUT', body: '{"a":1}' });
    const unterminated = await fetch(`${local.url}/_bulk`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body: '{"index":{"_index":"t","_id":"1"}}\n{"a":1}',
    });

    // Assess
    expect(plain.status).toBe(406);
    expect(unterminated.status).toBe(400);
    expect(await unterminated.json()).toMatchObject({ error: { type: 'illegal_argument_exception' } });
  });

  it('reads gzip bodies and counts requests and bytes (as received) per route', async () => {
    // Prepare
    const { server: local } = await server();
    const body = gzipSync('{"index":{"_index":"t","_id":"1"}}\n{"a":1}\n');

    // Act
    const response = await fetch(`${local.url}/_bulk`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip' },
      body,
    });
    const stats = local.stats();
    local.resetStats();

    // Assess
    expect(response.status).toBe(200);
    expect(stats).toMatchObject({
      requests: 1,
      bytesReceived: body.length,
      byRoute: { 'POST /_bulk': 1 },
      bulkItems: 1,
    });
    expect(local.stats()).toMatchObject({ requests: 0, bytesReceived: 0, byRoute: {} });
    expect(local.documents('t').get('1')).toEqual({ version: 1, seqNo: 0, source: { a: 1 } });
  });

  it('injects 503s per request (the client retries them) and 429s per bulk item', async () => {
    // Prepare: the first bulk request fails whole, then the first item of each request is rejected.
    let requests = 0;
    const faults: LocalOpenSearchFaults = {
      failRequest: ({ route }) => route.endsWith('/_bulk') && ++requests === 1,
      rejectBulkItem: ({ id }) => id === '1',
    };
    const { server: local, client } = await server({ faults });

    // Act
    const { body } = await client.bulk({
      body: [{ index: { _index: 't', _id: '1' } }, { a: 1 }, { index: { _index: 't', _id: '2' } }, { a: 2 }],
    });

    // Assess
    expect(body.errors).toBe(true);
    expect(body.items[0]).toEqual({
      index: {
        _index: 't',
        _id: '1',
        status: 429,
        error: expect.objectContaining({ type: 'es_rejected_execution_exception' }),
      },
    });
    expect(body.items[1]).toMatchObject({ index: { status: 201 } });
    expect(local.stats()).toMatchObject({ requests: 2, injectedRequestFaults: 1, injectedItemFaults: 1 });
    expect([...local.documents('t').keys()]).toEqual(['2']);
  });

  it('answers an index item 400 mapper_parsing_exception when the hook refuses its mapping, and writes nothing of it', async () => {
    // Prepare: document 1 is refused as unparsable (asked before the 429 hook, which would reject every item).
    const faults: LocalOpenSearchFaults = {
      failRequest: () => false,
      refuseBulkItemMapping: ({ id }) => id === '1',
      rejectBulkItem: ({ id }) => id === '1',
    };
    const { server: local, client } = await server({ faults });

    // Act
    const { body } = await client.bulk({
      body: [{ index: { _index: 't', _id: '1' } }, { a: 1 }, { index: { _index: 't', _id: '2' } }, { a: 2 }],
    });

    // Assess
    expect(body.errors).toBe(true);
    expect(body.items[0]).toEqual({
      index: {
        _index: 't',
        _id: '1',
        status: 400,
        error: expect.objectContaining({ type: 'mapper_parsing_exception' }),
      },
    });
    expect(body.items[1]).toMatchObject({ index: { status: 201 } });
    expect(local.stats()).toMatchObject({ injectedItemFaults: 1 });
    expect([...local.documents('t').keys()]).toEqual(['2']);
  });

  it('stops promptly with keep-alive connections open, and twice', async () => {
    // Prepare
    const { server: local, client } = await server();
    await client.info();

    // Act
    const stopping = Promise.all([local.stop(), local.stop()]);

    // Assess
    await expect(stopping).resolves.toBeDefined();
    await expect(fetch(`${local.url}/`)).rejects.toThrow();
  });
});
