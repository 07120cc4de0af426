import { randomUUID } from 'node:crypto';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV, MissingEnvironmentError } from '../../../lambdas/shared/env.js';
import { DynamoDbPollResultsStore } from '../../../lambdas/vote-aggregator/adapters/dynamodb-poll-results-store.js';
import { createVoteAggregatorHandler } from '../../../lambdas/vote-aggregator/aggregator.js';
import { createVoteAggregatorAdapters } from '../../../lambdas/vote-aggregator/compose.js';
import { VOTE_AGGREGATOR_CONSUMER_NAME } from '../../../lambdas/vote-aggregator/names.js';
import { createTestTables, localDynamoDb, type TestTables } from '../../support/dynamodb.js';
import {
  lambdaContext,
  RecordingDeadLetterQueue,
  RecordingMetrics,
  streamEvent,
} from '../../support/stream-records.js';
import { recordingLogger, voteRecords } from './records.js';

let tables: TestTables;

beforeAll(async () => {
  tables = await createTestTables();
});

afterAll(async () => {
  await tables.drop();
});

describe('createVoteAggregatorAdapters', () => {
  it('builds the DynamoDB store on POLL_RESULTS_TABLE_NAME', () => {
    // Act
    const { store } = createVoteAggregatorAdapters(localDynamoDb().documentClient, {
      [ENV.POLL_RESULTS_TABLE_NAME]: 'PollResults',
    });

    // Assess
    expect(store).toBeInstanceOf(DynamoDbPollResultsStore);
  });

  it('requires POLL_RESULTS_TABLE_NAME', () => {
    // Act
    const act = (): unknown => createVoteAggregatorAdapters(localDynamoDb().documentClient, {});

    // Assess
    expect(act).toThrow(MissingEnvironmentError);
  });
});

describe('createVoteAggregatorHandler on DynamoDB Local', () => {
  it('counts Lambda-shaped events exactly, re-delivered or not, and dead-letters a malformed record', async () => {
    // Prepare
    const deadLetterQueue = new RecordingDeadLetterQueue();
    const handler = createVoteAggregatorHandler({
      consumerName: VOTE_AGGREGATOR_CONSUMER_NAME,
      deadLetterQueue,
      logger: recordingLogger(),
      metrics: new RecordingMetrics(),
      ...createVoteAggregatorAdapters(localDynamoDb().documentClient, {
        [ENV.POLL_RESULTS_TABLE_NAME]: tables.PollResults,
      }),
    });
    const pollId = `poll-${randomUUID()}`;
    const v = voteRecords();
    const cast = v.cast(pollId, 'v-1', 'margherita');
    const malformed = v.cast(pollId, 'v-2', 'funghi');
    const { option: _option, ...withoutOption } = malformed.dynamodb?.NewImage ?? {};
    const first = streamEvent(
      cast,
      { ...malformed, dynamodb: { ...malformed.dynamodb, NewImage: withoutOption } },
      v.cast(pollId, 'v-3', 'funghi'),
      v.marker(pollId, 'tok-1'),
    );
    const second = streamEvent(
      ...first.Records.slice(2),
      v.change(pollId, 'v-1', 'margherita', 'funghi'),
      v.cast(pollId, 'v-4', 'diavola'),
    );

    // Act
    const firstResponse = await handler(first, lambdaContext());
    const secondResponse = await handler(second, lambdaContext());
    const again = await handler(second, lambdaContext());

    // Assess
    expect([firstResponse, secondResponse, again]).toStrictEqual([
      { batchItemFailures: [] },
      { batchItemFailures: [] },
      { batchItemFailures: [] },
    ]);
    expect(deadLetterQueue.letters.map((letter) => letter.sequenceNumber)).toStrictEqual([
      malformed.dynamodb?.SequenceNumber,
    ]);
    const { Item } = await localDynamoDb().documentClient.send(
      new GetCommand({ TableName: tables.PollResults, Key: { pollId }, ConsistentRead: true }),
    );
    expect(Item).toMatchObject({
      counts: { margherita: 0, funghi: 2, diavola: 1 },
      total: 3,
      records: 5,
      reconcileToken: 'tok-1',
      lastSeq: second.Records.at(-1)?.dynamodb?.SequenceNumber?.padStart(40, '0'),
    });
  });
});
