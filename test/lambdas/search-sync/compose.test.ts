import type { Context } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  BootstrappedSearchIndex,
  createSearchSyncAdapters,
  InvalidEnvironmentError,
  SearchIndexNotReadyError,
} from '../../../lambdas/search-sync/compose.js';
import { createSearchSyncHandler } from '../../../lambdas/search-sync/sync.js';
import { ENV, type EnvName, MissingEnvironmentError } from '../../../lambdas/shared/env.js';
import { classifyError } from '../../../lambdas/shared/errors.js';
import { createOpenSearchClient } from '../../../lambdas/shared/search/opensearch-client.js';
import { ORDERS_INDEX_MAPPINGS, toOrderDocument } from '../../../lambdas/shared/search/orders-index.js';
import { errorBody, OpenSearchConnectionMock } from '../../support/opensearch-connection-mock.js';
import { storedOrder } from '../../support/orders.js';
import {
  createStreamRecordFactory,
  lambdaContext,
  RecordingDeadLetterQueue,
  RecordingMetrics,
  streamEvent,
} from '../../support/stream-records.js';

const ENVIRONMENT = { [ENV.SEARCH_INDEX_REPLICAS]: '1' };

function setup(env: Readonly<Record<string, string | undefined>> = ENVIRONMENT) {
  const mock = new OpenSearchConnectionMock();
  // As the sandbox builds it: unsigned, against a local endpoint.
  const client = createOpenSearchClient({
    endpoint: 'http://127.0.0.1:9200',
    sign: false,
    Connection: mock.Connection,
  });
  const info = vi.fn();
  return { mock, info, ports: createSearchSyncAdapters(client, env, { logger: { info } }) };
}

function routes(mock: OpenSearchConnectionMock): string[] {
  return mock.requests.map(({ method, path }) => `${method} ${path}`);
}

const operation = { document: toOrderDocument(storedOrder()) };
const created = { status: 200, body: { acknowledged: true } };
const indexed = {
  status: 200,
  body: { errors: false, items: [{ index: { _id: operation.document.orderId, status: 201 } }] },
};

