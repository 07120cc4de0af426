import { describe, expect, it } from 'vitest';
import {
  canTransition,
  computeTotalCents,
  MoneyOverflowError,
  ORDER_LIMITS,
  ORDER_STATUSES,
  type OrderStatus,
  parseOrderItem,
} from '../../../../lambdas/shared/orders/order.js';
import { storedOrder } from '../../../support/orders.js';

/** The transitions the design allows, written out independently of the code's table. */
const ALLOWED: ReadonlyArray<readonly [OrderStatus, OrderStatus]> = [
  ['PLACED', 'PAID'],
  ['PAID', 'SHIPPED'],
  ['SHIPPED', 'DELIVERED'],
  ['PLACED', 'CANCELLED'],
  ['PAID', 'CANCELLED'],
  ['PLACED', 'BACKORDERED'],
  ['BACKORDERED', 'PLACED'],
  ['BACKORDERED', 'CANCELLED'],
];

const ALL_PAIRS = ORDER_STATUSES.flatMap((from) =>
  ORDER_STATUSES.map((to) => ({
    from,
    to,
    allowed: ALLOWED.some(([allowedFrom, allowedTo]) => allowedFrom === from && allowedTo === to),
  })),
);

describe('canTransition', () => {
  it('covers all 36 status pairs, 8 of them allowed', () => {
    // Assess
    expect(ALL_PAIRS).toHaveLength(36);
    expect(ALL_PAIRS.filter((pair) => pair.allowed)).toHaveLength(8);
  });

  it.each(ALL_PAIRS)('$from -> $to allowed: $allowed', ({ from, to, allowed }) => {
    // Act
    const result = canTransition(from, to);

    // Assess
    expect(result).toBe(allowed);
  });
});

describe('computeTotalCents', () => {
  it.each([
    { name: 'one line', lines: [{ sku: 'A', qty: 3, unitPriceCents: 250 }], total: 750 },
    {
      name: 'several lines',
      lines: [
        { sku: 'A', qty: 2, unitPriceCents: 1250 },
        { sku: 'B', qty: 1, unitPriceCents: 999 },
      ],
      total: 3499,
    },
    { name: 'free items', lines: [{ sku: 'A', qty: 5, unitPriceCents: 0 }], total: 0 },
    {
      name: 'the largest order the bounds allow',
      lines: Array.from({ length: ORDER_LIMITS.maxLines }, (_, index) => ({
        sku: `S${index}`,
        qty: ORDER_LIMITS.maxQty,
        unitPriceCents: ORDER_LIMITS.maxUnitPriceCents,
      })),
      total: 99_000_000_000_000,
    },
  ])('sums $name', ({ lines, total }) => {
    // Act
    const result = computeTotalCents(lines);

    // Assess
    expect(result).toBe(total);
  });

  it('keeps the largest possible total a safe integer', () => {
    // Prepare
    const largest = ORDER_LIMITS.maxLines * ORDER_LIMITS.maxQty * ORDER_LIMITS.maxUnitPriceCents;

    // Assess
    expect(Number.isSafeInteger(largest)).toBe(true);
  });

  it('refuses a total beyond the safe integer range instead of rounding it', () => {
    // Prepare
    const lines = [
      { sku: 'A', qty: 1, unitPriceCents: Number.MAX_SAFE_INTEGER },
      { sku: 'B', qty: 1, unitPriceCents: 2 },
    ];

    // Act
    const act = (): number => computeTotalCents(lines);

    // Assess
    expect(act).toThrow(MoneyOverflowError);
    expect(act).toThrow(/SKU B/);
  });
});

describe('parseOrderItem', () => {
  const item = storedOrder();

  it('accepts a stored item with attributes it does not know', () => {
    // Act
    const order = parseOrderItem({ ...item, expiresAt: 1_900_000_000 });

    // Assess
    expect(order).toEqual(item);
  });

  it.each([
    { name: 'an unknown status', patch: { status: 'REFUNDED' } },
    { name: 'a fractional version', patch: { version: 1.5 } },
    { name: 'a non-ISO time', patch: { updatedAt: 'yesterday' } },
    { name: 'no lines', patch: { lines: [] } },
  ])('rejects $name', ({ patch }) => {
    // Act
    const act = (): unknown => parseOrderItem({ ...item, ...patch });

    // Assess
    expect(act).toThrow();
  });
});
