import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BatchEntryIdsNotDistinctException,
  EmptyBatchRequestException,
  ListTopicsCommand,
  NotFoundException,
  PublishBatchCommand,
  type PublishBatchRequestEntry,
  PublishCommand,
  ThrottledException,
  TooManyEntriesInBatchRequestException,
} from '@aws-sdk/client-sns';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SnsEventPublisher } from '../../../lambdas/order-fanout/adapters/sns-event-publisher.js';
import type { OrderEvent } from '../../../lambdas/order-fanout/messages.js';
import { classifyError } from '../../../lambdas/shared/errors.js';
import {
  LocalSnsClient,
  localTopicArn,
  readTopicDuplicates,
  readTopicMessages,
  topicNameFromArn,
} from '../../../sandbox/adapters/local-sns.js';
import { UnsupportedLocalCommandError } from '../../../sandbox/adapters/service-faults.js';
import { scriptedFaults } from '../support/scripted-faults.js';

const TOPIC = localTopicArn('order-events');
const FIFO_TOPIC = localTopicArn('order-events.fifo');
const NOW = Date.parse('2024-05-01T12:00:00.000Z');

function entry(
  id: string,
  message: unknown,
  attributes: Record<string, string> = {},
): PublishBatchRequestEntry {
  return {
    Id: id,
    Message: typeof message === 'string' ? message : JSON.stringify(message),
    MessageAttributes: Object.fromEntries(
      Object.entries(attributes).map(([name, value]) => [name, { DataType: 'String', StringValue: value }]),
    ),
  };
}

function event(orderId: string, version: number): OrderEvent {
  return {
    schemaVersion: 1,
    eventId: `${orderId}:${version}:OrderStatusChanged`,
    type: 'OrderStatusChanged',
    orderId,
    customerId: 'c-1',
    version,
    status: 'PAID',
    previousStatus: 'PLACED',
    occurredAt: new Date(NOW).toISOString(),
  };
}

describe('local topic ARNs', () => {
  it('round-trips a topic name', () => {
    expect(localTopicArn('order-events')).toBe('arn:aws:sns:eu-west-1:000000000000:order-events');
    expect(topicNameFromArn(localTopicArn('a.fifo'))).toBe('a.fifo');
  });

  it.each([
    'arn:aws:sns:eu-west-1:123456789012:order-events',
    'order-events',
    'arn:aws:sns:eu-west-1:000000000000:a/b',
  ])('knows %s is not a local topic', (arn) => {
    expect(topicNameFromArn(arn)).toBeUndefined();
  });
});

