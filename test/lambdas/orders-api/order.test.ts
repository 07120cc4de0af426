import { describe, expect, it } from 'vitest';
import {
  deterministicOrderId,
  etagOf,
  findDuplicateSku,
  isSameOrderRequest,
  newOrder,
  toOrderResource,
} from '../../../lambdas/orders-api/order.js';
import { ORDER_ID_PATTERN } from '../../../lambdas/orders-api/schemas.js';

const body = {
  customerId: 'cust-1',
  customerEmail: 'ada@example.com',
  currency: 'EUR',
  lines: [
    { sku: 'SKU-1', qty: 2, unitPriceCents: 1250 },
    { sku: 'SKU-2', qty: 1, unitPriceCents: 999 },
  ],
};

describe('findDuplicateSku', () => {
  it.each([
    { name: 'distinct SKUs', skus: ['A', 'B', 'C'], duplicate: undefined },
    { name: 'a repeat', skus: ['A', 'B', 'A'], duplicate: { index: 2, sku: 'A' } },
    { name: 'the first of several repeats', skus: ['A', 'B', 'B', 'A'], duplicate: { index: 2, sku: 'B' } },
    { name: 'SKUs differing in case only', skus: ['a', 'A'], duplicate: undefined },
  ])('finds $name', ({ skus, duplicate }) => {
    // Prepare
    const lines = skus.map((sku) => ({ sku, qty: 1, unitPriceCents: 1 }));

    // Act
    const result = findDuplicateSku(lines);

    // Assess
    expect(result).toEqual(duplicate);
  });
});

describe('newOrder', () => {
  it('builds a PLACED order at version 1 with the total and UTC times', () => {
    // Prepare
    const now = new Date('2030-05-06T07:08:09.010Z');

    // Act
    const order = newOrder(body, 'id-1', now);

    // Assess
    expect(order).toEqual({
      orderId: 'id-1',
      ...body,
      totalCents: 3499,
      status: 'PLACED',
      version: 1,
      createdAt: '2030-05-06T07:08:09.010Z',
      updatedAt: '2030-05-06T07:08:09.010Z',
    });
  });

  it('copies only the known line fields', () => {
    // Prepare
    const sneaky = { ...body, lines: [{ sku: 'A', qty: 1, unitPriceCents: 1, extra: 'x' }] };

    // Act
    const order = newOrder(sneaky, 'id-1', new Date(0));

    // Assess
    expect(order.lines).toEqual([{ sku: 'A', qty: 1, unitPriceCents: 1 }]);
  });
});

describe('deterministicOrderId', () => {
  const alice = 'arn:aws:iam::111122223333:user/alice';
  const bob = 'arn:aws:iam::111122223333:user/bob';

  it('is UUID-shaped, version 8, RFC variant', () => {
    // Act
    const id = deterministicOrderId(alice, 'key-1');

    // Assess
    expect(id).toMatch(ORDER_ID_PATTERN);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('is the same for the same caller and key', () => {
    // Act
    const first = deterministicOrderId(alice, 'key-1');
    const second = deterministicOrderId(alice, 'key-1');

    // Assess
    expect(second).toBe(first);
  });

  it.each([
    { name: 'another caller', a: [alice, 'key-1'], b: [bob, 'key-1'] },
    { name: 'another key', a: [alice, 'key-1'], b: [alice, 'key-2'] },
    { name: 'a shifted separator', a: ['a|b', 'c'], b: ['a', 'b|c'] },
  ] as const)('differs for $name', ({ a, b }) => {
    // Act
    const first = deterministicOrderId(a[0], a[1]);
    const second = deterministicOrderId(b[0], b[1]);

    // Assess
    expect(second).not.toBe(first);
  });
});

describe('isSameOrderRequest', () => {
  const order = newOrder(body, 'id-1', new Date(0));

  it('recognises the request an order was created from, whatever happened to it since', () => {
    // Prepare
    const later = { ...order, status: 'PAID' as const, version: 2 };

    // Act
    const same = isSameOrderRequest(later, body);

    // Assess
    expect(same).toBe(true);
  });

  it.each([
    { name: 'customer', patch: { customerId: 'cust-2' } },
    { name: 'email', patch: { customerEmail: 'bob@example.com' } },
    { name: 'currency', patch: { currency: 'USD' } },
    { name: 'quantity', patch: { lines: [{ ...body.lines[0]!, qty: 3 }, body.lines[1]!] } },
    { name: 'line order', patch: { lines: [body.lines[1]!, body.lines[0]!] } },
  ])('tells a different $name apart', ({ patch }) => {
    // Act
    const same = isSameOrderRequest(order, { ...body, ...patch });

    // Assess
    expect(same).toBe(false);
  });
});

describe('toOrderResource and etagOf', () => {
  it('returns the order fields only', () => {
    // Prepare
    const order = { ...newOrder(body, 'id-1', new Date(0)), expiresAt: 123 };

    // Act
    const resource = toOrderResource(order);

    // Assess
    expect(resource).not.toHaveProperty('expiresAt');
    expect(resource).toEqual(newOrder(body, 'id-1', new Date(0)));
  });

  it('quotes the version', () => {
    // Act
    const etag = etagOf(12);

    // Assess
    expect(etag).toBe('"12"');
  });
});
