import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbPollResultsReader } from '../../../lambdas/orders-api/adapters/dynamodb-poll-results-reader.js';
import { DynamoDbVotesRepository } from '../../../lambdas/orders-api/adapters/dynamodb-votes-repository.js';
import { PowertoolsIdempotencyGuard } from '../../../lambdas/orders-api/adapters/powertools-idempotency-guard.js';
import { createOrdersApi } from '../../../lambdas/orders-api/app.js';
import { createOrdersApiFromTables } from '../../../lambdas/orders-api/compose.js';
import { DynamoDbOrdersRepository } from '../../../lambdas/shared/orders/dynamodb-orders-repository.js';
import { ORDER_LIMITS, type Order, type OrderStatus } from '../../../lambdas/shared/orders/order.js';
import type { CreateOrderOutcome } from '../../../lambdas/shared/orders/orders-repository.js';
import {
  apiEvent,
  lambdaContext,
  orderBody,
  orderLine,
  responseHeader,
  responseJson,
} from '../../support/api-events.js';
import { localDynamoDb, scanAll } from '../../support/dynamodb.js';
import { type ApiHarness, createApiHarness, RecordingLogger, steppingClock } from './api-harness.js';

let harness: ApiHarness;

beforeAll(async () => {
  harness = await createApiHarness();
});

afterAll(async () => {
  await harness.tables.drop();
});

const ALICE = 'arn:aws:iam::111122223333:user/alice';
const BOB = 'arn:aws:iam::111122223333:user/bob';

interface OrderJson {
  orderId: string;
  status: OrderStatus;
  version: number;
  totalCents: number;
  createdAt: string;
  updatedAt: string;
}

async function placeOrder(overrides: Record<string, unknown> = {}): Promise<OrderJson> {
  const response = await harness.call({ method: 'POST', path: '/orders', body: orderBody(overrides) });
  expect(response.statusCode).toBe(201);
  return responseJson(response) as OrderJson;
}

async function patchStatus(orderId: string, status: string, ifMatch?: string) {
  return harness.call({
    method: 'PATCH',
    path: `/orders/${orderId}`,
    body: { status },
    headers: ifMatch === undefined ? {} : { 'If-Match': ifMatch },
  });
}

async function ordersOf(customerId: string): Promise<Record<string, unknown>[]> {
  return (await scanAll(harness.tables.Orders)).filter((item) => item.customerId === customerId);
}

describe('POST /orders', () => {
  it('creates a PLACED order at version 1 with its total, and returns it with ETag and Location', async () => {
    // Prepare
    const body = orderBody({ customerId: 'cust-create' });

    // Act
    const response = await harness.call({ method: 'POST', path: '/orders', body });

    // Assess
    expect(response.statusCode).toBe(201);
    const order = responseJson(response) as OrderJson;
    expect(order).toEqual({
      ...body,
      orderId: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
      totalCents: 3499,
      status: 'PLACED',
      version: 1,
      createdAt: expect.stringMatching(/^2030-01-01T00:00:\d\d\.000Z$/),
      updatedAt: order.createdAt,
    });
    expect(responseHeader(response, 'ETag')).toBe('"1"');
    expect(responseHeader(response, 'Location')).toBe(`/orders/${order.orderId}`);
    expect(responseHeader(response, 'Content-Type')).toBe('application/json; charset=utf-8');
    expect(await ordersOf('cust-create')).toEqual([order]);
  });

  it('stores the largest order the bounds allow with its exact total', async () => {
    // Prepare
    const lines = Array.from({ length: ORDER_LIMITS.maxLines }, (_, index) =>
      orderLine({ sku: `SKU-${index}`, qty: 10_000, unitPriceCents: 100_000_000 }),
    );

    // Act
    const order = await placeOrder({ customerId: 'cust-max', lines });

    // Assess
    expect(order.totalCents).toBe(99_000_000_000_000);
    expect((await ordersOf('cust-max'))[0]?.totalCents).toBe(99_000_000_000_000);
  });

  it('accepts a base64-encoded body', async () => {
    // Act
    const response = await harness.call({
      method: 'POST',
      path: '/orders',
      body: orderBody({ customerId: 'cust-base64' }),
      base64: true,
    });

    // Assess
    expect(response.statusCode).toBe(201);
    expect(await ordersOf('cust-base64')).toHaveLength(1);
  });
});