describe('createSearchSyncAdapters', () => {
  it('prepares the index before the first bulk request only', async () => {
    // Prepare
    const { mock, info, ports } = setup();
    mock.reply({ status: 404 }, created, indexed, indexed);

    // Act
    const first = await ports.index.bulkIndex([operation]);
    const second = await ports.index.bulkIndex([operation]);

    // Assess
    expect(ports.index).toBeInstanceOf(BootstrappedSearchIndex);
    expect([first, second]).toEqual([[{ kind: 'ok' }], [{ kind: 'ok' }]]);
    expect(routes(mock)).toEqual(['HEAD /orders', 'PUT /orders', 'POST /orders/_bulk', 'POST /orders/_bulk']);
    expect(mock.jsonBodies()[1]).toEqual({
      settings: { number_of_shards: 1, number_of_replicas: 1 },
      mappings: ORDERS_INDEX_MAPPINGS,
    });
    expect(info).toHaveBeenCalledWith('Prepared the search index', {
      index: 'orders',
      replicas: 1,
      kind: 'created',
      addedFields: [],
    });
  });

  it('fails the bulk transiently when the bootstrap fails, and tries the bootstrap again on the next call', async () => {
    // Prepare
    const { mock, ports } = setup();
    const unavailable = { status: 503, body: errorBody(503, 'unavailable', 'cluster not ready') };
    // The client retries a 503 once.
    mock.reply(
      unavailable,
      unavailable,
      { status: 200 },
      { status: 200, body: { orders: { mappings: ORDERS_INDEX_MAPPINGS } } },
      indexed,
    );

    // Act
    const failed = await ports.index.bulkIndex([operation]).catch((caught: unknown) => caught);
    const retried = await ports.index.bulkIndex([operation]);

    // Assess
    expect(failed).toBeInstanceOf(SearchIndexNotReadyError);
    expect(classifyError(failed)).toBe('transient');
    expect((failed as Error).message).toBe('The "orders" index could not be prepared: 503 (HEAD /orders)');
    expect(retried).toEqual([{ kind: 'ok' }]);
    expect(routes(mock)).toEqual([
      'HEAD /orders',
      'HEAD /orders',
      'HEAD /orders',
      'GET /orders/_mapping',
      'POST /orders/_bulk',
    ]);
  });

  it('keeps failing transiently, without writing, while the mapping conflicts', async () => {
    // Prepare
    const { mock, ports } = setup();
    const conflicting = {
      status: 200,
      body: {
        orders: {
          mappings: { properties: { ...ORDERS_INDEX_MAPPINGS.properties, totalCents: { type: 'float' } } },
        },
      },
    };
    mock.reply({ status: 200 }, conflicting);

    // Act
    const failed = await ports.index.bulkIndex([operation]).catch((caught: unknown) => caught);

    // Assess
    expect(failed).toBeInstanceOf(SearchIndexNotReadyError);
    expect(classifyError(failed)).toBe('transient');
    expect((failed as Error).message).toContain('totalCents as float (expected long)');
    expect(routes(mock)).toEqual(['HEAD /orders', 'GET /orders/_mapping']);
  });

  it('runs under the search sync handler: a stream batch becomes one bulk request after the bootstrap', async () => {
    // Prepare
    const { mock, ports } = setup();
    const records = createStreamRecordFactory({ tableName: 'Orders', keyAttributes: ['orderId'] });
    const order = storedOrder({ version: 2, status: 'PAID' });
    mock.reply(
      { status: 200 },
      { status: 200, body: { orders: { mappings: ORDERS_INDEX_MAPPINGS } } },
      indexed,
    );
    const handler = createSearchSyncHandler({
      consumerName: 'search-sync',
      deadLetterQueue: new RecordingDeadLetterQueue(),
      metrics: new RecordingMetrics(),
      logger: { debug() {}, info() {}, warn() {}, error() {}, addContext() {} },
      ...ports,
    });

    // Act
    const response = await handler(
      streamEvent(
        records.insert({ ...order, version: 1, status: 'PLACED' }),
        records.modify({ ...order, version: 1 }, { ...order }),
      ),
      lambdaContext(),
    );

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(routes(mock)).toEqual(['HEAD /orders', 'GET /orders/_mapping', 'POST /orders/_bulk']);
    expect(mock.jsonBodies()[2]).toEqual([
      { index: { _id: order.orderId, version: 2, version_type: 'external_gte' } },
      toOrderDocument(order),
    ]);
  });

  it('fails with MissingEnvironmentError naming SEARCH_INDEX_REPLICAS when it is not set', () => {
    // Act
    const composing = (): unknown => setup({});

    // Assess
    expect(composing).toThrow(MissingEnvironmentError);
    expect(composing).toThrow(ENV.SEARCH_INDEX_REPLICAS);
  });

  it.each(['-1', '1.5', ' 1', '1e0', 'one', '100'])('refuses SEARCH_INDEX_REPLICAS=%j', (value) => {
    // Act
    const composing = (): unknown => setup({ [ENV.SEARCH_INDEX_REPLICAS]: value });

    // Assess
    expect(composing).toThrow(InvalidEnvironmentError);
    expect(composing).toThrow(`Environment variable SEARCH_INDEX_REPLICAS must be a whole number`);
  });
});

describe('handler (the composition root)', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.resetModules();
  });

  function stubFunctionEnvironment(): void {
    vi.stubEnv(ENV.CONSUMER_NAME, 'search-sync');
    vi.stubEnv(ENV.DEAD_LETTER_QUEUE_URL, 'https://sqs.eu-west-1.amazonaws.com/123456789012/search-sync-dlq');
    vi.stubEnv(ENV.OPENSEARCH_ENDPOINT, 'https://search-orders-abc123.eu-west-1.es.amazonaws.com');
    vi.stubEnv(ENV.SEARCH_INDEX_REPLICAS, '1');
  }

  it('loads with the function environment and answers an empty batch without calling AWS', async () => {
    // Prepare
    stubFunctionEnvironment();
    const { handler } = await import('../../../lambdas/search-sync/handler.js');

    // Act
    const response = await handler({ Records: [] }, {} as Context);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
  });

  it.each<EnvName>([
    ENV.CONSUMER_NAME,
    ENV.DEAD_LETTER_QUEUE_URL,
    ENV.OPENSEARCH_ENDPOINT,
    ENV.SEARCH_INDEX_REPLICAS,
  ])('fails the cold start when %s is missing', async (name) => {
    // Prepare
    stubFunctionEnvironment();
    vi.stubEnv(name, '');

    // Act
    const loading = import('../../../lambdas/search-sync/handler.js');

    // Assess
    await expect(loading).rejects.toThrow(`Environment variable ${name} is required but not set`);
  });

  it('fails the cold start when OPENSEARCH_ENDPOINT is not an https URL', async () => {
    // Prepare
    stubFunctionEnvironment();
    vi.stubEnv(ENV.OPENSEARCH_ENDPOINT, 'search-orders-abc123.eu-west-1.es.amazonaws.com');

    // Act
    const loading = import('../../../lambdas/search-sync/handler.js');

    // Assess
    await expect(loading).rejects.toThrow('OpenSearch endpoint must be a URL like https://<host>');
  });
});
