import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildDeadLetter, type FullDeadLetter } from '../../../lambdas/shared/stream/dead-letter.js';
import {
  DEAD_LETTER_SOURCE,
  InvalidQueueNameError,
  LocalDeadLetterQueue,
  LocalQueue,
  LocalQueues,
  localOnFailureSink,
  localQueueFilePath,
  localQueueUrl,
  ON_FAILURE_SOURCE,
  queueNameFromUrl,
  readQueueMessages,
  UnknownQueueUrlError,
} from '../../../sandbox/adapters/local-sqs.js';
import type { OnFailureMessage } from '../../../sandbox/esm/types.js';
import { createStreamRecordFactory } from '../../support/stream-records.js';

const FIXED_NOW = Date.parse('2024-05-01T12:00:00.000Z');

function deadLetterFor(orderId: string): FullDeadLetter {
  const records = createStreamRecordFactory();
  return buildDeadLetter({
    consumerName: 'probe',
    record: records.insert({ orderId, totalCents: 12_345, blob: new Uint8Array([1, 2, 3]) }),
    sequenceNumber: '400000000000000000001',
    errorName: 'PermanentError',
    reason: 'rejected',
    failedAt: new Date(FIXED_NOW),
  });
}

function onFailureMessage(overrides: Partial<OnFailureMessage['DDBStreamBatchInfo']> = {}): OnFailureMessage {
  return {
    requestContext: {
      requestId: 'req-1',
      functionArn: 'arn:aws:lambda:eu-west-1:000000000000:function:probe',
      condition: 'RetryAttemptsExhausted',
      approximateInvokeCount: 3,
    },
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
    version: '1.0',
    timestamp: new Date(FIXED_NOW).toISOString(),
    DDBStreamBatchInfo: {
      shardId: 'shard-1',
      startSequenceNumber: '400000000000000000001',
      endSequenceNumber: '400000000000000000002',
      approximateArrivalOfFirstRecord: new Date(FIXED_NOW).toISOString(),
      approximateArrivalOfLastRecord: new Date(FIXED_NOW).toISOString(),
      batchSize: 2,
      streamArn: 'arn:aws:dynamodb:eu-west-1:000000000000:table/t/stream/x',
      ...overrides,
    },
  };
}

describe('local queue URLs', () => {
  it.each(['probe-dlq', 'orders_warehouse.fifo', 'a', 'x'.repeat(80)])('round-trips %s', (name) => {
    expect(queueNameFromUrl(localQueueUrl(name))).toBe(name);
  });

  it.each([
    'https://sqs.eu-west-1.amazonaws.com/123456789012/probe-dlq',
    'https://sqs.sandbox.localhost/000000000000/',
    'https://sqs.sandbox.localhost/000000000000/../etc',
    'https://sqs.sandbox.localhost/000000000000/a/b',
  ])('refuses %s', (url) => {
    expect(() => queueNameFromUrl(url)).toThrow(UnknownQueueUrlError);
  });

  it.each(['', 'has space', 'a/b', `${'x'.repeat(81)}`, `${'x'.repeat(78)}.fifo`])(
    'refuses the queue name %j',
    (name) => {
      expect(() => localQueueUrl(name)).toThrow(InvalidQueueNameError);
    },
  );
});

describe('local SQS adapters', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'local-sqs-test-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores a dead letter as one message with the letter as its body, losslessly', async () => {
    // Prepare
    const queue = new LocalQueue(dir, 'probe-dlq', () => FIXED_NOW);
    const letter = deadLetterFor('o-1');

    // Act
    await new LocalDeadLetterQueue(queue).send(letter);

    // Assess
    const [message, ...rest] = await readQueueMessages(dir, 'probe-dlq');
    expect(rest).toEqual([]);
    expect(message).toMatchObject({
      source: DEAD_LETTER_SOURCE,
      sentAt: '2024-05-01T12:00:00.000Z',
      body: { consumerName: 'probe', reason: 'rejected', sequenceNumber: '400000000000000000001' },
    });
    expect(message?.messageId).toMatch(/^[0-9a-f-]{36}$/);
    const body = message?.body as FullDeadLetter;
    expect(body.record.dynamodb?.NewImage).toEqual({
      orderId: { S: 'o-1' },
      totalCents: { N: '12345' },
      blob: { B: 'AQID' },
    });
    expect(queue.sentCount).toBe(1);
  });

  it('writes on-failure messages to the same file as the dead letters of the queue, in order', async () => {
    // Prepare
    const queues = new LocalQueues(dir, () => FIXED_NOW);
    const queue = queues.byName('probe-dlq');
    const sink = localOnFailureSink(queues.byUrl(queue.url));
    const dlq = new LocalDeadLetterQueue(queues.byUrl(queue.url));

    // Act
    await dlq.send(deadLetterFor('o-1'));
    await sink(onFailureMessage());
    await dlq.send(deadLetterFor('o-2'));

    // Assess
    const messages = await queue.readAll();
    expect(messages.map((m) => m.source)).toEqual([
      DEAD_LETTER_SOURCE,
      ON_FAILURE_SOURCE,
      DEAD_LETTER_SOURCE,
    ]);
    expect(messages[1]?.body).toEqual(onFailureMessage());
    expect(queues.byName('probe-dlq')).toBe(queue);
    expect(queue.sentCount).toBe(3);
    expect(queue.file.path).toBe(localQueueFilePath(dir, 'probe-dlq'));
  });

  it('keeps FIFO fields and attributes when given', async () => {
    // Prepare
    const queue = new LocalQueue(dir, 'warehouse.fifo');

    // Act
    await queue.send({
      source: 'order-fanout',
      body: { orderId: 'o-1' },
      attributes: { type: 'OrderPlaced' },
      messageGroupId: 'o-1',
      messageDeduplicationId: 'seq-1',
    });

    // Assess
    expect(await queue.readAll()).toEqual([
      expect.objectContaining({
        body: { orderId: 'o-1' },
        attributes: { type: 'OrderPlaced' },
        messageGroupId: 'o-1',
        messageDeduplicationId: 'seq-1',
      }),
    ]);
  });

  it('does not count a message that could not be stored', async () => {
    // Prepare: the sqs directory's place is taken by a file, so no queue file can be created.
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(dir, 'sqs'), '');
    const queue = new LocalQueue(dir, 'probe-dlq');

    // Act
    const sent = new LocalDeadLetterQueue(queue).send(deadLetterFor('o-1'));

    // Assess: the runtime sees the rejection and retries the record as transient.
    await expect(sent).rejects.toThrow();
    expect(queue.sentCount).toBe(0);
  });
});