describe('POST /orders with an Idempotency-Key', () => {
  it('answers a retry with the first response and creates one order', async () => {
    // Prepare
    const request = {
      method: 'POST',
      path: '/orders',
      body: orderBody({ customerId: 'cust-idem-1' }),
      headers: { 'Idempotency-Key': 'retry-1' },
    };

    // Act
    const first = await harness.call(request);
    const second = await harness.call(request);

    // Assess
    expect(first.statusCode).toBe(201);
    expect(second.statusCode).toBe(201);
    expect(second.body).toBe(first.body);
    expect(responseHeader(second, 'ETag')).toBe('"1"');
    expect(await ordersOf('cust-idem-1')).toHaveLength(1);
  });

  it('replays the stored first response, not the order as it is now', async () => {
    // Prepare
    const request = {
      method: 'POST',
      path: '/orders',
      body: orderBody({ customerId: 'cust-idem-replay' }),
      headers: { 'Idempotency-Key': 'replay-1' },
    };
    const first = await harness.call(request);
    const created = responseJson(first) as OrderJson;
    await patchStatus(created.orderId, 'PAID');

    // Act
    const retry = await harness.call(request);

    // Assess
    expect(retry.statusCode).toBe(201);
    expect(responseJson(retry)).toEqual(created);
    const records = (await scanAll(harness.tables.Idempotency)).filter(
      (record) => (record.data as { orderId?: string } | undefined)?.orderId === created.orderId,
    );
    expect(records).toEqual([
      expect.objectContaining({
        id: expect.stringMatching(/^orders-api\.create-order#/),
        status: 'COMPLETED',
      }),
    ]);
  });

  it('treats header names case-insensitively and the same JSON in another layout as the same request', async () => {
    // Prepare
    const body = orderBody({ customerId: 'cust-idem-2' });
    const reordered = `{ "lines": ${JSON.stringify(body.lines)},\n "currency": "EUR", "customerEmail": "ada@example.com", "customerId": "cust-idem-2" }`;

    // Act
    const first = await harness.call({
      method: 'POST',
      path: '/orders',
      body,
      headers: { 'Idempotency-Key': 'k-2' },
    });
    const second = await harness.call({
      method: 'POST',
      path: '/orders',
      body: reordered,
      headers: { 'idempotency-key': 'k-2', 'content-type': 'application/json; charset=UTF-8' },
    });

    // Assess
    expect(second.statusCode).toBe(201);
    expect(second.body).toBe(first.body);
    expect(await ordersOf('cust-idem-2')).toHaveLength(1);
  });

  it('refuses the same key with another body with 422 and creates nothing', async () => {
    // Prepare
    const headers = { 'Idempotency-Key': 'k-3' };
    await harness.call({
      method: 'POST',
      path: '/orders',
      body: orderBody({ customerId: 'cust-idem-3' }),
      headers,
    });

    // Act
    const response = await harness.call({
      method: 'POST',
      path: '/orders',
      body: orderBody({ customerId: 'cust-idem-3', currency: 'USD' }),
      headers,
    });

    // Assess
    expect(response.statusCode).toBe(422);
    expect(responseJson(response)).toEqual({ error: expect.any(String), field: 'Idempotency-Key' });
    expect(await ordersOf('cust-idem-3')).toEqual([expect.objectContaining({ currency: 'EUR' })]);
  });

  it('keeps two callers using the same key apart', async () => {
    // Prepare
    const request = { method: 'POST', path: '/orders', body: orderBody({ customerId: 'cust-idem-4' }) };

    // Act
    const alice = await harness.call({
      ...request,
      headers: { 'Idempotency-Key': 'shared' },
      userArn: ALICE,
    });
    const bob = await harness.call({ ...request, headers: { 'Idempotency-Key': 'shared' }, userArn: BOB });

    // Assess
    expect(alice.statusCode).toBe(201);
    expect(bob.statusCode).toBe(201);
    expect((responseJson(bob) as OrderJson).orderId).not.toBe((responseJson(alice) as OrderJson).orderId);
    expect(await ordersOf('cust-idem-4')).toHaveLength(2);
  });

  it('never creates a second order when the idempotency record is lost', async () => {
    // Prepare
    const headers = { 'Idempotency-Key': 'k-5' };
    const body = orderBody({ customerId: 'cust-idem-5' });
    const first = await harness.call({ method: 'POST', path: '/orders', body, headers });
    for (const record of await scanAll(harness.tables.Idempotency)) {
      await localDynamoDb().documentClient.send(
        new DeleteCommand({ TableName: harness.tables.Idempotency, Key: { id: record.id } }),
      );
    }

    // Act
    const retry = await harness.call({ method: 'POST', path: '/orders', body, headers });
    const reuse = await harness.call({
      method: 'POST',
      path: '/orders',
      body: orderBody({ customerId: 'cust-idem-5', lines: [orderLine()] }),
      headers,
    });

    // Assess
    expect(retry.statusCode).toBe(201);
    expect(retry.body).toBe(first.body);
    expect(reuse.statusCode).toBe(422);
    expect(responseJson(reuse)).toMatchObject({ field: 'Idempotency-Key' });
    expect(await ordersOf('cust-idem-5')).toHaveLength(1);
    expect(harness.logger.entries).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        attributes: { orderId: (responseJson(first) as OrderJson).orderId },
      }),
    );
  });

  it('answers a duplicate that arrives while the first is in progress with 409', async () => {
    // Prepare: the first request's create waits for a signal, so the second surely arrives during it.
    const { documentClient } = localDynamoDb();
    const { tables } = harness;
    const realOrders = new DynamoDbOrdersRepository(documentClient, tables.Orders);
    let releaseFirst = (): void => undefined;
    const released = new Promise<void>((resolve) => {
      releaseFirst = resolve;
    });
    let firstStarted = (): void => undefined;
    const started = new Promise<void>((resolve) => {
      firstStarted = resolve;
    });
    const api = createOrdersApi({
      orders: {
        get: (orderId) => realOrders.get(orderId),
        changeStatus: (change) => realOrders.changeStatus(change),
        delete: (orderId, version) => realOrders.delete(orderId, version),
        create: async (order: Order): Promise<CreateOrderOutcome> => {
          firstStarted();
          await released;
          return realOrders.create(order);
        },
      },
      votes: new DynamoDbVotesRepository(documentClient, tables.Votes),
      pollResults: new DynamoDbPollResultsReader(documentClient, tables.PollResults),
      idempotency: new PowertoolsIdempotencyGuard({
        persistenceStore: new DynamoDBPersistenceLayer({
          tableName: tables.Idempotency,
          awsSdkV3Client: documentClient,
        }),
      }),
      clock: steppingClock(),
      newOrderId: () => crypto.randomUUID(),
      logger: new RecordingLogger(),
    });
    const request = () =>
      apiEvent({
        method: 'POST',
        path: '/orders',
        body: orderBody({ customerId: 'cust-idem-6' }),
        headers: { 'Idempotency-Key': 'k-6' },
      });
    const first = api(request(), lambdaContext());
    await started;

    // Act
    const duplicate = await api(request(), lambdaContext());
    releaseFirst();
    const firstResponse = await first;

    // Assess
    expect(duplicate.statusCode).toBe(409);
    expect(responseJson(duplicate)).toMatchObject({ field: 'Idempotency-Key' });
    expect(firstResponse.statusCode).toBe(201);
    expect(await ordersOf('cust-idem-6')).toHaveLength(1);
  });

  it('creates under a per-caller scope shared by events without identity', async () => {
    // Prepare
    const request = {
      method: 'POST',
      path: '/orders',
      body: orderBody({ customerId: 'cust-idem-7' }),
      headers: { 'Idempotency-Key': 'k-7' },
      userArn: null,
    };

    // Act
    const first = await harness.call(request);
    const second = await harness.call(request);

    // Assess
    expect(first.statusCode).toBe(201);
    expect(second.body).toBe(first.body);
    expect(await ordersOf('cust-idem-7')).toHaveLength(1);
  });
});

