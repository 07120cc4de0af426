import type { DynamoDBRecord } from 'aws-lambda';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createOrderFanoutBatchHandler } from '../../../lambdas/order-fanout/fanout.js';
import type { Order } from '../../../lambdas/shared/orders/order.js';
import { type ChangeRecord, toChangeRecord } from '../../../lambdas/shared/stream/change-record.js';
import type { BatchOutcomes, StreamContext } from '../../../lambdas/shared/stream/stream-handler.js';
import {
  hostileName,
  hostileWire,
  mapJson,
  unsafeNumberText,
  type Wire,
} from '../../support/hostile-attributes.js';
import { storedOrder } from '../../support/orders.js';
import { createStreamRecordFactory, lambdaContext } from '../../support/stream-records.js';
import {
  FakeEmailSender,
  FakeEventPublisher,
  FakeFanoutStore,
  FakeOrdersRepository,
  FakeWarehouseQueue,
} from './fakes.js';

/**
 * Issue 12: a writer of the Orders table may add attributes of any name, and numbers of up to 38 digits, to an order
 * item. Per batch, whatever such records carry, each record is processed or fails permanently on its own; the other
 * records of the batch get exactly the effects they get without it; and the handler never throws.
 */

const NOW = Date.parse('2030-01-02T00:00:00.000Z');

/** Attributes of the order item itself: extras never replace them (a corrupt record does, on purpose). */
const ORDER_FIELDS = new Set(Object.keys(storedOrder()));

/** Extra attributes of an image: hostile names (none of the order's own) with any values, numbers up to 38 digits. */
const extras = fc.uniqueArray(
  fc.tuple(
    hostileName.filter((name) => !ORDER_FIELDS.has(name)),
    hostileWire,
  ),
  { selector: ([name]) => name, maxLength: 5 },
);

/** How one record of the batch is built: its change, the extra attributes of its images, a corrupted field. */
interface RecordSpec {
  readonly kind: 'insert' | 'modify' | 'remove';
  readonly extras: readonly (readonly [string, Wire])[];
  /** An order field whose number is replaced by a huge one: the record is no valid order any more. */
  readonly corrupt: 'none' | 'version' | 'totalCents';
  readonly corruptWith: string;
}

const recordSpec: fc.Arbitrary<RecordSpec> = fc.record({
  kind: fc.constantFrom('insert', 'modify', 'remove'),
  extras,
  corrupt: fc.constantFrom('none', 'none', 'version', 'totalCents'),
  corruptWith: unsafeNumberText,
});

function order(n: number): Order {
  return storedOrder({
    orderId: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    customerId: `cust-${n}`,
    customerEmail: `cust-${n}@example.com`,
  });
}

/**
 * The record of `spec` for order `n` (one record per order, so that records are independent): built by the
 * factory, then its images rewritten as JSON text with the extras and the corruption, which JSON.parse turns into
 * own properties whatever their names.
 */
function hostileRecord(n: number, spec: RecordSpec, hostile: boolean): ChangeRecord {
  const factory = createStreamRecordFactory({
    firstSequenceNumber: 500_000_000_000_000_000_000n + BigInt(n),
  });
  const placed = order(n);
  const raw: DynamoDBRecord =
    spec.kind === 'insert'
      ? factory.insert({ ...placed })
      : spec.kind === 'modify'
        ? factory.modify({ ...placed }, { ...placed, status: 'PAID', version: 2 })
        : factory.remove({ ...placed });
  if (!hostile) return toChangeRecord(raw);
  const rewrite = (image: Record<string, unknown> | undefined): string | undefined => {
    if (image === undefined) return undefined;
    // The order's own attributes hold no hostile names: plain JSON. The extras are written entry by entry.
    const own = Object.entries(image).map(
      ([name, value]) =>
        `${JSON.stringify(name)}:${JSON.stringify(name === spec.corrupt ? { N: spec.corruptWith } : value)}`,
    );
    const added = mapJson(spec.extras).slice(1, -1);
    return `{${[...own, ...(added === '' ? [] : [added])].join(',')}}`;
  };
  const { NewImage, OldImage, ...dynamodb } = raw.dynamodb ?? {};
  const images = [
    ['NewImage', rewrite(NewImage as Record<string, unknown> | undefined)],
    ['OldImage', rewrite(OldImage as Record<string, unknown> | undefined)],
  ].filter(([, text]) => text !== undefined);
  const dynamodbJson = JSON.stringify(dynamodb).slice(0, -1);
  const text =
    `${JSON.stringify({ ...raw, dynamodb: undefined }).slice(0, -1)},"dynamodb":${dynamodbJson}` +
    `${images.map(([name, image]) => `,"${name}":${image}`).join('')}}}`;
  return toChangeRecord(JSON.parse(text) as DynamoDBRecord);
}

