import type {
  OrderEmail,
  OrderEvent,
  OrderPlacedEvent,
  OrderStatusChangedEvent,
  WarehouseMessage,
} from '../../../../lambdas/order-fanout/messages.js';
import type { Reservation } from '../../../../lambdas/order-fanout/ports.js';

/** An OrderPlaced event of order `o-<n>`; tests override what they exercise. */
export function placedEvent(n: number, overrides: Partial<OrderPlacedEvent> = {}): OrderPlacedEvent {
  const orderId = `o-${n}`;
  return {
    schemaVersion: 1,
    eventId: `${orderId}:1:OrderPlaced`,
    type: 'OrderPlaced',
    orderId,
    customerId: `cust-${n}`,
    version: 1,
    status: 'PLACED',
    occurredAt: '2030-01-01T00:00:00.000Z',
    currency: 'EUR',
    totalCents: 1234,
    lines: [{ sku: 'A-1', qty: 2 }],
    ...overrides,
  };
}

/** An OrderStatusChanged event (PLACED -> SHIPPED) of order `o-<n>`. */
export function shippedEvent(n: number): OrderStatusChangedEvent {
  const orderId = `o-${n}`;
  return {
    schemaVersion: 1,
    eventId: `${orderId}:2:OrderStatusChanged`,
    type: 'OrderStatusChanged',
    orderId,
    customerId: `cust-${n}`,
    version: 2,
    status: 'SHIPPED',
    previousStatus: 'PLACED',
    occurredAt: '2030-01-02T00:00:00.000Z',
  };
}

/** `count` events alternating OrderPlaced and OrderStatusChanged. */
export function events(count: number): OrderEvent[] {
  return Array.from({ length: count }, (_unused, n) => (n % 2 === 0 ? placedEvent(n) : shippedEvent(n)));
}

/** A placed-order e-mail of order `o-<n>`. */
export function placedEmail(n: number, overrides: Partial<OrderEmail> = {}): OrderEmail {
  const orderId = `o-${n}`;
  return {
    emailId: `${orderId}:1:email-placed`,
    kind: 'placed',
    to: `customer-${n}@example.com`,
    data: { orderId, customerId: `cust-${n}`, total: '12.34 EUR', lineCount: '1' },
    ...overrides,
  };
}

/** A warehouse OrderPlaced message of order `o-<n>`. */
export function warehouseMessage(n: number, overrides: Partial<WarehouseMessage> = {}): WarehouseMessage {
  const orderId = `o-${n}`;
  return {
    groupId: orderId,
    deduplicationId: `${orderId}:INSERT:1:OrderPlaced`,
    body: { schemaVersion: 1, type: 'OrderPlaced', orderId, version: 1, lines: [{ sku: 'A-1', qty: 2 }] },
    ...overrides,
  };
}

/** A RESERVED reservation of `orderId` at revision 1. */
export function reservation(orderId: string, overrides: Partial<Reservation> = {}): Reservation {
  return {
    orderId,
    state: 'RESERVED',
    lines: [{ sku: 'A-1', qty: 2 }],
    reservedBy: `${orderId}:INSERT:1`,
    shortBy: [],
    shortSkus: [],
    revision: 1,
    updatedAt: '2030-01-01T00:00:00.000Z',
    ...overrides,
  };
}
