import { describeError, PermanentError } from '../shared/errors.js';
import type { OrdersRepository } from '../shared/orders/orders-repository.js';
import type { ChangeRecord } from '../shared/stream/change-record.js';
import {
  type BatchOutcomes,
  type Clock,
  createStreamHandler,
  Outcome,
  type RecordOutcome,
  type StreamContext,
  type StreamHandler,
  type StreamHandlerCommonOptions,
} from '../shared/stream/stream-handler.js';
import { type PlannedEffect, planEffects } from './effects.js';
import type { EmailKind, OrderEmail, OrderEvent, WarehouseMessage } from './messages.js';
import {
  moveToBackordered,
  type OrderChange,
  type StockIntent,
  stockIntentOf,
  toOrderChange,
} from './order-change.js';
import {
  DYNAMODB_TRANSACTION_MAX,
  type EffectKind,
  type EmailSender,
  type EventPublisher,
  type FanoutStore,
  type Reservation,
  SES_BULK_EMAIL_MAX,
  SNS_PUBLISH_BATCH_MAX,
  SQS_SEND_BATCH_MAX,
  type WarehouseQueue,
} from './ports.js';
import { planStock, type StockDecision } from './stock-plan.js';

export { ORDER_FANOUT_CONSUMER_NAME } from './ports.js';

/**
 * How often a batch's stock step is planned again after another writer changed the stock or a reservation under it.
 * Each conflict means a concurrent shard won a race on a SKU; three rounds settle that in practice, and past them
 * the records are retried by the event source mapping rather than spinning here.
 */
export const MAX_STOCK_ATTEMPTS = 3;

/**
 * No round of sends starts with less than this share of the invocation's time left (at most MAX_DEADLINE_MARGIN_MS):
 * the round's calls and the ledger write after them must finish before the timeout.
 */
export const DEADLINE_MARGIN_SHARE = 0.25;
export const MAX_DEADLINE_MARGIN_MS = 5_000;

/** The adapters the fan-out works through. */
export interface OrderFanoutPorts {
  readonly events: EventPublisher;
  readonly emails: EmailSender;
  readonly warehouse: WarehouseQueue;
  readonly store: FanoutStore;
  /** The Orders table, for moving an order to BACKORDERED. */
  readonly orders: OrdersRepository;
}

export interface OrderFanoutOptions extends OrderFanoutPorts {
  /** @default Date.now */
  readonly clock?: Clock;
}

export type FanoutBatchHandler = (
  records: readonly ChangeRecord[],
  context: StreamContext,
) => Promise<BatchOutcomes>;

/** One change on its way through the batch. */
interface Work {
  readonly change: OrderChange;
  /** Effects still to do: the planned ones minus those the ledger says were done. */
  readonly pending: readonly PlannedEffect[];
  readonly doneBefore: ReadonlySet<EffectKind>;
  readonly doneNow: Set<EffectKind>;
  /** Set when the change failed before its effects (its stock step). */
  readonly failed?: RecordOutcome;
}

function unique<T>(values: Iterable<T>): T[] {
  return [...new Set(values)];
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const result: T[][] = [];
  for (let start = 0; start < items.length; start += size) result.push(items.slice(start, start + size));
  return result;
}

/** The worst of several outcomes: transient beats permanent beats ok (reasons are joined). */
function combine(outcomes: readonly RecordOutcome[]): RecordOutcome {
  const transient = outcomes.filter((outcome) => outcome.kind === 'transient');
  if (transient.length > 0) {
    return { kind: 'transient', reason: transient.map((outcome) => outcome.reason).join('; ') };
  }
  const permanent = outcomes.filter((outcome) => outcome.kind === 'permanent');
  if (permanent.length > 0) {
    return {
      kind: 'permanent',
      reason: permanent.map((outcome) => outcome.reason).join('; '),
      errorName: permanent[0]?.errorName,
    };
  }
  return Outcome.ok();
}

/** Calls one batch API for a list of entries and returns one outcome per entry; a throw fails every entry. */
async function callBatch<T>(
  entries: readonly T[],
  send: (entries: readonly T[]) => Promise<RecordOutcome[]>,
): Promise<RecordOutcome[]> {
  try {
    const results = await send(entries);
    return entries.map(
      (_entry, index) =>
        results[index] ?? Outcome.transient('The batch call returned no result for this entry'),
    );
  } catch (error) {
    const failed = Outcome.fromError(error);
    return entries.map(() => failed);
  }
}

