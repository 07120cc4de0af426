import type { RecordOutcome } from '../shared/stream/stream-handler.js';
import type { EmailKind, OrderEmail, OrderEvent, WarehouseMessage } from './messages.js';

/**
 * The ports of the order fan-out. The domain (fanout.ts) talks only to these; adapters wrap the AWS SDK clients
 * (adapters/), and the sandbox runs the same adapters against local stand-ins of the clients.
 *
 * Batch calls answer per entry: `results[i]` is the outcome of `entries[i]`, `ok`, `transient` (throttling, a 5xx,
 * an account or configuration problem an operator fixes) or `permanent` (the service rejects this entry's content).
 * A call that fails as a whole throws; the domain classifies the error for every entry of the call.
 */

/** The fan-out's own metrics, added to the runtime's Metrics instance (and charted by the CDK app, hence here). */
export const ORDER_FANOUT_METRICS = {
  /**
   * Effects re-sent although an earlier invocation claimed them and may have delivered them (each carries the
   * possible-duplicate mark). Normally 0; it grows with timeouts, crashes and failed ledger writes.
   */
  possibleDuplicates: 'PossibleDuplicateEffects',
} as const;

/** Most entries in one SNS PublishBatch call. */
export const SNS_PUBLISH_BATCH_MAX = 10;
/** Most entries in one SQS SendMessageBatch call. */
export const SQS_SEND_BATCH_MAX = 10;
/** Most destinations in one SESv2 SendBulkEmail call. */
export const SES_BULK_EMAIL_MAX = 50;
/** Most items in one DynamoDB TransactWriteItems call. */
export const DYNAMODB_TRANSACTION_MAX = 100;
/** Most keys in one DynamoDB BatchGetItem call. */
export const DYNAMODB_BATCH_GET_MAX = 100;

/**
 * How the entries of one batch call are sent. `possibleDuplicates` holds the indexes of the entries that are re-sends
 * of an effect an earlier invocation claimed (FanoutStore.recordClaims) but never confirmed: it may have reached the
 * service already, so the adapter marks the message for its subscriber (see POSSIBLE_DUPLICATE in messages.ts).
 */
export interface SendOptions {
  readonly possibleDuplicates?: ReadonlySet<number>;
}

/** Publishes order events to the `order-events` FIFO topic: one SNS PublishBatch call. */
export interface EventPublisher {
  /** At most SNS_PUBLISH_BATCH_MAX events. */
  publishBatch(events: readonly OrderEvent[], options?: SendOptions): Promise<RecordOutcome[]>;
}

/** Sends templated order e-mails: one SESv2 SendBulkEmail call, all with the template of `kind`. */
export interface EmailSender {
  /** At most SES_BULK_EMAIL_MAX e-mails, all of `kind`. */
  sendBulk(kind: EmailKind, emails: readonly OrderEmail[], options?: SendOptions): Promise<RecordOutcome[]>;
}

/** Sends warehouse messages to the FIFO queue: one SQS SendMessageBatch call. */
export interface WarehouseQueue {
  /** At most SQS_SEND_BATCH_MAX messages; entries of one group keep their order in the queue. */
  sendBatch(messages: readonly WarehouseMessage[], options?: SendOptions): Promise<RecordOutcome[]>;
}

/**
 * The kinds of effect a stream record can have; the ledger remembers which of them a record has had. A record has at
 * most one effect of each kind: `event` is its own event (OrderPlaced, OrderStatusChanged, ...), `backorder-event`
 * the OrderBackordered of a re-placed order whose stock is still short (besides its OrderStatusChanged), and
 * `backorder` the conditional move of the order to BACKORDERED.
 */
export const EFFECT_KINDS = ['event', 'backorder-event', 'email', 'warehouse', 'backorder'] as const;
export type EffectKind = (typeof EFFECT_KINDS)[number];

/**
 * The effects that deliver a message to someone else (SNS, SES, SQS), and so are claimed in the ledger before they are
 * sent. `backorder` is not: it is a conditional write of the Orders table, which a repeat leaves alone.
 */
export const DELIVERED_EFFECT_KINDS: ReadonlySet<EffectKind> = new Set([
  'event',
  'backorder-event',
  'email',
  'warehouse',
]);

export type ReservationState = 'RESERVED' | 'BACKORDERED' | 'RELEASED';

/**
 * The reservation ledger entry of one order (an item of the Inventory table, key `#reservation#<orderId>`): what was
 * decided about its stock, and by which change. It makes reserving and releasing idempotent per order and SKU: a
 * change that finds its own key in `reservedBy`, `releasedBy` or `shortBy` has already had its stock step.
 */
