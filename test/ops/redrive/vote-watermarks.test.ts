import 'aws-sdk-client-mock-vitest/extend';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { padSequenceNumber } from '../../../lambdas/shared/poll-results.js';
import { buildDeadLetter, encodeDeadLetter } from '../../../lambdas/shared/stream/dead-letter.js';
import { runOpsCli } from '../../../ops/ops-cli.js';
import { createStreamRecordFactory } from '../../support/stream-records.js';
import {
  captureIo,
  createFakeAws,
  createFakeFunction,
  createFakeQueue,
  createSqsClient,
  depsFor,
  STAGE,
} from '../ops-fixtures.js';

const dynamodb = mockClient(DynamoDBClient);
const RESULTS_TABLE = 'value-of-OpsPollResultsTableName';

function voteLetter(record: DynamoDBRecord): string {
  return encodeDeadLetter(
    buildDeadLetter({
      consumerName: 'vote-aggregator',
      record,
      sequenceNumber: record.dynamodb?.SequenceNumber ?? '',
      errorName: 'ValidationException',
      reason: 'PollResults update of poll p-1 failed',
      failedAt: new Date('2024-05-01T09:55:00.000Z'),
    }),
  );
}

async function redriveVotes(letters: readonly string[]) {
  const queue = createFakeQueue();
  for (const [index, letter] of letters.entries()) queue.send(`m-${index}`, letter);
  const fn = createFakeFunction();
  const io = captureIo();
  const fake = createFakeAws(createSqsClient(), { deadLetterQueues: queue, functions: fn });
  const code = await runOpsCli(['redrive', 'vote-aggregator', '--stage', STAGE, '--json'], io, depsFor(fake));
  return { code, out: JSON.parse(io.out()), text: io.err(), fn, queue };
}

beforeEach(() => {
  dynamodb.reset();
});

describe('npm run ops -- redrive vote-aggregator, against the polls watermarks', () => {
  const factory = createStreamRecordFactory({ tableName: 'Votes', keyAttributes: ['pollId', 'voterId'] });
  const older = factory.insert({ pollId: 'p-1', voterId: 'v-1', option: 'a' });
  const newer = factory.insert({ pollId: 'p-2', voterId: 'v-2', option: 'b' });

  it('redrives as usual when every vote is past its poll watermark', async () => {
    // Prepare: both polls stored up to a sequence before both records
    dynamodb.on(GetItemCommand).resolves({ Item: { lastSeq: { S: padSequenceNumber('1') } } });

    // Act
    const { code, out } = await redriveVotes([voteLetter(older), voteLetter(newer)]);

    // Assess
    expect(code).toBe(0);
    expect(out).toMatchObject({ redriven: 2, superseded: 0, repair: null, ok: true });
    expect(dynamodb).toHaveReceivedCommandWith(GetItemCommand, {
      TableName: RESULTS_TABLE,
      Key: { pollId: { S: 'p-1' } },
      ConsistentRead: true,
    });
  });

  it('counts the votes behind their poll watermark and names the recount, exit 1', async () => {
    // Prepare: poll p-1 has counted a later vote already; poll p-2 has no results item yet
    dynamodb
      .on(GetItemCommand, { Key: { pollId: { S: 'p-1' } } })
      .resolves({
        Item: {
          lastSeq: { S: padSequenceNumber(String(BigInt(older.dynamodb?.SequenceNumber ?? '0') + 5n)) },
        },
      })
      .on(GetItemCommand, { Key: { pollId: { S: 'p-2' } } })
      .resolves({});

    // Act
    const { code, out, fn, queue } = await redriveVotes([voteLetter(older), voteLetter(newer)]);

    // Assess: both letters are redriven and deleted (the function reports them done), one vote is short
    expect(code).toBe(1);
    expect(fn.invocations).toHaveLength(2);
    expect(queue.deletedIds).toEqual(['m-0', 'm-1']);
    expect(out).toMatchObject({
      redriven: 2,
      superseded: 1,
      repair: `npm run ops -- reconcile votes --fix --stage ${STAGE} --region eu-west-1`,
      ok: false,
    });
  });
});
