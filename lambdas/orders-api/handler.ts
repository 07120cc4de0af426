import { Logger } from '@aws-lambda-powertools/logger';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { ENV, requireEnv } from '../shared/env.js';
import {
  type OpenSearchClientOptions,
  resolveOpenSearchClientSettings,
} from '../shared/search/opensearch-client-options.js';
import type { OrderSearch } from '../shared/search/orders-index.js';
import { withTraceSegment } from '../shared/tracing.js';
import { LazyOrderSearch } from './adapters/lazy-order-search.js';
import { createOrdersApiFromTables } from './compose.js';
import { ORDERS_API_SERVICE_NAME } from './names.js';
import { ORDERS_API_SEARCH_CLIENT } from './search-client-settings.js';

/**
 * The Lambda's composition root. Everything here runs once per container: clients, table names (a missing one
 * fails the cold start, not a request), the API. Per invocation it only adds the log context and a trace segment.
 * Search is optional: with OPENSEARCH_ENDPOINT set, `GET /orders/search` reads the domain with a signed client,
 * loaded on the first search; without it that route answers 503 and everything else works.
 */
const logger = new Logger({ serviceName: ORDERS_API_SERVICE_NAME });
const tracer = new Tracer({ serviceName: ORDERS_API_SERVICE_NAME });
const documentClient = DynamoDBDocumentClient.from(tracer.captureAWSv3Client(new DynamoDBClient({})));

function createSearch(endpoint: string | undefined): OrderSearch | undefined {
  if (endpoint === undefined || endpoint === '') {
    return undefined;
  }
  // 3 s per attempt, one retry: why, in search-client-settings.ts (the sandbox's wiring uses the same settings).
  const options: OpenSearchClientOptions = { endpoint, sign: true, ...ORDERS_API_SEARCH_CLIENT };
  // Checked now, so that a wrong endpoint or a missing region still fails the cold start, not the first search.
  resolveOpenSearchClientSettings(options);
  // Loaded on the first search: only this route uses the OpenSearch client. Deferring its evaluation took the API's
  // import from 228 to 201 ms of CPU when the bundle held the whole Client (Node 20.20, median of 21 runs); since
  // createOpenSearchClient builds only its transport, what is deferred is about 100 KB (the transport, its
  // serializer's json11, the signer). esbuild still inlines it into index.mjs, so the bytes stay.
  return new LazyOrderSearch(async () => {
    const [{ createOpenSearchClient }, { OpenSearchOrderSearch }] = await Promise.all([
      import('../shared/search/opensearch-client.js'),
      import('../shared/search/opensearch-order-search.js'),
    ]);
    return new OpenSearchOrderSearch(createOpenSearchClient(options));
  });
}

const api = createOrdersApiFromTables({
  documentClient,
  tables: {
    orders: requireEnv(ENV.ORDERS_TABLE_NAME),
    votes: requireEnv(ENV.VOTES_TABLE_NAME),
    pollResults: requireEnv(ENV.POLL_RESULTS_TABLE_NAME),
    idempotency: requireEnv(ENV.IDEMPOTENCY_TABLE_NAME),
  },
  logger,
  search: createSearch(process.env[ENV.OPENSEARCH_ENDPOINT]),
});

const tracedApi = withTraceSegment(tracer, ORDERS_API_SERVICE_NAME, api, (response) =>
  tracer.putAnnotation('statusCode', response.statusCode),
);

export const handler = async (
  event: APIGatewayProxyEvent,
  context: Context,
): Promise<APIGatewayProxyResult> => {
  logger.addContext(context);
  return tracedApi(event, context);
};
