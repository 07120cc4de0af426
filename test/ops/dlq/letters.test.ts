import 'aws-sdk-client-mock-vitest/extend';
import { DeleteMessageCommand, type Message, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import {
  buildDeadLetter,
  encodeDeadLetter,
  fitDeadLetter,
} from '../../../lambdas/shared/stream/dead-letter.js';
import { runOpsCli } from '../../../ops/ops-cli.js';
import { createStreamRecordFactory, streamArn } from '../../support/stream-records.js';
import { captureIo, consumerOutput, createFakeAws, createSqsClient, depsFor, NOW } from '../ops-fixtures.js';

const SENT_AT = NOW.getTime() - 2 * 3600_000 - 5 * 60_000;

/** A message as SQS returns it. */
function message(id: string, body: string): Message {
  return {
    MessageId: id,
    ReceiptHandle: `receipt-${id}`,
    Body: body,
    Attributes: { SentTimestamp: String(SENT_AT), ApproximateReceiveCount: '2' },
  };
}

/** The body the order-fanout runtime writes for a record that failed permanently. */
function runtimeLetterBody(orderId: string, sequenceNumber: string): string {
  const record = createStreamRecordFactory().insert({ orderId, totalCents: 19.99 }, { sequenceNumber });
  return encodeDeadLetter(
    buildDeadLetter({
      consumerName: 'order-fanout',
      record,
      sequenceNumber,
      errorName: 'PermanentError',
      reason: 'totalCents is not an integer',
      failedAt: new Date('2024-05-01T09:55:00.000Z'),
    }),
  );
}

/** The body Lambda's mapping sends to the on-failure destination for a discarded batch. */
function onFailureBody(overrides: { batchSize?: number } = {}): string {
  return JSON.stringify({
    requestContext: {
      requestId: '316aa6d0-8154-4a57-9af7-85d5f4a6bc81',
      functionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:order-fanout',
      condition: 'RetryAttemptsExhausted',
      approximateInvokeCount: 3,
    },
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
    version: '1.0',
    timestamp: '2024-05-01T09:56:00.000Z',
    DDBStreamBatchInfo: {
      shardId: 'shardId-00000001573689847184-864758bb',
      startSequenceNumber: '800000000003126276362',
      endSequenceNumber: '800000000003126276370',
      approximateArrivalOfFirstRecord: '2024-05-01T09:50:00Z',
      approximateArrivalOfLastRecord: '2024-05-01T09:50:02Z',
      batchSize: overrides.batchSize ?? 5,
      streamArn: streamArn('Orders'),
    },
  });
}

/** An SQS client whose ReceiveMessage answers the pages in turn, then nothing; `mock` records the calls. */
function sqsReturning(...pages: Message[][]) {
  const client = createSqsClient();
  const mock = mockClient(client);
  const receive = mock.on(ReceiveMessageCommand);
  for (const page of pages) receive.resolvesOnce({ Messages: page });
  receive.resolves({ Messages: [] });
  return { client, mock };
}

describe('npm run ops -- dlq', () => {
  it('list: decodes both kinds of letter and keeps the unrecognised, one line each, deleting nothing', async () => {
    // Prepare
    const { client, mock: sqs } = sqsReturning([
      message('m-1', runtimeLetterBody('o-1', '400000000000000000123')),
      message('m-2', onFailureBody()),
      message('m-3', 'not json at all'),
      message('m-4', '{"some":"other shape"}'),
    ]);
    const fake = createFakeAws(client);
    const io = captureIo();

    // Act
    const code = await runOpsCli(['dlq', 'list', 'order-fanout', '--stage', 'test'], io, depsFor(fake));

    // Assess
    expect(code).toBe(0);
    expect(sqs).toHaveReceivedCommandWith(ReceiveMessageCommand, {
      QueueUrl: consumerOutput('order-fanout', 'DeadLetterQueueUrl'),
      MaxNumberOfMessages: 10,
      VisibilityTimeout: 30,
      WaitTimeSeconds: 1,
      MessageSystemAttributeNames: ['SentTimestamp', 'ApproximateReceiveCount'],
    });
    expect(sqs).toHaveReceivedCommandTimes(DeleteMessageCommand, 0);
    const lines = io.out().trimEnd().split('\n');
    expect(lines).toEqual([
      'm-1  runtime       order-fanout  1 record INSERT seq 400000000000000000123  totalCents is not an integer  age 2h 5m',
      'm-2  on-failure    order-fanout  5 record(s) seq 800000000003126276362..800000000003126276370  ' +
        'RetryAttemptsExhausted (Unhandled)  age 2h 5m',
      'm-3  unrecognised  order-fanout  not json at all  age 2h 5m',
      'm-4  unrecognised  order-fanout  {"some":"other shape"}  age 2h 5m',
    ]);
    expect(io.err()).toContain('each hidden for 30 s, none deleted');
  });

  it('show: prints each letter in full, the runtime letter with keys, event name, sequence number and record', async () => {
    // Prepare
    const { client, mock: sqs } = sqsReturning([
      message('m-1', runtimeLetterBody('o-7', '400000000000000000777')),
      message('m-2', onFailureBody()),
    ]);
    const fake = createFakeAws(client);
    const io = captureIo();

    // Act
    const code = await runOpsCli(['dlq', 'show', 'order-fanout', '--stage', 'test'], io, depsFor(fake));

    // Assess
    expect(code).toBe(0);
    const out = io.out();
    expect(out).toContain('--- m-1 (runtime, order-fanout, age 2h 5m, received 2 time(s))');
    expect(out).toContain('sequence number: 400000000000000000777');
    expect(out).toContain('keys:            {"orderId":{"S":"o-7"}}');
    expect(out).toContain('event:           INSERT');
    expect(out).toContain('"totalCents": {');
    expect(out).toContain('condition:       RetryAttemptsExhausted after 3 invocation(s)');
    expect(out).toContain('shard:           shardId-00000001573689847184-864758bb');
    expect(sqs).toHaveReceivedCommandTimes(DeleteMessageCommand, 0);
  });

  it('show --json: one object with the decoded letters, a truncated runtime letter included', async () => {
    // Prepare
    const record = createStreamRecordFactory().insert({ orderId: 'o-9' }, { sequenceNumber: '9' });
    const full = buildDeadLetter({
      consumerName: 'order-fanout',
      record,
      sequenceNumber: '9',
      errorName: 'PermanentError',
      reason: 'too big',
      failedAt: NOW,
    });
    const truncated = fitDeadLetter(full, 10);
    const { client } = sqsReturning([
      message('m-1', encodeDeadLetter(truncated)),
      message('m-2', onFailureBody()),
    ]);
    const fake = createFakeAws(client);
    const io = captureIo();

    // Act
    const code = await runOpsCli(
      ['dlq', 'show', 'order-fanout', '--stage', 'test', '--json'],
      io,
      depsFor(fake),
    );

    // Assess
    expect(code).toBe(0);
    const json = JSON.parse(io.out()) as {
      letters: Array<Record<string, unknown>>;
      visibilityTimeoutSeconds: number;
    };
    expect(json.visibilityTimeoutSeconds).toBe(30);
    expect(json.letters[0]).toMatchObject({
      messageId: 'm-1',
      kind: 'runtime',
      letter: { truncated: true, sequenceNumber: '9', keys: { orderId: { S: 'o-9' } }, reason: 'too big' },
    });
    expect(json.letters[1]).toMatchObject({
      kind: 'on-failure',
      record: { DDBStreamBatchInfo: { batchSize: 5, streamArn: streamArn('Orders') } },
    });
  });

  it('reads up to --limit letters, asking for no more than remain', async () => {
    // Prepare
    const page = (from: number, n: number): Message[] =>
      Array.from({ length: n }, (_, i) => message(`m-${from + i}`, onFailureBody()));
    const { client, mock: sqs } = sqsReturning(page(0, 10), page(10, 2));
    const fake = createFakeAws(client);
    const io = captureIo();

    // Act
    const code = await runOpsCli(
      ['dlq', 'list', 'order-fanout', '--stage', 'test', '--limit', '12'],
      io,
      depsFor(fake),
    );

    // Assess
    expect(code).toBe(0);
    expect(sqs).toHaveReceivedCommandTimes(ReceiveMessageCommand, 2);
    expect(sqs).toHaveReceivedNthCommandWith(ReceiveMessageCommand, 1, { MaxNumberOfMessages: 10 });
    expect(sqs).toHaveReceivedNthCommandWith(ReceiveMessageCommand, 2, { MaxNumberOfMessages: 2 });
    expect(io.out().trimEnd().split('\n')).toHaveLength(12);
  });

  it('says so when the queue is empty', async () => {
    // Prepare
    const fake = createFakeAws(sqsReturning().client);
    const io = captureIo();

    // Act
    const code = await runOpsCli(['dlq', 'list', 'audit-log', '--stage', 'test'], io, depsFor(fake));

    // Assess
    expect(code).toBe(0);
    expect(io.out()).toBe(`No letters in ${consumerOutput('audit-log', 'DeadLetterQueueName')}.\n`);
  });
});