describe('GET /orders/{orderId}', () => {
  it('returns the order with its ETag, for the id in any letter case', async () => {
    // Prepare
    const order = await placeOrder({ customerId: 'cust-get' });

    // Act
    const lower = await harness.call({ method: 'GET', path: `/orders/${order.orderId}` });
    const upper = await harness.call({ method: 'GET', path: `/orders/${order.orderId.toUpperCase()}` });

    // Assess
    expect(lower.statusCode).toBe(200);
    expect(responseJson(lower)).toEqual(order);
    expect(responseHeader(lower, 'ETag')).toBe('"1"');
    expect(upper.statusCode).toBe(200);
    expect(upper.body).toBe(lower.body);
  });
});

/** From PLACED, the PATCHes that lead to each status. */
const PATH_TO: Readonly<Record<OrderStatus, readonly OrderStatus[]>> = {
  PLACED: [],
  PAID: ['PAID'],
  SHIPPED: ['PAID', 'SHIPPED'],
  DELIVERED: ['PAID', 'SHIPPED', 'DELIVERED'],
  CANCELLED: ['CANCELLED'],
  BACKORDERED: ['BACKORDERED'],
};

async function orderIn(status: OrderStatus): Promise<OrderJson> {
  const order = await placeOrder({ customerId: `cust-in-${status}` });
  let current = order;
  for (const next of PATH_TO[status]) {
    const response = await patchStatus(order.orderId, next);
    expect(response.statusCode).toBe(200);
    current = responseJson(response) as OrderJson;
  }
  return current;
}

