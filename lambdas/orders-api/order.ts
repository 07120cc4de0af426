import { createHash } from 'node:crypto';
import { computeTotalCents, type Order, type OrderLine } from '../shared/orders/order.js';
import type { CreateOrderBody } from './schemas.js';

/** Order rules specific to the API: building a new order from a request, ids, and what a client gets back. */

/** A random order id collided with an existing order: astronomically unlikely, so a bug (a non-random generator). */
export class OrderIdCollisionError extends Error {
  public constructor(orderId: string) {
    super(`Generated order id ${orderId} is already taken`);
    this.name = 'OrderIdCollisionError';
  }
}

/** The first line whose SKU repeats an earlier line's, or undefined. */
export function findDuplicateSku(lines: readonly OrderLine[]): { index: number; sku: string } | undefined {
  const seen = new Set<string>();
  for (const [index, line] of lines.entries()) {
    if (seen.has(line.sku)) {
      return { index, sku: line.sku };
    }
    seen.add(line.sku);
  }
  return undefined;
}

/** A new order in status PLACED, version 1. Lines are copied field by field so no stray property is stored. */
export function newOrder(body: CreateOrderBody, orderId: string, now: Date): Order {
  const lines = body.lines.map(({ sku, qty, unitPriceCents }) => ({ sku, qty, unitPriceCents }));
  const at = now.toISOString();
  return {
    orderId,
    customerId: body.customerId,
    customerEmail: body.customerEmail,
    currency: body.currency,
    lines,
    totalCents: computeTotalCents(lines),
    status: 'PLACED',
    version: 1,
    createdAt: at,
    updatedAt: at,
  };
}

/**
 * The order id of an idempotent create: a UUID (version 8, "custom") from the SHA-256 of caller and key. Even if the
 * idempotency record is lost (expired, deleted), a retry maps to the same id, and the conditional put refuses to
 * create a second order.
 */
export function deterministicOrderId(scope: string, idempotencyKey: string): string {
  // JSON encoding keeps ("a|b", "c") and ("a", "b|c") apart.
  const digest = createHash('sha256')
    .update(JSON.stringify(['orders-api/create-order/v1', scope, idempotencyKey]))
    .digest();
  const bytes = digest.subarray(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x80;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** Whether a stored order was created from this request body (the fields a client sends). */
export function isSameOrderRequest(order: Order, body: CreateOrderBody): boolean {
  const requested = (o: Pick<Order, 'customerId' | 'customerEmail' | 'currency' | 'lines'>): string =>
    JSON.stringify([
      o.customerId,
      o.customerEmail,
      o.currency,
      o.lines.map((line) => [line.sku, line.qty, line.unitPriceCents]),
    ]);
  return requested(order) === requested(body);
}

/** An order as the API returns it: an explicit projection, so attributes added to the item later never leak. */
export interface OrderResource {
  readonly orderId: string;
  readonly customerId: string;
  readonly customerEmail: string;
  readonly currency: string;
  readonly lines: readonly OrderLine[];
  readonly totalCents: number;
  readonly status: Order['status'];
  readonly version: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export function toOrderResource(order: Order): OrderResource {
  return {
    orderId: order.orderId,
    customerId: order.customerId,
    customerEmail: order.customerEmail,
    currency: order.currency,
    lines: order.lines.map(({ sku, qty, unitPriceCents }) => ({ sku, qty, unitPriceCents })),
    totalCents: order.totalCents,
    status: order.status,
    version: order.version,
    createdAt: order.createdAt,
    updatedAt: order.updatedAt,
  };
}

/** The strong entity tag of an order version, as sent in `ETag` and compared with `If-Match`. */
export function etagOf(version: number): string {
  return `"${version}"`;
}
