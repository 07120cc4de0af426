import { describe, expect, it } from 'vitest';
import { createSearchSyncBatchHandler, documentOf } from '../../../lambdas/search-sync/sync.js';
import type { Order } from '../../../lambdas/shared/orders/order.js';
import type { IndexOperation, SearchIndex } from '../../../lambdas/shared/search/orders-index.js';
import { type ChangeRecord, toChangeRecord } from '../../../lambdas/shared/stream/change-record.js';
import type {
  BatchOutcomes,
  RecordOutcome,
  StreamContext,
} from '../../../lambdas/shared/stream/stream-handler.js';
import { storedOrder } from '../../support/orders.js';
import { createStreamRecordFactory, lambdaContext } from '../../support/stream-records.js';

/** Records every bulk call; answers each operation from a script by order id (ok when unscripted). */
class RecordingIndex implements SearchIndex {
  public readonly calls: IndexOperation[][] = [];
  public readonly outcomes = new Map<string, RecordOutcome>();
  public throwNext: unknown;

  public async bulkIndex(operations: readonly IndexOperation[]): Promise<RecordOutcome[]> {
    this.calls.push([...operations]);
    if (this.throwNext !== undefined) {
      const error = this.throwNext;
      this.throwNext = undefined;
      throw error;
    }
    return operations.map((op) => this.outcomes.get(op.document.orderId) ?? { kind: 'ok' });
  }
}

const context: StreamContext = {
  consumerName: 'search-sync',
  lambdaContext: lambdaContext(),
  logger: { debug() {}, info() {}, warn() {}, error() {}, addContext() {} },
};

function order(n: number, overrides: Partial<Order> = {}): Order {
  return storedOrder({ orderId: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`, ...overrides });
}

function kit() {
  const factory = createStreamRecordFactory({ tableName: 'Orders', keyAttributes: ['orderId'] });
  return {
    insert: (o: Order): ChangeRecord => toChangeRecord(factory.insert({ ...o })),
    modify: (o: Order, next: Partial<Order>): ChangeRecord =>
      toChangeRecord(factory.modify({ ...o }, { ...o, version: o.version + 1, ...next })),
    remove: (o: Order, ttl = false): ChangeRecord =>
      toChangeRecord(ttl ? factory.ttlRemove({ ...o }) : factory.remove({ ...o })),
    raw: factory,
  };
}

function kinds(outcomes: BatchOutcomes, records: readonly ChangeRecord[]): string[] {
  return records.map((record) => outcomes.get(record.sequenceNumber)?.kind ?? 'missing');
}

describe('documentOf', () => {
  it('indexes the new image of an INSERT or MODIFY as the order document', () => {
    // Prepare
    const records = kit();
    const placed = order(1);

    // Act
    const document = documentOf(records.modify(placed, { status: 'PAID' }));

    // Assess
    expect(document).toEqual({
      orderId: placed.orderId,
      customerId: placed.customerId,
      customerEmail: placed.customerEmail,
      currency: 'EUR',
      totalCents: 100,
      status: 'PAID',
      version: 2,
      createdAt: placed.createdAt,
      updatedAt: placed.updatedAt,
      lines: [{ sku: 'A', qty: 1, unitPriceCents: 100 }],
      deleted: false,
    });
  });

  it.each([
    { removal: 'a user delete', ttl: false, removedBy: 'user' },
    { removal: 'a TTL delete', ttl: true, removedBy: 'ttl' },
  ])('writes a tombstone one version above the last for $removal', ({ ttl, removedBy }) => {
    // Prepare
    const records = kit();

    // Act
    const document = documentOf(records.remove(order(1, { version: 7 }), ttl));

    // Assess
    expect(document).toEqual({
      orderId: order(1).orderId,
      version: 8,
      deleted: true,
      deletedAt: '2024-05-01T12:00:00.000Z',
      removedBy,
    });
  });
});

describe('search sync batch', () => {
  it('sends one bulk request per batch, coalescing each order to its last document', async () => {
    // Prepare
    const records = kit();
    const index = new RecordingIndex();
    const first = order(1);
    const batch = [
      records.insert(first),
      records.insert(order(2)),
      records.modify(first, { status: 'PAID' }),
      records.modify({ ...first, version: 2, status: 'PAID' }, { status: 'SHIPPED' }),
    ];

    // Act
    const outcomes = await createSearchSyncBatchHandler({ index })(batch, context);

    // Assess
    expect(index.calls).toHaveLength(1);
    expect(index.calls[0]?.map((op) => [op.document.orderId.slice(-2), op.document.version])).toEqual([
      ['01', 3],
      ['02', 1],
    ]);
    expect(kinds(outcomes, batch)).toEqual(['ok', 'ok', 'ok', 'ok']);
  });

  it("gives every record of an order the outcome of the order's document", async () => {
    // Prepare
    const records = kit();
    const index = new RecordingIndex();
    const first = order(1);
    index.outcomes.set(first.orderId, { kind: 'transient', reason: '429 es_rejected_execution_exception' });
    index.outcomes.set(order(3).orderId, { kind: 'permanent', reason: '400 mapper_parsing_exception' });
    const batch = [
      records.insert(first),
      records.insert(order(2)),
      records.modify(first, { status: 'PAID' }),
      records.insert(order(3)),
    ];

    // Act
    const outcomes = await createSearchSyncBatchHandler({ index })(batch, context);

    // Assess
    expect(kinds(outcomes, batch)).toEqual(['transient', 'ok', 'transient', 'permanent']);
  });

  it('fails a record that is not an order permanently, and still indexes the others', async () => {
    // Prepare
    const records = kit();
    const index = new RecordingIndex();
    const batch = [
      toChangeRecord(records.raw.insert({ orderId: 'x', note: 'not an order' })),
      records.insert(order(2)),
    ];

    // Act
    const outcomes = await createSearchSyncBatchHandler({ index })(batch, context);

    // Assess
    expect(kinds(outcomes, batch)).toEqual(['permanent', 'ok']);
    expect(index.calls[0]).toHaveLength(1);
  });

  it('fails every document of a request that failed as a whole, classified by its error', async () => {
    // Prepare
    const records = kit();
    const index = new RecordingIndex();
    index.throwNext = Object.assign(new Error('Service Unavailable'), {
      name: 'ResponseError',
      $metadata: { httpStatusCode: 503 },
    });
    const batch = [records.insert(order(1)), records.insert(order(2))];

    // Act
    const outcomes = await createSearchSyncBatchHandler({ index })(batch, context);

    // Assess
    expect(kinds(outcomes, batch)).toEqual(['transient', 'transient']);
  });

  it('makes no request for a batch with nothing to index', async () => {
    // Prepare
    const records = kit();
    const index = new RecordingIndex();

    // Act
    await createSearchSyncBatchHandler({ index })(
      [toChangeRecord(records.raw.insert({ orderId: 'x' }))],
      context,
    );

    // Assess
    expect(index.calls).toEqual([]);
  });
});
