import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BatchEntryIdsNotDistinct,
  EmptyBatchRequest,
  QueueDoesNotExist,
  RequestThrottled,
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  SendMessageCommand,
  TooManyEntriesInBatchRequest,
} from '@aws-sdk/client-sqs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqsWarehouseQueue } from '../../../lambdas/order-fanout/adapters/sqs-warehouse-queue.js';
import { classifyError } from '../../../lambdas/shared/errors.js';
import { LocalQueues, localQueueUrl, readQueueMessages } from '../../../sandbox/adapters/local-sqs.js';
import {
  type LocalQueueSettings,
  LocalSqsClient,
  readQueueDuplicates,
  SQS_API_SOURCE,
  SQS_DEDUPLICATION_WINDOW_MS,
} from '../../../sandbox/adapters/local-sqs-client.js';
import { scriptedFaults } from '../support/scripted-faults.js';

const FIFO = 'warehouse.fifo';
const NOW = Date.parse('2024-05-01T12:00:00.000Z');

function fifoEntry(
  id: string,
  group: string,
  dedup: string,
  body: unknown = { id },
): SendMessageBatchRequestEntry {
  return { Id: id, MessageBody: JSON.stringify(body), MessageGroupId: group, MessageDeduplicationId: dedup };
}

function batch(queue: string, entries: SendMessageBatchRequestEntry[]): SendMessageBatchCommand {
  return new SendMessageBatchCommand({ QueueUrl: localQueueUrl(queue), Entries: entries });
}