describe('PATCH /orders/{orderId}', () => {
  it.each([
    { from: 'PLACED', to: 'PAID' },
    { from: 'PAID', to: 'SHIPPED' },
    { from: 'SHIPPED', to: 'DELIVERED' },
    { from: 'PLACED', to: 'CANCELLED' },
    { from: 'PAID', to: 'CANCELLED' },
    { from: 'PLACED', to: 'BACKORDERED' },
    { from: 'BACKORDERED', to: 'PLACED' },
    { from: 'BACKORDERED', to: 'CANCELLED' },
  ] as const)('allows $from -> $to, incrementing the version and setting updatedAt', async ({ from, to }) => {
    // Prepare
    const before = await orderIn(from);

    // Act
    const response = await patchStatus(before.orderId, to, `"${before.version}"`);

    // Assess
    expect(response.statusCode).toBe(200);
    const after = responseJson(response) as OrderJson;
    expect(after).toEqual({
      ...before,
      status: to,
      version: before.version + 1,
      updatedAt: expect.any(String),
    });
    expect(Date.parse(after.updatedAt)).toBeGreaterThan(Date.parse(before.updatedAt));
    expect(responseHeader(response, 'ETag')).toBe(`"${before.version + 1}"`);
    expect((await scanAll(harness.tables.Orders)).find((item) => item.orderId === before.orderId)).toEqual(
      after,
    );
  });

  it.each([
    { from: 'PLACED', to: 'PLACED' },
    { from: 'PLACED', to: 'SHIPPED' },
    { from: 'PLACED', to: 'DELIVERED' },
    { from: 'PAID', to: 'PLACED' },
    { from: 'PAID', to: 'BACKORDERED' },
    { from: 'PAID', to: 'DELIVERED' },
    { from: 'SHIPPED', to: 'CANCELLED' },
    { from: 'SHIPPED', to: 'PAID' },
    { from: 'DELIVERED', to: 'CANCELLED' },
    { from: 'CANCELLED', to: 'PLACED' },
    { from: 'CANCELLED', to: 'PAID' },
    { from: 'BACKORDERED', to: 'PAID' },
    { from: 'BACKORDERED', to: 'SHIPPED' },
  ] as const)('refuses $from -> $to with 409 naming both, writing nothing', async ({ from, to }) => {
    // Prepare
    const before = await orderIn(from);

    // Act
    const response = await patchStatus(before.orderId, to);

    // Assess
    expect(response.statusCode).toBe(409);
    const error = responseJson(response) as { error: string; field: string };
    expect(error.field).toBe('status');
    expect(error.error).toContain(from);
    expect(error.error).toContain(to);
    expect((await scanAll(harness.tables.Orders)).find((item) => item.orderId === before.orderId)).toEqual(
      before,
    );
  });

  it.each([
    { name: 'a quoted version', ifMatch: '"1"' },
    { name: 'a bare version', ifMatch: '1' },
    { name: 'any version', ifMatch: '*' },
  ])('honours If-Match with $name', async ({ ifMatch }) => {
    // Prepare
    const order = await placeOrder({ customerId: 'cust-if-match' });

    // Act
    const response = await patchStatus(order.orderId, 'PAID', ifMatch);

    // Assess
    expect(response.statusCode).toBe(200);
    expect(responseJson(response)).toMatchObject({ status: 'PAID', version: 2 });
  });

  it('refuses a stale If-Match with 412 and the current ETag', async () => {
    // Prepare
    const order = await placeOrder({ customerId: 'cust-stale' });
    await patchStatus(order.orderId, 'PAID', '"1"');

    // Act
    const response = await patchStatus(order.orderId, 'SHIPPED', '"1"');

    // Assess
    expect(response.statusCode).toBe(412);
    expect(responseJson(response)).toEqual({ error: expect.any(String), field: 'If-Match' });
    expect(responseHeader(response, 'ETag')).toBe('"2"');
    expect((await ordersOf('cust-stale'))[0]).toMatchObject({ status: 'PAID', version: 2 });
  });
});

