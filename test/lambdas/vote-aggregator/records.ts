/** Votes stream records and in-memory fakes for the vote aggregator's tests. */
import type { DynamoDBRecord } from 'aws-lambda';
import { padSequenceNumber } from '../../../lambdas/shared/poll-results.js';
import { type ChangeRecord, toChangeRecord } from '../../../lambdas/shared/stream/change-record.js';
import type { StreamContext, StreamLogger } from '../../../lambdas/shared/stream/stream-handler.js';
import {
  type ApplyResult,
  type PollDelta,
  type PollResultsStore,
  RECONCILE_MARKER_VOTER_ID,
  type StoredPollResults,
  type VoteChange,
} from '../../../lambdas/vote-aggregator/ports.js';
import { createStreamRecordFactory, lambdaContext } from '../../support/stream-records.js';

export const FIRST_SEQUENCE_NUMBER = 500_000_000_000_000_000_001n;
export const VOTED_AT = '2030-01-01T00:00:00.000Z';

/** Builds Lambda-shaped Votes stream records, numbered from `first` (21-digit sequence numbers). */
export interface VoteRecords {
  cast(pollId: string, voterId: string, option: string): DynamoDBRecord;
  change(pollId: string, voterId: string, from: string, to: string): DynamoDBRecord;
  retract(pollId: string, voterId: string, option: string): DynamoDBRecord;
  /** The reconcile command's marker put: an INSERT (`previousToken` undefined) or a MODIFY. */
  marker(pollId: string, token: string, previousToken?: string): DynamoDBRecord;
}

export function voteRecords(first: bigint = FIRST_SEQUENCE_NUMBER): VoteRecords {
  const factory = createStreamRecordFactory({
    tableName: 'Votes',
    keyAttributes: ['pollId', 'voterId'],
    firstSequenceNumber: first,
  });
  const vote = (pollId: string, voterId: string, option: string): Record<string, string> => ({
    pollId,
    voterId,
    option,
    votedAt: VOTED_AT,
  });
  return {
    cast: (pollId, voterId, option) => factory.insert(vote(pollId, voterId, option)),
    change: (pollId, voterId, from, to) =>
      factory.modify(vote(pollId, voterId, from), vote(pollId, voterId, to)),
    retract: (pollId, voterId, option) => factory.remove(vote(pollId, voterId, option)),
    marker: (pollId, token, previousToken) => {
      const item = (t: string): Record<string, string> => ({
        pollId,
        voterId: RECONCILE_MARKER_VOTER_ID,
        token: t,
        requestedAt: VOTED_AT,
      });
      return previousToken === undefined
        ? factory.insert(item(token))
        : factory.modify(item(previousToken), item(token));
    },
  };
}

export function changeRecords(records: readonly DynamoDBRecord[]): ChangeRecord[] {
  return records.map(toChangeRecord);
}

/** The padded sequence of a raw record. */
export function sequenceOf(record: DynamoDBRecord): string {
  return padSequenceNumber(record.dynamodb?.SequenceNumber ?? '');
}

/** A VoteChange built by hand, for the pure domain tests. */
export function voteChange(
  sequence: number,
  fields: Partial<Omit<VoteChange, 'sequence' | 'sequenceNumber'>> = {},
): VoteChange {
  const sequenceNumber = String(FIRST_SEQUENCE_NUMBER + BigInt(sequence));
  return {
    pollId: 'p-1',
    voterId: `v-${sequence}`,
    sequence: padSequenceNumber(sequenceNumber),
    sequenceNumber,
    time: Date.parse(VOTED_AT) + sequence * 1000,
    ...fields,
  };
}

/** A logger that keeps warnings and info messages with their attributes. */
export interface RecordingLogger extends StreamLogger {
  readonly warnings: { message: string; attributes: unknown }[];
  readonly infos: string[];
}

export function recordingLogger(): RecordingLogger {
  const warnings: { message: string; attributes: unknown }[] = [];
  const infos: string[] = [];
  return {
    warnings,
    infos,
    debug() {},
    info(message: string) {
      infos.push(message);
    },
    warn(message: string, attributes?: unknown) {
      warnings.push({ message, attributes });
    },
    error() {},
    addContext() {},
  } as RecordingLogger;
}

export function streamContext(logger: StreamLogger = recordingLogger()): StreamContext {
  return { consumerName: 'vote-aggregator', lambdaContext: lambdaContext(), logger };
}

interface StoredPoll {
  lastSequence: string;
  /** Null-prototype, so that an option named `constructor` reads as any other. */
  counts: Record<string, number>;
  total: number;
  records: number;
  asOf: string;
  reconcileToken?: string;
}

/**
 * A PollResultsStore in memory with the DynamoDB adapter's semantics (watermark condition, non-negative needs, create
 * of a missing poll refusing negative values). `failures` makes a poll's next applies throw, one error each.
 */
export class InMemoryPollResultsStore implements PollResultsStore {
  public readonly polls = new Map<string, StoredPoll>();
  public readonly applies: { delta: PollDelta; result: ApplyResult['kind'] | 'threw' }[] = [];
  public readonly failures = new Map<string, unknown[]>();

  public async apply(delta: PollDelta): Promise<ApplyResult> {
    const error = this.failures.get(delta.pollId)?.shift();
    if (error !== undefined) {
      this.applies.push({ delta, result: 'threw' });
      throw error;
    }
    const result = this.#apply(delta);
    this.applies.push({ delta, result: result.kind });
    return result;
  }

  #apply(delta: PollDelta): ApplyResult {
    const poll = this.polls.get(delta.pollId) ?? {
      lastSequence: '0'.repeat(40),
      counts: Object.create(null) as Record<string, number>,
      total: 0,
      records: 0,
      asOf: '',
    };
    const stored: StoredPollResults = {
      lastSequence: poll.lastSequence,
      counts: new Map(Object.entries(poll.counts)),
      total: poll.total,
    };
    if (poll.lastSequence >= delta.firstSequence) {
      return { kind: 'behind', stored };
    }
    const short = [...delta.counts].some(([option, amount]) => (poll.counts[option] ?? 0) + amount < 0);
    if (short || poll.total + delta.total < 0) {
      return { kind: 'wouldGoNegative', stored };
    }
    for (const [option, amount] of delta.counts) {
      poll.counts[option] = (poll.counts[option] ?? 0) + amount;
    }
    poll.total += delta.total;
    poll.records += delta.records;
    poll.lastSequence = delta.lastSequence;
    poll.asOf = delta.asOf;
    if (delta.reconcileToken !== undefined) poll.reconcileToken = delta.reconcileToken;
    this.polls.set(delta.pollId, poll);
    return { kind: 'applied' };
  }
}
