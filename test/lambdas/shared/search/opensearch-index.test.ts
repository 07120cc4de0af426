import { describe, expect, it } from 'vitest';
import { classifyError } from '../../../../lambdas/shared/errors.js';
import { createOpenSearchClient } from '../../../../lambdas/shared/search/opensearch-client.js';
import {
  BulkRequestFailedError,
  BulkRequestTooLargeError,
  EmptyBulkRequestError,
  OpenSearchIndex,
} from '../../../../lambdas/shared/search/opensearch-index.js';
import {
  type IndexOperation,
  tombstoneDocument,
  toOrderDocument,
} from '../../../../lambdas/shared/search/orders-index.js';
import { errorBody, OpenSearchConnectionMock } from '../../../support/opensearch-connection-mock.js';
import { storedOrder } from '../../../support/orders.js';

function orderId(n: number): string {
  return `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
}

function live(n: number, version = 1): IndexOperation {
  return { document: toOrderDocument(storedOrder({ orderId: orderId(n), version })) };
}

function setup(options: { maxRetries?: number } = {}) {
  const mock = new OpenSearchConnectionMock();
  const client = createOpenSearchClient({
    endpoint: 'http://127.0.0.1:9200',
    sign: false,
    Connection: mock.Connection,
    maxRetries: options.maxRetries,
  });
  return { mock, index: new OpenSearchIndex(client) };
}

/** A bulk response item for an index action. */
function item(id: string, status: number, error?: Record<string, unknown>): Record<string, unknown> {
  return {
    index: {
      _index: 'orders',
      _id: id,
      status,
      ...(status < 300 ? { result: status === 201 ? 'created' : 'updated', _version: 1 } : {}),
      ...(error === undefined ? {} : { error }),
    },
  };
}

function bulkResponse(items: Record<string, unknown>[]): Record<string, unknown> {
  return { took: 3, errors: items.some((entry) => (entry.index as { status: number }).status >= 300), items };
}

describe('OpenSearchIndex.bulkIndex', () => {
  it('sends one POST /orders/_bulk with an external_gte index action per document, in order', async () => {
    // Prepare
    const { mock, index } = setup();
    const order = toOrderDocument(storedOrder({ orderId: orderId(1), version: 3, status: 'PAID' }));
    const tombstone = tombstoneDocument(orderId(2), 7, '2030-01-02T00:00:00.000Z', 'ttl');
    mock.reply({ status: 200, body: bulkResponse([item(orderId(1), 200), item(orderId(2), 201)]) });

    // Act
    const outcomes = await index.bulkIndex([{ document: order }, { document: tombstone }]);

    // Assess
    expect(outcomes).toEqual([{ kind: 'ok' }, { kind: 'ok' }]);
    expect(mock.requests).toHaveLength(1);
    const [request] = mock.requests;
    expect(request?.method).toBe('POST');
    expect(request?.path).toBe('/orders/_bulk');
    expect(request?.querystring).toBe('');
    expect(request?.headers['content-type']).toBe('application/x-ndjson');
    expect(request?.body).toBe(
      `{"index":{"_id":"${orderId(1)}","version":3,"version_type":"external_gte"}}\n` +
        `{"orderId":"${orderId(1)}","customerId":"cust-1","customerEmail":"ada@example.com","currency":"EUR",` +
        '"totalCents":100,"status":"PAID","version":3,"createdAt":"2030-01-01T00:00:00.000Z",' +
        '"updatedAt":"2030-01-01T00:00:00.000Z","lines":[{"sku":"A","qty":1,"unitPriceCents":100}],"deleted":false}\n' +
        `{"index":{"_id":"${orderId(2)}","version":8,"version_type":"external_gte"}}\n` +
        `{"orderId":"${orderId(2)}","version":8,"deleted":true,"deletedAt":"2030-01-02T00:00:00.000Z",` +
        '"removedBy":"ttl"}\n',
    );
  });

  it('maps each item of a mixed response to its operation', async () => {
    // Prepare
    const { mock, index } = setup();
    const operations = [1, 2, 3, 4, 5, 6, 7].map((n) => live(n));
    mock.reply({
      status: 200,
      body: bulkResponse([
        item(orderId(1), 201),
        item(orderId(2), 200),
        item(orderId(3), 409, {
          type: 'version_conflict_engine_exception',
          reason: `[${orderId(3)}]: version conflict, current version [5] is higher than the one provided [1]`,
        }),
        item(orderId(4), 429, {
          type: 'es_rejected_execution_exception',
          reason: 'rejected execution of coordinating operation',
        }),
        item(orderId(5), 503, {
          type: 'unavailable_shards_exception',
          reason: 'primary shard is not active',
        }),
        item(orderId(6), 400, {
          type: 'mapper_parsing_exception',
          reason: "failed to parse field [totalCents] of type [long] in document with id '6'",
          caused_by: { type: 'illegal_argument_exception', reason: 'For input string: "abc"' },
        }),
        // Order 7's item is missing.
      ]),
    });

    // Act
    const outcomes = await index.bulkIndex(operations);

    // Assess
    expect(outcomes).toEqual([
      { kind: 'ok' },
      { kind: 'ok' },
      { kind: 'ok' },
      {
        kind: 'transient',
        reason: expect.stringContaining(`order ${orderId(4)} with 429 es_rejected_execution_exception`),
      },
      { kind: 'transient', reason: expect.stringContaining('503 unavailable_shards_exception') },
      {
        kind: 'permanent',
        errorName: 'mapper_parsing_exception',
        reason:
          `OpenSearch _bulk failed order ${orderId(6)} with 400 mapper_parsing_exception: failed to parse field ` +
          "[totalCents] of type [long] in document with id '6' (caused by illegal_argument_exception: For input " +
          'string: "abc")',
      },
      { kind: 'transient', reason: `OpenSearch _bulk returned no result for order ${orderId(7)}` },
    ]);
    expect(mock.requests).toHaveLength(1);
  });

  it.each([
    { status: 400, type: 'strict_dynamic_mapping_exception', kind: 'permanent' },
    { status: 400, type: 'illegal_argument_exception', kind: 'permanent' },
    { status: 400, type: 'document_parsing_exception', kind: 'permanent' },
    { status: 400, type: 'x_content_parse_exception', kind: 'permanent' },
    { status: 422, type: 'some_future_exception', kind: 'permanent' },
    { status: 400, type: 'index_closed_exception', kind: 'transient' },
    { status: 403, type: 'cluster_block_exception', kind: 'transient' },
    { status: 404, type: 'index_not_found_exception', kind: 'transient' },
    { status: 401, type: 'security_exception', kind: 'transient' },
    { status: 500, type: 'internal_server_error', kind: 'transient' },
    { status: 409, type: 'some_other_conflict', kind: 'transient' },
  ])('answers an item $status $type as $kind', async ({ status, type, kind }) => {
    // Prepare
    const { mock, index } = setup();
    mock.reply({ status: 200, body: bulkResponse([item(orderId(1), status, { type, reason: 'because' })]) });

    // Act
    const [outcome] = await index.bulkIndex([live(1)]);

    // Assess
    expect(outcome?.kind).toBe(kind);
    expect(outcome).toMatchObject({ reason: expect.stringContaining(`${status} ${type}: because`) });
  });

  it('answers an item reported for another id, or without a status, as transient', async () => {
    // Prepare
    const { mock, index } = setup();
    mock.reply({
      status: 200,
      body: { errors: false, items: [item(orderId(9), 201), { index: { _id: orderId(2) } }] },
    });

    // Act
    const outcomes = await index.bulkIndex([live(1), live(2)]);

    // Assess
    expect(outcomes.map((outcome) => outcome.kind)).toEqual(['transient', 'transient']);
  });

  it('answers an operation OpenSearch would refuse for the whole request permanently, without sending it', async () => {
    // Prepare
    const { mock, index } = setup();
    const longId = { document: { ...live(1).document, orderId: 'x'.repeat(513) } };
    const badVersion = { document: { ...live(2).document, version: -1 } };
    mock.reply({ status: 200, body: bulkResponse([item(orderId(3), 201)]) });

    // Act
    const outcomes = await index.bulkIndex([longId, badVersion, live(3)]);

    // Assess
    expect(outcomes).toEqual([
      { kind: 'permanent', errorName: 'InvalidDocumentId', reason: expect.stringContaining('513 bytes') },
      {
        kind: 'permanent',
        errorName: 'InvalidDocumentVersion',
        reason: expect.stringContaining('version -1'),
      },
      { kind: 'ok' },
    ]);
    expect(mock.jsonBodies()).toEqual([
      [{ index: { _id: orderId(3), version: 1, version_type: 'external_gte' } }, live(3).document],
    ]);
  });

  it('refuses an empty call without a request', async () => {
    // Prepare
    const { mock, index } = setup();

    // Act
    const indexing = index.bulkIndex([]);

    // Assess
    await expect(indexing).rejects.toBeInstanceOf(EmptyBulkRequestError);
    expect(mock.requests).toEqual([]);
  });
});

describe('OpenSearchIndex.bulkIndex when the request fails as a whole', () => {
  it.each([
    { name: '503', answer: { status: 503, body: errorBody(503, 'unavailable', 'busy') }, attempts: 2 },
    {
      name: '429',
      answer: { status: 429, body: errorBody(429, 'circuit_breaking_exception', 'too many requests') },
      attempts: 1,
    },
    { name: 'a network error', answer: { fail: 'network' as const }, attempts: 2 },
    { name: 'a timeout', answer: { fail: 'timeout' as const }, attempts: 2 },
    {
      name: '400 (the request framing: this code)',
      answer: {
        status: 400,
        body: errorBody(400, 'illegal_argument_exception', 'bulk must end with newline'),
      },
      attempts: 1,
    },
    { name: '403', answer: { status: 403, body: { message: 'no permissions' } }, attempts: 1 },
  ])(
    'throws a transient BulkRequestFailedError on $name, after the client retried $attempts time(s) in all',
    async ({ answer, attempts }) => {
      // Prepare
      const { mock, index } = setup();
      mock.reply(answer, answer);

      // Act
      const error = await index.bulkIndex([live(1)]).catch((caught: unknown) => caught);

      // Assess
      expect(error).toBeInstanceOf(BulkRequestFailedError);
      expect(classifyError(error)).toBe('transient');
      expect(mock.requests).toHaveLength(attempts);
    },
  );

  it('does not retry a 503 itself when the client is built without retries', async () => {
    // Prepare
    const { mock, index } = setup({ maxRetries: 0 });
    mock.reply({ status: 503, body: errorBody(503, 'unavailable', 'busy') });

    // Act
    const indexing = index.bulkIndex([live(1)]);

    // Assess
    await expect(indexing).rejects.toThrow(
      'OpenSearch _bulk request failed: 503 unavailable: busy (POST /orders/_bulk)',
    );
    expect(mock.requests).toHaveLength(1);
  });

  it('throws a transient BulkRequestTooLargeError on 413, naming the size', async () => {
    // Prepare
    const { mock, index } = setup();
    mock.reply({ status: 413, body: '' });

    // Act
    const error = await index.bulkIndex([live(1), live(2)]).catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(BulkRequestTooLargeError);
    expect(classifyError(error)).toBe('transient');
    expect((error as Error).message).toMatch(/413\) with 2 documents in \d+ bytes; lower the event source/);
    expect(mock.requests).toHaveLength(1);
  });

  it('throws a transient error for a 200 that is not a bulk response', async () => {
    // Prepare
    const { mock, index } = setup();
    mock.reply({ status: 200, body: { acknowledged: true } });

    // Act
    const error = await index.bulkIndex([live(1)]).catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(BulkRequestFailedError);
    expect((error as Error).message).toBe('OpenSearch _bulk: the response is not a bulk response');
  });
});
