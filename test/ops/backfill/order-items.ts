/** Orders as the Orders table holds them, for the backfill's tests. */

/** Order `n` (its id a UUID ending in `n`) at `version`, placed, one line. */
export function orderItem(n: number, version: number): Record<string, unknown> {
  return {
    orderId: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    customerId: 'customer-1',
    customerEmail: 'customer-1@example.com',
    currency: 'EUR',
    lines: [{ sku: 'SKU-0001', qty: 1, unitPriceCents: 500 }],
    totalCents: 500,
    status: 'PLACED',
    version,
    createdAt: '2030-01-01T00:00:00.000Z',
    updatedAt: '2030-01-01T00:00:00.000Z',
  };
}
