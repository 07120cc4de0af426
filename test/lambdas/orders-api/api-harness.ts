import type { APIGatewayProxyResult } from 'aws-lambda';
import type { OrdersApiHandler } from '../../../lambdas/orders-api/app.js';
import { createOrdersApiFromTables } from '../../../lambdas/orders-api/compose.js';
import type { ApiLogger, Clock, OrderSearch } from '../../../lambdas/orders-api/ports.js';
import { type ApiEventInit, apiEvent, lambdaContext } from '../../support/api-events.js';
import { createTestTables, localDynamoDb, scanAll, type TestTables } from '../../support/dynamodb.js';

/** What the API logged, for tests that assert an error was logged. */
export interface LoggedEntry {
  readonly level: 'error' | 'warn';
  readonly message: string;
  readonly attributes: Record<string, unknown>;
}

export class RecordingLogger implements ApiLogger {
  public readonly entries: LoggedEntry[] = [];

  public error(message: string, attributes: Record<string, unknown>): void {
    this.entries.push({ level: 'error', message, attributes });
  }

  public warn(message: string, attributes: Record<string, unknown>): void {
    this.entries.push({ level: 'warn', message, attributes });
  }
}

/** A clock that moves one second per reading: times are predictable and every write gets a later one. */
export function steppingClock(start = '2030-01-01T00:00:00.000Z'): Clock {
  let next = Date.parse(start);
  return () => {
    const now = new Date(next);
    next += 1000;
    return now;
  };
}

/** The real API with the real adapters on this file's DynamoDB Local tables. */
export interface ApiHarness {
  readonly tables: TestTables;
  readonly logger: RecordingLogger;
  readonly api: OrdersApiHandler;
  call(init: ApiEventInit): Promise<APIGatewayProxyResult>;
  /** Every item of every table of the app, for before/after comparisons. */
  snapshot(): Promise<Record<string, Record<string, unknown>[]>>;
}

export interface ApiHarnessOptions {
  /** The search behind `GET /orders/search`; none by default, so that route answers 503. */
  readonly search?: OrderSearch;
}

export async function createApiHarness(options: ApiHarnessOptions = {}): Promise<ApiHarness> {
  const tables = await createTestTables();
  const logger = new RecordingLogger();
  const api = createOrdersApiFromTables({
    documentClient: localDynamoDb().documentClient,
    tables: {
      orders: tables.Orders,
      votes: tables.Votes,
      pollResults: tables.PollResults,
      idempotency: tables.Idempotency,
    },
    logger,
    clock: steppingClock(),
    search: options.search,
  });
  return {
    tables,
    logger,
    api,
    call: (init) => api(apiEvent(init), lambdaContext()),
    snapshot: async () => ({
      Orders: await scanAll(tables.Orders),
      Votes: await scanAll(tables.Votes),
      PollResults: await scanAll(tables.PollResults),
      Inventory: await scanAll(tables.Inventory),
      Idempotency: await scanAll(tables.Idempotency),
    }),
  };
}
