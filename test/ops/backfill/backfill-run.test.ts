import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Order } from '../../../lambdas/shared/orders/order.js';
import { createOpenSearchClient } from '../../../lambdas/shared/search/opensearch-client.js';
import type { SearchClient } from '../../../lambdas/shared/search/opensearch-client-options.js';
import { OpenSearchIndex } from '../../../lambdas/shared/search/opensearch-index.js';
import {
  ORDERS_INDEX,
  type SearchIndex,
  tombstoneDocument,
  toOrderDocument,
} from '../../../lambdas/shared/search/orders-index.js';
import { ensureOrdersIndex } from '../../../lambdas/shared/search/orders-index-bootstrap.js';
import { Outcome } from '../../../lambdas/shared/stream/stream-handler.js';
import { DEFAULT_RETRY, runBackfill, runVerify, writePage } from '../../../ops/backfill/backfill-run.js';
import { type LocalOpenSearch, startLocalOpenSearch } from '../../../sandbox/opensearch/local-opensearch.js';
import { createTestTables, localDynamoDb, type TestTables } from '../../support/dynamodb.js';

/** Order `n` of a test, at `version`. */
function order(n: number, version = 1): Order {
  const at = '2030-01-01T00:00:00.000Z';
  return {
    orderId: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    customerId: `customer-${n % 7}`,
    customerEmail: `customer-${n % 7}@example.com`,
    currency: 'EUR',
    lines: [{ sku: `SKU-${n % 40}`, qty: 1 + (n % 3), unitPriceCents: 1_000 }],
    totalCents: (1 + (n % 3)) * 1_000,
    status: version === 1 ? 'PLACED' : 'PAID',
    version,
    createdAt: at,
    updatedAt: at,
  };
}

/** The index's documents as id -> version and tombstone flag. */
function indexed(server: LocalOpenSearch): Map<string, { version: number; deleted: boolean }> {
  return new Map(
    [...server.documents(ORDERS_INDEX)].map(([id, document]) => [
      id,
      { version: document.version, deleted: document.source.deleted === true },
    ]),
  );
}

