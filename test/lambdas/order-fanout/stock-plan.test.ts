import { describe, expect, it } from 'vitest';
import { formatMoney } from '../../../lambdas/order-fanout/messages.js';
import type { StockIntent } from '../../../lambdas/order-fanout/order-change.js';
import { stockIntentOf, toOrderChange } from '../../../lambdas/order-fanout/order-change.js';
import type { Reservation } from '../../../lambdas/order-fanout/ports.js';
import { OrderTooLargeError, planStock } from '../../../lambdas/order-fanout/stock-plan.js';
import type { OrderStatus } from '../../../lambdas/shared/orders/order.js';
import { toChangeRecord } from '../../../lambdas/shared/stream/change-record.js';
import { storedOrder } from '../../support/orders.js';
import { createStreamRecordFactory } from '../../support/stream-records.js';

const AT = '2030-01-02T00:00:00.000Z';

function reserve(
  orderId: string,
  lines: Array<[string, number]>,
  changeKey = `${orderId}:INSERT:1`,
): StockIntent {
  return {
    kind: 'reserve',
    changeKey,
    orderId,
    lines: lines.map(([sku, qty]) => ({ sku, qty, unitPriceCents: 1 })),
  };
}

function release(orderId: string, changeKey = `${orderId}:MODIFY:3`): StockIntent {
  return { kind: 'release', changeKey, orderId };
}

function reservation(overrides: Partial<Reservation> & Pick<Reservation, 'orderId' | 'state'>): Reservation {
  return {
    lines: [{ sku: 'A', qty: 1 }],
    shortBy: [],
    shortSkus: [],
    revision: 1,
    updatedAt: AT,
    ...overrides,
  };
}

describe('planStock', () => {
  it('gives a change that already had its stock step the same decision, with nothing to write', () => {
    // Prepare
    const reservations = new Map([
      ['o1', reservation({ orderId: 'o1', state: 'RESERVED', reservedBy: 'o1:INSERT:1' })],
      [
        'o2',
        reservation({ orderId: 'o2', state: 'BACKORDERED', shortBy: ['o2:INSERT:1'], shortSkus: ['A'] }),
      ],
      [
        'o3',
        reservation({
          orderId: 'o3',
          state: 'RELEASED',
          reservedBy: 'o3:INSERT:1',
          releasedBy: 'o3:MODIFY:3',
        }),
      ],
    ]);

    // Act
    const plan = planStock(
      [reserve('o1', [['A', 1]]), reserve('o2', [['A', 1]]), release('o3')],
      reservations,
      new Map(),
      AT,
    );

    // Assess
    expect(plan.transactions).toEqual([]);
    expect(Object.fromEntries(plan.decisions)).toEqual({
      'o1:INSERT:1': { kind: 'reserved', lines: [{ sku: 'A', qty: 1 }] },
      'o2:INSERT:1': { kind: 'short', shortSkus: ['A'] },
      'o3:MODIFY:3': { kind: 'released', lines: [{ sku: 'A', qty: 1 }] },
    });
  });

  it('writes an order placed and cancelled in one batch once: RELEASED, with no stock change', () => {
    // Act
    const plan = planStock([reserve('o1', [['A', 2]]), release('o1')], new Map(), new Map([['A', 5]]), AT);

    // Assess
    expect(plan.transactions).toEqual([
      {
        changeKeys: ['o1:INSERT:1', 'o1:MODIFY:3'],
        transaction: {
          reservations: [
            {
              expectedRevision: undefined,
              next: {
                orderId: 'o1',
                state: 'RELEASED',
                lines: [{ sku: 'A', qty: 2 }],
                reservedBy: 'o1:INSERT:1',
                releasedBy: 'o1:MODIFY:3',
                shortBy: [],
                shortSkus: [],
                revision: 1,
                updatedAt: AT,
              },
            },
          ],
          deltas: [],
        },
      },
    ]);
  });

  it('nets the stock change per SKU and conditions every write on the revision read', () => {
    // Prepare
    const reservations = new Map([
      ['o1', reservation({ orderId: 'o1', state: 'RESERVED', lines: [{ sku: 'A', qty: 3 }], revision: 4 })],
    ]);

    // Act
    const plan = planStock(
      [
        release('o1'),
        reserve('o2', [
          ['A', 2],
          ['B', 1],
        ]),
      ],
      reservations,
      new Map([
        ['A', 0],
        ['B', 1],
      ]),
      AT,
    );

    // Assess
    const [only] = plan.transactions;
    expect(plan.transactions).toHaveLength(1);
    expect(only?.transaction.deltas).toEqual([
      { sku: 'A', delta: 1 },
      { sku: 'B', delta: -1 },
    ]);
    expect(
      only?.transaction.reservations.map((w) => [w.next.orderId, w.expectedRevision, w.next.revision]),
    ).toEqual([
      ['o1', 4, 5],
      ['o2', undefined, 1],
    ]);
  });

  it('splits the writes into transactions of at most 100 items, never splitting an order', () => {
    // Prepare: 60 orders of 1 new SKU each = 120 items
    const intents = Array.from({ length: 60 }, (_, i) => reserve(`o${i}`, [[`S${i}`, 1]]));
    const stock = new Map(intents.map((_, i) => [`S${i}`, 1]));

    // Act
    const plan = planStock(intents, new Map(), stock, AT);

    // Assess
    const sizes = plan.transactions.map(
      (t) => t.transaction.reservations.length + t.transaction.deltas.length,
    );
    expect(sizes).toEqual([100, 20]);
    expect(plan.transactions.flatMap((t) => t.changeKeys)).toHaveLength(60);
  });

  it('refuses an order whose SKUs cannot fit one transaction', () => {
    // Prepare
    const lines = Array.from({ length: 100 }, (_, i): [string, number] => [`S${i}`, 1]);

    // Act / Assess
    expect(() =>
      planStock([reserve('big', lines)], new Map(), new Map(lines.map(([s]) => [s, 1])), AT),
    ).toThrow(OrderTooLargeError);
  });
});

