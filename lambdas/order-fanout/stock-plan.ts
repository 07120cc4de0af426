import type { StockIntent } from './order-change.js';
import {
  DYNAMODB_TRANSACTION_MAX,
  type Reservation,
  type ReservationWrite,
  type StockDelta,
  type StockTransaction,
} from './ports.js';

/**
 * Plans the stock step of a batch: which changes reserve, which find stock short, which release, and the DynamoDB
 * transactions that write it. Pure: the state comes in, the plan goes out.
 *
 * The changes are decided in stream order against the stock read at the start of the batch, as if they were applied
 * one by one, so an order placed after a cancellation in the same batch can use the released stock. The writes are
 * then grouped per order (an order's reservation item is written once per batch, whatever happened to it in the
 * batch), and per transaction each SKU appears once with its net change: DynamoDB refuses two operations on one item
 * in one transaction, and one `ADD available :net` per SKU costs one item instead of one per line.
 *
 * Idempotency: a change whose key the reservation item already names (reservedBy, releasedBy, shortBy) has had its
 * stock step, and gets the same decision again with nothing to write. Every write is conditional on the revision
 * read, and stock only goes down on the condition that it stays at or above zero, so a plan made from stale state
 * fails as a whole and is made again from a fresh read.
 */

export type StockDecision =
  /** This change reserved the lines (now, or in an earlier attempt). */
  | { readonly kind: 'reserved'; readonly lines: readonly StockLine[] }
  /** An earlier change reserved the order's stock; nothing to do (a user back-ordered and re-placed it). */
  | { readonly kind: 'already-reserved' }
  /** Some line lacked stock: nothing reserved. */
  | { readonly kind: 'short'; readonly shortSkus: readonly string[] }
  /** This change released the reserved lines (now, or in an earlier attempt). */
  | { readonly kind: 'released'; readonly lines: readonly StockLine[] }
  /** Nothing was reserved (the order was back-ordered, or released already). */
  | { readonly kind: 'nothing-to-release' };

export interface StockLine {
  readonly sku: string;
  readonly qty: number;
}

export interface PlannedTransaction {
  readonly transaction: StockTransaction;
  /** The changes whose stock step this transaction writes. */
  readonly changeKeys: readonly string[];
}

export interface StockPlan {
  /** The decision of every intent, by change key. */
  readonly decisions: ReadonlyMap<string, StockDecision>;
  /** The writes, in order; empty when every decision was made before. */
  readonly transactions: readonly PlannedTransaction[];
}

/** Thrown for an order whose stock step cannot fit one transaction; ORDER_LIMITS keeps orders below it. */
export class OrderTooLargeError extends Error {
  public constructor(orderId: string, items: number) {
    super(
      `Order ${orderId} needs ${items} items in one transaction (its SKUs plus its reservation), ` +
        `more than the ${DYNAMODB_TRANSACTION_MAX} DynamoDB allows`,
    );
    this.name = 'OrderTooLargeError';
  }
}

/** Sums the quantities per SKU, in first-seen order: an order names a SKU once, but nothing here relies on it. */
function linesPerSku(lines: readonly StockLine[]): StockLine[] {
  const bySku = new Map<string, number>();
  for (const line of lines) bySku.set(line.sku, (bySku.get(line.sku) ?? 0) + line.qty);
  return [...bySku].map(([sku, qty]) => ({ sku, qty }));
}

interface OrderWrites {
  readonly orderId: string;
  readonly read: Reservation | undefined;
  next: Reservation;
  /** Net stock change per SKU of this order in this batch. */
  readonly deltas: Map<string, number>;
  readonly changeKeys: string[];
}

/**
 * Decides every intent and plans the writes. `reservations` and `stock` are the state read for the batch (an order
 * or SKU missing from them has no reservation, or no stock); `at` is the time written into reservations.
 */