describe('the search backfill against DynamoDB Local and the local OpenSearch', () => {
  let tables: TestTables;
  let server: LocalOpenSearch;
  let client: SearchClient;
  let index: OpenSearchIndex;
  const lines: string[] = [];
  const log = (line: string): void => void lines.push(line);
  const { client: dynamodb, documentClient } = localDynamoDb();

  const putOrders = async (orders: readonly Order[]): Promise<void> => {
    await Promise.all(
      orders.map((item) => documentClient.send(new PutCommand({ TableName: tables.Orders, Item: item }))),
    );
  };

  const backfill = (mode: 'write' | 'dry-run', segments = 3) =>
    runBackfill({
      mode,
      dynamodb,
      table: tables.Orders,
      segments,
      index: mode === 'write' ? index : undefined,
      log,
    });

  beforeAll(async () => {
    // The first call synthesizes the app for the table definitions (seconds on a busy machine): in a hook, with the
    // hook's timeout, rather than in the first test.
    await (await createTestTables()).drop();
  });

  beforeEach(async () => {
    tables = await createTestTables();
    server = await startLocalOpenSearch({ port: 0 });
    client = createOpenSearchClient({ endpoint: server.url, sign: false });
    index = new OpenSearchIndex(client);
    lines.length = 0;
  });

  afterEach(async () => {
    await client.close();
    await server.stop();
    await tables.drop();
  });

  it('writes every order of the table into the index at its version, one _bulk per scanned page', async () => {
    // Prepare: 250 orders at versions 1 to 4.
    const orders = Array.from({ length: 250 }, (_unused, n) => order(n, 1 + (n % 4)));
    await putOrders(orders);
    await ensureOrdersIndex(client, { replicas: 0 });
    server.resetStats();

    // Act
    const summary = await backfill('write');

    // Assess: the index is the table.
    expect(indexed(server)).toEqual(
      new Map(orders.map((item) => [item.orderId, { version: item.version, deleted: false }])),
    );
    expect(server.documents(ORDERS_INDEX).get(orders[5]!.orderId)?.source).toEqual(
      toOrderDocument(orders[5]!),
    );
    expect(summary).toMatchObject({
      mode: 'write',
      scanned: 250,
      indexed: 250,
      orders: 250,
      invalid: [],
      failed: [],
      retries: 0,
      ok: true,
    });
    expect(summary.perSegment.map((segment) => segment.scanned).reduce((a, b) => a + b)).toBe(250);
    // Assess: pages of at most 100 orders, one request each; nothing else was sent.
    expect(summary.bulkRequests).toBeGreaterThanOrEqual(3);
    expect(server.stats().byRoute).toEqual({ 'POST /{index}/_bulk': summary.bulkRequests });
    expect(server.stats().bulkItems).toBe(250);
    expect(lines.at(-1)).toMatch(
      /segments \(scanned\/indexed\): #0 \d+\/\d+, #1 \d+\/\d+, #2 \d+\/\d+ \| 250 scanned, 250 indexed/,
    );
  });

  it('is idempotent: a second run leaves the same documents at the same versions', async () => {
    // Prepare
    const orders = Array.from({ length: 120 }, (_unused, n) => order(n, 2));
    await putOrders(orders);
    await ensureOrdersIndex(client, { replicas: 0 });
    await backfill('write');
    const first = indexed(server);

    // Act
    const again = await backfill('write', 2);

    // Assess: every write of the second run met its own version (409 = done), nothing changed or was added.
    expect(again).toMatchObject({ indexed: 120, failed: [], ok: true });
    expect(indexed(server)).toEqual(first);
    expect(server.documents(ORDERS_INDEX).size).toBe(120);
  });

  it('updates a stale document and leaves a newer one and a tombstone alone', async () => {
    // Prepare: the table has A, B and C at version 3; the index has A at 1 (stale), B at 9 (newer), and C's
    // tombstone at 4 (C was deleted after this scan read it).
    const [a, b, c] = [order(1, 3), order(2, 3), order(3, 3)];
    await putOrders([a!, b!, c!]);
    await ensureOrdersIndex(client, { replicas: 0 });
    await index.bulkIndex([
      { document: toOrderDocument({ ...a!, version: 1 }) },
      { document: toOrderDocument({ ...b!, version: 9 }) },
      { document: tombstoneDocument(c!.orderId, 3, '2030-01-02T00:00:00.000Z', 'user') },
    ]);

    // Act
    const summary = await backfill('write');

    // Assess: the 409s of B and C count as done.
    expect(summary).toMatchObject({ indexed: 3, failed: [], ok: true });
    expect(indexed(server)).toEqual(
      new Map([
        [a!.orderId, { version: 3, deleted: false }],
        [b!.orderId, { version: 9, deleted: false }],
        [c!.orderId, { version: 4, deleted: true }],
      ]),
    );
  });

  it('writes nothing in a dry run, and reports what it would write', async () => {
    // Prepare
    await putOrders(Array.from({ length: 30 }, (_unused, n) => order(n, 1 + (n % 2))));

    // Act
    const summary = await backfill('dry-run');

    // Assess
    expect(server.stats().requests).toBe(0);
    expect(server.indices()).toEqual([]);
    expect(summary).toMatchObject({
      mode: 'dry-run',
      scanned: 30,
      indexed: 0,
      orders: 30,
      byStatus: { PLACED: 15, PAID: 15 },
      ok: true,
    });
    expect(summary.bulkRequests).toBeGreaterThanOrEqual(1);
    expect(lines.at(-1)).toContain('30 would write');
  });

  it('reports a table item that is not an order and writes the others', async () => {
    // Prepare
    await putOrders([order(1)]);
    await dynamodb.send(
      new PutItemCommand({
        TableName: tables.Orders,
        Item: { orderId: { S: 'not-an-order' }, version: { N: '1' } },
      }),
    );
    await ensureOrdersIndex(client, { replicas: 0 });

    // Act
    const summary = await backfill('write');

    // Assess
    expect(summary.indexed).toBe(1);
    expect(summary.invalid).toEqual([
      { orderId: 'not-an-order', reason: expect.stringMatching(/^totalCents: .+; lines: /) },
    ]);
    expect(summary.ok).toBe(false);
    expect([...indexed(server).keys()]).toEqual([order(1).orderId]);
  });

  it('verifies: reports each kind of drift and writes nothing', async () => {
    // Prepare: the table; the index with one of each drift kind and the tombstone of a deleted order (not drift).
    const inSync = order(1, 2);
    const missing = order(2, 1);
    const stale = order(3, 4);
    const ahead = order(4, 2);
    const tombstoned = order(5, 3);
    await putOrders([inSync, missing, stale, ahead, tombstoned]);
    await ensureOrdersIndex(client, { replicas: 0 });
    await index.bulkIndex([
      { document: toOrderDocument(inSync) },
      { document: toOrderDocument({ ...stale, version: 2 }) },
      { document: toOrderDocument({ ...ahead, version: 5 }) },
      { document: tombstoneDocument(tombstoned.orderId, 3, '2030-01-02T00:00:00.000Z', 'user') },
      { document: toOrderDocument(order(6, 7)) },
      { document: tombstoneDocument(order(7).orderId, 1, '2030-01-02T00:00:00.000Z', 'ttl') },
    ]);
    server.resetStats();

    // Act
    const summary = await runVerify({ dynamodb, table: tables.Orders, segments: 2, search: client, log });

    // Assess
    expect(summary.ok).toBe(false);
    expect(summary.drift).toEqual({
      tableOrders: 5,
      indexDocuments: { live: 4, tombstones: 2 },
      inSync: 1,
      missing: [{ orderId: missing.orderId, tableVersion: 1 }],
      stale: [{ orderId: stale.orderId, tableVersion: 4, indexVersion: 2 }],
      ahead: [{ orderId: ahead.orderId, tableVersion: 2, indexVersion: 5 }],
      orphaned: [{ orderId: order(6).orderId, indexVersion: 7 }],
      tombstoned: [{ orderId: tombstoned.orderId, tableVersion: 3, indexVersion: 4 }],
      driftCount: 5,
    });
    expect(Object.keys(server.stats().byRoute).every((route) => !route.includes('_bulk'))).toBe(true);
  });

  it('verifies a backfilled table as free of drift, across several search pages', async () => {
    // Prepare
    await putOrders(Array.from({ length: 45 }, (_unused, n) => order(n, 1 + (n % 3))));
    await ensureOrdersIndex(client, { replicas: 0 });
    await backfill('write');
    server.resetStats();

    // Act
    const summary = await runVerify({
      dynamodb,
      table: tables.Orders,
      segments: 4,
      search: client,
      indexPageSize: 10,
      log,
    });

    // Assess
    expect(summary).toMatchObject({ ok: true, scanned: 45, invalid: [] });
    expect(summary.drift).toMatchObject({ tableOrders: 45, inSync: 45, driftCount: 0 });
    expect(server.stats().byRoute['POST /{index}/_search']).toBe(5);
  });

  it('verifies against a missing index: every order is missing', async () => {
    // Prepare
    await putOrders([order(1), order(2)]);

    // Act
    const summary = await runVerify({ dynamodb, table: tables.Orders, segments: 1, search: client, log });

    // Assess
    expect(summary.drift.missing.map((entry) => entry.orderId)).toEqual([order(1).orderId, order(2).orderId]);
  });
});

