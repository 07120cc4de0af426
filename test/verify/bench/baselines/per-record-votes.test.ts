import { randomUUID } from 'node:crypto';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeadLetter } from '../../../../lambdas/shared/stream/dead-letter.js';
import type { VoteChange } from '../../../../lambdas/vote-aggregator/ports.js';
import {
  type CountingDynamoDb,
  createCountingDynamoDb,
} from '../../../../sandbox/adapters/counting-dynamodb.js';
import { localLambdaContext } from '../../../../sandbox/lambda-context.js';
import {
  createPerRecordVotesHandler,
  perRecordVoteDelta,
} from '../../../../verify/bench/baselines/per-record-votes.js';
import { createTestTables, localDynamoDb, type TestTables } from '../../../support/dynamodb.js';
import { createStreamRecordFactory } from '../../../support/stream-records.js';

const SILENT_LOGGER = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  addContext: () => undefined,
};
const NO_METRICS = { addMetric: () => undefined, publishStoredMetrics: () => undefined };

function context(requestId: string) {
  return localLambdaContext({
    functionName: 'votes-per-record-test',
    requestId,
    deadlineMs: Date.now() + 30_000,
    memoryLimitInMB: '512',
    logStreamName: 'votes-per-record-test',
    callbackWaitsForEmptyEventLoop: false,
  });
}

/**
 * Votes records of two polls: on the first, two votes cast, one changed, one retracted; on the second, one cast.
 * Afterwards the first poll holds one `no`, the second one `yes`.
 */
function voteRecords(first: string, second: string): DynamoDBRecord[] {
  const factory = createStreamRecordFactory({ tableName: 'Votes', keyAttributes: ['pollId', 'voterId'] });
  const vote = (pollId: string, voterId: string, option: string) => ({
    pollId,
    voterId,
    option,
    votedAt: '2030-01-01T00:00:00.000Z',
  });
  return [
    factory.insert(vote(first, 'v1', 'yes')),
    factory.insert(vote(first, 'v2', 'no')),
    factory.modify(vote(first, 'v1', 'yes'), vote(first, 'v1', 'no')),
    factory.remove(vote(first, 'v2', 'no')),
    factory.insert(vote(second, 'v3', 'yes')),
  ];
}

describe('perRecordVoteDelta', () => {
  const change = (overrides: Partial<VoteChange>): VoteChange => ({
    pollId: 'p',
    voterId: 'v',
    sequence: '1'.padStart(40, '0'),
    sequenceNumber: '1',
    time: 0,
    ...overrides,
  });

  it('adds one to a cast option and the total, moves one between options on a change, removes one on a retraction', () => {
    // Act and Assess
    expect(perRecordVoteDelta(change({ after: 'yes' }))).toEqual({
      pollId: 'p',
      counts: new Map([['yes', 1]]),
      total: 1,
    });
    expect(perRecordVoteDelta(change({ before: 'yes', after: 'no' }))).toEqual({
      pollId: 'p',
      counts: new Map([
        ['yes', -1],
        ['no', 1],
      ]),
      total: 0,
    });
    expect(perRecordVoteDelta(change({ before: 'no' }))).toEqual({
      pollId: 'p',
      counts: new Map([['no', -1]]),
      total: -1,
    });
  });

  it('counts nothing for the same option again or a reconcile marker', () => {
    expect(perRecordVoteDelta(change({ before: 'yes', after: 'yes' }))).toBeUndefined();
    expect(perRecordVoteDelta(change({ markerToken: 'token' }))).toBeUndefined();
  });
});

