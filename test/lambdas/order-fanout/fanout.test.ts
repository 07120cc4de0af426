import { describe, expect, it } from 'vitest';
import {
  createOrderFanoutBatchHandler,
  MAX_STOCK_ATTEMPTS,
  ORDER_FANOUT_METRICS,
} from '../../../lambdas/order-fanout/fanout.js';
import type { OrderEvent } from '../../../lambdas/order-fanout/messages.js';
import type { EffectKind } from '../../../lambdas/order-fanout/ports.js';
import { TransientError } from '../../../lambdas/shared/errors.js';
import type { Order, OrderStatus } from '../../../lambdas/shared/orders/order.js';
import { type ChangeRecord, toChangeRecord } from '../../../lambdas/shared/stream/change-record.js';
import type {
  BatchOutcomes,
  StreamContext,
  StreamLogger,
} from '../../../lambdas/shared/stream/stream-handler.js';
import { storedOrder } from '../../support/orders.js';
import { createStreamRecordFactory, lambdaContext } from '../../support/stream-records.js';
import {
  FakeEmailSender,
  FakeEventPublisher,
  FakeFanoutStore,
  FakeOrdersRepository,
  FakeWarehouseQueue,
} from './fakes.js';

const NOW = Date.parse('2030-01-02T00:00:00.000Z');

class RecordingMetrics {
  public readonly added: { name: string; value: number }[] = [];
  public addMetric(name: string, _unit: unknown, value: number): void {
    this.added.push({ name, value });
  }
  public total(name: string): number {
    return this.added.filter((metric) => metric.name === name).reduce((sum, metric) => sum + metric.value, 0);
  }
}

class RecordingLogger implements StreamLogger {
  public readonly errors: string[] = [];
  public debug(): void {}
  public info(): void {}
  public warn(): void {}
  public error(message: string): void {
    this.errors.push(message);
  }
  public addContext(): void {}
}

