import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { POLL_RESULTS_ATTRIBUTES } from '../../../lambdas/shared/poll-results.js';
import type { ChangeRecord } from '../../../lambdas/shared/stream/change-record.js';
import type { DeadLetterQueue } from '../../../lambdas/shared/stream/dead-letter.js';
import {
  type Clock,
  createStreamHandler,
  type StreamHandler,
  type StreamLogger,
  type StreamMetrics,
} from '../../../lambdas/shared/stream/stream-handler.js';
import type { VoteChange } from '../../../lambdas/vote-aggregator/ports.js';
import { toVoteChange } from '../../../lambdas/vote-aggregator/vote-change.js';

import { idempotentPerRecord } from './idempotent-per-record.js';
/**
 * The baselines of the `votes` benchmark: vote aggregation as the seed pattern does it, one write of the PollResults
 * item per stream record, for comparing aggregate writes with the vote aggregator (one conditional UpdateItem per
 * poll per batch, lambdas/vote-aggregator/) on the same records. Both run on the stream runtime in per-record mode:
 *
 * - (a) `perRecord`: per record one UpdateItem `ADD counts.#o :±1, total :±1` on the poll's item (a changed vote is
 *   `-1` on the old option and `+1` on the new one in the same UpdateItem, the total unchanged). DynamoDB refuses
 *   `ADD counts.#o` while the item has no `counts` map, so the poll's first record creates the map (one conditional
 *   `SET counts = :empty`) and tries again: that is the seed's "create on first write". Not exact under
 *   re-delivery: a record delivered twice is counted twice.
 * - (b) `perRecordIdempotent`: the same update wrapped in Powertools' `makeIdempotent` keyed by the record's eventID,
 *   with a DynamoDBPersistenceLayer on the Idempotency table (as per-record-fanout.ts guards its records): a
 *   conditional PutItem of the in-progress record before the update and an UpdateItem of the completed record after,
 *   about three writes per vote. A plain re-delivery is dropped by the idempotency record, but the guard is not atomic
 *   with the update: if the function dies (or the completion write fails) after the update, the in-progress record
 *   expires with the invocation's timeout and the re-delivered record is counted again; if the update fails, the
 *   guard deletes its record (one more write).
 *
 * A reconcile marker (a Votes item the reconcile command writes) counts nothing: the baselines skip it, as they skip a
 * MODIFY that kept the option. They keep no watermark and no `asOf`: only what the seed pattern keeps. They are
 * yardsticks, not products.
 */

export interface PerRecordVotesOptions {
  /** removeUndefinedValues on, as the app's own. */
  readonly documentClient: DynamoDBDocumentClient;
  /** The PollResults-like table the counts are written to (partition key `pollId`). */
  readonly pollResultsTable: string;
  readonly consumerName: string;
  readonly deadLetterQueue: DeadLetterQueue;
  readonly logger?: StreamLogger;
  readonly metrics?: StreamMetrics;
  /** @default Date.now */
  readonly clock?: Clock;
  /** Set for baseline (b): every record goes through Powertools idempotency on this table, under this key prefix. */
  readonly idempotency?: {
    readonly tableName: string;
    /** A fresh one gives a clean ledger on a shared table. */
    readonly keyPrefix: string;
  };
}

/** What one record adds to its poll's item: per option a delta, and the total's. */
export interface PerRecordVoteDelta {
  readonly pollId: string;
  readonly counts: ReadonlyMap<string, number>;
  readonly total: number;
}

/** The error DynamoDB answers an `ADD counts.#o` with while the item has no `counts` map. */
function isMissingCountsMap(error: unknown): boolean {
  return (
    error instanceof Error &&
    error.name === 'ValidationException' &&
    /document path provided in the update expression is invalid/i.test(error.message)
  );
}

/**
 * The delta of one vote change: a cast +1 on its option and the total, a retraction -1 on both, a changed option -1
 * on the old and +1 on the new one. Undefined when it counts nothing (a marker, the same option again).
 */
export function perRecordVoteDelta(change: VoteChange): PerRecordVoteDelta | undefined {
  if (change.markerToken !== undefined || change.before === change.after) return undefined;
  const counts = new Map<string, number>();
  if (change.before !== undefined) counts.set(change.before, -1);
  if (change.after !== undefined) counts.set(change.after, (counts.get(change.after) ?? 0) + 1);
  const total = (change.after === undefined ? 0 : 1) - (change.before === undefined ? 0 : 1);
  return { pollId: change.pollId, counts, total };
}

/** The baselines' Lambda handler; see the module comment. */
export function createPerRecordVotesHandler(options: PerRecordVotesOptions): StreamHandler {
  const { documentClient, pollResultsTable: tableName } = options;
  const { pollId, counts, total } = POLL_RESULTS_ATTRIBUTES;

  const add = async (delta: PerRecordVoteDelta): Promise<void> => {
    const names: Record<string, string> = { '#counts': counts };
    const values: Record<string, number> = {};
    const terms: string[] = [];
    [...delta.counts.entries()].forEach(([option, amount], index) => {
      names[`#o${index}`] = option;
      values[`:d${index}`] = amount;
      terms.push(`#counts.#o${index} :d${index}`);
    });
    if (delta.total !== 0) {
      names['#total'] = total;
      values[':total'] = delta.total;
      terms.push('#total :total');
    }
    await documentClient.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { [pollId]: delta.pollId },
        UpdateExpression: `ADD ${terms.join(', ')}`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    );
  };

  /** The seed's first write of a poll: an empty `counts` map, unless a concurrent first write made one. */
  const createCountsMap = async (poll: string): Promise<void> => {
    try {
      await documentClient.send(
        new UpdateCommand({
          TableName: tableName,
          Key: { [pollId]: poll },
          UpdateExpression: 'SET #counts = :empty',
          ConditionExpression: 'attribute_not_exists(#counts)',
          ExpressionAttributeNames: { '#counts': counts },
          ExpressionAttributeValues: { ':empty': {} },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  };

  const apply = async (record: ChangeRecord): Promise<void> => {
    const delta = perRecordVoteDelta(toVoteChange(record));
    if (delta === undefined) return;
    try {
      await add(delta);
    } catch (error) {
      if (!isMissingCountsMap(error)) throw error;
      await createCountsMap(delta.pollId);
      await add(delta);
    }
  };

  const common = {
    consumerName: options.consumerName,
    deadLetterQueue: options.deadLetterQueue,
    logger: options.logger,
    metrics: options.metrics,
    clock: options.clock,
  };
  const { idempotency } = options;
  if (idempotency === undefined) {
    return createStreamHandler({ ...common, handleRecord: (record) => apply(record) });
  }
  const persistenceStore = new DynamoDBPersistenceLayer({
    tableName: idempotency.tableName,
    awsSdkV3Client: documentClient,
  });
  return createStreamHandler({
    ...common,
    handleRecord: idempotentPerRecord(apply, { persistenceStore, keyPrefix: idempotency.keyPrefix }),
  });
}
