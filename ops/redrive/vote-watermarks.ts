import { type DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { POLL_RESULTS_ATTRIBUTES, padSequenceNumber } from '../../lambdas/shared/poll-results.js';

/**
 * Why a vote redriven late can count nothing: the vote aggregator applies a poll's votes in stream order and keeps
 * the padded sequence number of the last one applied (PollResults `lastSeq`, docs/pipelines/vote-aggregation.md); a
 * record at or below it is taken for a re-delivery and dropped as already counted. A letter's vote redriven after
 * later votes of its poll were counted is such a record: the function reports it done, and the poll's counts stay
 * short of it. Redrive cannot tell it from a true re-delivery after the fact, so it looks before it invokes: the
 * records behind their poll's watermark are counted and the operator is told to recount (`reconcile votes --fix`).
 */

/** Port: a poll's stored watermark (padded to 40 digits); undefined when the poll has no results item yet. */
export interface PollWatermarks {
  watermark(pollId: string): Promise<string | undefined>;
}

/** PollWatermarks over DynamoDB: one consistent GetItem of `lastSeq` per poll. */
export class DynamoDbPollWatermarks implements PollWatermarks {
  readonly #client: DynamoDBClient;
  readonly #table: string;

  public constructor(client: DynamoDBClient, pollResultsTable: string) {
    this.#client = client;
    this.#table = pollResultsTable;
  }

  public async watermark(pollId: string): Promise<string | undefined> {
    const { Item } = await this.#client.send(
      new GetItemCommand({
        TableName: this.#table,
        Key: { [POLL_RESULTS_ATTRIBUTES.pollId]: { S: pollId } },
        ProjectionExpression: '#lastSeq',
        ExpressionAttributeNames: { '#lastSeq': POLL_RESULTS_ATTRIBUTES.lastSeq },
        // The watermark as of now: an eventually consistent read could miss the latest batch.
        ConsistentRead: true,
      }),
    );
    const lastSeq = Item?.[POLL_RESULTS_ATTRIBUTES.lastSeq]?.S;
    return lastSeq === undefined || lastSeq === '' ? undefined : lastSeq;
  }
}

/** The poll a Votes record belongs to (its partition key), if it names one. */
function pollOf(record: DynamoDBRecord): string | undefined {
  const key = record.dynamodb?.Keys?.[POLL_RESULTS_ATTRIBUTES.pollId] as { S?: unknown } | undefined;
  return typeof key?.S === 'string' ? key.S : undefined;
}

/**
 * The records at or behind their poll's stored watermark: the vote aggregator would drop them as already counted.
 * One read per poll. A record without a poll or a readable sequence number is not counted here: the function
 * dead-letters it anew.
 */
export async function votesBehindWatermark(
  records: readonly DynamoDBRecord[],
  watermarks: PollWatermarks,
): Promise<DynamoDBRecord[]> {
  const byPoll = new Map<string, Promise<string | undefined>>();
  const behind: DynamoDBRecord[] = [];
  for (const record of records) {
    const pollId = pollOf(record);
    const sequenceNumber = record.dynamodb?.SequenceNumber;
    if (pollId === undefined || sequenceNumber === undefined || !/^\d{1,40}$/.test(sequenceNumber)) continue;
    let watermark = byPoll.get(pollId);
    if (watermark === undefined) {
      watermark = watermarks.watermark(pollId);
      byPoll.set(pollId, watermark);
    }
    const stored = await watermark;
    if (stored !== undefined && padSequenceNumber(sequenceNumber) <= stored) behind.push(record);
  }
  return behind;
}
