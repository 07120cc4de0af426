import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { describeError, isInternalError, PermanentError } from '../shared/errors.js';
import type { OrdersRepository } from '../shared/orders/orders-repository.js';
import type { ChangeRecord } from '../shared/stream/change-record.js';
import {
  type BatchOutcomes,
  type Clock,
  createStreamHandler,
  createStreamMetrics,
  Outcome,
  type RecordOutcome,
  type StreamContext,
  type StreamHandler,
  type StreamHandlerCommonOptions,
  type StreamMetrics,
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
  DELIVERED_EFFECT_KINDS,
  DYNAMODB_TRANSACTION_MAX,
  type EffectKind,
  type EmailSender,
  type EventPublisher,
  type FanoutStore,
  type LedgerEntry,
  ORDER_FANOUT_METRICS,
  type Reservation,
  SES_BULK_EMAIL_MAX,
  type SendOptions,
  SNS_PUBLISH_BATCH_MAX,
  SQS_SEND_BATCH_MAX,
  type WarehouseQueue,
} from './ports.js';
import { planStock, type StockDecision } from './stock-plan.js';

export { ORDER_FANOUT_METRICS } from './ports.js';

/**
 * How often a batch's stock step is planned again after another writer changed the stock or a reservation under it.
 * Each conflict means a concurrent shard won a race on a SKU; three rounds settle that in practice, and past them
 * the records are retried by the event source mapping rather than spinning here.
 */
export const MAX_STOCK_ATTEMPTS = 3;

/**
 * No round of sends starts with less than this share of the invocation's time left (at most MAX_DEADLINE_MARGIN_MS),
 * so that a round's calls and the ledger write after them usually finish before the timeout. It saves work (a round
 * cut off by the timeout is sent again, marked, by the retry); it cannot keep a send and its ledger write together on
 * a slow or loaded machine, and it is not what accounts for duplicates: the claim before every round is.
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
  /** Where PossibleDuplicateEffects goes; the runtime publishes it. Without it the metric is not recorded. */
  readonly metrics?: Pick<StreamMetrics, 'addMetric'>;
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
  /** Claimed by an earlier invocation and never confirmed: a re-send of one is marked as a possible duplicate. */
  readonly claimedBefore: ReadonlySet<EffectKind>;
  /** Delivered effects whose send this invocation started: they may have reached the service whatever the answer. */
  readonly attemptedNow: Set<EffectKind>;
  /** Attempted effects the service answered with a permanent failure of the entry: known not delivered. */
  readonly refusedNow: Set<EffectKind>;
  /** Whether a claim write for this change was tried; it may have landed even when it threw. */
  claimTried: boolean;
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
    // The error goes along, an internal one first, so that the runtime counts a bug in InternalErrors.
    const errors = transient.flatMap((outcome) => (outcome.error === undefined ? [] : [outcome.error]));
    const error = errors.find((candidate) => isInternalError(candidate)) ?? errors[0];
    return {
      kind: 'transient',
      reason: transient.map((outcome) => outcome.reason).join('; '),
      ...(error === undefined ? {} : { error }),
    };
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

/**
 * Calls one batch API for a list of entries and returns one outcome per entry; a throw fails every entry. `answered`
 * is whether the outcomes are the service's own answer per entry (false when the call threw: it may have reached the
 * service all the same).
 */
async function callBatch<T>(
  entries: readonly T[],
  send: (entries: readonly T[]) => Promise<RecordOutcome[]>,
): Promise<{ outcomes: RecordOutcome[]; answered: boolean }> {
  try {
    const results = await send(entries);
    return {
      outcomes: entries.map(
        (_entry, index) =>
          results[index] ?? Outcome.transient('The batch call returned no result for this entry'),
      ),
      answered: true,
    };
  } catch (error) {
    const failed = Outcome.fromError(error);
    return { outcomes: entries.map(() => failed), answered: false };
  }
}

/** The indexes of the entries that re-send a claimed effect. */
function possibleDuplicatesOf(entries: readonly RoundEntry<unknown>[]): ReadonlySet<number> {
  const indexes = new Set<number>();
  entries.forEach((entry, index) => {
    if (entry.possibleDuplicate) indexes.add(index);
  });
  return indexes;
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
  /** A re-send of an effect an earlier invocation claimed: marked for the subscriber. */
  readonly possibleDuplicate: boolean;
}

