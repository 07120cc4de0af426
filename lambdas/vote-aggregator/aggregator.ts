import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { describeError, TransientError } from '../shared/errors.js';
import type { ChangeRecord } from '../shared/stream/change-record.js';
import {
  type BatchOutcomes,
  createStreamHandler,
  createStreamMetrics,
  Outcome,
  type RecordOutcome,
  type StreamContext,
  type StreamHandler,
  type StreamHandlerCommonOptions,
  type StreamLogger,
  type StreamMetrics,
} from '../shared/stream/stream-handler.js';
import { clampDelta, coalesce, splitByOptions, sumOf } from './coalesce.js';
import type { PollResultsStore, VoteChange } from './ports.js';
import { toVoteChange } from './vote-change.js';

/**
 * Conditional updates of one run of a poll's records before giving up (transient, the ESM retries the records). A
 * healthy poll needs one, a re-delivery two (behind, then the rest), a drifted poll one more (wouldGoNegative).
 */
export const MAX_APPLY_ATTEMPTS = 5;

/**
 * Polls updated at the same time. Each poll is its own item, so their updates do not contend; the cap keeps a batch
 * of a hundred polls from opening a hundred connections at once and from bursting the table's write capacity.
 */
export const POLL_CONCURRENCY = 8;

/** Distinct options one UpdateItem may touch (see splitByOptions): well inside DynamoDB's 4 KB per expression. */
export const MAX_OPTIONS_PER_UPDATE = 50;

/** The aggregator's own metrics, added to the runtime's Metrics instance. */
export const VOTE_AGGREGATOR_METRICS = {
  /**
   * Decrements of option counts dropped by clamping at zero (one per vote the stream removes but never counted; the
   * total follows the counts): drift the reconcile command should repair. Normally 0.
   */
  countsClamped: 'VoteCountsClamped',
} as const;

/** A poll's update kept finding something to fix (behind, negative) after MAX_APPLY_ATTEMPTS: retried by the ESM. */
export class ApplyAttemptsExhaustedError extends TransientError {
  public constructor(pollId: string, attempts: number) {
    super(`PollResults update of poll ${pollId} not settled after ${attempts} attempts`);
    this.name = 'ApplyAttemptsExhaustedError';
  }
}

export type VoteBatchHandler = (
  records: readonly ChangeRecord[],
  context: StreamContext,
) => Promise<BatchOutcomes>;

export interface VoteBatchHandlerOptions {
  readonly store: PollResultsStore;
  /** Default: the runtime's logger (StreamContext.logger). */
  readonly logger?: StreamLogger;
  /** Where VoteCountsClamped goes; the runtime publishes it. Without it the metric is not recorded. */
  readonly metrics?: Pick<StreamMetrics, 'addMetric'>;
  /** Default: POLL_CONCURRENCY. */
  readonly concurrency?: number;
}

/** Runs `work` on every item with at most `limit` at a time; `work` must not throw. */
async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next] as T;
      next += 1;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}

/** The outcome of the records of a poll whose update failed with `error`, with the poll in the reason. */
function pollFailure(pollId: string, error: unknown): RecordOutcome {
  const outcome = Outcome.fromError(error);
  return outcome.kind === 'ok'
    ? outcome
    : { ...outcome, reason: `PollResults update of poll ${pollId} failed: ${describeError(error).reason}` };
}

/**
 * The vote aggregator's batch logic (docs/pipelines/vote-aggregation.md; issue 7). Per batch:
 *
 * 1. Every record becomes a VoteChange (toVoteChange). A record that cannot (a missing key, image or option) is a
 *    permanent failure: it goes to the DLQ and counts nothing, while the other records of its poll proceed. When it
 *    sits between two good records of a poll, applying the later one moves the watermark past it; that is fine,
 *    because it is dead-lettered, never retried: nothing would ever apply it anyway, and the reconcile command
 *    reports the vote it stood for as drift.
 * 2. Changes are grouped by poll, stream order kept. All records of a poll share the Votes partition key, so they
 *    arrive in order on one shard.
 * 3. Each poll (up to `concurrency` at a time) is coalesced into one delta and applied with one conditional update
 *    (PollResultsStore.apply), in a loop of at most MAX_APPLY_ATTEMPTS:
 *    - applied: done;
 *    - behind: the stored watermark says some records were applied before (a re-delivery); they are dropped and the
 *      rest re-coalesced. Nothing left: done without a write;
 *    - wouldGoNegative: the decrements are clamped against the stored counts (clampDelta), logged as a warning and
 *      counted in VoteCountsClamped, and the update is tried again.
 *
 * Outcomes: every record of a poll is ok once it is applied or found already applied. When a poll's update throws,
 * its records not yet applied get the error's outcome (Outcome.fromError, i.e. classifyError): throttling, a 5xx,
 * a timeout, an auth or a missing-table error, anything unknown are transient, so only that poll's records are
 * reported and retried; the other polls' records stay ok. A ValidationException (or another 400 that is not about
 * throttling or auth) is permanent: the request is built from the records alone, so the same records produce the
 * same rejected request on every retry (an expression DynamoDB refuses, an item grown past 400 KB by free-form
 * options). Retrying would block the shard until the ESM gives up and keeps only the records' positions; the DLQ
 * keeps the records themselves, and the reconcile command repairs the counts.
 *
 * A poll whose changes touch more than MAX_OPTIONS_PER_UPDATE options is written in consecutive runs (one update
 * each). After a transient failure of a run, the later runs are not applied (that would move the watermark past the
 * failed records, which the retry would then drop) and share its outcome; after a permanent one they go on, as
 * after a malformed record.
 */
