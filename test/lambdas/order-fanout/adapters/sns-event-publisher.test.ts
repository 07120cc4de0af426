import 'aws-sdk-client-mock-vitest/extend';
import {
  type BatchResultErrorEntry,
  PublishBatchCommand,
  type PublishBatchRequestEntry,
  SNSClient,
  ThrottledException,
} from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, expectTypeOf, it } from 'vitest';
import { BatchTooLargeError } from '../../../../lambdas/order-fanout/adapters/batch-entry-failure.js';
import {
  SnsEventPublisher,
  type SnsPublishClient,
} from '../../../../lambdas/order-fanout/adapters/sns-event-publisher.js';
import type { OrderEvent } from '../../../../lambdas/order-fanout/messages.js';
import type { RecordOutcome } from '../../../../lambdas/shared/stream/stream-handler.js';
import { events, placedEvent, shippedEvent } from './factories.js';

const TOPIC_ARN = 'arn:aws:sns:eu-west-1:123456789012:order-events.fifo';
const sns = mockClient(SNSClient);

function publisher(): SnsEventPublisher {
  return new SnsEventPublisher(new SNSClient({}), TOPIC_ARN);
}

/** A Failed entry of a PublishBatch response. */
function failedEntry(id: string, overrides: Partial<BatchResultErrorEntry> = {}): BatchResultErrorEntry {
  return { Id: id, Code: 'InternalError', Message: 'Internal error', SenderFault: false, ...overrides };
}

/** The request entry the publisher should send for `event` as entry `id`. */
function expectedEntry(event: OrderEvent, id: string): PublishBatchRequestEntry {
  return {
    Id: id,
    Message: JSON.stringify(event),
    MessageAttributes: {
      eventType: { DataType: 'String', StringValue: event.type },
      status: { DataType: 'String', StringValue: event.status },
    },
    MessageGroupId: event.orderId,
    MessageDeduplicationId: event.eventId,
  };
}