describe('stockIntentOf', () => {
  const factory = createStreamRecordFactory({ tableName: 'Orders', keyAttributes: ['orderId'] });
  const order = storedOrder();

  it.each<{ from: OrderStatus; to: OrderStatus; intent: string | undefined }>([
    { from: 'PLACED', to: 'PAID', intent: undefined },
    { from: 'PAID', to: 'CANCELLED', intent: 'release' },
    { from: 'BACKORDERED', to: 'PLACED', intent: 'reserve' },
    { from: 'PLACED', to: 'BACKORDERED', intent: undefined },
    { from: 'SHIPPED', to: 'DELIVERED', intent: undefined },
  ])('$from -> $to asks for $intent', ({ from, to, intent }) => {
    // Act
    const change = toOrderChange(
      toChangeRecord(factory.modify({ ...order, status: from }, { ...order, status: to, version: 2 })),
    );

    // Assess
    expect(stockIntentOf(change)?.kind).toBe(intent);
  });

  it.each<{ status: OrderStatus; intent: string | undefined }>([
    { status: 'PLACED', intent: 'release' },
    { status: 'PAID', intent: 'release' },
    { status: 'BACKORDERED', intent: 'release' },
    { status: 'SHIPPED', intent: undefined },
    { status: 'DELIVERED', intent: undefined },
    { status: 'CANCELLED', intent: undefined },
  ])('a delete of a $status order asks for $intent', ({ status, intent }) => {
    // Act
    const change = toOrderChange(toChangeRecord(factory.remove({ ...order, status })));

    // Assess
    expect(stockIntentOf(change)?.kind).toBe(intent);
  });
});

describe('formatMoney', () => {
  it.each([
    [1234, 'EUR', '12.34 EUR'],
    [5, 'USD', '0.05 USD'],
    [1234, 'JPY', '1234 JPY'],
    [1234, 'KWD', '1.234 KWD'],
    [99_000_000_000_000, 'GBP', '990000000000.00 GBP'],
  ])('%d %s is %s', (minor, currency, text) => {
    // Act / Assess
    expect(formatMoney(minor, currency)).toBe(text);
  });
});
