import 'aws-sdk-client-mock-vitest/extend';
import { RequestThrottled, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, expectTypeOf, it } from 'vitest';
import { BatchTooLargeError } from '../../../../lambdas/order-fanout/adapters/batch-entry-failure.js';
import {
  type SqsSendBatchClient,
  SqsWarehouseQueue,
} from '../../../../lambdas/order-fanout/adapters/sqs-warehouse-queue.js';
import type { RecordOutcome } from '../../../../lambdas/shared/stream/stream-handler.js';
import { warehouseMessage } from './factories.js';

const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/warehouse.fifo';
const sqs = mockClient(SQSClient);

function queue(): SqsWarehouseQueue {
  return new SqsWarehouseQueue(new SQSClient({}), QUEUE_URL);
}

function messages(count: number): ReturnType<typeof warehouseMessage>[] {
  return Array.from({ length: count }, (_unused, n) => warehouseMessage(n));
}

describe('SqsWarehouseQueue', () => {
  beforeEach(() => {
    sqs.reset();
  });

  it('accepts the real SQSClient as its client (type-level check)', () => {
    expectTypeOf<SQSClient>().toExtend<SqsSendBatchClient>();
  });

  it('sends the messages as one SendMessageBatch with Ids m0.., JSON bodies, group and deduplication ids', async () => {
    // Prepare
    const cancelled = warehouseMessage(1, {
      deduplicationId: 'o-1:MODIFY:3:OrderCancelled',
      body: {
        schemaVersion: 1,
        type: 'OrderCancelled',
        orderId: 'o-1',
        version: 3,
        lines: [{ sku: 'A-1', qty: 2 }],
        reason: 'cancelled',
      },
    });
    const batch = [warehouseMessage(1), cancelled];
    sqs.on(SendMessageBatchCommand).resolves({
      Successful: [
        { Id: 'm0', MessageId: 'q-0', MD5OfMessageBody: 'x' },
        { Id: 'm1', MessageId: 'q-1', MD5OfMessageBody: 'y' },
      ],
      Failed: [],
    });

    // Act
    const results = await queue().sendBatch(batch);

    // Assess
    expect(results).toEqual([{ kind: 'ok' }, { kind: 'ok' }]);
    expect(sqs).toHaveReceivedCommandTimes(SendMessageBatchCommand, 1);
    expect(sqs.commandCalls(SendMessageBatchCommand)[0]?.args[0].input).toStrictEqual({
      QueueUrl: QUEUE_URL,
      Entries: [
        {
          Id: 'm0',
          MessageBody: JSON.stringify(batch[0]?.body),
          MessageGroupId: 'o-1',
          MessageDeduplicationId: 'o-1:INSERT:1:OrderPlaced',
        },
        {
          Id: 'm1',
          MessageBody: JSON.stringify(cancelled.body),
          MessageGroupId: 'o-1',
          MessageDeduplicationId: 'o-1:MODIFY:3:OrderCancelled',
        },
      ],
    });
  });

  it('marks only the entries it is told are re-sends with the possibleDuplicate attribute', async () => {
    // Prepare
    const batch = messages(2);
    sqs.on(SendMessageBatchCommand).resolves({
      Successful: [
        { Id: 'm0', MessageId: 'q-0', MD5OfMessageBody: 'x' },
        { Id: 'm1', MessageId: 'q-1', MD5OfMessageBody: 'y' },
      ],
      Failed: [],
    });

    // Act
    await queue().sendBatch(batch, { possibleDuplicates: new Set([1]) });

    // Assess
    expect(sqs.commandCalls(SendMessageBatchCommand)[0]?.args[0].input).toStrictEqual({
      QueueUrl: QUEUE_URL,
      Entries: [
        {
          Id: 'm0',
          MessageBody: JSON.stringify(batch[0]?.body),
          MessageGroupId: batch[0]?.groupId,
          MessageDeduplicationId: batch[0]?.deduplicationId,
        },
        {
          Id: 'm1',
          MessageBody: JSON.stringify(batch[1]?.body),
          MessageGroupId: batch[1]?.groupId,
          MessageDeduplicationId: batch[1]?.deduplicationId,
          MessageAttributes: { possibleDuplicate: { DataType: 'String', StringValue: 'true' } },
        },
      ],
    });
  });

  it('maps a mixed response back to each entry by Id, whatever the order of the lists', async () => {
    // Prepare
    sqs.on(SendMessageBatchCommand).resolves({
      // m2 is in neither list.
      Successful: [
        { Id: 'm3', MessageId: 'q-3', MD5OfMessageBody: 'x' },
        { Id: 'm0', MessageId: 'q-0', MD5OfMessageBody: 'x' },
      ],
      Failed: [
        { Id: 'm1', Code: 'InvalidParameterValue', Message: 'Message too long', SenderFault: true },
        { Id: 'm4', Code: 'InternalError', Message: 'Internal error', SenderFault: false },
      ],
    });

    // Act
    const results = await queue().sendBatch(messages(5));

    // Assess
    expect(results.map((result) => result.kind)).toEqual(['ok', 'permanent', 'transient', 'ok', 'transient']);
    expect(results[1]).toMatchObject({
      errorName: 'InvalidParameterValue',
      reason: 'SQS SendMessageBatch failed the entry with InvalidParameterValue: Message too long',
    });
    expect(results[2]).toEqual({
      kind: 'transient',
      reason: 'SQS SendMessageBatch reported no result for entry m2',
    });
  });

  describe.each<[code: string, senderFault: boolean | undefined, expected: RecordOutcome['kind']]>([
    // Service-side failures: retry.
    ['InternalError', false, 'transient'],
    ['InvalidParameterValue', false, 'transient'],
    ['SomethingNew', undefined, 'transient'],
    // Throttling, reported as the sender's fault (classifyError's list and SQS's own KMS spelling).
    ['RequestThrottled', true, 'transient'],
    ['ThrottlingException', true, 'transient'],
    ['KmsThrottled', true, 'transient'],
    ['KMS.ThrottlingException', true, 'transient'],
    ['OverLimit', true, 'transient'],
    // Key, permission and queue problems an operator fixes.
    ['KMS.AccessDeniedException', true, 'transient'],
    ['KMS.DisabledException', true, 'transient'],
    ['KMS.InvalidStateException', true, 'transient'],
    ['KMS.NotFoundException', true, 'transient'],
    ['KMS.OptInRequired', true, 'transient'],
    ['KMS.InvalidKeyUsageException', true, 'transient'],
    ['KmsAccessDenied', true, 'transient'],
    ['AccessDenied', true, 'transient'],
    ['InvalidSecurity', true, 'transient'],
    ['AWS.SimpleQueueService.NonExistentQueue', true, 'transient'],
    ['QueueDoesNotExist', true, 'transient'],
    // The message's content: permanent.
    ['InvalidParameterValue', true, 'permanent'],
    ['InvalidMessageContents', true, 'permanent'],
    ['MissingParameter', true, 'permanent'],
  ])('a Failed entry with Code %s and SenderFault %s', (code, senderFault, expected) => {
    it(`is ${expected}`, async () => {
      // Prepare
      sqs.on(SendMessageBatchCommand).resolves({
        Successful: [{ Id: 'm1', MessageId: 'q-1', MD5OfMessageBody: 'x' }],
        Failed: [{ Id: 'm0', Code: code, Message: 'details', SenderFault: senderFault }],
      });

      // Act
      const results = await queue().sendBatch(messages(2));

      // Assess
      expect(results[0]).toMatchObject({
        kind: expected,
        reason: `SQS SendMessageBatch failed the entry with ${code}: details`,
      });
      expect(results[1]).toEqual({ kind: 'ok' });
    });
  });

  it('throws a whole-call failure for the domain to classify', async () => {
    // Prepare
    const throttled = new RequestThrottled({ message: 'Request is throttled', $metadata: {} });
    sqs.on(SendMessageBatchCommand).rejects(throttled);

    // Act
    const sending = queue().sendBatch(messages(2));

    // Assess
    await expect(sending).rejects.toBe(throttled);
  });

  it('refuses more than SQS_SEND_BATCH_MAX messages without calling SQS', async () => {
    // Act
    const sending = queue().sendBatch(messages(11));

    // Assess
    await expect(sending).rejects.toThrow(BatchTooLargeError);
    expect(sqs).not.toHaveReceivedCommand(SendMessageBatchCommand);
  });

  it('answers an empty batch without calling SQS (which rejects empty batches)', async () => {
    // Act
    const results = await queue().sendBatch([]);

    // Assess
    expect(results).toEqual([]);
    expect(sqs).not.toHaveReceivedCommand(SendMessageBatchCommand);
  });
});