describe('LocalSnsClient', () => {
  let outputDir: string;
  beforeEach(() => {
    outputDir = mkdtempSync(join(tmpdir(), 'local-sns-test-'));
  });
  afterEach(() => {
    rmSync(outputDir, { recursive: true, force: true });
  });

  it('publishes a batch in entry order, with the message parsed and the attributes as text', async () => {
    // Prepare
    const sns = new LocalSnsClient({ outputDir, clock: () => NOW });

    // Act
    const output = await sns.send(
      new PublishBatchCommand({
        TopicArn: TOPIC,
        PublishBatchRequestEntries: [entry('a', { n: 1 }, { eventType: 'X' }), entry('b', 'plain text')],
      }),
    );

    // Assess
    expect(output.Failed).toEqual([]);
    expect(output.Successful?.map((s) => s.Id)).toEqual(['a', 'b']);
    const lines = await readTopicMessages(outputDir, 'order-events');
    expect(lines).toEqual([
      expect.objectContaining({
        messageId: output.Successful?.[0]?.MessageId,
        publishedAt: '2024-05-01T12:00:00.000Z',
        topicArn: TOPIC,
        operation: 'PublishBatch',
        entryId: 'a',
        message: { n: 1 },
        attributes: { eventType: 'X' },
      }),
      expect.objectContaining({ entryId: 'b', message: 'plain text', attributes: {} }),
    ]);
    expect(sns.stats()).toMatchObject({
      calls: { PublishBatch: 1 },
      totalCalls: 1,
      entries: 2,
      accepted: 2,
      publishedByTopic: { 'order-events': 2 },
    });
  });

  it.each([
    ['no entries', [], EmptyBatchRequestException],
    [
      '11 entries',
      Array.from({ length: 11 }, (_u, i) => entry(`e${i}`, 'x')),
      TooManyEntriesInBatchRequestException,
    ],
    ['two entries with one Id', [entry('a', 'x'), entry('a', 'y')], BatchEntryIdsNotDistinctException],
  ])('refuses a batch with %s as SNS does, writing nothing', async (_name, entries, errorClass) => {
    // Prepare
    const sns = new LocalSnsClient({ outputDir });

    // Act
    const sent = sns.send(new PublishBatchCommand({ TopicArn: TOPIC, PublishBatchRequestEntries: entries }));

    // Assess
    await expect(sent).rejects.toThrow(errorClass);
    expect(await readTopicMessages(outputDir, 'order-events')).toEqual([]);
  });

  it('answers NotFound for a topic that is not local', async () => {
    // Prepare
    const sns = new LocalSnsClient({ outputDir });

    // Act
    const sent = sns.send(
      new PublishBatchCommand({
        TopicArn: 'arn:aws:sns:eu-west-1:123456789012:order-events',
        PublishBatchRequestEntries: [entry('a', 'x')],
      }),
    );

    // Assess
    await expect(sent).rejects.toThrow(NotFoundException);
  });

  it('fails an entry SNS would refuse with SenderFault true, and publishes the others', async () => {
    // Prepare
    const sns = new LocalSnsClient({ outputDir });

    // Act
    const output = await sns.send(
      new PublishBatchCommand({
        TopicArn: TOPIC,
        PublishBatchRequestEntries: [entry('a', ''), entry('b', 'ok')],
      }),
    );

    // Assess
    expect(output.Failed).toEqual([
      expect.objectContaining({ Id: 'a', Code: 'InvalidParameter', SenderFault: true }),
    ]);
    expect(output.Successful?.map((s) => s.Id)).toEqual(['b']);
    expect(await readTopicMessages(outputDir, 'order-events')).toHaveLength(1);
  });

  it('fails an injected entry with a throttling code before writing it', async () => {
    // Prepare
    const faults = scriptedFaults({ entries: [1] });
    const sns = new LocalSnsClient({ outputDir, faults });

    // Act
    const output = await sns.send(
      new PublishBatchCommand({
        TopicArn: TOPIC,
        PublishBatchRequestEntries: [entry('a', 'one'), entry('b', 'two'), entry('c', 'three')],
      }),
    );

    // Assess
    expect(output.Failed).toEqual([
      expect.objectContaining({ Id: 'b', Code: 'Throttled', SenderFault: false }),
    ]);
    expect((await readTopicMessages(outputDir, 'order-events')).map((l) => l.message)).toEqual([
      'one',
      'three',
    ]);
    expect(sns.stats()).toMatchObject({ accepted: 2, failedEntries: 1, injectedEntryFaults: 1 });
    // The key of an entry is its content: the same entry sent again is decided under the same key.
    expect(faults.seen.entries.map((t) => t.service)).toEqual(['sns', 'sns', 'sns']);
  });

  it('fails an injected call with the throttling error SNS throws, which classifies as transient', async () => {
    // Prepare
    const sns = new LocalSnsClient({ outputDir, faults: scriptedFaults({ calls: [0] }) });

    // Act
    const sent = sns.send(
      new PublishBatchCommand({ TopicArn: TOPIC, PublishBatchRequestEntries: [entry('a', 'x')] }),
    );

    // Assess
    const error = await sent.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ThrottledException);
    expect(classifyError(error)).toBe('transient');
    expect(await readTopicMessages(outputDir, 'order-events')).toEqual([]);
    expect(sns.stats()).toMatchObject({ totalCalls: 1, injectedCallFaults: 1, accepted: 0 });
  });

  it('publishes one message with Publish', async () => {
    // Prepare
    const sns = new LocalSnsClient({ outputDir });

    // Act
    const output = await sns.send(new PublishCommand({ TopicArn: TOPIC, Message: '{"a":1}', Subject: 'hi' }));

    // Assess
    expect(output.MessageId).toEqual(expect.any(String));
    expect(await readTopicMessages(outputDir, 'order-events')).toEqual([
      expect.objectContaining({ operation: 'Publish', subject: 'hi', message: { a: 1 } }),
    ]);
    expect(sns.stats().calls).toEqual({ Publish: 1 });
  });

  it('refuses a command it does not implement', async () => {
    await expect(new LocalSnsClient({ outputDir }).send(new ListTopicsCommand({}) as never)).rejects.toThrow(
      UnsupportedLocalCommandError,
    );
  });

  it("serves the fan-out's SnsEventPublisher: per-entry outcomes, an injected entry fault transient", async () => {
    // Prepare
    const sns = new LocalSnsClient({ outputDir, faults: scriptedFaults({ entries: [0] }) });
    const publisher = new SnsEventPublisher(sns, FIFO_TOPIC);

    // Act
    const outcomes = await publisher.publishBatch([event('o-1', 2), event('o-2', 2)]);

    // Assess
    expect(outcomes.map((o) => o.kind)).toEqual(['transient', 'ok']);
    const lines = await readTopicMessages(outputDir, 'order-events.fifo');
    expect(lines.map((l) => l.attributes)).toEqual([{ eventType: 'OrderStatusChanged', status: 'PAID' }]);
    expect(lines[0]?.message).toEqual(event('o-2', 2));
    expect(lines[0]).toMatchObject({
      messageGroupId: 'o-2',
      messageDeduplicationId: 'o-2:2:OrderStatusChanged',
    });
  });

  describe('FIFO topics', () => {
    function fifoEntry(id: string, group: string, dedup: string | undefined): PublishBatchRequestEntry {
      return {
        ...entry(id, { group, dedup }),
        MessageGroupId: group,
        ...(dedup === undefined ? {} : { MessageDeduplicationId: dedup }),
      };
    }

    it('accepts a repeated deduplication id within 5 minutes without delivering it, and journals the drop', async () => {
      // Prepare
      let now = NOW;
      const sns = new LocalSnsClient({ outputDir, clock: () => now });
      const first = await sns.send(
        new PublishBatchCommand({
          TopicArn: FIFO_TOPIC,
          PublishBatchRequestEntries: [fifoEntry('a', 'o-1', 'd-1')],
        }),
      );

      // Act: the same id 4:59 later (dropped), then 5:00 after the first (delivered again)
      now = NOW + 299_999;
      const repeated = await sns.send(
        new PublishBatchCommand({
          TopicArn: FIFO_TOPIC,
          PublishBatchRequestEntries: [fifoEntry('b', 'o-1', 'd-1')],
        }),
      );
      now = NOW + 300_000;
      const later = await sns.send(
        new PublishBatchCommand({
          TopicArn: FIFO_TOPIC,
          PublishBatchRequestEntries: [fifoEntry('c', 'o-1', 'd-1')],
        }),
      );

      // Assess
      const firstId = first.Successful?.[0]?.MessageId;
      expect(repeated.Failed).toEqual([]);
      expect(repeated.Successful).toEqual([
        { Id: 'b', MessageId: firstId, SequenceNumber: first.Successful?.[0]?.SequenceNumber },
      ]);
      expect(later.Successful?.[0]?.MessageId).not.toBe(firstId);
      const delivered = await readTopicMessages(outputDir, 'order-events.fifo');
      expect(delivered.map((line) => line.entryId)).toEqual(['a', 'c']);
      const dropped = await readTopicDuplicates(outputDir, 'order-events.fifo');
      expect(dropped).toEqual([expect.objectContaining({ entryId: 'b', duplicateOf: firstId })]);
      expect(sns.stats()).toMatchObject({
        publishedByTopic: { 'order-events.fifo': 2 },
        deduplicatedByTopic: { 'order-events.fifo': 1 },
      });
    });

    it.each([
      ['messageGroup', ['a', 'b']],
      ['topic', ['a']],
    ] as const)('deduplicates within the %s scope', async (scope, deliveredIds) => {
      // Prepare
      const sns = new LocalSnsClient({
        outputDir,
        settings: () => ({ fifo: true, contentBasedDeduplication: false, deduplicationScope: scope }),
      });

      // Act: one deduplication id in two message groups
      await sns.send(
        new PublishBatchCommand({
          TopicArn: FIFO_TOPIC,
          PublishBatchRequestEntries: [fifoEntry('a', 'o-1', 'd-1'), fifoEntry('b', 'o-2', 'd-1')],
        }),
      );

      // Assess
      const delivered = await readTopicMessages(outputDir, 'order-events.fifo');
      expect(delivered.map((line) => line.entryId)).toEqual(deliveredIds);
    });

    it('refuses an entry without a deduplication id on a topic without content-based deduplication', async () => {
      // Prepare
      const sns = new LocalSnsClient({ outputDir });

      // Act
      const output = await sns.send(
        new PublishBatchCommand({
          TopicArn: FIFO_TOPIC,
          PublishBatchRequestEntries: [
            fifoEntry('a', 'o-1', undefined),
            fifoEntry('b', 'o-1', 'x'.repeat(129)),
          ],
        }),
      );

      // Assess
      expect(output.Failed).toEqual([
        expect.objectContaining({ Id: 'a', Code: 'InvalidParameter', SenderFault: true }),
        expect.objectContaining({ Id: 'b', Code: 'InvalidParameter', SenderFault: true }),
      ]);
    });
  });
});