describe('DELETE /orders/{orderId}', () => {
  it('deletes the order, after which it is not found', async () => {
    // Prepare
    const order = await placeOrder({ customerId: 'cust-delete' });

    // Act
    const deleted = await harness.call({ method: 'DELETE', path: `/orders/${order.orderId}` });
    const again = await harness.call({ method: 'DELETE', path: `/orders/${order.orderId}` });
    const read = await harness.call({ method: 'GET', path: `/orders/${order.orderId}` });

    // Assess
    expect(deleted.statusCode).toBe(204);
    expect(deleted.body).toBe('');
    expect(again.statusCode).toBe(404);
    expect(read.statusCode).toBe(404);
    expect(await ordersOf('cust-delete')).toEqual([]);
  });

  it('honours If-Match: stale is 412 and keeps the order, current deletes it', async () => {
    // Prepare
    const order = await placeOrder({ customerId: 'cust-delete-if-match' });
    await patchStatus(order.orderId, 'PAID');

    // Act
    const stale = await harness.call({
      method: 'DELETE',
      path: `/orders/${order.orderId}`,
      headers: { 'If-Match': '"1"' },
    });
    const remaining = await ordersOf('cust-delete-if-match');
    const current = await harness.call({
      method: 'DELETE',
      path: `/orders/${order.orderId}`,
      headers: { 'if-match': '2' },
    });

    // Assess
    expect(stale.statusCode).toBe(412);
    expect(responseJson(stale)).toMatchObject({ field: 'If-Match' });
    expect(remaining).toHaveLength(1);
    expect(current.statusCode).toBe(204);
    expect(await ordersOf('cust-delete-if-match')).toEqual([]);
  });
});

describe('unexpected failures', () => {
  it('answers 500 when a generated order id is already taken, creating nothing', async () => {
    // Prepare: an id generator that is not random, the bug the collision check exists for.
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
      newOrderId: () => '00000000-0000-4000-8000-000000000001',
    });
    const request = () =>
      apiEvent({ method: 'POST', path: '/orders', body: orderBody({ customerId: 'cust-collide' }) });
    const first = await api(request(), lambdaContext());

    // Act
    const second = await api(request(), lambdaContext());

    // Assess
    expect(first.statusCode).toBe(201);
    expect(second.statusCode).toBe(500);
    expect(responseJson(second)).toEqual({ error: 'Internal server error', field: null });
    expect(logger.entries).toEqual([
      expect.objectContaining({
        level: 'error',
        attributes: expect.objectContaining({ error: expect.any(Error) }),
      }),
    ]);
    expect(await ordersOf('cust-collide')).toHaveLength(1);
  });

  it('answers 500 with a generic message and logs the error', async () => {
    // Prepare: a table that does not exist makes DynamoDB fail the way an outage would.
    const logger = new RecordingLogger();
    const api = createOrdersApiFromTables({
      documentClient: localDynamoDb().documentClient,
      tables: {
        orders: 'no-such-table',
        votes: 'no-such-table',
        pollResults: 'no-such-table',
        idempotency: 'x',
      },
      logger,
    });

    // Act
    const response = await api(
      apiEvent({ method: 'GET', path: '/orders/0b8e1c9e-4f6a-4d2b-9c1e-2f3a4b5c6d7e' }),
      lambdaContext(),
    );

    // Assess
    expect(response.statusCode).toBe(500);
    expect(responseJson(response)).toEqual({ error: 'Internal server error', field: null });
    expect(response.body).not.toContain('no-such-table');
    expect(logger.entries).toEqual([
      expect.objectContaining({
        level: 'error',
        attributes: expect.objectContaining({ error: expect.any(Error) }),
      }),
    ]);
  });
});