function runner(): {
  ports: {
    events: FakeEventPublisher;
    emails: FakeEmailSender;
    warehouse: FakeWarehouseQueue;
    store: FakeFanoutStore;
    orders: FakeOrdersRepository;
  };
  run: (records: readonly ChangeRecord[]) => Promise<BatchOutcomes>;
} {
  const ports = {
    events: new FakeEventPublisher(),
    emails: new FakeEmailSender(),
    warehouse: new FakeWarehouseQueue(),
    store: new FakeFanoutStore({ A: 1_000_000 }),
    orders: new FakeOrdersRepository(),
  };
  const context: StreamContext = {
    consumerName: 'order-fanout',
    lambdaContext: lambdaContext({ getRemainingTimeInMillis: () => 60_000 }),
    logger: { debug() {}, info() {}, warn() {}, error() {}, addContext() {} },
  };
  const handle = createOrderFanoutBatchHandler({ ...ports, clock: () => NOW });
  return { ports, run: (records) => handle(records, context) };
}

/** Everything the sinks received about the orders in `orderIds`, as comparable text. */
function effectsOf(ports: ReturnType<typeof runner>['ports'], orderIds: ReadonlySet<string>): string {
  return JSON.stringify({
    events: ports.events.published.filter((event) => orderIds.has(event.orderId)),
    emails: ports.emails.sent.filter((email) => orderIds.has(email.data.orderId)),
    warehouse: ports.warehouse.sent.filter((message) => orderIds.has(message.body.orderId)),
  });
}

describe('order fan-out: records with hostile attribute names and numbers', () => {
  it('processes each record or fails it permanently on its own; the others get exactly their effects', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(recordSpec, fc.boolean()), { minLength: 1, maxLength: 6 }),
        async (specs) => {
          // Prepare: record i is of order i; the hostile ones carry the extras (and their corruption)
          const prototypeNames = Object.getOwnPropertyNames(Object.prototype);
          const records = specs.map(([spec, hostile], index) => hostileRecord(index + 1, spec, hostile));
          const cleanIndexes = specs.flatMap(([, hostile], index) => (hostile ? [] : [index]));
          const cleanOrders = new Set(cleanIndexes.map((index) => order(index + 1).orderId));
          const whole = runner();
          const alone = runner();

          // Act
          const outcomes = await whole.run(records);
          await alone.run(cleanIndexes.map((index) => records[index]!));

          // Assess
          records.forEach((record, index) => {
            const outcome = outcomes.get(record.sequenceNumber);
            expect(outcome?.kind, `record ${index}: ${JSON.stringify(outcome)}`).toMatch(/^(ok|permanent)$/);
            if (cleanIndexes.includes(index)) expect(outcome?.kind).toBe('ok');
            if (outcome?.kind === 'permanent') {
              const orderId = order(index + 1).orderId;
              expect(whole.ports.events.published.some((event) => event.orderId === orderId)).toBe(false);
            }
          });
          expect(effectsOf(whole.ports, cleanOrders)).toBe(effectsOf(alone.ports, cleanOrders));
          expect(Object.getOwnPropertyNames(Object.prototype)).toStrictEqual(prototypeNames);
        },
      ),
      { numRuns: 150 },
    );
  });
});