function orderId(n: number): string {
  return `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
}

function order(n: number, overrides: Partial<Order> = {}): Order {
  return storedOrder({
    orderId: orderId(n),
    customerId: `cust-${n}`,
    customerEmail: `cust-${n}@example.com`,
    lines: [
      { sku: 'SKU-A', qty: 2, unitPriceCents: 250 },
      { sku: 'SKU-B', qty: 1, unitPriceCents: 1000 },
    ],
    totalCents: 1500,
    ...overrides,
  });
}

/** Stream records of the Orders table, decoded as the runtime hands them to handleBatch. */
function recordKit(): {
  insert(o: Order): ChangeRecord;
  modify(o: Order, to: OrderStatus): ChangeRecord;
  remove(o: Order, ttl?: boolean): ChangeRecord;
} {
  const factory = createStreamRecordFactory({ tableName: 'Orders', keyAttributes: ['orderId'] });
  return {
    insert: (o) => toChangeRecord(factory.insert({ ...o })),
    modify: (o, to) =>
      toChangeRecord(
        factory.modify(
          { ...o },
          { ...o, status: to, version: o.version + 1, updatedAt: '2030-01-01T01:00:00.000Z' },
        ),
      ),
    remove: (o, ttl = false) => toChangeRecord(ttl ? factory.ttlRemove({ ...o }) : factory.remove({ ...o })),
  };
}

function setup(
  stock: Record<string, number> = { 'SKU-A': 100, 'SKU-B': 100 },
  orders: Order[] = [],
  remainingMs: () => number = () => 60_000,
) {
  const ports = {
    events: new FakeEventPublisher(),
    emails: new FakeEmailSender(),
    warehouse: new FakeWarehouseQueue(),
    store: new FakeFanoutStore(stock),
    orders: new FakeOrdersRepository(orders),
  };
  const logger = new RecordingLogger();
  const metrics = new RecordingMetrics();
  const context: StreamContext = {
    consumerName: 'order-fanout',
    lambdaContext: lambdaContext({ getRemainingTimeInMillis: remainingMs }),
    logger,
  };
  const handle = createOrderFanoutBatchHandler({ ...ports, clock: () => NOW, metrics });
  return { ...ports, logger, metrics, run: (records: readonly ChangeRecord[]) => handle(records, context) };
}

/** Order 1 placed and paid, order 2 placed; order 1's placed e-mail fails transiently, which blocks its PAID change. */
function blockedOrder(): { fanout: ReturnType<typeof setup>; placed: Order; records: ChangeRecord[] } {
  const kit = recordKit();
  const fanout = setup();
  const placed = order(1);
  const records = [kit.insert(placed), kit.modify(placed, 'PAID'), kit.insert(order(2))];
  fanout.emails.script.failEntry(`${placed.orderId}:1:email-placed`, {
    kind: 'transient',
    reason: 'throttled',
  });
  return { fanout, placed, records };
}

function kinds(outcomes: BatchOutcomes, records: readonly ChangeRecord[]): string[] {
  return records.map((record) => outcomes.get(record.sequenceNumber)?.kind ?? 'missing');
}

function eventTypes(events: readonly OrderEvent[]): string[] {
  return events.map((event) => `${event.orderId.slice(-2)}:${event.type}@${event.version}`);
}

describe('order fan-out: placing an order', () => {
  it('reserves every line, then publishes OrderPlaced, sends the placed e-mail and the warehouse message', async () => {
    // Prepare
    const kit = recordKit();
    const fanout = setup();
    const placed = order(1);
    const records = [kit.insert(placed)];

    // Act
    const outcomes = await fanout.run(records);

    // Assess
    expect(kinds(outcomes, records)).toEqual(['ok']);
    expect(fanout.store.stock).toEqual(
      new Map([
        ['SKU-A', 98],
        ['SKU-B', 99],
      ]),
    );
    expect(fanout.store.reservations.get(placed.orderId)).toMatchObject({
      state: 'RESERVED',
      reservedBy: `${placed.orderId}:INSERT:1`,
      lines: [
        { sku: 'SKU-A', qty: 2 },
        { sku: 'SKU-B', qty: 1 },
      ],
      revision: 1,
    });
    expect(fanout.events.published).toEqual([
      {
        schemaVersion: 1,
        eventId: `${placed.orderId}:1:OrderPlaced`,
        type: 'OrderPlaced',
        orderId: placed.orderId,
        customerId: 'cust-1',
        version: 1,
        status: 'PLACED',
        occurredAt: placed.updatedAt,
        currency: 'EUR',
        totalCents: 1500,
        lines: [
          { sku: 'SKU-A', qty: 2 },
          { sku: 'SKU-B', qty: 1 },
        ],
      },
    ]);
    expect(fanout.emails.sent).toEqual([
      {
        emailId: `${placed.orderId}:1:email-placed`,
        kind: 'placed',
        to: 'cust-1@example.com',
        data: { orderId: placed.orderId, customerId: 'cust-1', total: '15.00 EUR', lineCount: '2' },
      },
    ]);
    expect(fanout.warehouse.sent).toEqual([
      {
        groupId: placed.orderId,
        deduplicationId: `${placed.orderId}:INSERT:1:OrderPlaced`,
        body: {
          schemaVersion: 1,
          type: 'OrderPlaced',
          orderId: placed.orderId,
          version: 1,
          lines: [
            { sku: 'SKU-A', qty: 2 },
            { sku: 'SKU-B', qty: 1 },
          ],
        },
      },
    ]);
    expect(fanout.store.ledger.get(`${placed.orderId}:INSERT:1`)).toEqual(['event', 'email', 'warehouse']);
  });

  it('back-orders an order a line lacks stock for: reserves nothing, moves it, publishes OrderBackordered', async () => {
    // Prepare
    const kit = recordKit();
    const placed = order(1);
    const fanout = setup({ 'SKU-A': 1, 'SKU-B': 5 }, [placed]);
    const records = [kit.insert(placed)];

    // Act
    const outcomes = await fanout.run(records);

    // Assess
    expect(kinds(outcomes, records)).toEqual(['ok']);
    expect(fanout.store.stock).toEqual(
      new Map([
        ['SKU-A', 1],
        ['SKU-B', 5],
      ]),
    );
    expect(fanout.store.reservations.get(placed.orderId)).toMatchObject({
      state: 'BACKORDERED',
      shortBy: [`${placed.orderId}:INSERT:1`],
      shortSkus: ['SKU-A'],
    });
    expect(fanout.orders.orders.get(placed.orderId)).toMatchObject({ status: 'BACKORDERED', version: 2 });
    expect(fanout.events.published).toEqual([
      expect.objectContaining({
        eventId: `${placed.orderId}:1:OrderBackordered`,
        type: 'OrderBackordered',
        status: 'BACKORDERED',
        shortSkus: ['SKU-A'],
      }),
    ]);
    expect(fanout.emails.sent).toEqual([]);
    expect(fanout.warehouse.sent).toEqual([]);
  });

  it('leaves an order alone that moved on before it could be back-ordered', async () => {
    // Prepare: the customer paid (version 2) before the fan-out saw the INSERT
    const kit = recordKit();
    const placed = order(1);
    const fanout = setup({}, [{ ...placed, status: 'PAID', version: 2 }]);
    const records = [kit.insert(placed)];

    // Act
    const outcomes = await fanout.run(records);

    // Assess
    expect(kinds(outcomes, records)).toEqual(['ok']);
    expect(fanout.orders.orders.get(placed.orderId)).toMatchObject({ status: 'PAID', version: 2 });
    expect(eventTypes(fanout.events.published)).toEqual(['01:OrderBackordered@1']);
  });

  it('decides stock in stream order: the first order gets the last units, the second is back-ordered', async () => {
    // Prepare
    const kit = recordKit();
    const first = order(1, { lines: [{ sku: 'SKU-A', qty: 3, unitPriceCents: 100 }], totalCents: 300 });
    const second = order(2, { lines: [{ sku: 'SKU-A', qty: 3, unitPriceCents: 100 }], totalCents: 300 });
    const fanout = setup({ 'SKU-A': 4 }, [first, second]);
    const records = [kit.insert(first), kit.insert(second)];

    // Act
    await fanout.run(records);

    // Assess
    expect(fanout.store.stock.get('SKU-A')).toBe(1);
    expect(eventTypes(fanout.events.published).sort()).toEqual(['01:OrderPlaced@1', '02:OrderBackordered@1']);
  });

  it('uses stock released earlier in the same batch', async () => {
    // Prepare: order 1 is reserved already and is cancelled before order 2 is placed
    const kit = recordKit();
    const first = order(1, { lines: [{ sku: 'SKU-A', qty: 3, unitPriceCents: 100 }], totalCents: 300 });
    const second = order(2, { lines: [{ sku: 'SKU-A', qty: 3, unitPriceCents: 100 }], totalCents: 300 });
    const fanout = setup({ 'SKU-A': 3 });
    await fanout.run([kit.insert(first)]);
    const records = [kit.modify(first, 'CANCELLED'), kit.insert(second)];

    // Act
    await fanout.run(records);

    // Assess
    expect(fanout.store.stock.get('SKU-A')).toBe(0);
    expect(fanout.store.reservations.get(first.orderId)?.state).toBe('RELEASED');
    expect(fanout.store.reservations.get(second.orderId)?.state).toBe('RESERVED');
  });
});

describe('order fan-out: status changes and deletes', () => {
  describe.each<{
    from: OrderStatus;
    to: OrderStatus;
    emails: string[];
    warehouse: string[];
    stockAfter: number;
  }>([
    { from: 'PLACED', to: 'PAID', emails: [], warehouse: [], stockAfter: 98 },
    { from: 'PAID', to: 'SHIPPED', emails: ['shipped'], warehouse: [], stockAfter: 98 },
    { from: 'SHIPPED', to: 'DELIVERED', emails: [], warehouse: [], stockAfter: 98 },
    { from: 'PAID', to: 'CANCELLED', emails: ['cancelled'], warehouse: ['OrderCancelled'], stockAfter: 100 },
    { from: 'PLACED', to: 'BACKORDERED', emails: [], warehouse: [], stockAfter: 98 },
  ])('$from -> $to of a reserved order', ({ from, to, emails, warehouse, stockAfter }) => {
    it(`publishes OrderStatusChanged; e-mails ${emails.join(', ') || 'nothing'}; warehouse ${warehouse.join(', ') || 'nothing'}`, async () => {
      // Prepare
      const kit = recordKit();
      const fanout = setup();
      const placed = order(1);
      await fanout.run([kit.insert(placed)]);
      const before = { ...placed, status: from, version: 2 };
      const records = [kit.modify(before, to)];

      // Act
      const outcomes = await fanout.run(records);

      // Assess
      expect(kinds(outcomes, records)).toEqual(['ok']);
      expect(fanout.events.published.at(-1)).toEqual(
        expect.objectContaining({
          eventId: `${placed.orderId}:3:OrderStatusChanged`,
          type: 'OrderStatusChanged',
          status: to,
          previousStatus: from,
          version: 3,
        }),
      );
      expect(fanout.emails.sent.slice(1).map((email) => email.kind)).toEqual(emails);
      expect(fanout.warehouse.sent.slice(1).map((message) => message.body.type)).toEqual(warehouse);
      expect(fanout.store.stock.get('SKU-A')).toBe(stockAfter);
    });
  });

  it('does nothing for a MODIFY that keeps the status', async () => {
    // Prepare
    const kit = recordKit();
    const fanout = setup();
    const records = [kit.modify(order(1), 'PLACED')];

    // Act
    const outcomes = await fanout.run(records);

    // Assess
    expect(kinds(outcomes, records)).toEqual(['ok']);
    expect(fanout.events.calls).toEqual([]);
    expect(fanout.store.calls).toEqual({ read: 1, applyStock: 0, recordClaims: 0, recordDone: 0 });
  });

  it('cancels a back-ordered order without a warehouse message: nothing was reserved', async () => {
    // Prepare
    const kit = recordKit();
    const placed = order(1);
    const fanout = setup({}, [placed]);
    await fanout.run([kit.insert(placed)]);
    const records = [kit.modify({ ...placed, status: 'BACKORDERED', version: 2 }, 'CANCELLED')];

    // Act
    await fanout.run(records);

    // Assess
    expect(fanout.emails.sent.map((email) => email.kind)).toEqual(['cancelled']);
    expect(fanout.warehouse.sent).toEqual([]);
  });

  it('re-places a back-ordered order once stock is there: placed e-mail and warehouse message', async () => {
    // Prepare
    const kit = recordKit();
    const placed = order(1);
    const fanout = setup({ 'SKU-A': 0, 'SKU-B': 10 }, [placed]);
    await fanout.run([kit.insert(placed)]);
    fanout.store.stock.set('SKU-A', 10);
    const records = [kit.modify({ ...placed, status: 'BACKORDERED', version: 2 }, 'PLACED')];

    // Act
    await fanout.run(records);

    // Assess
    expect(fanout.store.reservations.get(placed.orderId)).toMatchObject({
      state: 'RESERVED',
      reservedBy: `${placed.orderId}:MODIFY:3`,
    });
    expect(eventTypes(fanout.events.published)).toEqual(['01:OrderBackordered@1', '01:OrderStatusChanged@3']);
    expect(fanout.emails.sent.map((email) => email.emailId)).toEqual([`${placed.orderId}:3:email-placed`]);
    expect(fanout.warehouse.sent.map((message) => message.deduplicationId)).toEqual([
      `${placed.orderId}:MODIFY:3:OrderPlaced`,
    ]);
  });

  it('back-orders a re-placed order again while stock is still short: OrderStatusChanged and OrderBackordered', async () => {
    // Prepare
    const kit = recordKit();
    const placed = order(1);
    const replaced = { ...placed, status: 'PLACED' as const, version: 3 };
    const fanout = setup({}, [replaced]);
    const records = [kit.modify({ ...placed, status: 'BACKORDERED', version: 2 }, 'PLACED')];

    // Act
    await fanout.run(records);

    // Assess
    expect(eventTypes(fanout.events.published)).toEqual(['01:OrderStatusChanged@3', '01:OrderBackordered@3']);
    expect(fanout.orders.orders.get(placed.orderId)).toMatchObject({ status: 'BACKORDERED', version: 4 });
    expect(fanout.store.ledger.get(`${placed.orderId}:MODIFY:3`)?.sort()).toEqual([
      'backorder',
      'backorder-event',
      'event',
    ]);
  });

  it.each([
    { removal: 'a user delete', ttl: false, removedBy: 'user' },
    { removal: 'a TTL delete', ttl: true, removedBy: 'ttl' },
  ])(
    'publishes OrderDeleted for $removal and releases the stock of an unshipped order',
    async ({ ttl, removedBy }) => {
      // Prepare
      const kit = recordKit();
      const fanout = setup();
      const placed = order(1);
      await fanout.run([kit.insert(placed)]);
      const records = [kit.remove(placed, ttl)];

      // Act
      await fanout.run(records);

      // Assess
      expect(fanout.events.published.at(-1)).toEqual(
        expect.objectContaining({ type: 'OrderDeleted', removedBy, status: 'PLACED', version: 1 }),
      );
      expect(fanout.warehouse.sent.at(-1)?.body).toMatchObject({ type: 'OrderCancelled', reason: 'deleted' });
      expect(fanout.store.stock.get('SKU-A')).toBe(100);
    },
  );

  it('keeps the stock of a deleted order that was shipped', async () => {
    // Prepare
    const kit = recordKit();
    const fanout = setup();
    const placed = order(1);
    await fanout.run([kit.insert(placed)]);
    const records = [kit.remove({ ...placed, status: 'DELIVERED', version: 4 })];

    // Act
    await fanout.run(records);

    // Assess
    expect(fanout.store.stock.get('SKU-A')).toBe(98);
    expect(fanout.warehouse.sent).toHaveLength(1);
  });
});

describe('order fan-out: re-delivery', () => {
  it('sends nothing twice and reserves nothing twice when a whole batch comes again', async () => {
    // Prepare
    const kit = recordKit();
    const fanout = setup();
    const placed = order(1);
    const records = [kit.insert(placed), kit.modify(placed, 'CANCELLED')];
    await fanout.run(records);
    const sent = {
      events: fanout.events.published.length,
      emails: fanout.emails.sent.length,
      warehouse: fanout.warehouse.sent.length,
    };

    // Act
    const outcomes = await fanout.run(records);

    // Assess
    expect(kinds(outcomes, records)).toEqual(['ok', 'ok']);
    expect(sent).toEqual({ events: 2, emails: 2, warehouse: 2 });
    expect(fanout.events.calls).toHaveLength(2);
    expect(fanout.emails.calls).toHaveLength(2);
    expect(fanout.warehouse.calls).toHaveLength(2);
    expect(fanout.store.calls.applyStock).toBe(1);
    expect(fanout.store.stock.get('SKU-A')).toBe(100);
  });

  it('retries only the effect that failed: the other effects of the record were recorded as done', async () => {
    // Prepare
    const kit = recordKit();
    const fanout = setup();
    const placed = order(1);
    const records = [kit.insert(placed)];
    fanout.events.script.failEntry(`${placed.orderId}:1:OrderPlaced`, {
      kind: 'transient',
      reason: 'Throttled',
    });

    // Act
    const first = await fanout.run(records);
    const second = await fanout.run(records);

    // Assess
    expect(kinds(first, records)).toEqual(['transient']);
    expect(kinds(second, records)).toEqual(['ok']);
    expect(fanout.events.published).toHaveLength(1);
    expect(fanout.emails.calls).toHaveLength(1);
    expect(fanout.warehouse.calls).toHaveLength(1);
    expect(fanout.store.calls.applyStock).toBe(1);
  });

  it('reports a record whose e-mail the service rejects as permanent, and sends its other effects', async () => {
    // Prepare
    const kit = recordKit();
    const fanout = setup();
    const records = [kit.insert(order(1)), kit.insert(order(2))];
    fanout.emails.script.failEntry(`${orderId(1)}:1:email-placed`, {
      kind: 'permanent',
      reason: 'INVALID_PARAMETER: bad address',
    });

    // Act
    const outcomes = await fanout.run(records);

    // Assess
    expect(kinds(outcomes, records)).toEqual(['permanent', 'ok']);
    expect(outcomes.get(records[0]!.sequenceNumber)).toMatchObject({
      reason: 'INVALID_PARAMETER: bad address',
    });
    expect(fanout.events.published).toHaveLength(2);
    expect(fanout.warehouse.sent).toHaveLength(2);
  });

  it('fails every entry of a call that failed as a whole, classified by its error', async () => {
    // Prepare
    const kit = recordKit();
    const fanout = setup();
    const records = [kit.insert(order(1)), kit.insert(order(2))];
    fanout.warehouse.script.throwOnNextCall(
      Object.assign(new Error('Rate exceeded'), {
        name: 'ThrottlingException',
        $metadata: { httpStatusCode: 400 },
      }),
    );

    // Act
    const outcomes = await fanout.run(records);

    // Assess
    expect(kinds(outcomes, records)).toEqual(['transient', 'transient']);
    expect(fanout.store.ledger.get(`${orderId(1)}:INSERT:1`)).toEqual(['event', 'email']);
  });

  it('carries an error of our own making to the outcome, so that the runtime counts it in InternalErrors', async () => {
    // Prepare: issue 12. The marshaller or a deserializer failing inside the SQS call.
    const kit = recordKit();
    const fanout = setup();
    const records = [kit.insert(order(1))];
    const bug = new TypeError("Cannot read properties of undefined (reading 'MessageId')");
    fanout.warehouse.script.throwOnNextCall(bug);

    // Act
    const outcomes = await fanout.run(records);

    // Assess
    expect(outcomes.get(records[0]!.sequenceNumber)).toMatchObject({ kind: 'transient', error: bug });
  });

  it('reports the records done even when the ledger write fails, and logs it', async () => {
    // Prepare
    const kit = recordKit();
    const fanout = setup();
    const records = [kit.insert(order(1))];
    fanout.store.throwOnNextRecordDone(new TransientError('ledger throttled'));

    // Act
    const outcomes = await fanout.run(records);

    // Assess
    expect(kinds(outcomes, records)).toEqual(['ok']);
    expect(fanout.logger.errors).toEqual([
      'Recording the effects in the ledger failed; a re-delivery would repeat them',
    ]);
  });
});

describe('order fan-out: order per order', () => {
  it("sends an order's changes in stream order: one per call, the earlier first", async () => {
    // Prepare
    const kit = recordKit();
    const fanout = setup();
    const placed = order(1);
    const records = [kit.insert(placed), kit.modify(placed, 'PAID'), kit.insert(order(2))];

    // Act
    await fanout.run(records);

    // Assess
    expect(fanout.events.calls.map(eventTypes)).toEqual([
      ['01:OrderPlaced@1', '02:OrderPlaced@1'],
      ['01:OrderStatusChanged@2'],
    ]);
  });

  it('does not send the later changes of an order whose earlier change failed; other orders go on', async () => {
    // Prepare
    const { fanout, placed, records } = blockedOrder();

    // Act
    const outcomes = await fanout.run(records);

    // Assess
    expect(kinds(outcomes, records)).toEqual(['transient', 'transient', 'ok']);
    expect(outcomes.get(records[1]!.sequenceNumber)).toMatchObject({
      reason: expect.stringContaining(`change ${placed.orderId}:INSERT:1 of the same order failed`),
    });
    expect(eventTypes(fanout.events.published)).toEqual(['01:OrderPlaced@1', '02:OrderPlaced@1']);
  });
});

describe('order fan-out: deadline', () => {
  it('starts no round of sends near the deadline, leaves the rest for the retry and records what was sent', async () => {
    // Prepare: 10 s at the start (a 2.5 s margin); only 2 s left once the first round is sent
    let remaining = 10_000;
    const kit = recordKit();
    const placed = order(1);
    const fanout = setup(undefined, [], () => remaining);
    fanout.events.publishBatch = (
      (original) =>
      async (...args: Parameters<typeof original>) => {
        remaining = 2_000;
        return original(...args);
      }
    )(fanout.events.publishBatch.bind(fanout.events));
    const records = [kit.insert(placed), kit.modify(placed, 'PAID'), kit.insert(order(2))];

    // Act
    const outcomes = await fanout.run(records);

    // Assess
    expect(kinds(outcomes, records)).toEqual(['ok', 'transient', 'ok']);
    expect(outcomes.get(records[1]!.sequenceNumber)).toMatchObject({
      reason: expect.stringContaining('deadline'),
    });
    expect(eventTypes(fanout.events.published)).toEqual(['01:OrderPlaced@1', '02:OrderPlaced@1']);
    expect(fanout.store.ledger.has(`${placed.orderId}:INSERT:1`)).toBe(true);
  });
});

describe('order fan-out: claims before sends, and possible duplicates', () => {
  it('claims a round’s effects in the ledger before sending them', async () => {
    // Prepare
    const kit = recordKit();
    const fanout = setup();
    const placed = order(1);
    const records = [kit.insert(placed)];
    let claimsWhenPublished: EffectKind[] | undefined;
    fanout.events.publishBatch = (
      (original) =>
      async (...args: Parameters<typeof original>) => {
        claimsWhenPublished = fanout.store.claims.get(`${placed.orderId}:INSERT:1`);
        return original(...args);
      }
    )(fanout.events.publishBatch.bind(fanout.events));

    // Act
    await fanout.run(records);

    // Assess: claimed before the send; once confirmed, done and no longer claimed
    expect(claimsWhenPublished).toEqual(['event', 'email', 'warehouse']);
    expect(fanout.store.ledger.get(`${placed.orderId}:INSERT:1`)?.sort()).toEqual([
      'email',
      'event',
      'warehouse',
    ]);
    expect(fanout.store.claims.has(`${placed.orderId}:INSERT:1`)).toBe(false);
    expect(fanout.store.calls).toMatchObject({ recordClaims: 1, recordDone: 1 });
  });

  it('re-sends marked, and counts, the effects whose ledger write never happened', async () => {
    // Prepare: the sends succeed, the ledger write after them is lost (a timeout or crash between the two)
    const kit = recordKit();
    const fanout = setup();
    const placed = order(1);
    const records = [kit.insert(placed), kit.insert(order(2))];
    fanout.store.throwOnNextRecordDone(new TransientError('invocation timed out'));
    await fanout.run(records);
    expect(fanout.events.marked).toEqual([]);

    // Act: the re-delivery
    const outcomes = await fanout.run(records);

    // Assess
    expect(kinds(outcomes, records)).toEqual(['ok', 'ok']);
    expect(fanout.events.marked).toEqual([`${orderId(1)}:1:OrderPlaced`, `${orderId(2)}:1:OrderPlaced`]);
    expect(fanout.emails.marked).toEqual([`${orderId(1)}:1:email-placed`, `${orderId(2)}:1:email-placed`]);
    expect(fanout.warehouse.marked).toEqual([
      `${orderId(1)}:INSERT:1:OrderPlaced`,
      `${orderId(2)}:INSERT:1:OrderPlaced`,
    ]);
    expect(fanout.metrics.total(ORDER_FANOUT_METRICS.possibleDuplicates)).toBe(6);
    expect(fanout.store.claims.size).toBe(0);
  });

  it('does not mark effects that were never sent: a failed claim write sends nothing and leaves no claim', async () => {
    // Prepare
    const kit = recordKit();
    const fanout = setup();
    const records = [kit.insert(order(1))];
    fanout.store.throwOnNextRecordClaims(new TransientError('ledger throttled'));

    // Act
    const first = await fanout.run(records);
    const retried = await fanout.run(records);

    // Assess
    expect(kinds(first, records)).toEqual(['transient']);
    expect(first.get(records[0]!.sequenceNumber)).toMatchObject({
      reason: expect.stringContaining('claiming the effects in the ledger failed'),
    });
    expect(kinds(retried, records)).toEqual(['ok']);
    expect(fanout.events.calls).toHaveLength(1);
    expect([...fanout.events.marked, ...fanout.emails.marked, ...fanout.warehouse.marked]).toEqual([]);
    expect(fanout.metrics.total(ORDER_FANOUT_METRICS.possibleDuplicates)).toBe(0);
  });

  it('marks only the effects that were attempted: not a blocked change, not an entry the service refused', async () => {
    // Prepare: order 1's placed e-mail fails transiently (it may have reached SES), which blocks its PAID change;
    // order 2's e-mail is refused for its content (it did not)
    const { fanout, placed, records } = blockedOrder();
    fanout.emails.script.failEntry(`${orderId(2)}:1:email-placed`, {
      kind: 'permanent',
      reason: 'INVALID_PARAMETER',
    });
    const first = await fanout.run(records);
    expect(kinds(first, records)).toEqual(['transient', 'transient', 'permanent']);

    // Act: the mapping retries the failed records
    await fanout.run(records.slice(0, 2));

    // Assess
    expect(fanout.emails.marked).toEqual([`${placed.orderId}:1:email-placed`]);
    expect(fanout.events.marked).toEqual([]);
    expect(eventTypes(fanout.events.published)).toEqual([
      '01:OrderPlaced@1',
      '02:OrderPlaced@1',
      '01:OrderStatusChanged@2',
    ]);
    expect(fanout.store.claims.has(`${orderId(2)}:INSERT:1`)).toBe(false);
    expect(fanout.metrics.total(ORDER_FANOUT_METRICS.possibleDuplicates)).toBe(1);
  });
});

describe('order fan-out: calls per batch', () => {
  it('batches 100 placements into 10 PublishBatch, 2 SendBulkEmail and 10 SendMessageBatch calls', async () => {
    // Prepare: 100 orders over 5 SKUs; a transaction holds 100 items, so 100 reservations + 5 SKUs take two
    const kit = recordKit();
    const skus = ['S1', 'S2', 'S3', 'S4', 'S5'];
    const fanout = setup(Object.fromEntries(skus.map((sku) => [sku, 1000])));
    const records = Array.from({ length: 100 }, (_, i) =>
      kit.insert(order(i, { lines: [{ sku: skus[i % 5]!, qty: 1, unitPriceCents: 100 }], totalCents: 100 })),
    );

    // Act
    const outcomes = await fanout.run(records);

    // Assess
    expect(new Set(kinds(outcomes, records))).toEqual(new Set(['ok']));
    expect(fanout.events.calls.map((call) => call.length)).toEqual(Array(10).fill(10));
    expect(fanout.emails.calls.map((call) => call.emails.length)).toEqual([50, 50]);
    expect(fanout.warehouse.calls.map((call) => call.length)).toEqual(Array(10).fill(10));
    expect(fanout.store.calls).toEqual({ read: 1, applyStock: 2, recordClaims: 1, recordDone: 1 });
    expect([...fanout.store.stock.values()]).toEqual(Array(5).fill(980));
  });
});

describe('order fan-out: stock races', () => {
  it('plans again from a fresh read when another writer took the stock first', async () => {
    // Prepare: between the read and the write, another shard reserves most of SKU-A
    const kit = recordKit();
    const placed = order(1);
    const fanout = setup({ 'SKU-A': 2, 'SKU-B': 1 }, [placed]);
    let raced = false;
    fanout.store.beforeApply = () => {
      if (!raced) fanout.store.stock.set('SKU-A', 1);
      raced = true;
    };
    const records = [kit.insert(placed)];

    // Act
    const outcomes = await fanout.run(records);

    // Assess
    expect(kinds(outcomes, records)).toEqual(['ok']);
    expect(fanout.store.calls).toMatchObject({ read: 2, applyStock: 2 });
    expect(eventTypes(fanout.events.published)).toEqual(['01:OrderBackordered@1']);
  });

  it(`reports the records transient after ${MAX_STOCK_ATTEMPTS} conflicts in a row`, async () => {
    // Prepare
    const kit = recordKit();
    const fanout = setup({ 'SKU-A': 2, 'SKU-B': 1 });
    fanout.store.beforeApply = () => {
      fanout.store.stock.set('SKU-A', 1);
      queueMicrotask(() => fanout.store.stock.set('SKU-A', 2));
    };
    const records = [kit.insert(order(1))];

    // Act
    const outcomes = await fanout.run(records);

    // Assess
    expect(kinds(outcomes, records)).toEqual(['transient']);
    expect(fanout.store.calls.applyStock).toBe(MAX_STOCK_ATTEMPTS);
    expect(fanout.events.calls).toEqual([]);
  });

  it('fails the records of a stock transaction that threw, and the later changes of their orders', async () => {
    // Prepare
    const kit = recordKit();
    const fanout = setup();
    const placed = order(1);
    const records = [kit.modify(order(2), 'PAID'), kit.insert(placed), kit.modify(placed, 'PAID')];
    fanout.store.throwOnNextApply(
      Object.assign(new Error('Throughput exceeds the current capacity'), {
        name: 'ProvisionedThroughputExceededException',
        $metadata: { httpStatusCode: 400 },
      }),
    );

    // Act
    const outcomes = await fanout.run(records);

    // Assess
    expect(kinds(outcomes, records)).toEqual(['ok', 'transient', 'transient']);
    expect(eventTypes(fanout.events.published)).toEqual(['02:OrderStatusChanged@2']);
  });
});

describe('order fan-out: records it cannot read', () => {
  it('fails permanently a record that is not an order, and an INSERT that is not PLACED', async () => {
    // Prepare
    const factory = createStreamRecordFactory({ tableName: 'Orders', keyAttributes: ['orderId'] });
    const fanout = setup();
    const records = [
      toChangeRecord(factory.insert({ orderId: orderId(1), note: 'not an order' })),
      toChangeRecord(factory.insert({ ...order(2, { status: 'PAID' }) })),
      toChangeRecord(factory.insert({ ...order(3) })),
    ];

    // Act
    const outcomes = await fanout.run(records);

    // Assess
    expect(kinds(outcomes, records)).toEqual(['permanent', 'permanent', 'ok']);
    expect(outcomes.get(records[1]!.sequenceNumber)).toMatchObject({
      reason: expect.stringContaining('with status PAID, not PLACED'),
    });
  });
});