describe('LocalSqsClient', () => {
  let outputDir: string;
  let now: number;
  let queues: LocalQueues;
  const client = (
    options: { settings?: LocalQueueSettings; faults?: ReturnType<typeof scriptedFaults> } = {},
  ) =>
    new LocalSqsClient({
      queues,
      clock: () => now,
      ...(options.settings === undefined ? {} : { settings: () => options.settings }),
      ...(options.faults === undefined ? {} : { faults: options.faults }),
    });

  beforeEach(() => {
    outputDir = mkdtempSync(join(tmpdir(), 'local-sqs-client-test-'));
    now = NOW;
    queues = new LocalQueues(outputDir, () => now);
  });
  afterEach(() => {
    rmSync(outputDir, { recursive: true, force: true });
  });

  it('enqueues a FIFO batch in entry order with group and deduplication id, the body stored as JSON', async () => {
    // Prepare
    const sqs = client();

    // Act
    const output = await sqs.send(batch(FIFO, [fifoEntry('a', 'o-1', 'd-1'), fifoEntry('b', 'o-1', 'd-2')]));

    // Assess
    expect(output.Failed).toEqual([]);
    expect(output.Successful?.map((s) => s.Id)).toEqual(['a', 'b']);
    expect(output.Successful?.every((s) => /^\d+$/.test(s.SequenceNumber ?? ''))).toBe(true);
    expect(await readQueueMessages(outputDir, FIFO)).toEqual([
      expect.objectContaining({
        messageId: output.Successful?.[0]?.MessageId,
        source: SQS_API_SOURCE,
        body: { id: 'a' },
        messageGroupId: 'o-1',
        messageDeduplicationId: 'd-1',
      }),
      expect.objectContaining({ body: { id: 'b' }, messageDeduplicationId: 'd-2' }),
    ]);
  });

  it('answers a repeated deduplication id within 5 minutes successful, without enqueuing it, and counts it', async () => {
    // Prepare
    const sqs = client();
    const first = await sqs.send(batch(FIFO, [fifoEntry('a', 'o-1', 'd-1')]));

    // Act
    now += SQS_DEDUPLICATION_WINDOW_MS - 1;
    const again = await sqs.send(batch(FIFO, [fifoEntry('a', 'o-1', 'd-1')]));
    now += 1;
    const afterWindow = await sqs.send(batch(FIFO, [fifoEntry('a', 'o-1', 'd-1')]));

    // Assess
    expect(again.Successful?.[0]?.MessageId).toBe(first.Successful?.[0]?.MessageId);
    expect(afterWindow.Successful?.[0]?.MessageId).not.toBe(first.Successful?.[0]?.MessageId);
    expect(await readQueueMessages(outputDir, FIFO)).toHaveLength(2);
    expect(await readQueueDuplicates(outputDir, FIFO)).toEqual([
      expect.objectContaining({
        duplicateOf: first.Successful?.[0]?.MessageId,
        messageDeduplicationId: 'd-1',
      }),
    ]);
    expect(sqs.stats()).toMatchObject({
      enqueued: 2,
      deduplicated: 1,
      deduplicatedByQueue: { [FIFO]: 1 },
      accepted: 3,
    });
  });

  it('deduplicates per message group when the queue says so', async () => {
    // Prepare
    const sqs = client({
      settings: { fifo: true, contentBasedDeduplication: false, deduplicationScope: 'messageGroup' },
    });

    // Act
    await sqs.send(
      batch(FIFO, [fifoEntry('a', 'o-1', 'd'), fifoEntry('b', 'o-2', 'd'), fifoEntry('c', 'o-1', 'd')]),
    );

    // Assess
    expect((await readQueueMessages(outputDir, FIFO)).map((m) => m.messageGroupId)).toEqual(['o-1', 'o-2']);
    expect(sqs.stats().deduplicated).toBe(1);
  });

  it('fails FIFO entries without a group or a deduplication id, and a deduplication id on a standard queue', async () => {
    // Prepare
    const sqs = client();

    // Act
    const fifo = await sqs.send(
      batch(FIFO, [
        { Id: 'noGroup', MessageBody: 'x', MessageDeduplicationId: 'd' },
        { Id: 'noDedup', MessageBody: 'x', MessageGroupId: 'g' },
        fifoEntry('fine', 'g', 'd'),
      ]),
    );
    const standard = await sqs.send(batch('standard', [fifoEntry('dedup', 'g', 'd')]));

    // Assess
    expect(fifo.Failed?.map((f) => [f.Id, f.Code, f.SenderFault])).toEqual([
      ['noGroup', 'MissingParameter', true],
      ['noDedup', 'InvalidParameterValue', true],
    ]);
    expect(fifo.Successful?.map((s) => s.Id)).toEqual(['fine']);
    expect(standard.Failed?.map((f) => f.Code)).toEqual(['InvalidParameterValue']);
  });

  it.each([
    ['no entries', [], EmptyBatchRequest],
    [
      '11 entries',
      Array.from({ length: 11 }, (_u, i) => fifoEntry(`e${i}`, 'g', `d${i}`)),
      TooManyEntriesInBatchRequest,
    ],
    ['one Id twice', [fifoEntry('a', 'g', 'd1'), fifoEntry('a', 'g', 'd2')], BatchEntryIdsNotDistinct],
  ])('refuses a batch with %s as SQS does', async (_name, entries, errorClass) => {
    await expect(client().send(batch(FIFO, entries))).rejects.toThrow(errorClass);
  });

  it('answers QueueDoesNotExist for a URL that is not a local queue', async () => {
    // Prepare
    const command = new SendMessageBatchCommand({
      QueueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/warehouse.fifo',
      Entries: [fifoEntry('a', 'g', 'd')],
    });

    // Act & Assess
    await expect(client().send(command)).rejects.toThrow(QueueDoesNotExist);
  });

  it('fails injected entries with RequestThrottled and injected calls with the RequestThrottled error', async () => {
    // Prepare
    const sqs = client({ faults: scriptedFaults({ entries: [0], calls: [1] }) });

    // Act
    const first = await sqs.send(batch(FIFO, [fifoEntry('a', 'g', 'd1'), fifoEntry('b', 'g', 'd2')]));
    const second = await sqs.send(batch(FIFO, [fifoEntry('c', 'g', 'd3')])).catch((e: unknown) => e);

    // Assess
    expect(first.Failed).toEqual([
      expect.objectContaining({ Id: 'a', Code: 'RequestThrottled', SenderFault: false }),
    ]);
    expect(second).toBeInstanceOf(RequestThrottled);
    expect(classifyError(second)).toBe('transient');
    expect((await readQueueMessages(outputDir, FIFO)).map((m) => m.messageDeduplicationId)).toEqual(['d2']);
    expect(sqs.stats()).toMatchObject({ injectedEntryFaults: 1, injectedCallFaults: 1, enqueued: 1 });
  });

  it('sends one message with SendMessage', async () => {
    // Prepare
    const sqs = client();

    // Act
    const output = await sqs.send(
      new SendMessageCommand({
        QueueUrl: localQueueUrl(FIFO),
        MessageBody: 'text',
        MessageGroupId: 'g',
        MessageDeduplicationId: 'd',
        MessageAttributes: { kind: { DataType: 'String', StringValue: 'k' } },
      }),
    );

    // Assess
    expect(output.MessageId).toEqual(expect.any(String));
    expect(await readQueueMessages(outputDir, FIFO)).toEqual([
      expect.objectContaining({ body: 'text', attributes: { kind: 'k' } }),
    ]);
    expect(sqs.stats().calls).toEqual({ SendMessage: 1 });
  });

  it("serves the fan-out's SqsWarehouseQueue, and SQS drops its re-sent message", async () => {
    // Prepare
    const sqs = client();
    const warehouse = new SqsWarehouseQueue(sqs, localQueueUrl(FIFO));
    const message = {
      groupId: 'o-1',
      deduplicationId: 'o-1:INSERT:1:OrderPlaced',
      body: {
        schemaVersion: 1 as const,
        type: 'OrderPlaced' as const,
        orderId: 'o-1',
        version: 1,
        lines: [],
      },
    };

    // Act
    const first = await warehouse.sendBatch([message]);
    const again = await warehouse.sendBatch([message]);

    // Assess
    expect([...first, ...again].map((o) => o.kind)).toEqual(['ok', 'ok']);
    expect(await readQueueMessages(outputDir, FIFO)).toHaveLength(1);
    expect(await readQueueDuplicates(outputDir, FIFO)).toHaveLength(1);
  });
});