/**
 * The fan-out's batch logic (docs/pipelines/order-fanout.md), for the stream runtime's per-batch mode. Per batch:
 *
 * 1. Decode every record into an OrderChange (a record that is not an order change is a permanent failure).
 * 2. One read of everything the batch needs (BatchGetItem): the ledger entries of its changes (effects already
 *    done), the reservations of the orders it places or cancels, and the stock of the SKUs it reserves.
 * 3. The stock step: every reservation and release of the batch, decided in stream order and written in as few
 *    transactions as fit (usually one). A change that already had its stock step gets the same decision again.
 * 4. The effects, in rounds: round k sends the k-th change (with pending effects) of every order, all sinks at once,
 *    each sink in as few batch calls as its limits allow. Before a round's sends, one ledger write (recordClaims)
 *    claims the effects it is about to send; if that write fails, the round is not sent and its changes fail
 *    transiently. An order whose change fails transiently stops there: its later changes are not sent in this batch
 *    (per-order order in every sink) and are reported failed.
 * 5. One ledger write (TransactWriteItems) of the effects each change has now had, including those of changes that
 *    failed (their retry sends only what is missing), and of the claims still unconfirmed: a send that threw or whose
 *    entry failed transiently may have reached the service. Claims of effects that were never sent are dropped.
 *
 * Duplicates: a change's effects are sent only when the ledger does not list them as done. A send that succeeded
 * followed by a ledger write that never happened (the SDK's retries exhausted, the invocation timed out or crashed
 * between the two, at any CPU speed) leaves the effect claimed but not done: a re-delivery sends it again, marked as a
 * possible duplicate (POSSIBLE_DUPLICATE in messages.ts) and counted in PossibleDuplicateEffects. Every repeat that
 * can still happen is thus preceded by a claim and marked; an unmarked repeat is a bug. SNS FIFO and SQS FIFO drop a
 * re-send within their 5-minute deduplication window themselves (same deduplication id); SES does not, and its
 * recipients see the mark and the e-mail id.
 */
