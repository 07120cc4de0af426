import { PermanentError } from '../shared/errors.js';
import type { Order, OrderLine, OrderStatus } from '../shared/orders/order.js';
import { orderFromImage } from '../shared/orders/order-image.js';
import type { OrdersRepository } from '../shared/orders/orders-repository.js';
import { transitionOrder } from '../shared/orders/transition.js';
import type { ChangeRecord } from '../shared/stream/change-record.js';

/**
 * What one Orders stream record means to the fan-out. Pure: no I/O, no clock.
 */

/**
 * - placed: an INSERT (the API creates orders PLACED);
 * - status-changed: a MODIFY whose status differs from the old image's;
 * - unchanged: a MODIFY that left the status alone (nothing to do);
 * - deleted: a REMOVE, by a user or by TTL.
 */
export type OrderChangeKind = 'placed' | 'status-changed' | 'unchanged' | 'deleted';

export interface OrderChange {
  readonly sequenceNumber: string;
  /**
   * `<orderId>:<eventName>:<version>`: names the change itself, whatever record carries it, so the ledger, the
   * reservation ledger and the warehouse deduplication ids agree across re-deliveries and DLQ replays.
   */
  readonly changeKey: string;
  readonly kind: OrderChangeKind;
  /** The order after the change (INSERT, MODIFY) or as it was when deleted (REMOVE). */
  readonly order: Order;
  /** The status before a MODIFY. */
  readonly previousStatus: OrderStatus | undefined;
  readonly removedBy: 'user' | 'ttl' | undefined;
  /** ISO-8601 time of the change: the order's updatedAt, or the record's time for a delete. */
  readonly occurredAt: string;
}

/**
 * Reads a stream record of the Orders table. Throws (PermanentError or a ZodError, both permanent) when the record
 * cannot be an order change: a missing image, an image that is not an order, an INSERT of an order that is not PLACED.
 */
export function toOrderChange(record: ChangeRecord): OrderChange {
  const image = record.eventName === 'REMOVE' ? record.oldImage : record.newImage;
  if (image === undefined) {
    throw new PermanentError(
      `${record.eventName} record without its ${record.eventName === 'REMOVE' ? 'old' : 'new'} image: ` +
        'the Orders stream must be NEW_AND_OLD_IMAGES',
    );
  }
  const order = orderFromImage(image);
  const changeKey = `${order.orderId}:${record.eventName}:${order.version}`;
  const base = { sequenceNumber: record.sequenceNumber, changeKey, order };
  switch (record.eventName) {
    case 'INSERT':
      if (order.status !== 'PLACED') {
        // The API creates every order PLACED; anything else was written around it and has no placement to fan out.
        throw new PermanentError(`INSERT of order ${order.orderId} with status ${order.status}, not PLACED`);
      }
      return {
        ...base,
        kind: 'placed',
        previousStatus: undefined,
        removedBy: undefined,
        occurredAt: order.updatedAt,
      };
    case 'MODIFY': {
      if (record.oldImage === undefined) {
        throw new PermanentError(
          'MODIFY record without its old image: the Orders stream must be NEW_AND_OLD_IMAGES',
        );
      }
      const previous = orderFromImage(record.oldImage);
      return {
        ...base,
        kind: previous.status === order.status ? 'unchanged' : 'status-changed',
        previousStatus: previous.status,
        removedBy: undefined,
        occurredAt: order.updatedAt,
      };
    }
    case 'REMOVE':
      return {
        ...base,
        kind: 'deleted',
        previousStatus: undefined,
        removedBy: record.removedByTtl ? 'ttl' : 'user',
        occurredAt: new Date(record.approximateCreationTime).toISOString(),
      };
  }
}

/** Statuses in which an order still holds reserved stock that nobody will ship: deleting it gives the stock back. */
const UNSHIPPED_STATUSES: ReadonlySet<OrderStatus> = new Set(['PLACED', 'PAID', 'BACKORDERED']);

export type StockIntent =
  | {
      readonly kind: 'reserve';
      readonly changeKey: string;
      readonly orderId: string;
      readonly lines: readonly OrderLine[];
    }
  | { readonly kind: 'release'; readonly changeKey: string; readonly orderId: string };

/**
 * The stock step a change asks for, if any: placing an order (INSERT, or BACKORDERED -> PLACED) reserves its lines;
 * cancelling it, or deleting it before it shipped, releases what was reserved.
 */
export function stockIntentOf(change: OrderChange): StockIntent | undefined {
  const { changeKey, order } = change;
  const reserve = (): StockIntent => ({
    kind: 'reserve',
    changeKey,
    orderId: order.orderId,
    lines: order.lines,
  });
  const release = (): StockIntent => ({ kind: 'release', changeKey, orderId: order.orderId });
  switch (change.kind) {
    case 'placed':
      return reserve();
    case 'status-changed':
      if (order.status === 'CANCELLED') return release();
      if (order.status === 'PLACED' && change.previousStatus === 'BACKORDERED') return reserve();
      return undefined;
    case 'deleted':
      return UNSHIPPED_STATUSES.has(order.status) ? release() : undefined;
    case 'unchanged':
      return undefined;
  }
}

/**
 * Moves the order of a placement whose stock is short to BACKORDERED, conditional on the version the change carries:
 * an order that moved on since (paid, cancelled) is left alone. Every outcome but a throw is final, and a retry of
 * the change finds the same one (the version has moved on either way), so it needs no ledger of its own.
 */
export async function moveToBackordered(orders: OrdersRepository, order: Order, at: string): Promise<void> {
  await transitionOrder(orders, {
    orderId: order.orderId,
    to: 'BACKORDERED',
    expectedVersion: order.version,
    at,
    current: order,
  });
}
