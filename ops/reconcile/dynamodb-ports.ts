import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  paginateQuery,
  paginateScan,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { POLL_RESULTS_ATTRIBUTES as A } from '../../lambdas/shared/poll-results.js';
import { RECONCILE_MARKER_VOTER_ID } from '../../lambdas/vote-aggregator/ports.js';
import type { StoredResults } from './drift.js';
import type { MarkerWriter, ReconcilePorts, ResultsStore, VotesReader } from './ports.js';
import type { VoteRow } from './tally.js';

/**
 * The reconcile command's ports over DynamoDB (the document client: counts are small integers, which it returns as
 * numbers). Every read is strongly consistent: a recount that misses a vote written a moment ago would be drift of
 * the command's own making.
 */

/** The attributes PollResults gains for the reconcile protocol (being added to lambdas/shared/poll-results.ts). */
const RECORDS = 'records';
const RECONCILE_TOKEN = 'reconcileToken';

/** Thrown when a PollResults item has an attribute of a type the aggregator never writes. */
export class MalformedPollResultsError extends Error {
  public constructor(pollId: unknown, reason: string) {
    super(`PollResults item ${JSON.stringify(pollId)} is malformed: ${reason}`);
    this.name = 'MalformedPollResultsError';
  }
}

function optionalNumber(item: Record<string, unknown>, name: string): number | undefined {
  const value = item[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'number')
    throw new MalformedPollResultsError(item[A.pollId], `${name} is not a number`);
  return value;
}

function optionalString(item: Record<string, unknown>, name: string): string | undefined {
  const value = item[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string')
    throw new MalformedPollResultsError(item[A.pollId], `${name} is not a string`);
  return value;
}

/**
 * Decodes a PollResults item leniently: an absent `counts` or `total` reads as nothing counted (that is drift to
 * report, not a reason to stop), but a value of the wrong type is refused, as no fix could be derived from it.
 */
export function decodeStoredResults(item: Record<string, unknown>): StoredResults {
  const pollId = item[A.pollId];
  if (typeof pollId !== 'string') throw new MalformedPollResultsError(pollId, 'pollId is not a string');
  const rawCounts = item[A.counts] ?? {};
  if (typeof rawCounts !== 'object' || rawCounts === null || Array.isArray(rawCounts)) {
    throw new MalformedPollResultsError(pollId, 'counts is not a map');
  }
  // Null-prototype: an option named `__proto__` in an old item stays a key, and a missing `constructor` reads as none.
  const counts: Record<string, number> = Object.create(null);
  for (const [option, count] of Object.entries(rawCounts)) {
    if (typeof count !== 'number') {
      throw new MalformedPollResultsError(pollId, `counts.${option} is not a number`);
    }
    counts[option] = count;
  }
  return {
    pollId,
    counts,
    total: optionalNumber(item, A.total) ?? 0,
    lastSeq: optionalString(item, A.lastSeq),
    asOf: optionalString(item, A.asOf),
    records: optionalNumber(item, RECORDS),
    reconcileToken: optionalString(item, RECONCILE_TOKEN),
  };
}

function toVoteRow(item: Record<string, unknown>): VoteRow {
  return {
    pollId: String(item.pollId),
    voterId: String(item.voterId),
    option: typeof item.option === 'string' ? item.option : undefined,
  };
}

/** `option` is a DynamoDB reserved word; the names go through placeholders. */
const VOTE_PROJECTION = {
  ProjectionExpression: '#pollId, #voterId, #option',
  ExpressionAttributeNames: { '#pollId': 'pollId', '#voterId': 'voterId', '#option': 'option' },
} as const;

export class DynamoDbVotesReader implements VotesReader {
  public constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  public async scan(segments: number, onPage: (rows: readonly VoteRow[]) => void): Promise<void> {
    await Promise.all(
      Array.from({ length: segments }, async (_unused, segment) => {
        const pages = paginateScan(
          { client: this.client },
          {
            TableName: this.tableName,
            Segment: segment,
            TotalSegments: segments,
            ConsistentRead: true,
            ...VOTE_PROJECTION,
          },
        );
        for await (const page of pages) onPage((page.Items ?? []).map(toVoteRow));
      }),
    );
  }

  public async queryPoll(pollId: string): Promise<VoteRow[]> {
    const rows: VoteRow[] = [];
    const pages = paginateQuery(
      { client: this.client },
      {
        TableName: this.tableName,
        KeyConditionExpression: '#pollId = :pollId',
        ExpressionAttributeValues: { ':pollId': pollId },
        ConsistentRead: true,
        ...VOTE_PROJECTION,
      },
    );
    for await (const page of pages) rows.push(...(page.Items ?? []).map(toVoteRow));
    return rows;
  }
}

export class DynamoDbResultsStore implements ResultsStore {
  public constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  public async scan(segments: number): Promise<StoredResults[]> {
    const items: StoredResults[] = [];
    await Promise.all(
      Array.from({ length: segments }, async (_unused, segment) => {
        const pages = paginateScan(
          { client: this.client },
          { TableName: this.tableName, Segment: segment, TotalSegments: segments, ConsistentRead: true },
        );
        for await (const page of pages) items.push(...(page.Items ?? []).map(decodeStoredResults));
      }),
    );
    return items;
  }

  public async get(pollId: string): Promise<StoredResults | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { [A.pollId]: pollId }, ConsistentRead: true }),
    );
    return Item === undefined ? undefined : decodeStoredResults(Item);
  }

  public async writeCounts(
    pollId: string,
    fix: {
      readonly counts: Readonly<Record<string, number>>;
      readonly total: number;
      readonly expectedLastSeq: string;
    },
  ): Promise<'written' | 'conditionFailed'> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [A.pollId]: pollId },
          // Only counts and total: the watermark, asOf, records and reconcileToken stay the aggregator's.
          UpdateExpression: 'SET #counts = :counts, #total = :total',
          ConditionExpression: '#lastSeq = :expectedLastSeq',
          ExpressionAttributeNames: { '#counts': A.counts, '#total': A.total, '#lastSeq': A.lastSeq },
          ExpressionAttributeValues: {
            // A Map: the marshaller refuses a plain object with an own `constructor` (an option name).
            ':counts': new Map(Object.entries(fix.counts)),
            ':total': fix.total,
            ':expectedLastSeq': fix.expectedLastSeq,
          },
        }),
      );
      return 'written';
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return 'conditionFailed';
      throw error;
    }
  }
}

export class DynamoDbMarkerWriter implements MarkerWriter {
  public constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  public async put(pollId: string, token: string, requestedAt: string): Promise<void> {
    // An unconditional put: one marker item per poll, replaced by every marker (a MODIFY record the aggregator reads
    // the new token from). It is never deleted: a REMOVE would be one more record to apply, for nothing.
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pollId, voterId: RECONCILE_MARKER_VOTER_ID, token, requestedAt },
      }),
    );
  }
}

/** The ports over one document client and the two tables. */
export function dynamoDbReconcilePorts(
  client: DynamoDBDocumentClient,
  tables: { readonly votes: string; readonly results: string },
): ReconcilePorts {
  return {
    votes: new DynamoDbVotesReader(client, tables.votes),
    results: new DynamoDbResultsStore(client, tables.results),
    markers: new DynamoDbMarkerWriter(client, tables.votes),
  };
}
