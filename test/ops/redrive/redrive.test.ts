import 'aws-sdk-client-mock-vitest/extend';
import { DeleteMessageCommand, type Message, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { DynamoDBRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import {
  buildDeadLetter,
  encodeDeadLetter,
  type FullDeadLetter,
} from '../../../lambdas/shared/stream/dead-letter.js';
import type { OpsConsumerName } from '../../../lib/stage-outputs.js';
import { runOpsCli } from '../../../ops/ops-cli.js';
import {
  chunksOf,
  inStreamOrder,
  MAX_RECORDS_PER_INVOKE,
  SENT_TIME_SKEW_MS,
} from '../../../ops/redrive/redrive.js';
import { createStreamRecordFactory, streamArn } from '../../support/stream-records.js';
import {
  captureIo,
  consumerOutput,
  createFakeAws,
  createFakeFunction,
  createFakeQueue,
  createFakeStream,
  createSqsClient,
  depsFor,
  type FakeFunction,
  type FakeQueue,
  NOW,
  STAGE,
} from '../ops-fixtures.js';

const SHARD = 'shardId-00000001573689847184-864758bb';

function runtimeLetterBody(record: DynamoDBRecord, consumerName: OpsConsumerName = 'order-fanout'): string {
  const letter: FullDeadLetter = buildDeadLetter({
    consumerName,
    record,
    sequenceNumber: record.dynamodb?.SequenceNumber ?? '',
    errorName: 'PermanentError',
    reason: 'totalCents is not an integer',
    failedAt: new Date('2024-05-01T09:55:00.000Z'),
  });
  return encodeDeadLetter(letter);
}

function truncatedLetterBody(sequenceNumber: string): string {
  return encodeDeadLetter({ truncated: true, sequenceNumber, keys: null, reason: 'too large' });
}

function onFailureBody(
  start: string,
  end: string,
  batchSize: number,
  consumer: OpsConsumerName = 'order-fanout',
  table = 'Orders',
): string {
  return JSON.stringify({
    requestContext: {
      requestId: '316aa6d0-8154-4a57-9af7-85d5f4a6bc81',
      functionArn: `arn:aws:lambda:eu-west-1:123456789012:function:${consumerOutput(consumer, 'FunctionName')}`,
      condition: 'RetryAttemptsExhausted',
      approximateInvokeCount: 3,
    },
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
    version: '1.0',
    timestamp: '2024-05-01T09:56:00.000Z',
    DDBStreamBatchInfo: {
      shardId: SHARD,
      startSequenceNumber: start,
      endSequenceNumber: end,
      approximateArrivalOfFirstRecord: '2024-05-01T09:50:00Z',
      approximateArrivalOfLastRecord: '2024-05-01T09:50:02Z',
      batchSize,
      streamArn: streamArn(table),
    },
  });
}

function seqOf(record: DynamoDBRecord): string {
  return record.dynamodb?.SequenceNumber ?? '';
}

interface Setup {
  readonly queue: FakeQueue;
  readonly fn: FakeFunction;
  readonly stream: ReturnType<typeof createFakeStream>;
}

function setup(shard: readonly DynamoDBRecord[] | 'trimmed' = []): Setup {
  return {
    queue: createFakeQueue(),
    fn: createFakeFunction(),
    stream: createFakeStream(new Map([[SHARD, shard]])),
  };
}

async function run(s: Setup, argv: readonly string[]) {
  const io = captureIo();
  const fake = createFakeAws(createSqsClient(), {
    deadLetterQueues: s.queue,
    functions: s.fn,
    streams: s.stream,
  });
  const code = await runOpsCli(['redrive', ...argv, '--stage', STAGE], io, depsFor(fake));
  return { code, out: io.out(), err: io.err() };
}

describe('npm run ops -- redrive', () => {
  it('redrives a full runtime letter: one RequestResponse invoke of its record, then deletes it', async () => {
    // Prepare
    const record = createStreamRecordFactory().insert({ orderId: 'o-1', totalCents: 1999 });
    const s = setup();
    s.queue.send('m-1', runtimeLetterBody(record));

    // Act
    const { code, out, err } = await run(s, ['order-fanout', '--json']);

    // Assess
    expect(code).toBe(0);
    expect(s.fn.invocations).toEqual([
      { functionName: consumerOutput('order-fanout', 'FunctionName'), sequenceNumbers: [seqOf(record)] },
    ]);
    expect(s.queue.deletedIds).toEqual(['m-1']);
    expect(s.queue.receives[0]).toEqual({ limit: 10, visibilityTimeoutSeconds: 300 });
    expect(err).toContain('m-1 runtime: redriven (1 record(s), 1 invocation(s)), deleted');
    expect(JSON.parse(out)).toMatchObject({
      stage: STAGE,
      consumer: 'order-fanout',
      lettersRead: 1,
      redriven: 1,
      deleted: 1,
      recordsInvoked: 1,
      invocations: 1,
      notDone: [],
      unrecoverable: [],
      skipped: [],
      ok: true,
    });
  });

  it('hands a record the consumer dead-letters again back once per run, keeping the new letter', async () => {
    // Prepare: a poison record; the function, like the stream runtime, dead-letters it again and reports it done.
    const record = createStreamRecordFactory().insert({ orderId: 'o-poison', totalCents: 19.99 });
    const s = setup();
    s.queue.send('m-1', runtimeLetterBody(record));
    const invoke = s.fn.invoke;
    let letters = 1;
    s.fn.invoke = async (functionName, payload) => {
      // Bounded, so that a redrive that loops fails here instead of hanging.
      if (letters > 5) throw new Error('the redrive keeps handing the same record back');
      const result = await invoke(functionName, payload);
      letters += 1;
      s.queue.send(`m-${letters}`, runtimeLetterBody(record));
      return result;
    };

    // Act
    const { code, out } = await run(s, ['order-fanout', '--json']);

    // Assess: one invocation; the old letter deleted, the new one kept and reported, and the run ends.
    expect(code).toBe(1);
    expect(s.fn.invocations).toHaveLength(1);
    expect(s.queue.deletedIds).toEqual(['m-1']);
    expect([...s.queue.messages.keys()]).toEqual(['m-2']);
    expect(JSON.parse(out).notDone).toEqual([
      expect.objectContaining({
        messageId: 'm-2',
        reason: `dead-lettered again by this run (seq ${seqOf(record)}): totalCents is not an integer`,
      }),
    ]);
  });

  it('deletes older copies of a letter whose record it handed back, but keeps the one the hand-back wrote', async () => {
    // Prepare: the runtime wrote the same permanent record's letter twice before the run (its batch was re-delivered
    // after a partial failure), and a range letter holds the record too. Handed back, it fails permanently again:
    // the function writes a new letter, sent at the hand-back.
    const record = createStreamRecordFactory().insert({ orderId: 'o-1', totalCents: 19.99 });
    const s = setup([record]);
    const before = new Date(NOW.getTime() - 60_000);
    s.queue.send('m-range', onFailureBody(seqOf(record), seqOf(record), 1), before);
    s.queue.send('m-copy-1', runtimeLetterBody(record), before);
    s.queue.send('m-copy-2', runtimeLetterBody(record), before);
    const invoke = s.fn.invoke;
    s.fn.invoke = async (functionName, payload) => {
      const result = await invoke(functionName, payload);
      s.queue.send('m-new', runtimeLetterBody(record), NOW);
      return result;
    };

    // Act
    const { code, out, err } = await run(s, ['order-fanout', '--json']);

    // Assess: one hand-back; both copies deleted without an invocation; the new letter kept and reported.
    expect(s.fn.invocations).toHaveLength(1);
    expect(s.queue.deletedIds).toEqual(['m-range', 'm-copy-1', 'm-copy-2']);
    expect([...s.queue.messages.keys()]).toEqual(['m-new']);
    expect(err).toContain(
      `m-copy-1 runtime: deleted, a copy of seq ${seqOf(record)}, already handed back by this run`,
    );
    expect(code).toBe(1);
    expect(JSON.parse(out)).toMatchObject({
      lettersRead: 4,
      redriven: 3,
      recordsInvoked: 1,
      invocations: 1,
      notDone: [expect.objectContaining({ messageId: 'm-new' })],
    });
  });

  it('keeps a copy sent within the clock skew allowance of the hand-back: it may be the new letter', async () => {
    // Prepare: a range and a letter of the same record, the letter stamped just before the hand-back.
    const record = createStreamRecordFactory().insert({ orderId: 'o-1', totalCents: 1999 });
    const s = setup([record]);
    s.queue.send('m-range', onFailureBody(seqOf(record), seqOf(record), 1), new Date(NOW.getTime() - 60_000));
    s.queue.send('m-recent', runtimeLetterBody(record), new Date(NOW.getTime() - SENT_TIME_SKEW_MS / 2));

    // Act
    const { code } = await run(s, ['order-fanout', '--json']);

    // Assess: kept for the next run, which hands its record back again.
    expect(code).toBe(1);
    expect([...s.queue.messages.keys()]).toEqual(['m-recent']);
  });

  it('keeps a letter whose record the function reports in batchItemFailures', async () => {
    // Prepare
    const record = createStreamRecordFactory().insert({ orderId: 'o-1', totalCents: 1999 });
    const s = setup();
    s.queue.send('m-1', runtimeLetterBody(record));
    s.fn.failing.add(seqOf(record));

    // Act
    const { code, out } = await run(s, ['order-fanout']);

    // Assess
    expect(code).toBe(1);
    expect(s.fn.invocations).toHaveLength(1);
    expect(s.queue.deletedIds).toEqual([]);
    expect(s.queue.messages.has('m-1')).toBe(true);
    expect(out).toContain(`NOT done, kept: the function reported 1 record(s) not done: ${seqOf(record)}`);
  });

  it('keeps a letter when the invocation answers a FunctionError', async () => {
    // Prepare
    const record = createStreamRecordFactory().insert({ orderId: 'o-1', totalCents: 1999 });
    const s = setup();
    s.queue.send('m-1', runtimeLetterBody(record));
    s.fn.throwing = true;

    // Act
    const { code, out } = await run(s, ['order-fanout', '--json']);

    // Assess
    expect(code).toBe(1);
    expect(s.queue.deletedIds).toEqual([]);
    const summary = JSON.parse(out);
    expect(summary.redriven).toBe(0);
    expect(summary.notDone).toEqual([
      expect.objectContaining({
        messageId: 'm-1',
        status: 'not-done',
        reason: expect.stringContaining('FunctionError Unhandled'),
      }),
    ]);
  });

  it('re-reads an on-failure range from the stream and invokes its records in order, in chunks of 100', async () => {
    // Prepare: 250 records in the shard, the range covers 230 of them (from the 11th)
    const factory = createStreamRecordFactory();
    const shard = Array.from({ length: 250 }, (_, i) => factory.insert({ orderId: `o-${i}`, totalCents: i }));
    const range = shard.slice(10, 240);
    const s = setup(shard);
    s.queue.send(
      'm-1',
      onFailureBody(
        seqOf(range[0] as DynamoDBRecord),
        seqOf(range.at(-1) as DynamoDBRecord),
        230,
        'search-sync',
      ),
    );

    // Act
    const { code, out } = await run(s, ['search-sync', '--json']);

    // Assess
    expect(code).toBe(0);
    expect(s.stream.reads).toEqual([
      {
        shardId: SHARD,
        start: seqOf(range[0] as DynamoDBRecord),
        end: seqOf(range.at(-1) as DynamoDBRecord),
      },
    ]);
    expect(s.fn.invocations.map((invocation) => invocation.sequenceNumbers.length)).toEqual([100, 100, 30]);
    expect(s.fn.invocations.flatMap((invocation) => invocation.sequenceNumbers)).toEqual(range.map(seqOf));
    expect(s.queue.deletedIds).toEqual(['m-1']);
    expect(JSON.parse(out)).toMatchObject({ recordsInvoked: 230, invocations: 3, deleted: 1 });
  });

  it('stops at the first chunk not done and keeps the letter', async () => {
    // Prepare
    const factory = createStreamRecordFactory();
    const shard = Array.from({ length: 150 }, (_, i) => factory.insert({ orderId: `o-${i}`, totalCents: i }));
    const s = setup(shard);
    s.queue.send(
      'm-1',
      onFailureBody(seqOf(shard[0] as DynamoDBRecord), seqOf(shard[149] as DynamoDBRecord), 150),
    );
    s.fn.failing.add(seqOf(shard[120] as DynamoDBRecord));

    // Act
    const { code } = await run(s, ['order-fanout']);

    // Assess
    expect(code).toBe(1);
    expect(s.fn.invocations).toHaveLength(2);
    expect(s.queue.deletedIds).toEqual([]);
  });

  it.each([
    ['search-sync', `npm run ops -- backfill search --stage ${STAGE} --region eu-west-1`],
    ['vote-aggregator', `npm run ops -- reconcile votes --fix --stage ${STAGE} --region eu-west-1`],
    [
      'order-fanout',
      `npm run ops -- replay order-fanout --from 2024-05-01T09:49:00.000Z --to 2024-05-01T09:51:02.000Z --stage ${STAGE} --region eu-west-1`,
    ],
    [
      'audit-log',
      'none: the changes from 2024-05-01T09:50:00Z to 2024-05-01T09:50:02Z are lost from the audit log (the table keeps current items only); record the gap (docs/runbook.md)',
    ],
  ] as const)(
    'keeps a range the stream no longer holds and reports the repair for %s',
    async (consumer, repair) => {
      // Prepare
      const s = setup('trimmed');
      s.queue.send('m-1', onFailureBody('400000000000000000001', '400000000000000000009', 5, consumer));

      // Act
      const { code, out } = await run(s, [consumer, '--json']);

      // Assess
      expect(code).toBe(1);
      expect(s.fn.invocations).toEqual([]);
      expect(s.queue.deletedIds).toEqual([]);
      expect(JSON.parse(out).unrecoverable).toEqual([
        expect.objectContaining({ messageId: 'm-1', shardId: SHARD, repair }),
      ]);
    },
  );

  it('skips truncated letters and unrecognised messages, keeping them', async () => {
    // Prepare
    const s = setup();
    s.queue.send('m-1', truncatedLetterBody('400000000000000000001'));
    s.queue.send('m-2', 'not a letter');

    // Act
    const { code, out } = await run(s, ['audit-log', '--json']);

    // Assess
    expect(code).toBe(1);
    expect(s.fn.invocations).toEqual([]);
    expect(s.queue.deletedIds).toEqual([]);
    expect(JSON.parse(out).skipped.map((o: { kind: string }) => o.kind)).toEqual([
      'truncated',
      'unrecognised',
    ]);
  });

  it('--dry-run plans without Invoke, DeleteMessage or stream read, hiding letters 30 s only', async () => {
    // Prepare
    const record = createStreamRecordFactory().insert({ orderId: 'o-1', totalCents: 1 });
    const s = setup([record]);
    s.queue.send('m-1', runtimeLetterBody(record));
    s.queue.send('m-2', onFailureBody(seqOf(record), seqOf(record), 1));

    // Act
    const { code, out } = await run(s, ['order-fanout', '--dry-run', '--json']);

    // Assess
    expect(code).toBe(0);
    expect(s.fn.invocations).toEqual([]);
    expect(s.queue.deletedIds).toEqual([]);
    expect(s.stream.reads).toEqual([]);
    expect(s.queue.receives.every((r) => r.visibilityTimeoutSeconds === 30)).toBe(true);
    expect(JSON.parse(out).planned.map((o: { kind: string }) => o.kind)).toEqual(['runtime', 'on-failure']);
  });

  it('--limit reads at most that many letters', async () => {
    // Prepare
    const factory = createStreamRecordFactory();
    const s = setup();
    for (let i = 0; i < 25; i += 1)
      s.queue.send(`m-${i}`, runtimeLetterBody(factory.insert({ orderId: `o-${i}`, totalCents: i })));

    // Act
    const { code, out } = await run(s, ['order-fanout', '--limit', '12', '--json']);

    // Assess
    expect(code).toBe(0);
    expect(s.queue.receives.map((r) => r.limit)).toEqual([10, 2]);
    expect(JSON.parse(out)).toMatchObject({ lettersRead: 12, deleted: 12 });
    expect(s.queue.messages.size).toBe(13);
  });

  it('is safe to repeat: a second run finds nothing and changes nothing; a kept letter is retried by the next run', async () => {
    // Prepare
    const factory = createStreamRecordFactory();
    const records = Array.from({ length: 3 }, (_, i) => factory.insert({ orderId: `o-${i}`, totalCents: i }));
    const s = setup(records);
    s.queue.send('m-1', runtimeLetterBody(records[0] as DynamoDBRecord));
    s.queue.send(
      'm-2',
      onFailureBody(seqOf(records[1] as DynamoDBRecord), seqOf(records[2] as DynamoDBRecord), 2),
    );
    s.queue.send('m-3', runtimeLetterBody(factory.insert({ orderId: 'o-9', totalCents: 9 })));
    const stuck = [...s.queue.messages.keys()].at(-1) as string;
    const stuckSeq = String(factory.insert({ orderId: 'x', totalCents: 0 }).dynamodb?.SequenceNumber);
    s.fn.failing.add(String(BigInt(stuckSeq) - 1n));

    // Act: first run, the visibility timeout runs out, second run, the cause fixed, third run
    const first = await run(s, ['order-fanout', '--json']);
    s.queue.returnInFlight();
    const applied = new Set(s.fn.applied);
    const second = await run(s, ['order-fanout', '--json']);
    const appliedAfterSecond = new Set(s.fn.applied);
    s.queue.returnInFlight();
    s.fn.failing.clear();
    const third = await run(s, ['order-fanout', '--json']);
    s.queue.returnInFlight();
    const fourth = await run(s, ['order-fanout', '--json']);

    // Assess
    expect(first.code).toBe(1);
    expect(JSON.parse(first.out)).toMatchObject({ lettersRead: 3, deleted: 2 });
    expect(JSON.parse(second.out)).toMatchObject({ lettersRead: 1, deleted: 0 });
    expect(appliedAfterSecond).toEqual(applied);
    expect(second.code).toBe(1);
    expect(JSON.parse(third.out)).toMatchObject({ lettersRead: 1, deleted: 1 });
    expect(third.code).toBe(0);
    expect(JSON.parse(fourth.out)).toMatchObject({ lettersRead: 0, deleted: 0, ok: true });
    expect(s.queue.messages.size).toBe(0);
    expect(s.queue.deletedIds).toEqual(['m-1', 'm-2', stuck]);
    expect([...s.fn.appliedTimes.values()].every((times) => times === 1)).toBe(true);
    expect(s.fn.applied.size).toBe(4);
  });

  it.each([
    [['order-fanout', '--limit', '0'], '--limit must be an integer >= 1'],
    [['nobody'], 'redrive: <consumer> must be one of'],
    [['order-fanout', '--body', '{}'], '--body does not apply to redrive'],
    [['order-fanout', '--force'], "Unknown option '--force'"],
  ])('bad usage %j exits 2 naming the flag', async (argv, message) => {
    // Prepare
    const s = setup();

    // Act
    const { code, err } = await run(s, argv);

    // Assess
    expect(code).toBe(2);
    expect(err).toContain(message);
    expect(s.queue.receives).toEqual([]);
  });

  it('--dry-run does not apply to dlq', async () => {
    // Act
    const io = captureIo();
    const code = await runOpsCli(
      ['dlq', 'list', 'order-fanout', '--dry-run', '--stage', STAGE],
      io,
      depsFor(createFakeAws(createSqsClient())),
    );

    // Assess
    expect(code).toBe(2);
    expect(io.err()).toContain('--dry-run does not apply to dlq');
  });

  it('through the SQS adapter: ReceiveMessage with a 300 s visibility, DeleteMessage with the receipt handle', async () => {
    // Prepare
    const record = createStreamRecordFactory().insert({ orderId: 'o-1', totalCents: 1999 });
    const client = createSqsClient();
    const sqs = mockClient(client);
    const message: Message = {
      MessageId: 'm-1',
      ReceiptHandle: 'receipt-m-1',
      Body: runtimeLetterBody(record),
    };
    sqs
      .on(ReceiveMessageCommand)
      .resolvesOnce({ Messages: [message] })
      .resolves({ Messages: [] });
    sqs.on(DeleteMessageCommand).resolves({});
    const fn = createFakeFunction();
    const io = captureIo();

    // Act
    const code = await runOpsCli(
      ['redrive', 'order-fanout', '--stage', STAGE],
      io,
      depsFor(createFakeAws(client, { functions: fn })),
    );

    // Assess
    expect(code).toBe(0);
    const queueUrl = consumerOutput('order-fanout', 'DeadLetterQueueUrl');
    expect(sqs).toHaveReceivedCommandWith(ReceiveMessageCommand, {
      QueueUrl: queueUrl,
      MaxNumberOfMessages: 10,
      VisibilityTimeout: 300,
    });
    expect(sqs).toHaveReceivedCommandTimes(DeleteMessageCommand, 1);
    expect(sqs).toHaveReceivedCommandWith(DeleteMessageCommand, {
      QueueUrl: queueUrl,
      ReceiptHandle: 'receipt-m-1',
    });
  });
});

describe('stream order and chunks', () => {
  it('sorts by sequence number numerically (length, then text), stably', () => {
    // Prepare
    const factory = createStreamRecordFactory();
    const a = factory.insert({ orderId: 'a', totalCents: 1 }, { sequenceNumber: '999999999999999999999' });
    const b = factory.insert({ orderId: 'b', totalCents: 1 }, { sequenceNumber: '1000000000000000000000' });
    const c = factory.insert({ orderId: 'c', totalCents: 1 }, { sequenceNumber: '100000000000000000000' });

    // Act
    const ordered = inStreamOrder([b, a, c]);

    // Assess
    expect(ordered.map(seqOf)).toEqual([seqOf(c), seqOf(a), seqOf(b)]);
  });

  it(`chunks at ${MAX_RECORDS_PER_INVOKE} records and by payload size`, () => {
    // Prepare
    const factory = createStreamRecordFactory();
    const small = Array.from({ length: 201 }, (_, i) => factory.insert({ orderId: `o-${i}`, totalCents: i }));
    const big = Array.from({ length: 3 }, (_, i) =>
      factory.insert({ orderId: `b-${i}`, blob: 'x'.repeat(2_000_000) }),
    );

    // Act
    const bySize = chunksOf(small).map((chunk) => chunk.length);
    const byBytes = chunksOf(big).map((chunk) => chunk.length);

    // Assess
    expect(bySize).toEqual([100, 100, 1]);
    expect(byBytes).toEqual([2, 1]);
  });
});