describe('writePage', () => {
  const noWait = { retry: { ...DEFAULT_RETRY, attempts: 3 }, sleep: async () => undefined };

  it('retries only the transient failures, and gives up on them after the attempts', async () => {
    // Prepare: A is ok, B permanent, C transient twice then ok, D always transient.
    const orders = [order(1), order(2), order(3), order(4)];
    const calls: string[][] = [];
    const index: SearchIndex = {
      bulkIndex: async (operations) => {
        calls.push(operations.map((operation) => operation.document.orderId));
        return operations.map(({ document }) => {
          if (document.orderId === orders[0]!.orderId) return Outcome.ok();
          if (document.orderId === orders[1]!.orderId) return Outcome.permanent('mapper_parsing_exception');
          if (document.orderId === orders[2]!.orderId && calls.length >= 3) return Outcome.ok();
          return Outcome.transient('es_rejected_execution_exception');
        });
      },
    };

    // Act
    const result = await writePage(index, orders, noWait);

    // Assess
    expect(calls).toEqual([
      orders.map((item) => item.orderId),
      [orders[2]!.orderId, orders[3]!.orderId],
      [orders[2]!.orderId, orders[3]!.orderId],
    ]);
    expect(result).toEqual({
      indexed: 2,
      retries: 2,
      failed: [
        { orderId: orders[1]!.orderId, reason: 'mapper_parsing_exception' },
        { orderId: orders[3]!.orderId, reason: 'es_rejected_execution_exception' },
      ],
    });
  });

  it('treats a request that failed as a whole as transient for every order of it', async () => {
    // Prepare
    let calls = 0;
    const index: SearchIndex = {
      bulkIndex: async (operations) => {
        calls += 1;
        if (calls === 1) throw new Error('socket hang up');
        return operations.map(() => Outcome.ok());
      },
    };

    // Act
    const result = await writePage(index, [order(1), order(2)], noWait);

    // Assess
    expect(result).toEqual({ indexed: 2, retries: 1, failed: [] });
  });
});