export function createOrderFanoutBatchHandler(options: OrderFanoutOptions): FanoutBatchHandler {
  const { events, emails, warehouse, store, orders, metrics } = options;
  const clock = options.clock ?? Date.now;

  return async (records, context) => {
    const outcomes = new Map<string, RecordOutcome>();
    const remainingMs = (): number => context.lambdaContext.getRemainingTimeInMillis();
    // Sends are not started this close to the deadline: a round the timeout cuts off from its ledger write is sent
    // again by the retry. That repeat is claimed and marked either way; the margin only saves the work.
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
      const claimedBefore = state.claimedEffects.get(change.changeKey) ?? new Set<EffectKind>();
      let pending: PlannedEffect[] = [];
      if (failed === undefined) {
        pending = planEffects(change, stockStep.decisions.get(change.changeKey)).filter(
          (effect) => !doneBefore.has(effect.kind),
        );
      }
      const work: Work = {
        change,
        pending,
        doneBefore,
        doneNow: new Set(),
        claimedBefore,
        attemptedNow: new Set(),
        refusedNow: new Set(),
        claimTried: false,
        failed,
      };
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
      const claimFailure = await claim(round);
      const results = claimFailure === undefined ? await runRound(round) : undefined;
      for (const work of round) {
        const queue = byOrder.get(work.change.order.orderId)!;
        queue.shift();
        const outcome = claimFailure ?? combine(results?.get(work) ?? []);
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

    const done: LedgerEntry[] = allWork
      .filter((work) => work.doneNow.size > 0 || work.attemptedNow.size > 0 || work.claimTried)
      .map((work) => {
        const effects = unique([...work.doneBefore, ...work.doneNow]);
        // Unconfirmed: claimed before, or sent now without a confirmation (a send that threw, an entry failed
        // transiently: either may have reached the service). Claimed by this invocation but never sent, or refused
        // by the service: dropped, so that a retry does not mark a first delivery as a possible duplicate.
        const unconfirmed = [...work.claimedBefore, ...work.attemptedNow].filter(
          (kind) => !effects.includes(kind) && (work.claimedBefore.has(kind) || !work.refusedNow.has(kind)),
        );
        return { changeKey: work.change.changeKey, effects, claimed: unique(unconfirmed) };
      });
    if (done.length > 0) {
      try {
        await store.recordDone(done);
      } catch (error) {
        // The effects happened, so the records are done; a re-delivery of them would repeat the effects, marked as
        // possible duplicates (their claims are in the ledger).
        context.logger.error('Recording the effects in the ledger failed; a re-delivery would repeat them', {
          changes: done.length,
          error: describeError(error).reason,
        });
      }
    }
    return outcomes;

    /**
     * Claims the round's delivered effects in the ledger before they are sent (merged with the claims read; a change
     * whose effects are all claimed already needs no write). Returns the outcome of every change of the round when the
     * claim could not be written: then nothing of the round may be sent.
     */
    async function claim(round: readonly Work[]): Promise<RecordOutcome | undefined> {
      const entries: LedgerEntry[] = [];
      for (const work of round) {
        const kinds = work.pending
          .map((effect) => effect.kind)
          .filter((kind) => DELIVERED_EFFECT_KINDS.has(kind));
        if (kinds.every((kind) => work.claimedBefore.has(kind))) continue;
        work.claimTried = true;
        entries.push({
          changeKey: work.change.changeKey,
          effects: unique([...work.doneBefore, ...work.doneNow]),
          claimed: unique([...work.claimedBefore, ...kinds]),
        });
      }
      if (entries.length === 0) return undefined;
      try {
        await store.recordClaims(entries);
        return undefined;
      } catch (error) {
        const reason = describeError(error).reason;
        context.logger.warn('Claiming the effects in the ledger failed; the round is left for the retry', {
          changes: round.length,
          error: reason,
        });
        // Transient whatever the error: the ledger write failing says nothing about the records themselves.
        return Outcome.transient(`Not sent: claiming the effects in the ledger failed (${reason})`);
      }
    }

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
              eventEntries.push(entryOf(work, effect.kind, effect.event));
              break;
            case 'email': {
              const list = emailEntries.get(effect.email.kind) ?? [];
              list.push(entryOf(work, 'email', effect.email));
              emailEntries.set(effect.email.kind, list);
              break;
            }
            case 'warehouse':
              warehouseEntries.push(entryOf(work, 'warehouse', effect.message));
              break;
            case 'backorder':
              backorders.push(work);
              break;
          }
        }
      }
      const record = <T>(
        entries: readonly RoundEntry<T>[],
        { outcomes: entryOutcomes, answered }: { outcomes: readonly RecordOutcome[]; answered: boolean },
      ): void => {
        entries.forEach((entry, index) => {
          const outcome = entryOutcomes[index] ?? Outcome.transient('No outcome for this entry');
          results.get(entry.work)?.push(outcome);
          if (outcome.kind === 'ok') entry.work.doneNow.add(entry.kind);
          // The service's own answer that it refused this entry: it was not delivered.
          if (answered && outcome.kind === 'permanent') entry.work.refusedNow.add(entry.kind);
        });
      };
      /** Sends one chunk of entries through `send`, marking the re-sends of claimed effects. */
      const sendChunk = <T>(
        batch: readonly RoundEntry<T>[],
        send: (payloads: readonly T[], options: SendOptions) => Promise<RecordOutcome[]>,
      ): Promise<void> => {
        for (const entry of batch) entry.work.attemptedNow.add(entry.kind);
        const options: SendOptions = { possibleDuplicates: possibleDuplicatesOf(batch) };
        return callBatch(
          batch.map((entry) => entry.payload),
          (payloads) => send(payloads, options),
        ).then((r) => record(batch, r));
      };
      const resent = [...eventEntries, ...[...emailEntries.values()].flat(), ...warehouseEntries].filter(
        (entry) => entry.possibleDuplicate,
      ).length;
      if (resent > 0) metrics?.addMetric(ORDER_FANOUT_METRICS.possibleDuplicates, MetricUnit.Count, resent);
      const calls: Promise<void>[] = [];
      for (const batch of chunks(eventEntries, SNS_PUBLISH_BATCH_MAX)) {
        calls.push(sendChunk(batch, (payloads, sendOptions) => events.publishBatch(payloads, sendOptions)));
      }
      for (const [kind, entries] of emailEntries) {
        for (const batch of chunks(entries, SES_BULK_EMAIL_MAX)) {
          calls.push(
            sendChunk(batch, (payloads, sendOptions) => emails.sendBulk(kind, payloads, sendOptions)),
          );
        }
      }
      for (const batch of chunks(warehouseEntries, SQS_SEND_BATCH_MAX)) {
        calls.push(sendChunk(batch, (payloads, sendOptions) => warehouse.sendBatch(payloads, sendOptions)));
      }
      for (const work of backorders) {
        calls.push(
          backorder(work).then((outcome) =>
            record([{ work, kind: 'backorder', payload: undefined, possibleDuplicate: false }], {
              outcomes: [outcome],
              answered: true,
            }),
          ),
        );
      }
      await Promise.all(calls);
      return results;
    }

    function entryOf<T>(work: Work, kind: EffectKind, payload: T): RoundEntry<T> {
      return { work, kind, payload, possibleDuplicate: work.claimedBefore.has(kind) };
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

export interface OrderFanoutHandlerOptions
  extends Omit<OrderFanoutOptions, 'metrics'>,
    StreamHandlerCommonOptions {}

/** The fan-out's Lambda handler: the stream runtime in per-batch mode around createOrderFanoutBatchHandler. */
export function createOrderFanoutHandler(options: OrderFanoutHandlerOptions): StreamHandler {
  // One Metrics instance for the runtime and the fan-out, so that PossibleDuplicateEffects is published with the rest.
  const metrics = options.metrics ?? createStreamMetrics(options.consumerName);
  return createStreamHandler({
    ...options,
    metrics,
    handleBatch: createOrderFanoutBatchHandler({ ...options, metrics }),
  });
}