export interface Reservation {
  readonly orderId: string;
  readonly state: ReservationState;
  /** The lines reserved (RESERVED, RELEASED) or asked for (BACKORDERED). */
  readonly lines: readonly { readonly sku: string; readonly qty: number }[];
  /** The change key that reserved the stock. */
  readonly reservedBy?: string;
  /** The change key that released it. */
  readonly releasedBy?: string;
  /** Change keys that found stock short, oldest first. */
  readonly shortBy: readonly string[];
  /** The SKUs that were short at the last shortage (for the OrderBackordered event of a retried change). */
  readonly shortSkus: readonly string[];
  /** Incremented on every write: the optimistic lock of the next write. */
  readonly revision: number;
  /** ISO-8601 time of the last write. */
  readonly updatedAt: string;
}

/** What the fan-out reads at the start of a batch, in as few calls as the keys allow. */
export interface FanoutStateRequest {
  /** Change keys whose ledger entries (effects already done) to read. */
  readonly changeKeys: readonly string[];
  /** Orders whose reservation to read. */
  readonly orderIds: readonly string[];
  /** SKUs whose available stock to read. */
  readonly skus: readonly string[];
}

export interface FanoutState {
  /** Effects already done, by change key; a change with none is absent. */
  readonly doneEffects: ReadonlyMap<string, ReadonlySet<EffectKind>>;
  /**
   * Effects an invocation claimed before sending them but never confirmed (the send threw, timed out, or its ledger
   * write was lost), by change key; a change with none is absent. A re-send of one may be a duplicate.
   */
  readonly claimedEffects: ReadonlyMap<string, ReadonlySet<EffectKind>>;
  /** Reservations by order id; an order with none is absent. */
  readonly reservations: ReadonlyMap<string, Reservation>;
  /** Available stock by SKU; a SKU the Inventory table does not have is absent (no stock). */
  readonly stock: ReadonlyMap<string, number>;
}

/** One reservation write of a stock transaction, conditional on the revision it was planned from. */
export interface ReservationWrite {
  /** The reservation as planned, with `revision` already incremented. */
  readonly next: Reservation;
  /** The revision read; undefined when the order had no reservation (then the write requires none exists). */
  readonly expectedRevision: number | undefined;
}

/** One SKU's stock change of a stock transaction. */
export interface StockDelta {
  readonly sku: string;
  /** Added to the SKU's available stock: negative reserves, positive releases. Never 0. */
  readonly delta: number;
}

/**
 * One DynamoDB transaction (at most DYNAMODB_TRANSACTION_MAX items): every reservation write and stock delta of it
 * happens, or none does. A negative delta is conditional on the stock staying at or above zero; a positive delta
 * creates the SKU's item if needed.
 */
export interface StockTransaction {
  readonly reservations: readonly ReservationWrite[];
  readonly deltas: readonly StockDelta[];
}

export type StockTransactionResult =
  | { readonly kind: 'committed' }
  /** A condition failed (another writer got there first): re-read and plan again. Nothing was written. */
  | { readonly kind: 'conflict'; readonly reason: string };

/** The ledger entry of one change, whole: what it has had, and what was attempted but not confirmed. */
export interface LedgerEntry {
  readonly changeKey: string;
  /** Effects done (confirmed by the service). */
  readonly effects: readonly EffectKind[];
  /** Effects claimed and not confirmed; @default none. */
  readonly claimed?: readonly EffectKind[];
}

/** The ledger of done effects and the reservation ledger and stock, in DynamoDB. */
export interface FanoutStore {
  read(request: FanoutStateRequest): Promise<FanoutState>;
  /** Runs one stock transaction. Throws for anything but a failed condition (throttling, a 5xx, ...). */
  applyStock(transaction: StockTransaction): Promise<StockTransactionResult>;
  /**
   * Claims effects before they are sent: writes each change's whole entry (done effects as read, and `claimed` with
   * the effects about to be sent) so that a re-delivery after a lost confirmation knows they may have gone out.
   * Same writes as recordDone; a separate name because the caller must not send when it throws.
   */
  recordClaims(entries: readonly LedgerEntry[]): Promise<void>;
  /**
   * Records the effects each change has had, `effects` being the full set so far and `claimed` what is still
   * unconfirmed (the entry is overwritten). Transactions of at most DYNAMODB_TRANSACTION_MAX entries; entries expire
   * after the ledger's retention.
   */
  recordDone(entries: readonly LedgerEntry[]): Promise<void>;
}
