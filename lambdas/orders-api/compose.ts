import { randomUUID } from 'node:crypto';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDbOrdersRepository } from '../shared/orders/dynamodb-orders-repository.js';
import type { OrderSearch } from '../shared/search/orders-index.js';
import { DynamoDbPollResultsReader } from './adapters/dynamodb-poll-results-reader.js';
import { DynamoDbVotesRepository } from './adapters/dynamodb-votes-repository.js';
import { PowertoolsIdempotencyGuard } from './adapters/powertools-idempotency-guard.js';
import { createOrdersApi, type OrdersApiHandler } from './app.js';
import { ORDERS_API_SERVICE_NAME } from './names.js';
import type { ApiLogger, Clock, IdGenerator } from './ports.js';

/** Names of the tables the API uses. */
export interface OrdersApiTables {
  readonly orders: string;
  readonly votes: string;
  readonly pollResults: string;
  /** Powertools schema: partition key `id`, TTL attribute `expiration`. */
  readonly idempotency: string;
}

export interface OrdersApiFromTablesOptions {
  readonly documentClient: DynamoDBDocumentClient;
  readonly tables: OrdersApiTables;
  /** Default: a Powertools Logger for service ORDERS_API_SERVICE_NAME (`orders-api`). */
  readonly logger?: ApiLogger;
  /** Default: the system clock. */
  readonly clock?: Clock;
  /** Default: random (v4) UUIDs. */
  readonly newOrderId?: IdGenerator;
  /** How long an Idempotency-Key is remembered. Default 24 hours. */
  readonly idempotencyExpiresAfterSeconds?: number;
  /**
   * The search behind `GET /orders/search`, e.g. an OpenSearchOrderSearch. Without it the route answers 503, so a
   * deployment without a search domain still serves everything else.
   */
  readonly search?: OrderSearch;
}

/**
 * The API wired to DynamoDB tables: the one composition shared by the Lambda (`handler.ts`), the local sandbox and
 * the API tests, so all three run the same adapters.
 */
export function createOrdersApiFromTables(options: OrdersApiFromTablesOptions): OrdersApiHandler {
  const { documentClient, tables } = options;
  const persistenceStore = new DynamoDBPersistenceLayer({
    tableName: tables.idempotency,
    // A DocumentClient shares the config and middleware stack of the DynamoDBClient it wraps (see lib-dynamodb's
    // constructor), and Powertools sends plain DynamoDB commands through it: one client, one connection pool.
    awsSdkV3Client: documentClient,
  });
  return createOrdersApi({
    orders: new DynamoDbOrdersRepository(documentClient, tables.orders),
    votes: new DynamoDbVotesRepository(documentClient, tables.votes),
    pollResults: new DynamoDbPollResultsReader(documentClient, tables.pollResults),
    idempotency: new PowertoolsIdempotencyGuard({
      persistenceStore,
      expiresAfterSeconds: options.idempotencyExpiresAfterSeconds,
    }),
    clock: options.clock ?? ((): Date => new Date()),
    newOrderId: options.newOrderId ?? ((): string => randomUUID()),
    logger: options.logger ?? new Logger({ serviceName: ORDERS_API_SERVICE_NAME }),
    search: options.search,
  });
}
