/**
 * In-memory implementations of the fan-out's ports for the domain tests: real behaviour (conditions, per-entry
 * results), no I/O and no mocking library. Each records what it was asked, so tests assert the calls, and takes
 * scripted failures, so tests inject faults entry by entry.
 */

import type {
  EmailKind,
  OrderEmail,
  OrderEvent,
  WarehouseMessage,
} from '../../../lambdas/order-fanout/messages.js';
import type {
  EffectKind,
  EmailSender,
  EventPublisher,
  FanoutState,
  FanoutStateRequest,
  FanoutStore,
  LedgerEntry,
  Reservation,
  SendOptions,
  StockTransaction,
  StockTransactionResult,
  WarehouseQueue,
} from '../../../lambdas/order-fanout/ports.js';
import type { Order } from '../../../lambdas/shared/orders/order.js';
import type {
  ConditionalDeleteOutcome,
  ConditionalWriteOutcome,
  CreateOrderOutcome,
  OrdersRepository,
  StatusChange,
} from '../../../lambdas/shared/orders/orders-repository.js';
import type { RecordOutcome } from '../../../lambdas/shared/stream/stream-handler.js';

/** Scripted outcomes by entry id, each used once; an entry without one succeeds. */
class Script {
  readonly #failures = new Map<string, RecordOutcome[]>();
  #throwNext: unknown[] = [];

  public failEntry(id: string, outcome: RecordOutcome, times = 1): void {
    this.#failures.set(id, [
      ...(this.#failures.get(id) ?? []),
      ...Array.from({ length: times }, () => outcome),
    ]);
  }

  public throwOnNextCall(error: unknown): void {
    this.#throwNext.push(error);
  }

  public callOutcome(): void {
    const error = this.#throwNext.shift();
    if (error !== undefined) throw error;
  }

  public entryOutcome(id: string): RecordOutcome {
    const scripted = this.#failures.get(id);
    const outcome = scripted?.shift();
    return outcome ?? { kind: 'ok' };
  }
}

/** The ids of the entries a call marked as possible duplicates. */
function markedIds<T>(
  entries: readonly T[],
  options: SendOptions | undefined,
  idOf: (entry: T) => string,
): string[] {
  return entries.flatMap((entry, index) => (options?.possibleDuplicates?.has(index) ? [idOf(entry)] : []));
}

export class FakeEventPublisher implements EventPublisher {
  public readonly script = new Script();
  /** Every call, with the events it carried. */
  public readonly calls: OrderEvent[][] = [];
  /** Events accepted, in order. */
  public readonly published: OrderEvent[] = [];
  /** eventIds sent marked as possible duplicates, in order. */
  public readonly marked: string[] = [];

  public async publishBatch(events: readonly OrderEvent[], options?: SendOptions): Promise<RecordOutcome[]> {
    this.calls.push([...events]);
    this.marked.push(...markedIds(events, options, (event) => event.eventId));
    this.script.callOutcome();
    return events.map((event) => {
      const outcome = this.script.entryOutcome(event.eventId);
      if (outcome.kind === 'ok') this.published.push(event);
      return outcome;
    });
  }
}

export class FakeEmailSender implements EmailSender {
  public readonly script = new Script();
  public readonly calls: { kind: EmailKind; emails: OrderEmail[] }[] = [];
  public readonly sent: OrderEmail[] = [];
  /** emailIds sent marked as possible duplicates, in order. */
  public readonly marked: string[] = [];

  public async sendBulk(
    kind: EmailKind,
    emails: readonly OrderEmail[],
    options?: SendOptions,
  ): Promise<RecordOutcome[]> {
    this.calls.push({ kind, emails: [...emails] });
    this.marked.push(...markedIds(emails, options, (email) => email.emailId));
    this.script.callOutcome();
    return emails.map((email) => {
      const outcome = this.script.entryOutcome(email.emailId);
      if (outcome.kind === 'ok') this.sent.push(email);
      return outcome;
    });
  }
}

export class FakeWarehouseQueue implements WarehouseQueue {
  public readonly script = new Script();
  public readonly calls: WarehouseMessage[][] = [];
  public readonly sent: WarehouseMessage[] = [];
  /** Deduplication ids sent marked as possible duplicates, in order. */
  public readonly marked: string[] = [];

  public async sendBatch(
    messages: readonly WarehouseMessage[],
    options?: SendOptions,
  ): Promise<RecordOutcome[]> {
    this.calls.push([...messages]);
    this.marked.push(...markedIds(messages, options, (message) => message.deduplicationId));
    this.script.callOutcome();
    return messages.map((message) => {
      const outcome = this.script.entryOutcome(message.deduplicationId);
      if (outcome.kind === 'ok') this.sent.push(message);
      return outcome;
    });
  }
}

/** The fan-out's DynamoDB state in memory, with the conditions the DynamoDB adapter puts on its writes. */
export class FakeFanoutStore implements FanoutStore {
  /** Done effects by change key. */
  public readonly ledger = new Map<string, EffectKind[]>();
  /** Claimed, unconfirmed effects by change key (absent: none). */
  public readonly claims = new Map<string, EffectKind[]>();
  public readonly reservations = new Map<string, Reservation>();
  public readonly stock = new Map<string, number>();
  public readonly calls = { read: 0, applyStock: 0, recordClaims: 0, recordDone: 0 };
  /** Runs before each applyStock, e.g. to play a concurrent writer. */
  public beforeApply: ((transaction: StockTransaction) => void) | undefined;
  #throwOnApply: unknown[] = [];
  #throwOnRecordDone: unknown[] = [];
  #throwOnRecordClaims: unknown[] = [];

