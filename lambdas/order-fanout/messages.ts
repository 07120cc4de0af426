import type { OrderStatus } from '../shared/orders/order.js';

/**
 * What the order fan-out sends out: the events on the `order-events` SNS topic, the order e-mails (SES templates) and
 * the warehouse messages (SQS FIFO). These shapes are a public contract: subscribers parse them, so fields are only
 * ever added. docs/pipelines/order-fanout.md documents them.
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

/**
 * The mark on a message that re-sends an effect an earlier invocation may already have delivered (it claimed the
 * effect in its ledger, then never confirmed it: the send threw, or the invocation timed out or crashed before its
 * ledger write). Only such re-sends carry it, with the value `true`: a copy without it is the first, so a subscriber
 * that sees the mark checks the id (eventId, e-mail id, deduplication id) before acting again, and one that does not
 * see it need not. SNS and SQS carry it as a String message attribute, SES as a message tag (its event publishing).
 */
export const POSSIBLE_DUPLICATE = {
  /** SNS and SQS message attribute name (DataType String). */
  attribute: 'possibleDuplicate',
  /** SES message tag name: tag names allow only ASCII letters, digits, `_` and `-`. */
  tag: 'possible-duplicate',
  value: 'true',
} as const;

/**
 * How an e-mail's id reaches SES: as the message tag `order-email-id` (visible in SES event publishing) and as the
 * header `X-Order-Email-Id` (visible to the recipient's mail system). SES tag values allow only ASCII letters, digits,
 * `_` and `-` (at most 256), so the tag carries emailTagValue(emailId); the header carries the id as it is.
 */
export const ORDER_EMAIL_ID = { tag: 'order-email-id', header: 'X-Order-Email-Id' } as const;

/** Most characters of an SES message tag value. */
export const SES_TAG_VALUE_MAX = 256;

/**
 * An e-mail id as an SES tag value: every character but ASCII letters, digits, `_` and `-` becomes `_` (the ids are
 * `<orderId>:<version>:email-<kind>`, so in practice each `:`), cut at SES_TAG_VALUE_MAX. Deterministic, so every
 * re-send of an e-mail carries the same value; distinct for distinct ids as long as order ids contain no `_` or `:`,
 * which the API's UUIDs do not.
 */
export function emailTagValue(emailId: string): string {
  return emailId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, SES_TAG_VALUE_MAX);
}

/** A line as events and warehouse messages carry it. */
export interface MessageLine {
  readonly sku: string;
  readonly qty: number;
}

interface OrderEventBase {
  readonly schemaVersion: typeof MESSAGE_SCHEMA_VERSION;
  /**
   * Stable id of the event: `<orderId>:<version>:<type>`. The same change always gives the same id; it is the SNS
   * FIFO MessageDeduplicationId too, so SNS drops a re-send within its 5-minute window, and a subscriber deduplicates
   * on it past that window (re-sends carry POSSIBLE_DUPLICATE).
   */
  readonly eventId: string;
  readonly type: OrderEventType;
  readonly orderId: string;
  readonly customerId: string;
  /**
   * The order's version the event is about (for OrderDeleted, the last version before the delete). It grows with
   * every write of the order. The FIFO topic delivers an order's events in order (message group = order id) to SQS
   * FIFO queues; a subscriber on a standard queue gets no order and orders them by this.
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
  /** `ttl` when DynamoDB's TTL process removed the order, `user` for a DeleteItem (docs/architecture.md, contract 6). */
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
  /**
   * Stable id: `<orderId>:<version>:email-<kind>`. It reaches SES as the tag and header of ORDER_EMAIL_ID, so the
   * e-mail can be deduplicated on it (SES does not deduplicate).
   */
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
