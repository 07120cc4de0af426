import { randomUUID } from 'node:crypto';
import { DynamoDBClient, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DynamoDbFanoutStore,
  type DynamoDbFanoutStoreOptions,
  InvalidStockTransactionError,
  LEDGER_RETENTION_SECONDS,
  LEDGER_TTL_ATTRIBUTE,
  ledgerKey,
  MalformedFanoutItemError,
  reservationKey,
} from '../../../../lambdas/order-fanout/adapters/dynamodb-fanout-store.js';
import type { EffectKind, Reservation, StockTransaction } from '../../../../lambdas/order-fanout/ports.js';
import { classifyError, TransientError } from '../../../../lambdas/shared/errors.js';
import { IDEMPOTENCY_TTL_ATTRIBUTE } from '../../../../lib/constructs/data-tables.js';
import { createTestTables, localDynamoDb, scanAll, type TestTables } from '../../../support/dynamodb.js';
import { reservation } from './factories.js';

/** 2030-01-01T00:00:00Z */
const NOW_MS = Date.UTC(2030, 0, 1);

let tables: TestTables;

beforeAll(async () => {
  tables = await createTestTables();
});

afterAll(async () => {
  await tables.drop();
});

/** One DynamoDB call as the store made it: the low-level command name and the input before marshalling. */
interface Call {
  readonly command: string;
  readonly input: Record<string, unknown>;
}

/**
 * Fault injection (DynamoDB Local never leaves keys unprocessed nor reports a transaction conflict on demand):
 * `before` may throw instead of sending a call, `after` rewrites the (unmarshalled) output of one; `callIndex`
 * counts the calls of the same command from 0.
 */
interface Faults {
  readonly before?: (command: string) => void;
  readonly after?: (command: string, output: Record<string, unknown>, callIndex: number) => void;
}

interface Harness {
  readonly store: DynamoDbFanoutStore;
  readonly calls: Call[];
  readonly sleeps: number[];
}

/** A store over its own client of DynamoDB Local with a middleware that records every call, and optional faults. */
function harness(options: { faults?: Faults; store?: DynamoDbFanoutStoreOptions } = {}): Harness {
  const client = new DynamoDBClient(localDynamoDb().config);
  const calls: Call[] = [];
  const sleeps: number[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      calls.push({ command: String(context.commandName), input: args.input as Record<string, unknown> });
      return next(args);
    },
    { step: 'initialize', name: 'recordCalls' },
  );
  const { faults } = options;
  if (faults !== undefined) {
    const counts = new Map<string, number>();
    // The finalize step runs outside the DocumentClient's unmarshalling, so the output has native values.
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const command = String(context.commandName);
        faults.before?.(command);
        const result = await next(args);
        const index = counts.get(command) ?? 0;
        counts.set(command, index + 1);
        faults.after?.(command, result.output as unknown as Record<string, unknown>, index);
        return result;
      },
      { step: 'finalizeRequest', name: 'injectFaults' },
    );
  }
  const documentClient = DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true },
  });
  const store = new DynamoDbFanoutStore(
    documentClient,
    { inventory: tables.Inventory, idempotency: tables.Idempotency },
    {
      clock: () => NOW_MS,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      ...options.store,
    },
  );
  return { store, calls, sleeps };
}

function callsOf(calls: readonly Call[], command: string): Call[] {
  return calls.filter((call) => call.command === command);
}

/** A prefix unique to the test, so tests sharing the tables never see each other's items. */
function unique(label: string): string {
  return `${label}-${randomUUID().slice(0, 8)}`;
}

async function putItem(table: string, item: Record<string, unknown>): Promise<void> {
  await localDynamoDb().documentClient.send(new PutCommand({ TableName: table, Item: item }));
}

async function putStock(sku: string, available: number): Promise<void> {
  await putItem(tables.Inventory, { sku, available });
}

async function putReservation(stored: Reservation): Promise<void> {
  await putItem(tables.Inventory, { ...stored, sku: reservationKey(stored.orderId) });
}

async function getItem(
  table: string,
  key: Record<string, string>,
): Promise<Record<string, unknown> | undefined> {
  const { Item } = await localDynamoDb().documentClient.send(
    new GetCommand({ TableName: table, Key: key, ConsistentRead: true }),
  );
  return Item;
}