  public constructor(stock: Readonly<Record<string, number>> = {}) {
    for (const [sku, available] of Object.entries(stock)) this.stock.set(sku, available);
  }

  public throwOnNextApply(error: unknown): void {
    this.#throwOnApply.push(error);
  }

  public throwOnNextRecordDone(error: unknown): void {
    this.#throwOnRecordDone.push(error);
  }

  public throwOnNextRecordClaims(error: unknown): void {
    this.#throwOnRecordClaims.push(error);
  }

  public async read(request: FanoutStateRequest): Promise<FanoutState> {
    this.calls.read += 1;
    const doneEffects = new Map<string, ReadonlySet<EffectKind>>();
    const claimedEffects = new Map<string, ReadonlySet<EffectKind>>();
    for (const key of request.changeKeys) {
      const effects = this.ledger.get(key);
      if (effects !== undefined) doneEffects.set(key, new Set(effects));
      const claimed = this.claims.get(key);
      if (claimed !== undefined) claimedEffects.set(key, new Set(claimed));
    }
    const reservations = new Map<string, Reservation>();
    for (const orderId of request.orderIds) {
      const reservation = this.reservations.get(orderId);
      if (reservation !== undefined) reservations.set(orderId, reservation);
    }
    const stock = new Map<string, number>();
    for (const sku of request.skus) {
      const available = this.stock.get(sku);
      if (available !== undefined) stock.set(sku, available);
    }
    return { doneEffects, claimedEffects, reservations, stock };
  }

  public async applyStock(transaction: StockTransaction): Promise<StockTransactionResult> {
    this.calls.applyStock += 1;
    this.beforeApply?.(transaction);
    const error = this.#throwOnApply.shift();
    if (error !== undefined) throw error;
    for (const write of transaction.reservations) {
      const stored = this.reservations.get(write.next.orderId);
      if (stored?.revision !== write.expectedRevision) {
        return { kind: 'conflict', reason: `reservation of ${write.next.orderId} changed` };
      }
    }
    for (const { sku, delta } of transaction.deltas) {
      const available = this.stock.get(sku);
      if (delta < 0 && (available === undefined || available < -delta)) {
        return { kind: 'conflict', reason: `stock of ${sku} too low` };
      }
    }
    for (const write of transaction.reservations) this.reservations.set(write.next.orderId, write.next);
    for (const { sku, delta } of transaction.deltas) this.stock.set(sku, (this.stock.get(sku) ?? 0) + delta);
    return { kind: 'committed' };
  }

  public async recordClaims(entries: readonly LedgerEntry[]): Promise<void> {
    this.calls.recordClaims += 1;
    const error = this.#throwOnRecordClaims.shift();
    if (error !== undefined) throw error;
    this.#write(entries);
  }

  public async recordDone(entries: readonly LedgerEntry[]): Promise<void> {
    this.calls.recordDone += 1;
    const error = this.#throwOnRecordDone.shift();
    if (error !== undefined) throw error;
    this.#write(entries);
  }

  /** Overwrites each entry whole, as the DynamoDB adapter's Puts do. */
  #write(entries: readonly LedgerEntry[]): void {
    for (const entry of entries) {
      this.ledger.set(entry.changeKey, [...entry.effects]);
      const claimed = (entry.claimed ?? []).filter((kind) => !entry.effects.includes(kind));
      if (claimed.length > 0) this.claims.set(entry.changeKey, claimed);
      else this.claims.delete(entry.changeKey);
    }
  }
}

/** The Orders table in memory, with the repository's conditional status change. */
export class FakeOrdersRepository implements OrdersRepository {
  public readonly orders = new Map<string, Order>();
  public readonly statusChanges: StatusChange[] = [];

  public constructor(orders: readonly Order[] = []) {
    for (const order of orders) this.orders.set(order.orderId, order);
  }

  public async get(orderId: string): Promise<Order | undefined> {
    return this.orders.get(orderId);
  }

  public async create(order: Order): Promise<CreateOrderOutcome> {
    const existing = this.orders.get(order.orderId);
    if (existing !== undefined) return { kind: 'exists', existing };
    this.orders.set(order.orderId, order);
    return { kind: 'created', order };
  }

  public async changeStatus(change: StatusChange): Promise<ConditionalWriteOutcome> {
    this.statusChanges.push(change);
    const current = this.orders.get(change.orderId);
    if (current?.version !== change.expectedVersion || current.status !== change.expectedStatus) {
      return { kind: 'conflict', current };
    }
    const order: Order = {
      ...current,
      status: change.to,
      version: current.version + 1,
      updatedAt: change.at,
    };
    this.orders.set(order.orderId, order);
    return { kind: 'written', order };
  }

  public async delete(orderId: string): Promise<ConditionalDeleteOutcome> {
    const current = this.orders.get(orderId);
    if (current === undefined) return { kind: 'conflict', current };
    this.orders.delete(orderId);
    return { kind: 'deleted', order: current };
  }
}