export function createVoteBatchHandler(options: VoteBatchHandlerOptions): VoteBatchHandler {
  const { store, metrics } = options;
  const concurrency = options.concurrency ?? POLL_CONCURRENCY;

  return async (records, context) => {
    const logger = options.logger ?? context.logger;
    const outcomes = new Map<string, RecordOutcome>();
    const polls = new Map<string, VoteChange[]>();
    for (const record of records) {
      try {
        const change = toVoteChange(record);
        const changes = polls.get(change.pollId);
        if (changes === undefined) {
          polls.set(change.pollId, [change]);
        } else {
          changes.push(change);
        }
      } catch (error) {
        outcomes.set(record.sequenceNumber, Outcome.fromError(error));
      }
    }

    const markOk = (changes: readonly VoteChange[]): void => {
      for (const change of changes) outcomes.set(change.sequenceNumber, Outcome.ok());
    };

    /** Applies one run of a poll's changes; marks ok what is found applied on the way; throws on failure. */
    const applyRun = async (run: readonly VoteChange[]): Promise<void> => {
      let delta = coalesce(run);
      for (let attempt = 1; attempt <= MAX_APPLY_ATTEMPTS; attempt += 1) {
        if (delta === undefined) {
          return;
        }
        const result = await store.apply(delta);
        switch (result.kind) {
          case 'applied':
            return;
          case 'behind': {
            const watermark = result.stored.lastSequence;
            markOk(run.filter((change) => change.sequence <= watermark));
            delta = coalesce(run, watermark);
            logger.info('Poll records already applied; applying the rest', {
              pollId: delta?.pollId ?? run[0]?.pollId,
              storedLastSequence: watermark,
              remaining: delta?.records ?? 0,
            });
            break;
          }
          case 'wouldGoNegative': {
            const { delta: clamped, clamped: what } = clampDelta(delta, result.stored);
            if (what !== undefined) {
              const dropped = sumOf(what.counts);
              // Entries, not objects: an option is a client's text and never becomes a plain object's key.
              logger.warn('Vote counts clamped at zero: the stream removes votes it never counted (drift)', {
                pollId: delta.pollId,
                clamped: { counts: [...what.counts], total: what.total },
                stored: {
                  lastSequence: result.stored.lastSequence,
                  counts: [...result.stored.counts],
                  total: result.stored.total,
                },
                firstSequence: delta.firstSequence,
                lastSequence: delta.lastSequence,
              });
              metrics?.addMetric(VOTE_AGGREGATOR_METRICS.countsClamped, MetricUnit.Count, dropped);
            }
            delta = clamped;
            break;
          }
        }
      }
      throw new ApplyAttemptsExhaustedError(run[0]?.pollId ?? '(unknown)', MAX_APPLY_ATTEMPTS);
    };

    const applyPoll = async ([pollId, changes]: [string, VoteChange[]]): Promise<void> => {
      let blockedBy: RecordOutcome | undefined;
      for (const run of splitByOptions(changes, MAX_OPTIONS_PER_UPDATE)) {
        if (blockedBy !== undefined) {
          for (const change of run) outcomes.set(change.sequenceNumber, blockedBy);
          continue;
        }
        try {
          await applyRun(run);
          markOk(run);
        } catch (error) {
          const failure = pollFailure(pollId, error);
          for (const change of run) {
            if (!outcomes.has(change.sequenceNumber)) outcomes.set(change.sequenceNumber, failure);
          }
          if (failure.kind === 'transient') {
            blockedBy = failure;
          }
        }
      }
    };

    await forEachLimited([...polls], concurrency, applyPoll);
    return outcomes;
  };
}

export interface VoteAggregatorHandlerOptions extends StreamHandlerCommonOptions {
  readonly store: PollResultsStore;
}

/** The vote aggregator's Lambda handler: the stream runtime in per-batch mode around createVoteBatchHandler. */
export function createVoteAggregatorHandler(options: VoteAggregatorHandlerOptions): StreamHandler {
  // One Metrics instance for the runtime and the aggregator, so that VoteCountsClamped is published with the rest.
  const metrics = options.metrics ?? createStreamMetrics(options.consumerName);
  return createStreamHandler({
    ...options,
    metrics,
    handleBatch: createVoteBatchHandler({ store: options.store, metrics }),
  });
}