describe('SnsEventPublisher', () => {
  beforeEach(() => {
    sns.reset();
  });

  it('accepts the real SNSClient as its client (type-level check)', () => {
    expectTypeOf<SNSClient>().toExtend<SnsPublishClient>();
  });

  it('publishes the events as one PublishBatch, Ids e0.., JSON messages and filter attributes', async () => {
    // Prepare
    const batch = [placedEvent(1), shippedEvent(2)];
    sns.on(PublishBatchCommand).resolves({
      Successful: [
        { Id: 'e0', MessageId: 'm-0' },
        { Id: 'e1', MessageId: 'm-1' },
      ],
      Failed: [],
    });

    // Act
    const results = await publisher().publishBatch(batch);

    // Assess
    expect(results).toEqual([{ kind: 'ok' }, { kind: 'ok' }]);
    expect(sns).toHaveReceivedCommandTimes(PublishBatchCommand, 1);
    expect(sns.commandCalls(PublishBatchCommand)[0]?.args[0].input).toStrictEqual({
      TopicArn: TOPIC_ARN,
      PublishBatchRequestEntries: [expectedEntry(batch[0]!, 'e0'), expectedEntry(batch[1]!, 'e1')],
    });
  });

  it('groups by order and deduplicates by eventId, and marks only the entries it is told are re-sends', async () => {
    // Prepare
    const batch = [placedEvent(1), shippedEvent(2)];
    sns.on(PublishBatchCommand).resolves({ Successful: [], Failed: [] });

    // Act
    await publisher().publishBatch(batch, { possibleDuplicates: new Set([1]) });

    // Assess
    expect(sns.commandCalls(PublishBatchCommand)[0]?.args[0].input).toStrictEqual({
      TopicArn: TOPIC_ARN,
      PublishBatchRequestEntries: [
        {
          Id: 'e0',
          Message: JSON.stringify(batch[0]),
          MessageAttributes: {
            eventType: { DataType: 'String', StringValue: 'OrderPlaced' },
            status: { DataType: 'String', StringValue: 'PLACED' },
          },
          MessageGroupId: 'o-1',
          MessageDeduplicationId: 'o-1:1:OrderPlaced',
        },
        {
          Id: 'e1',
          Message: JSON.stringify(batch[1]),
          MessageAttributes: {
            eventType: { DataType: 'String', StringValue: 'OrderStatusChanged' },
            status: { DataType: 'String', StringValue: 'SHIPPED' },
            possibleDuplicate: { DataType: 'String', StringValue: 'true' },
          },
          MessageGroupId: 'o-2',
          MessageDeduplicationId: 'o-2:2:OrderStatusChanged',
        },
      ],
    });
  });

  it('takes a full batch of SNS_PUBLISH_BATCH_MAX events in one call', async () => {
    // Prepare
    const batch = events(10);
    sns.on(PublishBatchCommand).resolves({
      Successful: batch.map((_event, index) => ({ Id: `e${index}`, MessageId: `m-${index}` })),
    });

    // Act
    const results = await publisher().publishBatch(batch);

    // Assess
    expect(results).toHaveLength(10);
    expect(results.every((result) => result.kind === 'ok')).toBe(true);
    expect(sns).toHaveReceivedCommandWith(PublishBatchCommand, {
      PublishBatchRequestEntries: batch.map((event, index) => expectedEntry(event, `e${index}`)),
    });
  });

  it('maps a mixed response back to each entry by Id, whatever the order of the lists', async () => {
    // Prepare
    const batch = events(5);
    sns.on(PublishBatchCommand).resolves({
      // e3 is in neither list.
      Successful: [
        { Id: 'e4', MessageId: 'm-4' },
        { Id: 'e0', MessageId: 'm-0' },
      ],
      Failed: [
        failedEntry('e2', {
          Code: 'InvalidParameter',
          Message: 'Invalid parameter: Message',
          SenderFault: true,
        }),
        failedEntry('e1', { Code: 'Throttled', Message: 'Rate exceeded', SenderFault: true }),
      ],
    });

    // Act
    const results = await publisher().publishBatch(batch);

    // Assess
    expect(results.map((result) => result.kind)).toEqual(['ok', 'transient', 'permanent', 'transient', 'ok']);
    expect(results[1]).toMatchObject({
      reason: 'SNS PublishBatch failed the entry with Throttled: Rate exceeded',
    });
    expect(results[2]).toMatchObject({
      errorName: 'InvalidParameter',
      reason: 'SNS PublishBatch failed the entry with InvalidParameter: Invalid parameter: Message',
    });
    expect(results[3]).toEqual({
      kind: 'transient',
      reason: 'SNS PublishBatch reported no result for entry e3',
    });
  });

  it('treats every entry as unreported when the response has neither list', async () => {
    // Prepare
    sns.on(PublishBatchCommand).resolves({});

    // Act
    const results = await publisher().publishBatch(events(2));

    // Assess
    expect(results.map((result) => result.kind)).toEqual(['transient', 'transient']);
  });

  describe.each<[code: string, senderFault: boolean | undefined, expected: RecordOutcome['kind']]>([
    // Service-side failures: retry.
    ['InternalError', false, 'transient'],
    ['InvalidParameter', false, 'transient'],
    ['SomethingNew', undefined, 'transient'],
    // Throttling of SNS or of the topic's KMS key, reported as the sender's fault.
    ['Throttled', true, 'transient'],
    ['KMSThrottling', true, 'transient'],
    // Key, permission and topic problems an operator fixes.
    ['KMSAccessDenied', true, 'transient'],
    ['KMSDisabled', true, 'transient'],
    ['KMSInvalidState', true, 'transient'],
    ['KMSNotFound', true, 'transient'],
    ['KMSOptInRequired', true, 'transient'],
    ['AuthorizationError', true, 'transient'],
    ['InvalidSecurity', true, 'transient'],
    ['NotFound', true, 'transient'],
    // The entry's content: permanent.
    ['InvalidParameter', true, 'permanent'],
    ['InvalidParameterValue', true, 'permanent'],
    ['ParameterValueInvalid', true, 'permanent'],
    ['ValidationException', true, 'permanent'],
  ])('a Failed entry with Code %s and SenderFault %s', (code, senderFault, expected) => {
    it(`is ${expected}`, async () => {
      // Prepare
      sns.on(PublishBatchCommand).resolves({
        Successful: [{ Id: 'e0', MessageId: 'm-0' }],
        Failed: [{ Id: 'e1', Code: code, Message: 'details', SenderFault: senderFault }],
      });

      // Act
      const results = await publisher().publishBatch(events(2));

      // Assess
      expect(results[0]).toEqual({ kind: 'ok' });
      expect(results[1]).toMatchObject({
        kind: expected,
        reason: `SNS PublishBatch failed the entry with ${code}: details`,
      });
      if (expected === 'permanent') {
        expect(results[1]).toMatchObject({ errorName: code });
      }
    });
  });

  it('throws a whole-call failure for the domain to classify', async () => {
    // Prepare
    const throttled = new ThrottledException({
      message: 'Rate exceeded',
      $metadata: { httpStatusCode: 429 },
    });
    sns.on(PublishBatchCommand).rejects(throttled);

    // Act
    const publishing = publisher().publishBatch(events(3));

    // Assess
    await expect(publishing).rejects.toBe(throttled);
  });

  it('refuses more than SNS_PUBLISH_BATCH_MAX events without calling SNS', async () => {
    // Act
    const publishing = publisher().publishBatch(events(11));

    // Assess
    await expect(publishing).rejects.toThrow(BatchTooLargeError);
    expect(sns).not.toHaveReceivedCommand(PublishBatchCommand);
  });

  it('answers an empty batch without calling SNS (which rejects empty batches)', async () => {
    // Act
    const results = await publisher().publishBatch([]);

    // Assess
    expect(results).toEqual([]);
    expect(sns).not.toHaveReceivedCommand(PublishBatchCommand);
  });
});