describe('the per-record vote baselines', () => {
  let tables: TestTables;
  let dynamo: CountingDynamoDb;

  beforeAll(async () => {
    tables = await createTestTables();
  });

  afterAll(async () => {
    await tables.drop();
  });

  const stored = async (pollId: string): Promise<Record<string, unknown> | undefined> => {
    const { Item } = await localDynamoDb().documentClient.send(
      new GetCommand({ TableName: tables.PollResults, Key: { pollId }, ConsistentRead: true }),
    );
    return Item;
  };

  const handler = (letters: DeadLetter[], idempotencyKeyPrefix?: string) => {
    dynamo = createCountingDynamoDb(localDynamoDb().config);
    return createPerRecordVotesHandler({
      documentClient: dynamo.documentClient,
      pollResultsTable: tables.PollResults,
      consumerName: 'votes-per-record-test',
      deadLetterQueue: { send: async (letter) => void letters.push(letter) },
      logger: SILENT_LOGGER,
      metrics: NO_METRICS,
      ...(idempotencyKeyPrefix === undefined
        ? {}
        : { idempotency: { tableName: tables.Idempotency, keyPrefix: idempotencyKeyPrefix } }),
    });
  };

  it('(a) writes one UpdateItem per record, creates each poll’s counts map on its first write, and counts a re-delivery again', async () => {
    // Prepare
    const [first, second] = [`poll-${randomUUID()}`, `poll-${randomUUID()}`];
    const records = voteRecords(first, second);
    const letters: DeadLetter[] = [];
    const perRecord = handler(letters);

    // Act
    const response = await perRecord({ Records: records }, context('a-1'));
    const afterFirst = dynamo.counter.snapshot();
    const [firstPoll, secondPoll] = [await stored(first), await stored(second)];
    await perRecord({ Records: records }, context('a-2'));

    // Assess: 5 ADDs, plus per poll the ADD DynamoDB refused (no map yet) and the SET of the empty map.
    expect(response.batchItemFailures).toEqual([]);
    expect(letters).toEqual([]);
    expect(afterFirst).toEqual({ byOperation: { UpdateItem: 9 }, total: 9 });
    expect(firstPoll).toEqual({ pollId: first, counts: { yes: 0, no: 1 }, total: 1 });
    expect(secondPoll).toEqual({ pollId: second, counts: { yes: 1 }, total: 1 });
    // Assess: the re-delivery is one more UpdateItem per record, and every vote of it is counted again.
    expect(dynamo.counter.snapshot()).toEqual({ byOperation: { UpdateItem: 14 }, total: 14 });
    expect(await stored(first)).toEqual({ pollId: first, counts: { yes: 0, no: 2 }, total: 2 });
    expect(await stored(second)).toEqual({ pollId: second, counts: { yes: 2 }, total: 2 });
    dynamo.destroy();
  });

  it('(b) adds an idempotency PutItem and UpdateItem per record, and drops a plain re-delivery by eventID', async () => {
    // Prepare
    const [first, second] = [`poll-${randomUUID()}`, `poll-${randomUUID()}`];
    const records = voteRecords(first, second);
    const letters: DeadLetter[] = [];
    const idempotent = handler(letters, `votes-test-${randomUUID()}`);

    // Act
    const response = await idempotent({ Records: records }, context('b-1'));
    const afterFirst = dynamo.counter.snapshot();
    await idempotent({ Records: records }, context('b-2'));

    // Assess: per record the in-progress PutItem and the completed UpdateItem, besides (a)'s 9 UpdateItems.
    expect(response.batchItemFailures).toEqual([]);
    expect(letters).toEqual([]);
    expect(afterFirst).toEqual({ byOperation: { PutItem: 5, UpdateItem: 9 + 5 }, total: 19 });
    // Assess: the re-delivery costs a refused PutItem per record and changes no count.
    expect(dynamo.counter.snapshot()).toEqual({ byOperation: { PutItem: 10, UpdateItem: 14 }, total: 24 });
    expect(await stored(first)).toEqual({ pollId: first, counts: { yes: 0, no: 1 }, total: 1 });
    expect(await stored(second)).toEqual({ pollId: second, counts: { yes: 1 }, total: 1 });
    dynamo.destroy();
  });

  it('sends a record that is no vote to the DLQ and counts the others', async () => {
    // Prepare: the first record's new image has no option.
    const [first, second] = [`poll-${randomUUID()}`, `poll-${randomUUID()}`];
    const [good, ...rest] = voteRecords(first, second);
    const broken = structuredClone(good!);
    delete broken.dynamodb!.NewImage!.option;
    const letters: DeadLetter[] = [];
    const perRecord = handler(letters);

    // Act
    const response = await perRecord({ Records: [broken, ...rest.slice(3)] }, context('dlq'));

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(letters).toHaveLength(1);
    expect(await stored(second)).toEqual({ pollId: second, counts: { yes: 1 }, total: 1 });
    expect(await stored(first)).toBeUndefined();
    dynamo.destroy();
  });
});
