import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { padSequenceNumber } from '../../../lambdas/shared/poll-results.js';
import { responseJson } from '../../support/api-events.js';
import { localDynamoDb, scanAll } from '../../support/dynamodb.js';
import { type ApiHarness, createApiHarness } from './api-harness.js';

let harness: ApiHarness;

beforeAll(async () => {
  harness = await createApiHarness();
});

afterAll(async () => {
  await harness.tables.drop();
});

function putVote(pollId: string, voterId: string, option: string) {
  return harness.call({ method: 'PUT', path: `/polls/${pollId}/votes/${voterId}`, body: { option } });
}

async function votesOf(pollId: string): Promise<Record<string, unknown>[]> {
  return (await scanAll(harness.tables.Votes)).filter((item) => item.pollId === pollId);
}

/** The event names of the Votes stream's records of one poll, read from the start of every shard. */
async function streamEventsOf(pollId: string): Promise<string[]> {
  const { client, config } = localDynamoDb();
  const streams = new DynamoDBStreamsClient(config);
  const { Table } = await client.send(new DescribeTableCommand({ TableName: harness.tables.Votes }));
  const streamArn = Table?.LatestStreamArn;
  if (streamArn === undefined) {
    throw new Error('The Votes table has no stream');
  }
  const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
  const events: string[] = [];
  for (const shard of StreamDescription?.Shards ?? []) {
    let { ShardIterator: iterator } = await streams.send(
      new GetShardIteratorCommand({
        StreamArn: streamArn,
        ShardId: shard.ShardId,
        ShardIteratorType: 'TRIM_HORIZON',
      }),
    );
    while (iterator !== undefined) {
      const page = await streams.send(new GetRecordsCommand({ ShardIterator: iterator }));
      const records = page.Records ?? [];
      for (const record of records) {
        if (record.dynamodb?.Keys?.pollId?.S === pollId) {
          events.push(record.eventName ?? 'UNKNOWN');
        }
      }
      // An open shard always hands out a next iterator; an empty page means we are at its tip.
      iterator = records.length === 0 ? undefined : page.NextShardIterator;
    }
  }
  streams.destroy();
  return events;
}

describe('PUT /polls/{pollId}/votes/{voterId}', () => {
  it('records a new vote with 201', async () => {
    // Act
    const response = await putVote('poll-new', 'voter-1', 'margherita');

    // Assess
    expect(response.statusCode).toBe(201);
    const vote = responseJson(response);
    expect(vote).toEqual({
      pollId: 'poll-new',
      voterId: 'voter-1',
      option: 'margherita',
      votedAt: expect.stringMatching(/^2030-01-01T/),
    });
    expect(await votesOf('poll-new')).toEqual([vote]);
  });

  it('changes a vote with 200', async () => {
    // Prepare
    await putVote('poll-change', 'voter-1', 'margherita');

    // Act
    const response = await putVote('poll-change', 'voter-1', 'funghi');

    // Assess
    expect(response.statusCode).toBe(200);
    const vote = responseJson(response);
    expect(vote).toMatchObject({ option: 'funghi' });
    expect(await votesOf('poll-change')).toEqual([vote]);
  });

  it('answers the same option again with 200 and the stored vote, writing nothing', async () => {
    // Prepare
    const first = responseJson(await putVote('poll-same', 'voter-1', 'margherita'));
    await putVote('poll-same', 'voter-2', 'funghi');

    // Act
    const response = await putVote('poll-same', 'voter-1', 'margherita');

    // Assess
    expect(response.statusCode).toBe(200);
    expect(responseJson(response)).toEqual(first);
    expect(await votesOf('poll-same')).toContainEqual(first);
    expect(await streamEventsOf('poll-same')).toEqual(['INSERT', 'INSERT']);
  });

  it('keeps one vote per voter and poll', async () => {
    // Prepare
    await putVote('poll-one', 'voter-1', 'a');
    await putVote('poll-one', 'voter-1', 'b');
    await putVote('poll-one', 'voter-2', 'a');

    // Act
    const votes = await votesOf('poll-one');

    // Assess
    const byVoter = votes
      .map((vote) => [String(vote.voterId), vote.option])
      .sort(([a], [b]) => (a! < b! ? -1 : 1));
    expect(byVoter).toEqual([
      ['voter-1', 'b'],
      ['voter-2', 'a'],
    ]);
    expect(await streamEventsOf('poll-one')).toEqual(['INSERT', 'MODIFY', 'INSERT']);
  });
});

describe('DELETE /polls/{pollId}/votes/{voterId}', () => {
  it('deletes the vote with 204, then answers 404', async () => {
    // Prepare
    await putVote('poll-delete', 'voter-1', 'a');

    // Act
    const deleted = await harness.call({ method: 'DELETE', path: '/polls/poll-delete/votes/voter-1' });
    const again = await harness.call({ method: 'DELETE', path: '/polls/poll-delete/votes/voter-1' });

    // Assess
    expect(deleted.statusCode).toBe(204);
    expect(again.statusCode).toBe(404);
    expect(responseJson(again)).toEqual({ error: expect.any(String), field: null });
    expect(await votesOf('poll-delete')).toEqual([]);
    expect(await streamEventsOf('poll-delete')).toEqual(['INSERT', 'REMOVE']);
  });
});

describe('GET /polls/{pollId}/results', () => {
  it('answers 404 while the poll has no results', async () => {
    // Act
    const response = await harness.call({ method: 'GET', path: '/polls/poll-empty/results' });

    // Assess
    expect(response.statusCode).toBe(404);
    expect(responseJson(response)).toEqual({ error: expect.any(String), field: null });
  });

  it('returns the aggregated item without its watermark', async () => {
    // Prepare: written as the vote aggregator writes it.
    await localDynamoDb().documentClient.send(
      new PutCommand({
        TableName: harness.tables.PollResults,
        Item: {
          pollId: 'poll-results',
          counts: { margherita: 2, funghi: 1 },
          total: 3,
          lastSeq: padSequenceNumber('4100000000000000000001'),
          asOf: '2030-01-01T12:00:00.000Z',
        },
      }),
    );

    // Act
    const response = await harness.call({ method: 'GET', path: '/polls/poll-results/results' });

    // Assess
    expect(response.statusCode).toBe(200);
    expect(responseJson(response)).toEqual({
      pollId: 'poll-results',
      counts: { margherita: 2, funghi: 1 },
      total: 3,
      asOf: '2030-01-01T12:00:00.000Z',
    });
  });
});
