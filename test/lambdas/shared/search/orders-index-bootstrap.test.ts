import { describe, expect, it, vi } from 'vitest';
import { createOpenSearchClient } from '../../../../lambdas/shared/search/opensearch-client.js';
import { ORDERS_INDEX_MAPPINGS } from '../../../../lambdas/shared/search/orders-index.js';
import {
  ensureOrdersIndex,
  OrdersIndexMappingConflictError,
  OrdersIndexMappingUnreadableError,
  onceUntilSuccess,
} from '../../../../lambdas/shared/search/orders-index-bootstrap.js';
import { errorBody, OpenSearchConnectionMock } from '../../../support/opensearch-connection-mock.js';

function setup() {
  const mock = new OpenSearchConnectionMock();
  const client = createOpenSearchClient({
    endpoint: 'http://127.0.0.1:9200',
    sign: false,
    Connection: mock.Connection,
  });
  return { mock, client };
}

/** Deep copy of the expected mappings, as GET _mapping reports them, to edit per test. */
function reportedMappings(): { dynamic: string; properties: Record<string, Record<string, unknown>> } {
  return JSON.parse(JSON.stringify(ORDERS_INDEX_MAPPINGS)) as {
    dynamic: string;
    properties: Record<string, Record<string, unknown>>;
  };
}

function mappingResponse(mappings: unknown, indexName = 'orders'): { status: number; body: unknown } {
  return { status: 200, body: { [indexName]: { mappings } } };
}

const EXISTS = { status: 200 };
const ABSENT = { status: 404 };

describe('ensureOrdersIndex', () => {
  it('creates an absent index with the mappings and settings', async () => {
    // Prepare
    const { mock, client } = setup();
    mock.reply(ABSENT, {
      status: 200,
      body: { acknowledged: true, shards_acknowledged: true, index: 'orders' },
    });

    // Act
    const result = await ensureOrdersIndex(client, { replicas: 2 });

    // Assess
    expect(result).toEqual({ kind: 'created', addedFields: [] });
    expect(mock.requests.map(({ method, path }) => `${method} ${path}`)).toEqual([
      'HEAD /orders',
      'PUT /orders',
    ]);
    expect(mock.jsonBodies()[1]).toEqual({
      settings: { number_of_shards: 1, number_of_replicas: 2 },
      mappings: ORDERS_INDEX_MAPPINGS,
    });
  });

  it('leaves an existing index with the same mapping alone', async () => {
    // Prepare
    const { mock, client } = setup();
    mock.reply(EXISTS, mappingResponse(reportedMappings()));

    // Act
    const result = await ensureOrdersIndex(client, { replicas: 0 });

    // Assess
    expect(result).toEqual({ kind: 'exists', addedFields: [] });
    expect(mock.requests.map(({ method, path }) => `${method} ${path}`)).toEqual([
      'HEAD /orders',
      'GET /orders/_mapping',
    ]);
  });

  it('accepts the mapping under the concrete index name an alias resolves to', async () => {
    // Prepare
    const { mock, client } = setup();
    mock.reply(EXISTS, mappingResponse(reportedMappings(), 'orders-v2'));

    // Act
    const result = await ensureOrdersIndex(client, { replicas: 0 });

    // Assess
    expect(result).toEqual({ kind: 'exists', addedFields: [] });
  });

  it('adds missing fields, sub-fields and object properties with one PUT _mapping', async () => {
    // Prepare
    const { mock, client } = setup();
    const mappings = reportedMappings();
    delete mappings.properties.removedBy;
    mappings.properties.customerEmail = { type: 'text' };
    mappings.properties.lines = { properties: { sku: { type: 'keyword' }, qty: { type: 'integer' } } };
    mock.reply(EXISTS, mappingResponse(mappings), { status: 200, body: { acknowledged: true } });

    // Act
    const result = await ensureOrdersIndex(client, { replicas: 0 });

    // Assess
    expect(result).toEqual({
      kind: 'exists',
      addedFields: ['customerEmail.raw', 'lines.unitPriceCents', 'removedBy'],
    });
    expect(mock.requests.map(({ method, path }) => `${method} ${path}`)).toEqual([
      'HEAD /orders',
      'GET /orders/_mapping',
      'PUT /orders/_mapping',
    ]);
    expect(mock.jsonBodies()[2]).toEqual({
      properties: {
        customerEmail: { type: 'text', fields: { raw: { type: 'keyword', ignore_above: 254 } } },
        lines: { properties: { unitPriceCents: { type: 'long' } } },
        removedBy: { type: 'keyword' },
      },
    });
  });

  it('sets dynamic: strict on an index that lacks it', async () => {
    // Prepare
    const { mock, client } = setup();
    const { properties } = reportedMappings();
    mock.reply(EXISTS, mappingResponse({ properties }), { status: 200, body: { acknowledged: true } });

    // Act
    const result = await ensureOrdersIndex(client, { replicas: 0 });

    // Assess
    expect(result.addedFields).toEqual(['dynamic']);
    expect(mock.jsonBodies()[2]).toEqual({ dynamic: 'strict' });
  });

  it('throws naming every field whose type differs, and changes nothing', async () => {
    // Prepare: the shape OpenSearch infers when a document lands in an index created on the fly.
    const { mock, client } = setup();
    const mappings = reportedMappings();
    mappings.properties.orderId = {
      type: 'text',
      fields: { keyword: { type: 'keyword', ignore_above: 256 } },
    };
    mappings.properties.lines = { properties: { sku: { type: 'keyword' }, qty: { type: 'long' } } };
    mock.reply(EXISTS, mappingResponse(mappings));

    // Act
    const error = await ensureOrdersIndex(client, { replicas: 0 }).catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(OrdersIndexMappingConflictError);
    expect((error as OrdersIndexMappingConflictError).conflicts).toEqual([
      { field: 'orderId', expected: 'keyword', actual: 'text' },
      { field: 'lines.qty', expected: 'integer', actual: 'long' },
    ]);
    expect((error as Error).message).toContain('an operator must reindex');
    expect(mock.requests.map(({ method }) => method)).toEqual(['HEAD', 'GET']);
  });

  it('treats a concurrent creator winning the race as success, and verifies its mapping', async () => {
    // Prepare
    const { mock, client } = setup();
    mock.reply(
      ABSENT,
      {
        status: 400,
        body: errorBody(400, 'resource_already_exists_exception', 'index [orders/abc] already exists'),
      },
      mappingResponse(reportedMappings()),
    );

    // Act
    const result = await ensureOrdersIndex(client, { replicas: 1 });

    // Assess
    expect(result).toEqual({ kind: 'created-concurrently', addedFields: [] });
    expect(mock.requests.map(({ method, path }) => `${method} ${path}`)).toEqual([
      'HEAD /orders',
      'PUT /orders',
      'GET /orders/_mapping',
    ]);
  });

  it('propagates any other failure to create', async () => {
    // Prepare
    const { mock, client } = setup();
    mock.reply(ABSENT, {
      status: 400,
      body: errorBody(400, 'illegal_argument_exception', 'unknown setting'),
    });

    // Act
    const ensuring = ensureOrdersIndex(client, { replicas: 0 });

    // Assess
    await expect(ensuring).rejects.toMatchObject({ name: 'ResponseError', statusCode: 400 });
  });

  it('throws when the mapping response cannot be read', async () => {
    // Prepare
    const { mock, client } = setup();
    mock.reply(EXISTS, { status: 200, body: { orders: { mappings: { properties: 'nope' } } } });

    // Act
    const ensuring = ensureOrdersIndex(client, { replicas: 0 });

    // Assess
    await expect(ensuring).rejects.toBeInstanceOf(OrdersIndexMappingUnreadableError);
  });

  it('refuses a replica count that is not a non-negative integer, without a request', async () => {
    // Prepare
    const { mock, client } = setup();

    // Act
    const ensuring = ensureOrdersIndex(client, { replicas: -1 });

    // Assess
    await expect(ensuring).rejects.toThrow(RangeError);
    expect(mock.requests).toEqual([]);
  });
});