/**
 * The stock step of a batch: plans it (planStock), runs its transactions, and plans again from a fresh read after a
 * conflict. Returns each intent's decision, or the failure of the intents whose transaction could not be written.
 */
async function runStockStep(
  store: FanoutStore,
  intents: readonly StockIntent[],
  initial: { reservations: ReadonlyMap<string, Reservation>; stock: ReadonlyMap<string, number> },
  at: string,
): Promise<{ decisions: Map<string, StockDecision>; failures: Map<string, RecordOutcome> }> {
  const decisions = new Map<string, StockDecision>();
  const failures = new Map<string, RecordOutcome>();
  let pending = intents;
  let { reservations, stock } = initial;
  for (let attempt = 1; pending.length > 0; attempt++) {
    const plan = planStock(pending, reservations, stock, at);
    const unwritten = new Set<string>();
    let conflict: string | undefined;
    for (const planned of plan.transactions) {
      try {
        const result = await store.applyStock(planned.transaction);
        if (result.kind === 'conflict') {
          conflict = result.reason;
          for (const key of planned.changeKeys) unwritten.add(key);
        }
      } catch (error) {
        for (const key of planned.changeKeys) failures.set(key, Outcome.fromError(error));
      }
    }
    for (const [key, decision] of plan.decisions) {
      if (!unwritten.has(key) && !failures.has(key)) decisions.set(key, decision);
    }
    pending = pending.filter((intent) => unwritten.has(intent.changeKey));
    if (pending.length === 0) break;
    if (attempt >= MAX_STOCK_ATTEMPTS) {
      for (const intent of pending) {
        failures.set(
          intent.changeKey,
          Outcome.transient(`Stock changed under the batch ${MAX_STOCK_ATTEMPTS} times (last: ${conflict})`),
        );
      }
      break;
    }
    const fresh = await store.read({
      changeKeys: [],
      orderIds: unique(pending.map((intent) => intent.orderId)),
      skus: unique(
        pending.flatMap((intent) => (intent.kind === 'reserve' ? intent.lines.map((l) => l.sku) : [])),
      ),
    });
    reservations = fresh.reservations;
    stock = fresh.stock;
  }
  return { decisions, failures };
}

/** One effect sent in a round, and the work it belongs to. */
interface RoundEntry<T> {
  readonly work: Work;
  readonly kind: EffectKind;
  readonly payload: T;
}

/**
 * The fan-out's batch logic (DESIGN.md, order fan-out), for the stream runtime's per-batch mode. Per batch:
 *
 * 1. Decode every record into an OrderChange (a record that is not an order change is a permanent failure).
 * 2. One read of everything the batch needs (BatchGetItem): the ledger entries of its changes (effects already
 *    done), the reservations of the orders it places or cancels, and the stock of the SKUs it reserves.
 * 3. The stock step: every reservation and release of the batch, decided in stream order and written in as few
 *    transactions as fit (usually one). A change that already had its stock step gets the same decision again.
 * 4. The effects, in rounds: round k sends the k-th change (with pending effects) of every order, all sinks at once,
 *    each sink in as few batch calls as its limits allow. An order whose change fails transiently stops there: its
 *    later changes are not sent in this batch (per-order order in every sink) and are reported failed.
 * 5. One ledger write (TransactWriteItems) of the effects each change has now had, including those of changes that
 *    failed: their retry sends only what is missing.
 *
 * Duplicates: a change's effects are sent only when the ledger does not list them. The one window left is a send
 * that succeeded followed by a ledger write that failed (the SDK's retries exhausted, or the function killed between
 * the two): a later re-delivery of that change sends it again. SQS FIFO drops such a warehouse message itself (same
 * deduplication id within 5 minutes); SNS and SES subscribers can deduplicate on `eventId` / the e-mail id.
 */