async function stockOf(sku: string): Promise<unknown> {
  return (await getItem(tables.Inventory, { sku }))?.available;
}

describe('DynamoDbFanoutStore', () => {
  it('keeps the ledger TTL attribute in step with the Idempotency table of the CDK app', () => {
    expect(LEDGER_TTL_ATTRIBUTE).toBe(IDEMPOTENCY_TTL_ATTRIBUTE);
  });

  it('derives the item keys from the order id and the change key', () => {
    expect(reservationKey('o-1')).toBe('#reservation#o-1');
    expect(ledgerKey('o-1:INSERT:1')).toBe('order-fanout#o-1:INSERT:1');
  });

  describe('read', () => {
    it('reads ledger entries, reservations and stock in one strongly consistent call; missing items are absent', async () => {
      // Prepare
      const [skuA, skuB, skuMissing] = [unique('A'), unique('B'), unique('Z')];
      const [orderId, orderMissing] = [unique('o'), unique('o')];
      const [changeKey, changeMissing] = [unique('c'), unique('c')];
      const stored = reservation(orderId, { releasedBy: 'c-9', shortBy: ['c-1'], shortSkus: [skuA] });
      await putStock(skuA, 5);
      await putStock(skuB, 0);
      await putReservation(stored);
      await putItem(tables.Idempotency, {
        id: ledgerKey(changeKey),
        effects: ['event', 'email'],
        expiration: 1,
      });
      const { store, calls } = harness();

      // Act
      const state = await store.read({
        changeKeys: [changeKey, changeMissing],
        orderIds: [orderId, orderMissing],
        skus: [skuA, skuB, skuMissing],
      });

      // Assess
      expect(state.stock).toEqual(
        new Map([
          [skuA, 5],
          [skuB, 0],
        ]),
      );
      expect(state.reservations).toEqual(new Map([[orderId, stored]]));
      expect(state.doneEffects).toEqual(new Map([[changeKey, new Set(['event', 'email'])]]));
      expect(callsOf(calls, 'BatchGetItemCommand')).toHaveLength(1);
      expect(calls[0]?.input).toEqual({
        RequestItems: {
          [tables.Inventory]: {
            Keys: [
              { sku: reservationKey(orderId) },
              { sku: reservationKey(orderMissing) },
              { sku: skuA },
              { sku: skuB },
              { sku: skuMissing },
            ],
            ConsistentRead: true,
          },
          [tables.Idempotency]: {
            Keys: [{ id: ledgerKey(changeKey) }, { id: ledgerKey(changeMissing) }],
            ConsistentRead: true,
          },
        },
      });
    });

    it('returns a reservation without its optional fields when they are not stored', async () => {
      // Prepare
      const orderId = unique('o');
      const { reservedBy: _omitted, ...backordered } = reservation(orderId, {
        state: 'BACKORDERED',
        shortBy: ['c-1', 'c-2'],
        shortSkus: ['A-1'],
      });
      await putReservation(backordered);
      const { store } = harness();

      // Act
      const state = await store.read({ changeKeys: [], orderIds: [orderId], skus: [] });

      // Assess
      const read = state.reservations.get(orderId);
      expect(read).toStrictEqual(backordered);
    });

    it('deduplicates the keys and reads more than DYNAMODB_BATCH_GET_MAX of them in chunks of at most 100', async () => {
      // Prepare
      const prefix = unique('S');
      const skus = Array.from({ length: 150 }, (_unused, n) => `${prefix}-${n}`);
      await Promise.all(skus.map((sku, n) => putStock(sku, n)));
      const changeKeys = Array.from({ length: 60 }, (_unused, n) => `${prefix}-change-${n}`);
      await Promise.all(
        changeKeys
          .slice(0, 30)
          .map((changeKey) =>
            putItem(tables.Idempotency, { id: ledgerKey(changeKey), effects: ['warehouse'] }),
          ),
      );
      const { store, calls } = harness();

      // Act: every SKU asked for twice, 210 distinct keys in all.
      const state = await store.read({ changeKeys, orderIds: [], skus: [...skus, ...skus] });

      // Assess
      expect(state.stock.size).toBe(150);
      expect(state.stock.get(`${prefix}-149`)).toBe(149);
      expect(state.doneEffects.size).toBe(30);
      expect(state.reservations.size).toBe(0);
      const batchGets = callsOf(calls, 'BatchGetItemCommand');
      expect(batchGets).toHaveLength(3);
      const keyCounts = batchGets.map((call) =>
        Object.values(call.input.RequestItems as Record<string, { Keys: unknown[] }>).reduce(
          (sum, request) => sum + request.Keys.length,
          0,
        ),
      );
      expect(keyCounts).toEqual([100, 100, 10]);
    });

    it('makes no call when nothing is asked for', async () => {
      // Prepare
      const { store, calls } = harness();

      // Act
      const state = await store.read({ changeKeys: [], orderIds: [], skus: [] });

      // Assess
      expect(state).toEqual({
        doneEffects: new Map(),
        claimedEffects: new Map(),
        reservations: new Map(),
        stock: new Map(),
      });
      expect(calls).toEqual([]);
    });

    it('retries unprocessed keys with a growing backoff until they are read', async () => {
      // Prepare
      const [skuA, skuB] = [unique('A'), unique('B')];
      await putStock(skuA, 1);
      await putStock(skuB, 2);
      // The first call returns only the first item found and leaves the others unprocessed, the second none.
      const { store, calls, sleeps } = harness({
        faults: {
          after: (command, output, callIndex) => {
            if (command !== 'BatchGetItemCommand' || callIndex > 1) return;
            const responses = output.Responses as Record<string, Record<string, unknown>[]>;
            const items = responses[tables.Inventory] ?? [];
            const kept = callIndex === 0 ? 1 : 0;
            responses[tables.Inventory] = items.slice(0, kept);
            output.UnprocessedKeys = {
              [tables.Inventory]: { Keys: items.slice(kept).map((item) => ({ sku: item.sku })) },
            };
          },
        },
        store: { batchGetBaseDelayMs: 100 },
      });

      // Act
      const state = await store.read({ changeKeys: [], orderIds: [], skus: [skuA, skuB, unique('Z')] });

      // Assess
      expect(state.stock).toEqual(
        new Map([
          [skuA, 1],
          [skuB, 2],
        ]),
      );
      const batchGets = callsOf(calls, 'BatchGetItemCommand');
      expect(batchGets).toHaveLength(3);
      // Each retry asks for what was left, strongly consistent again.
      expect(batchGets[2]?.input.RequestItems).toEqual({
        [tables.Inventory]: { Keys: [expect.any(Object)], ConsistentRead: true },
      });
      expect(sleeps).toHaveLength(2);
      expect(sleeps[0]).toBeGreaterThanOrEqual(50);
      expect(sleeps[0]).toBeLessThanOrEqual(100);
      expect(sleeps[1]).toBeGreaterThanOrEqual(100);
      expect(sleeps[1]).toBeLessThanOrEqual(200);
    });

    it('throws a TransientError when keys stay unprocessed through every attempt', async () => {
      // Prepare
      const sku = unique('A');
      await putStock(sku, 1);
      const { store, calls, sleeps } = harness({
        faults: {
          after: (command, output) => {
            if (command !== 'BatchGetItemCommand') return;
            output.Responses = {};
            output.UnprocessedKeys = { [tables.Inventory]: { Keys: [{ sku }] } };
          },
        },
        store: { batchGetMaxAttempts: 3 },
      });

      // Act
      const reading = store.read({ changeKeys: [], orderIds: [], skus: [sku] });

      // Assess
      await expect(reading).rejects.toThrow(TransientError);
      await expect(reading).rejects.toThrow('BatchGetItem left 1 key(s) unprocessed after 3 attempts');
      expect(callsOf(calls, 'BatchGetItemCommand')).toHaveLength(3);
      expect(sleeps).toHaveLength(2);
    });

    it.each<[string, (key: string) => Record<string, unknown>]>([
      [
        'a reservation with an unknown state',
        (orderId) => ({ ...reservation(orderId), sku: reservationKey(orderId), state: 'LOST' }),
      ],
      [
        'a reservation without revision',
        (orderId) => {
          const { revision: _omitted, ...rest } = reservation(orderId);
          return { ...rest, sku: reservationKey(orderId) };
        },
      ],
      [
        'a reservation stored under another order',
        (orderId) => ({ ...reservation('someone-else'), sku: reservationKey(orderId) }),
      ],
    ])(
      'throws MalformedFanoutItemError, a transient bug and not a bad record, for %s',
      async (_label, build) => {
        // Prepare
        const orderId = unique('o');
        await putItem(tables.Inventory, build(orderId));
        const { store } = harness();

        // Act
        const reading = store.read({ changeKeys: [], orderIds: [orderId], skus: [] });

        // Assess
        const error = await reading.catch((err: unknown) => err);
        expect(error).toBeInstanceOf(MalformedFanoutItemError);
        expect((error as Error).message).toContain(reservationKey(orderId));
        expect(classifyError(error)).toBe('transient');
      },
    );

    it('throws MalformedFanoutItemError for a stock item whose count is not a number', async () => {
      // Prepare
      const sku = unique('A');
      await putItem(tables.Inventory, { sku, available: 'five' });
      const { store } = harness();

      // Act
      const reading = store.read({ changeKeys: [], orderIds: [], skus: [sku] });

      // Assess
      await expect(reading).rejects.toThrow(MalformedFanoutItemError);
    });

    it('throws MalformedFanoutItemError for a ledger entry with an unknown effect', async () => {
      // Prepare
      const changeKey = unique('c');
      await putItem(tables.Idempotency, { id: ledgerKey(changeKey), effects: ['event', 'fax'] });
      const { store } = harness();

      // Act
      const reading = store.read({ changeKeys: [changeKey], orderIds: [], skus: [] });

      // Assess
      await expect(reading).rejects.toThrow(MalformedFanoutItemError);
    });
  });

  describe('applyStock', () => {
    it('commits reservation writes and stock deltas in one transaction', async () => {
      // Prepare
      const [skuA, skuB] = [unique('A'), unique('B')];
      const orderId = unique('o');
      await putStock(skuA, 5);
      await putStock(skuB, 1);
      const next = reservation(orderId, {
        lines: [
          { sku: skuA, qty: 2 },
          { sku: skuB, qty: 1 },
        ],
      });
      const { store, calls } = harness();

      // Act
      const result = await store.applyStock({
        reservations: [{ next, expectedRevision: undefined }],
        deltas: [
          { sku: skuA, delta: -2 },
          { sku: skuB, delta: 3 },
        ],
      });

      // Assess
      expect(result).toEqual({ kind: 'committed' });
      expect(await stockOf(skuA)).toBe(3);
      expect(await stockOf(skuB)).toBe(4);
      expect(await getItem(tables.Inventory, { sku: reservationKey(orderId) })).toEqual({
        ...next,
        sku: reservationKey(orderId),
      });
      expect(callsOf(calls, 'TransactWriteItemsCommand')).toHaveLength(1);
      expect(calls).toHaveLength(1);
    });

    it('sends the conditions the port describes', async () => {
      // Prepare
      const [skuA, skuB] = [unique('A'), unique('B')];
      const [newOrder, knownOrder] = [unique('o'), unique('o')];
      await putStock(skuA, 5);
      await putReservation(reservation(knownOrder, { revision: 4 }));
      const created = reservation(newOrder);
      const updated = reservation(knownOrder, { state: 'RELEASED', releasedBy: 'c-2', revision: 5 });
      const { store, calls } = harness();

      // Act
      await store.applyStock({
        reservations: [
          { next: created, expectedRevision: undefined },
          { next: updated, expectedRevision: 4 },
        ],
        deltas: [
          { sku: skuA, delta: -5 },
          { sku: skuB, delta: 2 },
        ],
      });

      // Assess
      expect(calls[0]?.input).toEqual({
        TransactItems: [
          {
            Put: {
              TableName: tables.Inventory,
              Item: { ...created, sku: reservationKey(newOrder) },
              ConditionExpression: 'attribute_not_exists(sku)',
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            },
          },
          {
            Put: {
              TableName: tables.Inventory,
              Item: { ...updated, sku: reservationKey(knownOrder) },
              ConditionExpression: '#revision = :expected',
              ExpressionAttributeNames: { '#revision': 'revision' },
              ExpressionAttributeValues: { ':expected': 4 },
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            },
          },
          {
            Update: {
              TableName: tables.Inventory,
              Key: { sku: skuA },
              UpdateExpression: 'ADD #available :delta',
              ConditionExpression: '#available >= :need',
              ExpressionAttributeNames: { '#available': 'available' },
              ExpressionAttributeValues: { ':delta': -5, ':need': 5 },
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            },
          },
          {
            Update: {
              TableName: tables.Inventory,
              Key: { sku: skuB },
              UpdateExpression: 'ADD #available :delta',
              ExpressionAttributeNames: { '#available': 'available' },
              ExpressionAttributeValues: { ':delta': 2 },
            },
          },
        ],
      });
      expect(await stockOf(skuA)).toBe(0);
    });

    it('answers conflict and writes nothing when a negative delta exceeds the stock', async () => {
      // Prepare
      const [skuA, skuB, skuC] = [unique('A'), unique('B'), unique('C')];
      const orderId = unique('o');
      await putStock(skuA, 5);
      await putStock(skuB, 1);
      await putStock(skuC, 0);
      const before = await scanAll(tables.Inventory);
      const { store } = harness();

      // Act
      const result = await store.applyStock({
        reservations: [{ next: reservation(orderId), expectedRevision: undefined }],
        deltas: [
          { sku: skuA, delta: -2 },
          { sku: skuB, delta: -3 },
          { sku: skuC, delta: 4 },
        ],
      });

      // Assess
      expect(result).toEqual({
        kind: 'conflict',
        reason: `stock of SKU ${skuB} is short of 3 (available 1)`,
      });
      // Atomicity: neither the reservation nor the other deltas were written.
      expect(await scanAll(tables.Inventory)).toEqual(before);
      expect(await stockOf(skuA)).toBe(5);
      expect(await getItem(tables.Inventory, { sku: reservationKey(orderId) })).toBeUndefined();
    });

    it('answers conflict for a negative delta on a SKU without a stock item (no stock)', async () => {
      // Prepare
      const sku = unique('Z');
      const { store } = harness();

      // Act
      const result = await store.applyStock({ reservations: [], deltas: [{ sku, delta: -1 }] });

      // Assess
      expect(result).toEqual({
        kind: 'conflict',
        reason: `stock of SKU ${sku} is short of 1 (no stock item)`,
      });
      expect(await getItem(tables.Inventory, { sku })).toBeUndefined();
    });

    it('answers conflict and writes nothing when the reservation is not at the expected revision', async () => {
      // Prepare
      const sku = unique('A');
      const orderId = unique('o');
      await putStock(sku, 5);
      const stored = reservation(orderId, { revision: 3 });
      await putReservation(stored);
      const before = await scanAll(tables.Inventory);
      const { store } = harness();

      // Act
      const result = await store.applyStock({
        reservations: [
          { next: reservation(orderId, { state: 'RELEASED', revision: 3 }), expectedRevision: 2 },
        ],
        deltas: [{ sku, delta: 2 }],
      });

      // Assess
      expect(result).toEqual({
        kind: 'conflict',
        reason: `reservation of order ${orderId} is not at revision 2 (found 3)`,
      });
      expect(await scanAll(tables.Inventory)).toEqual(before);
    });

    it('answers conflict when a reservation expected to be new already exists', async () => {
      // Prepare
      const sku = unique('A');
      const orderId = unique('o');
      await putStock(sku, 5);
      await putReservation(reservation(orderId, { revision: 1 }));
      const before = await scanAll(tables.Inventory);
      const { store } = harness();

      // Act
      const result = await store.applyStock({
        reservations: [{ next: reservation(orderId), expectedRevision: undefined }],
        deltas: [{ sku, delta: -2 }],
      });

      // Assess
      expect(result).toEqual({
        kind: 'conflict',
        reason: `reservation of order ${orderId} already exists (revision 1)`,
      });
      expect(await scanAll(tables.Inventory)).toEqual(before);
    });

    it('names every item whose condition failed', async () => {
      // Prepare
      const [skuA, skuB] = [unique('A'), unique('B')];
      const orderId = unique('o');
      await putReservation(reservation(orderId, { revision: 2 }));
      await putStock(skuA, 1);
      const { store } = harness();

      // Act
      const result = await store.applyStock({
        reservations: [{ next: reservation(orderId, { revision: 2 }), expectedRevision: 1 }],
        deltas: [
          { sku: skuA, delta: -2 },
          { sku: skuB, delta: -1 },
        ],
      });

      // Assess
      expect(result.kind).toBe('conflict');
      const reason = result.kind === 'conflict' ? result.reason : '';
      expect(reason).toContain(`reservation of order ${orderId} is not at revision 1 (found 2)`);
      expect(reason).toContain(`stock of SKU ${skuA} is short of 2 (available 1)`);
      expect(reason).toContain(`stock of SKU ${skuB} is short of 1 (no stock item)`);
    });

    it('updates a reservation at the expected revision', async () => {
      // Prepare
      const sku = unique('A');
      const orderId = unique('o');
      await putStock(sku, 0);
      await putReservation(reservation(orderId, { lines: [{ sku, qty: 2 }], revision: 1 }));
      const released = reservation(orderId, {
        lines: [{ sku, qty: 2 }],
        state: 'RELEASED',
        releasedBy: 'c-2',
        revision: 2,
      });
      const { store } = harness();

      // Act
      const result = await store.applyStock({
        reservations: [{ next: released, expectedRevision: 1 }],
        deltas: [{ sku, delta: 2 }],
      });

      // Assess
      expect(result).toEqual({ kind: 'committed' });
      const state = await store.read({ changeKeys: [], orderIds: [orderId], skus: [sku] });
      expect(state.reservations.get(orderId)).toEqual(released);
      expect(state.stock.get(sku)).toBe(2);
    });

    it('creates the stock item of a SKU that has none on a positive delta', async () => {
      // Prepare
      const sku = unique('N');
      const { store } = harness();

      // Act
      const result = await store.applyStock({ reservations: [], deltas: [{ sku, delta: 7 }] });

      // Assess
      expect(result).toEqual({ kind: 'committed' });
      expect(await getItem(tables.Inventory, { sku })).toEqual({ sku, available: 7 });
    });

    it.each<[string, () => StockTransaction]>([
      ['an empty transaction', () => ({ reservations: [], deltas: [] })],
      [
        'more than DYNAMODB_TRANSACTION_MAX writes',
        () => ({
          reservations: [{ next: reservation('o-1'), expectedRevision: undefined }],
          deltas: Array.from({ length: 100 }, (_unused, n) => ({ sku: `S-${n}`, delta: -1 })),
        }),
      ],
      ['a zero delta', () => ({ reservations: [], deltas: [{ sku: 'S-1', delta: 0 }] })],
      [
        'two writes of one SKU',
        () => ({
          reservations: [],
          deltas: [
            { sku: 'S-1', delta: -1 },
            { sku: 'S-1', delta: 2 },
          ],
        }),
      ],
      [
        'two writes of one reservation',
        () => ({
          reservations: [
            { next: reservation('o-1'), expectedRevision: undefined },
            { next: reservation('o-1', { revision: 2 }), expectedRevision: 1 },
          ],
          deltas: [],
        }),
      ],
    ])('refuses %s without calling DynamoDB', async (_label, build) => {
      // Prepare
      const { store, calls } = harness();

      // Act
      const applying = store.applyStock(build());

      // Assess
      await expect(applying).rejects.toThrow(InvalidStockTransactionError);
      expect(calls).toEqual([]);
    });

    it('takes exactly DYNAMODB_TRANSACTION_MAX writes', async () => {
      // Prepare
      const prefix = unique('T');
      const { store } = harness();

      // Act
      const result = await store.applyStock({
        reservations: [],
        deltas: Array.from({ length: 100 }, (_unused, n) => ({ sku: `${prefix}-${n}`, delta: 1 })),
      });

      // Assess
      expect(result).toEqual({ kind: 'committed' });
      expect(await stockOf(`${prefix}-99`)).toBe(1);
    });

    it('throws a TransientError for a cancellation that is no failed condition (e.g. TransactionConflict)', async () => {
      // Prepare: DynamoDB Local cannot be made to report a conflict on demand, so the call fails before it is sent.
      const sku = unique('A');
      await putStock(sku, 5);
      const conflict = new TransactionCanceledException({
        message:
          'Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict]',
        $metadata: { httpStatusCode: 400 },
        CancellationReasons: [
          { Code: 'TransactionConflict', Message: 'Transaction is ongoing for the item' },
        ],
      });
      // As the check below shows, classifyError alone would dead-letter the record: hence the wrapping.
      expect(classifyError(conflict)).toBe('permanent');
      const { store } = harness({
        faults: {
          before: (command) => {
            if (command === 'TransactWriteItemsCommand') throw conflict;
          },
        },
      });

      // Act
      const error = await store
        .applyStock({ reservations: [], deltas: [{ sku, delta: -1 }] })
        .catch((e) => e);

      // Assess
      expect(error).toBeInstanceOf(TransientError);
      expect(await stockOf(sku)).toBe(5);
      expect((error as TransientError).reason).toBe('TransactWriteItems cancelled: [TransactionConflict]');
      expect((error as TransientError).cause).toBe(conflict);
      expect(classifyError(error)).toBe('transient');
    });

    it('throws any other error as it is', async () => {
      // Prepare
      const client = new DynamoDBClient(localDynamoDb().config);
      const store = new DynamoDbFanoutStore(DynamoDBDocumentClient.from(client), {
        inventory: `missing-${randomUUID()}`,
        idempotency: tables.Idempotency,
      });

      // Act
      const applying = store.applyStock({ reservations: [], deltas: [{ sku: 'A', delta: 1 }] });

      // Assess
      await expect(applying).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    });
  });

  describe('recordDone', () => {
    it('writes each change’s effects with an expiry 30 days out, in one transaction', async () => {
      // Prepare
      const [first, second] = [unique('c'), unique('c')];
      const { store, calls } = harness();

      // Act
      await store.recordDone([
        { changeKey: first, effects: ['warehouse', 'event'] },
        { changeKey: second, effects: [] },
      ]);

      // Assess
      const expiration = NOW_MS / 1000 + LEDGER_RETENTION_SECONDS;
      expect(LEDGER_RETENTION_SECONDS).toBe(30 * 24 * 3600);
      expect(await getItem(tables.Idempotency, { id: ledgerKey(first) })).toEqual({
        id: ledgerKey(first),
        effects: ['event', 'warehouse'],
        [IDEMPOTENCY_TTL_ATTRIBUTE]: expiration,
      });
      expect(await getItem(tables.Idempotency, { id: ledgerKey(second) })).toEqual({
        id: ledgerKey(second),
        effects: [],
        [IDEMPOTENCY_TTL_ATTRIBUTE]: expiration,
      });
      expect(callsOf(calls, 'TransactWriteItemsCommand')).toHaveLength(1);
      expect(calls[0]?.input).toEqual({
        TransactItems: [
          {
            Put: {
              TableName: tables.Idempotency,
              Item: { id: ledgerKey(first), effects: ['event', 'warehouse'], expiration },
            },
          },
          {
            Put: { TableName: tables.Idempotency, Item: { id: ledgerKey(second), effects: [], expiration } },
          },
        ],
      });
    });

    it('overwrites an entry with the full set, which read then returns', async () => {
      // Prepare
      const changeKey = unique('c');
      const { store } = harness();
      await store.recordDone([{ changeKey, effects: ['event'] }]);

      // Act
      await store.recordDone([{ changeKey, effects: ['event', 'email', 'backorder'] }]);

      // Assess
      const state = await store.read({ changeKeys: [changeKey], orderIds: [], skus: [] });
      expect(state.doneEffects.get(changeKey)).toEqual(new Set<EffectKind>(['event', 'email', 'backorder']));
    });

    it('merges entries of the same change, which one transaction cannot write twice', async () => {
      // Prepare
      const changeKey = unique('c');
      const { store, calls } = harness();

      // Act
      await store.recordDone([
        { changeKey, effects: ['email'] },
        { changeKey, effects: ['event'] },
      ]);

      // Assess
      expect(await getItem(tables.Idempotency, { id: ledgerKey(changeKey) })).toMatchObject({
        effects: ['event', 'email'],
      });
      expect(calls).toHaveLength(1);
    });

    it('writes more than DYNAMODB_TRANSACTION_MAX entries in one transaction per 100, one after the other', async () => {
      // Prepare
      const prefix = unique('c');
      const changeKeys = Array.from({ length: 150 }, (_unused, n) => `${prefix}-${n}`);
      const { store, calls } = harness();

      // Act
      await store.recordDone(changeKeys.map((changeKey) => ({ changeKey, effects: ['event'] })));

      // Assess
      const transactions = callsOf(calls, 'TransactWriteItemsCommand');
      expect(transactions.map((call) => (call.input.TransactItems as unknown[]).length)).toEqual([100, 50]);
      const state = await store.read({ changeKeys, orderIds: [], skus: [] });
      expect(state.doneEffects.size).toBe(150);
    });

    it('makes no call for no entries', async () => {
      // Prepare
      const { store, calls } = harness();

      // Act
      await store.recordDone([]);

      // Assess
      expect(calls).toEqual([]);
    });
  });

  describe('recordClaims', () => {
    it('writes the whole entry with its claims in one transaction, which read returns beside the done effects', async () => {
      // Prepare
      const [claimedOnly, partlyDone] = [unique('c'), unique('c')];
      const { store, calls } = harness();

      // Act
      await store.recordClaims([
        { changeKey: claimedOnly, effects: [], claimed: ['warehouse', 'event'] },
        { changeKey: partlyDone, effects: ['event'], claimed: ['email'] },
      ]);
      const state = await store.read({ changeKeys: [claimedOnly, partlyDone], orderIds: [], skus: [] });

      // Assess
      const expiration = NOW_MS / 1000 + LEDGER_RETENTION_SECONDS;
      expect(calls[0]?.input).toEqual({
        TransactItems: [
          {
            Put: {
              TableName: tables.Idempotency,
              Item: { id: ledgerKey(claimedOnly), effects: [], claimed: ['event', 'warehouse'], expiration },
            },
          },
          {
            Put: {
              TableName: tables.Idempotency,
              Item: { id: ledgerKey(partlyDone), effects: ['event'], claimed: ['email'], expiration },
            },
          },
        ],
      });
      expect(state.claimedEffects).toEqual(
        new Map([
          [claimedOnly, new Set(['event', 'warehouse'])],
          [partlyDone, new Set(['email'])],
        ]),
      );
      expect(state.doneEffects).toEqual(
        new Map([
          [claimedOnly, new Set()],
          [partlyDone, new Set(['event'])],
        ]),
      );
    });

    it('lets recordDone replace the claims: confirmed ones become done, the rest stay claimed', async () => {
      // Prepare
      const changeKey = unique('c');
      const { store } = harness();
      await store.recordClaims([{ changeKey, effects: [], claimed: ['event', 'email', 'warehouse'] }]);

      // Act: the event and the e-mail were confirmed; the warehouse call threw
      await store.recordDone([{ changeKey, effects: ['event', 'email'], claimed: ['event', 'warehouse'] }]);

      // Assess: an effect both done and claimed is stored as done only
      expect(await getItem(tables.Idempotency, { id: ledgerKey(changeKey) })).toEqual({
        id: ledgerKey(changeKey),
        effects: ['event', 'email'],
        claimed: ['warehouse'],
        [IDEMPOTENCY_TTL_ATTRIBUTE]: NOW_MS / 1000 + LEDGER_RETENTION_SECONDS,
      });
      const state = await store.read({ changeKeys: [changeKey], orderIds: [], skus: [] });
      expect(state.claimedEffects).toEqual(new Map([[changeKey, new Set(['warehouse'])]]));
    });

    it('reads an entry written before claims existed as having none', async () => {
      // Prepare
      const changeKey = unique('c');
      const { store } = harness();
      await store.recordDone([{ changeKey, effects: ['event'] }]);

      // Act
      const state = await store.read({ changeKeys: [changeKey], orderIds: [], skus: [] });

      // Assess
      expect(state.claimedEffects).toEqual(new Map());
      expect(state.doneEffects).toEqual(new Map([[changeKey, new Set(['event'])]]));
    });
  });
});