describe('onceUntilSuccess', () => {
  it('runs the task once for concurrent and later callers once it succeeded', async () => {
    // Prepare
    const task = vi.fn(async () => 'ready');
    const once = onceUntilSuccess(task);

    // Act
    const results = await Promise.all([once(), once()]);
    const later = await once();

    // Assess
    expect(results).toEqual(['ready', 'ready']);
    expect(later).toBe('ready');
    expect(task).toHaveBeenCalledTimes(1);
  });

  it('forgets a failed run, so the next call tries again', async () => {
    // Prepare
    const task = vi.fn<() => Promise<string>>();
    task.mockRejectedValueOnce(new Error('domain unreachable')).mockResolvedValueOnce('ready');
    const once = onceUntilSuccess(task);

    // Act
    const first = once();
    const concurrent = once();

    // Assess
    await expect(first).rejects.toThrow('domain unreachable');
    await expect(concurrent).rejects.toThrow('domain unreachable');
    await expect(once()).resolves.toBe('ready');
    await expect(once()).resolves.toBe('ready');
    expect(task).toHaveBeenCalledTimes(2);
  });

  it('forgets a task that throws synchronously', async () => {
    // Prepare
    let calls = 0;
    const once = onceUntilSuccess((): Promise<number> => {
      calls += 1;
      if (calls === 1) throw new Error('boom');
      return Promise.resolve(calls);
    });

    // Act
    const first = once();

    // Assess
    await expect(first).rejects.toThrow('boom');
    await expect(once()).resolves.toBe(2);
  });
});