export function planStock(
  intents: readonly StockIntent[],
  reservations: ReadonlyMap<string, Reservation>,
  stock: ReadonlyMap<string, number>,
  at: string,
): StockPlan {
  const decisions = new Map<string, StockDecision>();
  const available = new Map(stock);
  const writes = new Map<string, OrderWrites>();
  const current = (orderId: string): Reservation | undefined =>
    writes.get(orderId)?.next ?? reservations.get(orderId);

  const write = (
    orderId: string,
    changeKey: string,
    next: Reservation,
    lineDeltas: readonly StockLine[],
  ): void => {
    let entry = writes.get(orderId);
    if (entry === undefined) {
      entry = { orderId, read: reservations.get(orderId), next, deltas: new Map(), changeKeys: [] };
      writes.set(orderId, entry);
    }
    entry.next = next;
    entry.changeKeys.push(changeKey);
    for (const { sku, qty } of lineDeltas) {
      entry.deltas.set(sku, (entry.deltas.get(sku) ?? 0) + qty);
      available.set(sku, (available.get(sku) ?? 0) + qty);
    }
  };

  for (const intent of intents) {
    const { changeKey, orderId } = intent;
    const reservation = current(orderId);
    const base = {
      orderId,
      shortBy: reservation?.shortBy ?? [],
      shortSkus: reservation?.shortSkus ?? [],
      revision: reservations.get(orderId)?.revision ?? 0,
      updatedAt: at,
    };
    if (intent.kind === 'reserve') {
      if (reservation?.reservedBy === changeKey) {
        decisions.set(changeKey, { kind: 'reserved', lines: reservation.lines });
      } else if (reservation?.shortBy.includes(changeKey) === true) {
        decisions.set(changeKey, { kind: 'short', shortSkus: reservation.shortSkus });
      } else if (reservation?.state === 'RESERVED' || reservation?.state === 'RELEASED') {
        decisions.set(changeKey, { kind: 'already-reserved' });
      } else {
        const lines = linesPerSku(intent.lines);
        const shortSkus = lines
          .filter(({ sku, qty }) => (available.get(sku) ?? 0) < qty)
          .map(({ sku }) => sku);
        if (shortSkus.length === 0) {
          decisions.set(changeKey, { kind: 'reserved', lines });
          write(
            orderId,
            changeKey,
            { ...base, state: 'RESERVED', lines, reservedBy: changeKey },
            lines.map(({ sku, qty }) => ({ sku, qty: -qty })),
          );
        } else {
          decisions.set(changeKey, { kind: 'short', shortSkus });
          write(
            orderId,
            changeKey,
            { ...base, state: 'BACKORDERED', lines, shortBy: [...base.shortBy, changeKey], shortSkus },
            [],
          );
        }
      }
    } else if (reservation?.releasedBy === changeKey) {
      decisions.set(changeKey, { kind: 'released', lines: reservation.lines });
    } else if (reservation?.state === 'RESERVED') {
      decisions.set(changeKey, { kind: 'released', lines: reservation.lines });
      write(
        orderId,
        changeKey,
        { ...reservation, ...base, state: 'RELEASED', releasedBy: changeKey },
        reservation.lines,
      );
    } else {
      decisions.set(changeKey, { kind: 'nothing-to-release' });
    }
  }

  return { decisions, transactions: groupIntoTransactions([...writes.values()]) };
}

/** Packs the orders' writes into transactions of at most DYNAMODB_TRANSACTION_MAX items, in first-touched order. */
function groupIntoTransactions(orders: readonly OrderWrites[]): PlannedTransaction[] {
  const transactions: PlannedTransaction[] = [];
  let reservationWrites: ReservationWrite[] = [];
  let deltas = new Map<string, number>();
  let changeKeys: string[] = [];
  const flush = (): void => {
    if (reservationWrites.length === 0) return;
    const stockDeltas: StockDelta[] = [...deltas]
      .filter(([, delta]) => delta !== 0)
      .map(([sku, delta]) => ({ sku, delta }));
    transactions.push({ transaction: { reservations: reservationWrites, deltas: stockDeltas }, changeKeys });
    reservationWrites = [];
    deltas = new Map();
    changeKeys = [];
  };
  const itemsWith = (order: OrderWrites): number => {
    const skus = new Set([...deltas].filter(([, d]) => d !== 0).map(([sku]) => sku));
    for (const [sku, delta] of order.deltas) {
      if (delta !== 0 || (deltas.get(sku) ?? 0) !== 0) skus.add(sku);
    }
    return reservationWrites.length + 1 + skus.size;
  };
  for (const order of orders) {
    const alone = 1 + [...order.deltas.values()].filter((delta) => delta !== 0).length;
    if (alone > DYNAMODB_TRANSACTION_MAX) throw new OrderTooLargeError(order.orderId, alone);
    if (itemsWith(order) > DYNAMODB_TRANSACTION_MAX) flush();
    reservationWrites.push({
      next: { ...order.next, revision: (order.read?.revision ?? 0) + 1 },
      expectedRevision: order.read?.revision,
    });
    for (const [sku, delta] of order.deltas) deltas.set(sku, (deltas.get(sku) ?? 0) + delta);
    changeKeys.push(...order.changeKeys);
  }
  flush();
  return transactions;
}
