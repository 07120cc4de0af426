import 'aws-sdk-client-mock-vitest/extend';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { SqsDeadLetterQueue } from '../../../../lambdas/shared/adapters/sqs-dead-letter-queue.js';
import type { DeadLetter } from '../../../../lambdas/shared/stream/dead-letter.js';
import { createStreamRecordFactory } from '../../../support/stream-records.js';

const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/order-fanout-dlq';
const sqs = mockClient(SQSClient);

describe('SqsDeadLetterQueue', () => {
  beforeEach(() => {
    sqs.reset();
  });

  it.each<[string, DeadLetter]>([
    [
      'a full letter',
      {
        truncated: false,
        consumerName: 'order-fanout',
        reason: 'bad total',
        errorName: 'PermanentError',
        eventId: 'e-1',
        eventName: 'INSERT',
        sequenceNumber: '400000000000000000001',
        keys: { orderId: { S: 'o-1' } },
        eventSourceArn: null,
        failedAt: '2024-05-01T12:00:05.000Z',
        record: createStreamRecordFactory().insert({ orderId: 'o-1' }),
      },
    ],
    [
      'a truncated letter',
      {
        truncated: true,
        sequenceNumber: '400000000000000000002',
        keys: { orderId: { S: 'o-2' } },
        reason: 'too big',
      },
    ],
  ])('sends %s as one SendMessage with its JSON as the body', async (_description, letter) => {
    // Prepare
    sqs.on(SendMessageCommand).resolves({ MessageId: 'm-1' });
    const queue = new SqsDeadLetterQueue(new SQSClient({}), QUEUE_URL);

    // Act
    await queue.send(letter);

    // Assess
    expect(sqs).toHaveReceivedCommandExactlyOnceWith(SendMessageCommand, {
      QueueUrl: QUEUE_URL,
      MessageBody: JSON.stringify(letter),
    });
    // The matcher above matches a subset of the input; this pins it down: no attributes, no group id, no delay.
    expect(sqs.commandCalls(SendMessageCommand)[0]?.args[0].input).toStrictEqual({
      QueueUrl: QUEUE_URL,
      MessageBody: JSON.stringify(letter),
    });
  });

  it('rejects when SQS rejects, so the runtime can retry the record', async () => {
    // Prepare
    sqs.on(SendMessageCommand).rejects(new Error('SQS is unavailable'));
    const queue = new SqsDeadLetterQueue(new SQSClient({}), QUEUE_URL);

    // Act
    const sending = queue.send({ truncated: true, sequenceNumber: '1', keys: null, reason: 'x' });

    // Assess
    await expect(sending).rejects.toThrow('SQS is unavailable');
  });
});