export function createOrderFanoutBatchHandler(options: OrderFanoutOptions): FanoutBatchHandler {
  const { events, emails, warehouse, store, orders } = options;
  const clock = options.clock ?? Date.now;

  return async (records, context) => {
    const outcomes = new Map<string, RecordOutcome>();
    const remainingMs = (): number => context.lambdaContext.getRemainingTimeInMillis();
    // Sends are not started this close to the deadline: a send the timeout cut off from its ledger write would be
    // repeated by the retry (the one duplicate window). The rest of the batch is retried instead.
    const deadlineMarginMs = Math.min(MAX_DEADLINE_MARGIN_MS, remainingMs() * DEADLINE_MARGIN_SHARE);

    const changes: OrderChange[] = [];
    for (const record of records) {
      try {
        changes.push(toOrderChange(record));
      } catch (error) {
        outcomes.set(record.sequenceNumber, Outcome.fromError(error));
      }
    }

    const intents: StockIntent[] = [];
    const tooLarge = new Map<string, RecordOutcome>();
    for (const change of changes) {
      const intent = stockIntentOf(change);
      if (intent === undefined) continue;
      if (
        intent.kind === 'reserve' &&
        unique(intent.lines.map((l) => l.sku)).length >= DYNAMODB_TRANSACTION_MAX
      ) {
        tooLarge.set(
          change.changeKey,
          Outcome.fromError(
            new PermanentError(
              `Order ${intent.orderId} has more SKUs than one stock transaction can reserve atomically`,
            ),
          ),
        );
        continue;
      }
      intents.push(intent);
    }

    const state = await store.read({
      changeKeys: unique(changes.filter((c) => c.kind !== 'unchanged').map((c) => c.changeKey)),
      orderIds: unique(intents.map((intent) => intent.orderId)),
      skus: unique(
        intents.flatMap((intent) => (intent.kind === 'reserve' ? intent.lines.map((l) => l.sku) : [])),
      ),
    });
    const at = new Date(clock()).toISOString();
    const stockStep = await runStockStep(store, intents, state, at);

    // Per order, its changes in stream order (the queues are consumed by the rounds; allWork keeps them all).
    const byOrder = new Map<string, Work[]>();
    const allWork: Work[] = [];
    for (const change of changes) {
      const failed = tooLarge.get(change.changeKey) ?? stockStep.failures.get(change.changeKey);
      const doneBefore = state.doneEffects.get(change.changeKey) ?? new Set<EffectKind>();
      let pending: PlannedEffect[] = [];
      if (failed === undefined) {
        pending = planEffects(change, stockStep.decisions.get(change.changeKey)).filter(
          (effect) => !doneBefore.has(effect.kind),
        );
      }
      const work: Work = { change, pending, doneBefore, doneNow: new Set(), failed };
      allWork.push(work);
      const list = byOrder.get(change.order.orderId) ?? [];
      list.push(work);
      byOrder.set(change.order.orderId, list);
    }

    const settle = (work: Work, outcome: RecordOutcome): void => {
      outcomes.set(work.change.sequenceNumber, outcome);
    };
    const queues = [...byOrder.values()];
    const blockedBy = new Map<Work[], Work>();

    // Takes each order's next change with something to send; settles the ones before it that need nothing.
    const nextRound = (): Work[] => {
      const round: Work[] = [];
      for (const queue of queues) {
        while (queue.length > 0 && !blockedBy.has(queue)) {
          const work = queue[0]!;
          if (work.failed !== undefined) {
            queue.shift();
            settle(work, work.failed);
            if (work.failed.kind === 'transient') blockedBy.set(queue, work);
            continue;
          }
          if (work.pending.length === 0) {
            queue.shift();
            settle(work, Outcome.ok());
            continue;
          }
          round.push(work);
          break;
        }
      }
      return round;
    };

    for (let round = nextRound(); round.length > 0; round = nextRound()) {
      if (remainingMs() < deadlineMarginMs) {
        const left = queues.filter((queue) => !blockedBy.has(queue)).flatMap((queue) => queue.splice(0));
        for (const work of left) {
          settle(work, Outcome.transient('Not processed: the invocation was near its deadline'));
        }
        context.logger.warn('Near the invocation deadline: the rest of the batch is left for the retry', {
          remainingMs: remainingMs(),
          changesLeft: left.length,
        });
        break;
      }
      const results = await runRound(round);
      for (const work of round) {
        const queue = byOrder.get(work.change.order.orderId)!;
        queue.shift();
        const outcome = combine(results.get(work) ?? []);
        settle(work, outcome);
        if (outcome.kind === 'transient') blockedBy.set(queue, work);
      }
    }
    for (const [queue, failedWork] of blockedBy) {
      for (const work of queue) {
        settle(
          work,
          Outcome.transient(
            `Not processed: change ${failedWork.change.changeKey} of the same order failed earlier in this batch`,
          ),
        );
      }
    }

    const done = allWork
      .filter((work) => work.doneNow.size > 0)
      .map((work) => ({
        changeKey: work.change.changeKey,
        effects: unique([...work.doneBefore, ...work.doneNow]),
      }));
    if (done.length > 0) {
      try {
        await store.recordDone(done);
      } catch (error) {
        // The effects happened, so the records are done; only a re-delivery of them would repeat the effects.
        context.logger.error('Recording the effects in the ledger failed; a re-delivery would repeat them', {
          changes: done.length,
          error: describeError(error).reason,
        });
      }
    }
    return outcomes;

    async function runRound(round: readonly Work[]): Promise<Map<Work, RecordOutcome[]>> {
      const results = new Map<Work, RecordOutcome[]>(round.map((work) => [work, []]));
      const eventEntries: RoundEntry<OrderEvent>[] = [];
      const emailEntries = new Map<EmailKind, RoundEntry<OrderEmail>[]>();
      const warehouseEntries: RoundEntry<WarehouseMessage>[] = [];
      const backorders: Work[] = [];
      for (const work of round) {
        for (const effect of work.pending) {
          switch (effect.kind) {
            case 'event':
            case 'backorder-event':
              eventEntries.push({ work, kind: effect.kind, payload: effect.event });
              break;
            case 'email': {
              const list = emailEntries.get(effect.email.kind) ?? [];
              list.push({ work, kind: 'email', payload: effect.email });
              emailEntries.set(effect.email.kind, list);
              break;
            }
            case 'warehouse':
              warehouseEntries.push({ work, kind: 'warehouse', payload: effect.message });
              break;
            case 'backorder':
              backorders.push(work);
              break;
          }
        }
      }
      const record = <T>(
        entries: readonly RoundEntry<T>[],
        entryOutcomes: readonly RecordOutcome[],
      ): void => {
        entries.forEach((entry, index) => {
          const outcome = entryOutcomes[index] ?? Outcome.transient('No outcome for this entry');
          results.get(entry.work)?.push(outcome);
          if (outcome.kind === 'ok') entry.work.doneNow.add(entry.kind);
        });
      };
      const calls: Promise<void>[] = [];
      for (const batch of chunks(eventEntries, SNS_PUBLISH_BATCH_MAX)) {
        calls.push(
          callBatch(
            batch.map((entry) => entry.payload),
            (payloads) => events.publishBatch(payloads),
          ).then((r) => record(batch, r)),
        );
      }
      for (const [kind, entries] of emailEntries) {
        for (const batch of chunks(entries, SES_BULK_EMAIL_MAX)) {
          calls.push(
            callBatch(
              batch.map((entry) => entry.payload),
              (payloads) => emails.sendBulk(kind, payloads),
            ).then((r) => record(batch, r)),
          );
        }
      }
      for (const batch of chunks(warehouseEntries, SQS_SEND_BATCH_MAX)) {
        calls.push(
          callBatch(
            batch.map((entry) => entry.payload),
            (payloads) => warehouse.sendBatch(payloads),
          ).then((r) => record(batch, r)),
        );
      }
      for (const work of backorders) {
        calls.push(
          backorder(work).then((outcome) =>
            record([{ work, kind: 'backorder', payload: undefined }], [outcome]),
          ),
        );
      }
      await Promise.all(calls);
      return results;
    }

    async function backorder(work: Work): Promise<RecordOutcome> {
      try {
        await moveToBackordered(orders, work.change.order, new Date(clock()).toISOString());
        return Outcome.ok();
      } catch (error) {
        return Outcome.fromError(error);
      }
    }
  };
}

export interface OrderFanoutHandlerOptions extends OrderFanoutOptions, StreamHandlerCommonOptions {}

/** The fan-out's Lambda handler: the stream runtime in per-batch mode around createOrderFanoutBatchHandler. */
export function createOrderFanoutHandler(options: OrderFanoutHandlerOptions): StreamHandler {
  return createStreamHandler({ ...options, handleBatch: createOrderFanoutBatchHandler(options) });
}
