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
  readTopicMessages,
  topicNameFromArn,
} from '../../../sandbox/adapters/local-sns.js';
import { UnsupportedLocalCommandError } from '../../../sandbox/adapters/service-faults.js';
import { scriptedFaults } from '../support/scripted-faults.js';

const TOPIC = localTopicArn('order-events');
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
    const publisher = new SnsEventPublisher(sns, TOPIC);

    // Act
    const outcomes = await publisher.publishBatch([event('o-1', 2), event('o-2', 2)]);

    // Assess
    expect(outcomes.map((o) => o.kind)).toEqual(['transient', 'ok']);
    const lines = await readTopicMessages(outputDir, 'order-events');
    expect(lines.map((l) => l.attributes)).toEqual([{ eventType: 'OrderStatusChanged', status: 'PAID' }]);
    expect(lines[0]?.message).toEqual(event('o-2', 2));
  });
});
