import * as z from '../zod.js';

/**
 * The order domain shared by the orders API and the stream consumers: statuses, the transition table, money bounds
 * and the stored item's shape. Pure code (no SDK imports), so the CDK app can import it through the API schemas.
 */

export const ORDER_STATUSES = ['PLACED', 'PAID', 'SHIPPED', 'DELIVERED', 'CANCELLED', 'BACKORDERED'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

/**
 * Every allowed status change, and nothing else. A status moving to itself is not listed on purpose: it would bump
 * the version and emit a stream record for a change that did not happen.
 */
export const ORDER_TRANSITIONS: Readonly<Record<OrderStatus, readonly OrderStatus[]>> = {
  PLACED: ['PAID', 'CANCELLED', 'BACKORDERED'],
  PAID: ['SHIPPED', 'CANCELLED'],
  SHIPPED: ['DELIVERED'],
  DELIVERED: [],
  CANCELLED: [],
  BACKORDERED: ['PLACED', 'CANCELLED'],
};

/** Whether an order may move from `from` to `to`. */
export function canTransition(from: OrderStatus, to: OrderStatus): boolean {
  return ORDER_TRANSITIONS[from].includes(to);
}

/**
 * Bounds of an order. The largest possible total (lines x qty x unit price) stays a safe integer:
 * 99 x 10,000 x 100,000,000 < 1e14 < 2^53 - 1. Money is in minor units of the currency ("cents").
 *
 * 99 lines, not 100: the order fan-out reserves an order's stock atomically (all lines or none) in one DynamoDB
 * transaction, which holds at most 100 items: one per SKU plus the order's reservation item.
 */
export const ORDER_LIMITS = {
  maxLines: 99,
  maxQty: 10_000,
  maxUnitPriceCents: 100_000_000,
} as const;

export interface OrderLine {
  readonly sku: string;
  readonly qty: number;
  readonly unitPriceCents: number;
}

/** An order as stored in the Orders table (partition key `orderId`). */
export interface Order {
  readonly orderId: string;
  readonly customerId: string;
  readonly customerEmail: string;
  /** ISO 4217 code; `totalCents` and `unitPriceCents` are in its minor unit. */
  readonly currency: string;
  readonly lines: readonly OrderLine[];
  readonly totalCents: number;
  readonly status: OrderStatus;
  /** Starts at 1 and is incremented by every write, so readers (search sync, If-Match) can order versions. */
  readonly version: number;
  /** ISO-8601 UTC. */
  readonly createdAt: string;
  /** ISO-8601 UTC. */
  readonly updatedAt: string;
}

/** Thrown when a total would leave the safe integer range: a bug in the bounds above, never a user error. */
export class MoneyOverflowError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = 'MoneyOverflowError';
  }
}

/** Sum of qty x unit price over the lines, in minor units; checked at every step rather than trusted. */
export function computeTotalCents(lines: readonly OrderLine[]): number {
  let total = 0;
  for (const line of lines) {
    const lineTotal = line.qty * line.unitPriceCents;
    total += lineTotal;
    if (!Number.isSafeInteger(lineTotal) || !Number.isSafeInteger(total)) {
      throw new MoneyOverflowError(`Order total exceeds the safe integer range at SKU ${line.sku}`);
    }
  }
  return total;
}

const safeCents = z.int().check(z.gte(0));
const isoUtc = z.iso.datetime();

/**
 * The stored item as code reading the table should accept it. Not strict: attributes added later (a TTL, say) must
 * not break older readers.
 */
export const orderItemSchema = z.object({
  orderId: z.string().check(z.minLength(1)),
  customerId: z.string().check(z.minLength(1)),
  customerEmail: z.string().check(z.minLength(1)),
  currency: z.string().check(z.length(3)),
  lines: z
    .array(
      z.object({
        sku: z.string().check(z.minLength(1)),
        qty: z.int().check(z.gte(1)),
        unitPriceCents: safeCents,
      }),
    )
    .check(z.minLength(1)),
  totalCents: safeCents,
  status: z.enum(ORDER_STATUSES),
  version: z.int().check(z.gte(1)),
  createdAt: isoUtc,
  updatedAt: isoUtc,
});

/** Parses a stored item, throwing a ZodError when the table holds something this code does not understand. */
export function parseOrderItem(item: unknown): Order {
  return orderItemSchema.parse(item);
}
