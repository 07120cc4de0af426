import type { OrderStatus } from '../shared/orders/order.js';

/**
 * What the order fan-out sends out: the events on the `order-events` SNS topic, the order e-mails (SES templates) and
 * the warehouse messages (SQS FIFO). These shapes are a public contract: subscribers parse them, so fields are only
 * ever added. The README documents them.
 */

/** Version of the event and warehouse message shapes, in every message. */
export const MESSAGE_SCHEMA_VERSION = 1;

export const ORDER_EVENT_TYPES = [
  'OrderPlaced',
  'OrderBackordered',
  'OrderStatusChanged',
  'OrderDeleted',
] as const;
export type OrderEventType = (typeof ORDER_EVENT_TYPES)[number];

/** The SNS message attributes every event carries, for subscription filter policies. */
export const ORDER_EVENT_ATTRIBUTES = { eventType: 'eventType', status: 'status' } as const;

/** A line as events and warehouse messages carry it. */
export interface MessageLine {
  readonly sku: string;
  readonly qty: number;
}

interface OrderEventBase {
  readonly schemaVersion: typeof MESSAGE_SCHEMA_VERSION;
  /**
   * Stable id of the event: `<orderId>:<version>:<type>`. The same change always gives the same id, so a subscriber
   * can deduplicate on it (SNS standard topics deliver at least once).
   */
  readonly eventId: string;
  readonly type: OrderEventType;
  readonly orderId: string;
  readonly customerId: string;
  /**
   * The order's version the event is about (for OrderDeleted, the last version before the delete). It grows with
   * every write of the order: SNS standard topics do not keep order, so subscribers order an order's events by it.
   */
  readonly version: number;
  /** The order's status after the event (for OrderDeleted, its last status). Also the `status` attribute. */
  readonly status: OrderStatus;
  /** ISO-8601 time of the change: the order's `updatedAt`, or the stream record's time for a delete. */
  readonly occurredAt: string;
}

/** Stock was reserved for every line: the order goes to the warehouse. */
export interface OrderPlacedEvent extends OrderEventBase {
  readonly type: 'OrderPlaced';
  readonly currency: string;
  readonly totalCents: number;
  readonly lines: readonly MessageLine[];
}

/**
 * Some line lacked stock: nothing was reserved, and the fan-out moves the order to BACKORDERED with an update
 * conditional on the version it decided on. If the order changed in the meantime (a customer cancelled it, say) the
 * update leaves it alone; the OrderStatusChanged events tell subscribers which status the order really has.
 */
export interface OrderBackorderedEvent extends OrderEventBase {
  readonly type: 'OrderBackordered';
  /** The SKUs whose stock was short when the reservation was tried. */
  readonly shortSkus: readonly string[];
}

export interface OrderStatusChangedEvent extends OrderEventBase {
  readonly type: 'OrderStatusChanged';
  readonly previousStatus: OrderStatus;
}

export interface OrderDeletedEvent extends OrderEventBase {
  readonly type: 'OrderDeleted';
  /** `ttl` when DynamoDB's TTL process removed the order, `user` for a DeleteItem (DESIGN.md, contract 6). */
  readonly removedBy: 'user' | 'ttl';
}

export type OrderEvent =
  | OrderPlacedEvent
  | OrderBackorderedEvent
  | OrderStatusChangedEvent
  | OrderDeletedEvent;

export const EMAIL_KINDS = ['placed', 'shipped', 'cancelled'] as const;
/** Which template an e-mail uses. */
export type EmailKind = (typeof EMAIL_KINDS)[number];

/** The data every order e-mail template can use (`{{orderId}}`, `{{total}}`, ...). All strings: SES substitutes text. */
export interface EmailTemplateData {
  readonly orderId: string;
  readonly customerId: string;
  /** The total in the currency's major unit with its code, e.g. `"12.34 EUR"`. */
  readonly total: string;
  readonly lineCount: string;
}

export interface OrderEmail {
  /** Stable id: `<orderId>:<version>:email-<kind>`, for logs and tests. */
  readonly emailId: string;
  readonly kind: EmailKind;
  readonly to: string;
  readonly data: EmailTemplateData;
}

export const WAREHOUSE_MESSAGE_TYPES = ['OrderPlaced', 'OrderCancelled'] as const;
export type WarehouseMessageType = (typeof WAREHOUSE_MESSAGE_TYPES)[number];

/** The body of a warehouse message. */
export interface WarehouseMessageBody {
  readonly schemaVersion: typeof MESSAGE_SCHEMA_VERSION;
  readonly type: WarehouseMessageType;
  readonly orderId: string;
  readonly version: number;
  /** For OrderPlaced: pick these. For OrderCancelled: put these back (the reserved stock was released). */
  readonly lines: readonly MessageLine[];
  /** For OrderCancelled: whether the order was cancelled or deleted. */
  readonly reason?: 'cancelled' | 'deleted';
}

export interface WarehouseMessage {
  /** FIFO group: the order id, so one order's messages are delivered in order. */
  readonly groupId: string;
  /**
   * FIFO deduplication id, derived from the stream record (`<orderId>:<eventName>:<version>:<type>`): a re-sent
   * message within SQS's 5-minute window is dropped by SQS itself.
   */
  readonly deduplicationId: string;
  readonly body: WarehouseMessageBody;
}

/** Lines as messages carry them: no prices. */
export function messageLines(lines: readonly MessageLine[]): MessageLine[] {
  return lines.map((line) => ({ sku: line.sku, qty: line.qty }));
}

/** Minor units per major unit for the currencies whose exponent is not 2 (ISO 4217). */
const CURRENCY_EXPONENTS: Readonly<Record<string, number>> = {
  BHD: 3,
  CLP: 0,
  ISK: 0,
  JOD: 3,
  JPY: 0,
  KRW: 0,
  KWD: 3,
  OMR: 3,
  TND: 3,
  UGX: 0,
  VND: 0,
};

/** `1234, "EUR"` -> `"12.34 EUR"`; exact (string arithmetic on an integer), never through floating point. */
export function formatMoney(minorUnits: number, currency: string): string {
  const exponent = CURRENCY_EXPONENTS[currency] ?? 2;
  const digits = String(Math.abs(minorUnits)).padStart(exponent + 1, '0');
  const major = exponent === 0 ? digits : `${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
  return `${minorUnits < 0 ? '-' : ''}${major} ${currency}`;
}
