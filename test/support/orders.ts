import type { Order } from '../../lambdas/shared/orders/order.js';

/** A valid stored order (one line, PLACED, version 1); tests override what they exercise. */
export function storedOrder(overrides: Partial<Order> = {}): Order {
  return {
    orderId: '0b8e1c9e-4f6a-4d2b-9c1e-2f3a4b5c6d7e',
    customerId: 'cust-1',
    customerEmail: 'ada@example.com',
    currency: 'EUR',
    lines: [{ sku: 'A', qty: 1, unitPriceCents: 100 }],
    totalCents: 100,
    status: 'PLACED',
    version: 1,
    createdAt: '2030-01-01T00:00:00.000Z',
    updatedAt: '2030-01-01T00:00:00.000Z',
    ...overrides,
  };
}
