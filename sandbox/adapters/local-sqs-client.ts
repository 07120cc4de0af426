import { createHash, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import {
  BatchEntryIdsNotDistinct,
  BatchRequestTooLong,
  type BatchResultErrorEntry,
  EmptyBatchRequest,
  InvalidBatchEntryId,
  type MessageAttributeValue,
  QueueDoesNotExist,
  RequestThrottled,
  SendMessageBatchCommand,
  type SendMessageBatchCommandOutput,
  type SendMessageBatchResultEntry,
  SendMessageCommand,
  type SendMessageCommandOutput,
  SQSServiceException,
  TooManyEntriesInBatchRequest,
} from '@aws-sdk/client-sqs';
import { assertInvocationAlive } from '../invocation-deadline.js';
import { deduplicationIdOf, FIFO_DEDUPLICATION_WINDOW_MS, FifoDeduplication } from './fifo-deduplication.js';
import { JsonLinesFile, readJsonLines } from './json-lines-file.js';
import { type LocalQueue, type LocalQueueMessage, type LocalQueues, queueNameFromUrl } from './local-sqs.js';
import {
  attributeText,
  checkBatchRequest,
  contentKey,
  type LocalServiceStats,
  NO_SERVICE_FAULTS,
  parsedBody,
  type ServiceFaultHook,
  ServiceStatsRecorder,
  UnsupportedLocalCommandError,
} from './service-faults.js';

/**
 * Local SQS client: a stand-in for the SQS client's `send` with SendMessage and SendMessageBatch on the sandbox's
 * local queues (local-sqs.ts: one JSON Lines file per queue), answering like the service does. FIFO queues (`.fifo`)
 * need a MessageGroupId, and a MessageDeduplicationId unless the queue has content-based deduplication; a message
 * whose deduplication id was accepted less than 5 minutes before (per queue, or per message group when the queue's
 * DeduplicationScope is messageGroup) is answered successful, with the first message's id, but not enqueued, as SQS
 * does. Such drops are counted and written to `<outputDir>/sqs/<queue>.duplicates.jsonl`, so that "sent" (the queue
 * file plus the duplicates file) and "enqueued" (the queue file) can both be checked.
 */

/** SQS's deduplication interval. */
export const SQS_DEDUPLICATION_WINDOW_MS = FIFO_DEDUPLICATION_WINDOW_MS;

/** SQS's limits that the stand-in enforces. */
export const SQS_LIMITS = {
  /** Entries of one SendMessageBatch. */
  batchEntries: 10,
  /** Bytes of one message, and of all messages of one SendMessageBatch together. */
  payloadBytes: 256 * 1024,
} as const;

/** `source` of the messages sent through the SQS API stand-in. */
export const SQS_API_SOURCE = 'sqs-api';

/** The queue attributes that change how a send is answered. */
export interface LocalQueueSettings {
  readonly fifo: boolean;
  readonly contentBasedDeduplication: boolean;
  readonly deduplicationScope: 'queue' | 'messageGroup';
}

/** The settings of a queue known only by name: FIFO by its suffix, explicit deduplication ids per queue. */
export function defaultQueueSettings(queueName: string): LocalQueueSettings {
  return { fifo: queueName.endsWith('.fifo'), contentBasedDeduplication: false, deduplicationScope: 'queue' };
}

/** Where a queue's dropped duplicates are written. */
export function localQueueDuplicatesPath(outputDir: string, queueName: string): string {
  return join(outputDir, 'sqs', `${queueName}.duplicates.jsonl`);
}

/** One line of a duplicates file: a message SQS accepted but dropped as a duplicate. */
export interface LocalDuplicateMessage extends LocalQueueMessage {
  /** The id of the message with the same deduplication id that was enqueued. */
  readonly duplicateOf: string;
}

/** The dropped duplicates of a queue; empty when there were none. */
export function readQueueDuplicates(outputDir: string, queueName: string): Promise<LocalDuplicateMessage[]> {
  return readJsonLines<LocalDuplicateMessage>(localQueueDuplicatesPath(outputDir, queueName));
}

export interface LocalSqsClientOptions {
  /** The sandbox's local queues: the stand-in enqueues into them. */
  readonly queues: LocalQueues;
  /** The settings of a queue by name; @default defaultQueueSettings */
  readonly settings?: (queueName: string) => LocalQueueSettings | undefined;
  /** @default no faults */
  readonly faults?: ServiceFaultHook;
  /** @default Date.now */
  readonly clock?: () => number;
  /** @default SQS_DEDUPLICATION_WINDOW_MS */
  readonly deduplicationWindowMs?: number;
}

/** LocalServiceStats plus what the queues made of the accepted messages. */
export interface LocalSqsStats extends LocalServiceStats {
  /** Messages enqueued, per queue name. */
  readonly enqueuedByQueue: Readonly<Record<string, number>>;
  /** Messages answered successful but dropped as duplicates, per queue name. */
  readonly deduplicatedByQueue: Readonly<Record<string, number>>;
  readonly enqueued: number;
  readonly deduplicated: number;
}

interface SendEntry {
  readonly Id?: string | undefined;
  readonly MessageBody?: string | undefined;
  readonly DelaySeconds?: number | undefined;
  readonly MessageAttributes?: Record<string, MessageAttributeValue> | undefined;
  readonly MessageGroupId?: string | undefined;
  readonly MessageDeduplicationId?: string | undefined;
}

type EntryResult =
  | {
      readonly kind: 'ok';
      readonly messageId: string;
      readonly md5: string;
      readonly sequenceNumber: string | undefined;
      readonly written: Promise<unknown>;
    }
  | {
      readonly kind: 'failed';
      readonly code: string;
      readonly message: string;
      readonly senderFault: boolean;
    };

const $metadata = { httpStatusCode: 200 };

/** The stand-in client; see the module comment. */
export class LocalSqsClient {
  readonly #queues: LocalQueues;
  readonly #settings: (queueName: string) => LocalQueueSettings | undefined;
  readonly #faults: ServiceFaultHook;
  readonly #clock: () => number;
  readonly #deduplication: FifoDeduplication;
  readonly #stats = new ServiceStatsRecorder();
  readonly #duplicateFiles = new Map<string, JsonLinesFile>();
  readonly #enqueued = new Map<string, number>();
  readonly #deduplicated = new Map<string, number>();

  public constructor(options: LocalSqsClientOptions) {
    this.#queues = options.queues;
    this.#settings = options.settings ?? defaultQueueSettings;
    this.#faults = options.faults ?? NO_SERVICE_FAULTS;
    this.#clock = options.clock ?? Date.now;
    this.#deduplication = new FifoDeduplication(
      options.deduplicationWindowMs ?? SQS_DEDUPLICATION_WINDOW_MS,
      18_000_000_000_000_000_000n,
    );
  }

  public send(command: SendMessageBatchCommand): Promise<SendMessageBatchCommandOutput>;
  public send(command: SendMessageCommand): Promise<SendMessageCommandOutput>;
  public async send(
    command: SendMessageBatchCommand | SendMessageCommand,
  ): Promise<SendMessageBatchCommandOutput | SendMessageCommandOutput> {
    if (command instanceof SendMessageBatchCommand) return this.#sendBatch(command);
    if (command instanceof SendMessageCommand) return this.#sendOne(command);
    throw new UnsupportedLocalCommandError('SQS', command);
  }

  public stats(): LocalSqsStats {
    const sum = (counts: Map<string, number>): number => [...counts.values()].reduce((a, b) => a + b, 0);
    return {
      ...this.#stats.snapshot(),
      enqueuedByQueue: Object.fromEntries(this.#enqueued),
      deduplicatedByQueue: Object.fromEntries(this.#deduplicated),
      enqueued: sum(this.#enqueued),
      deduplicated: sum(this.#deduplicated),
    };
  }

  /** Resolves once every message accepted so far is in its file. */
  public async flush(): Promise<void> {
    await Promise.all([
      this.#queues.flush(),
      ...[...this.#duplicateFiles.values()].map((file) => file.flush()),
    ]);
  }

  public destroy(): void {}

  async #sendBatch(command: SendMessageBatchCommand): Promise<SendMessageBatchCommandOutput> {
    const operation = 'SendMessageBatch';
    this.#stats.call(operation);
    assertInvocationAlive(`SQS ${operation}`);
    const entries: SendEntry[] = command.input.Entries ?? [];
    this.#stats.entries(entries.length);
    const queue = this.#queue(command.input.QueueUrl);
    const ids = checkBatchRequest(entries, {
      maxEntries: SQS_LIMITS.batchEntries,
      maxPayloadBytes: SQS_LIMITS.payloadBytes,
      bodyOf: (entry) => entry.MessageBody,
      errors: {
        empty: () =>
          new EmptyBatchRequest({ message: 'The batch request does not contain any entries', $metadata }),
        tooMany: () =>
          new TooManyEntriesInBatchRequest({
            message: `Maximum number of entries per request are ${SQS_LIMITS.batchEntries}`,
            $metadata,
          }),
        invalidId: (id) => new InvalidBatchEntryId({ message: `Invalid batch entry id "${id}"`, $metadata }),
        idsNotDistinct: () =>
          new BatchEntryIdsNotDistinct({ message: 'Two or more batch entries have the same Id', $metadata }),
        tooLong: (bytes) =>
          new BatchRequestTooLong({
            message: `Batch requests cannot be longer than ${SQS_LIMITS.payloadBytes} bytes, got ${bytes}`,
            $metadata,
          }),
      },
    });
    const entryKeys = entries.map((entry) => entryKey(queue.name, entry));
    this.#maybeFailCall(operation, contentKey(entryKeys));

    const Successful: SendMessageBatchResultEntry[] = [];
    const Failed: BatchResultErrorEntry[] = [];
    const writes: Promise<unknown>[] = [];
    entries.forEach((entry, index) => {
      const Id = ids[index]!;
      const result = this.#accept(queue, entry, operation, entryKeys[index]!, true);
      if (result.kind === 'failed') {
        Failed.push({ Id, Code: result.code, Message: result.message, SenderFault: result.senderFault });
        return;
      }
      writes.push(result.written);
      Successful.push({
        Id,
        MessageId: result.messageId,
        MD5OfMessageBody: result.md5,
        ...(result.sequenceNumber === undefined ? {} : { SequenceNumber: result.sequenceNumber }),
      });
    });
    await Promise.all(writes);
    return { Successful, Failed, $metadata };
  }

  async #sendOne(command: SendMessageCommand): Promise<SendMessageCommandOutput> {
    const operation = 'SendMessage';
    this.#stats.call(operation);
    assertInvocationAlive(`SQS ${operation}`);
    this.#stats.entries(1);
    const queue = this.#queue(command.input.QueueUrl);
    const entry: SendEntry = command.input;
    const key = entryKey(queue.name, entry);
    this.#maybeFailCall(operation, key);
    const result = this.#accept(queue, entry, operation, key, false);
    if (result.kind === 'failed') {
      throw sqsError(result.code, result.message);
    }
    await result.written;
    return {
      MessageId: result.messageId,
      MD5OfMessageBody: result.md5,
      ...(result.sequenceNumber === undefined ? {} : { SequenceNumber: result.sequenceNumber }),
      $metadata,
    };
  }

  /** Validates, decides faults and deduplication, and enqueues one message; the write is started, not awaited. */
  #accept(queue: LocalQueue, entry: SendEntry, operation: string, key: string, batch: boolean): EntryResult {
    const settings = this.#settings(queue.name) ?? defaultQueueSettings(queue.name);
    const invalid = invalidEntry(settings, entry);
    if (invalid !== undefined) {
      this.#stats.failedEntry(false);
      return { kind: 'failed', ...invalid, senderFault: true };
    }
    if (batch && this.#faults.failEntry({ service: 'sqs', operation, key })) {
      this.#stats.failedEntry(true);
      return {
        kind: 'failed',
        code: 'RequestThrottled',
        message: 'Request is throttled (injected by the sandbox)',
        senderFault: false,
      };
    }
    const body = entry.MessageBody ?? '';
    const md5 = createHash('md5').update(body).digest('hex');
    const now = this.#clock();
    const dedupId = settings.fifo ? deduplicationIdOf(entry.MessageDeduplicationId, body) : undefined;
    const dedupKey =
      dedupId === undefined
        ? undefined
        : FifoDeduplication.key(
            dedupId,
            entry.MessageGroupId,
            settings.deduplicationScope === 'messageGroup',
          );
    const seen =
      dedupKey === undefined ? undefined : this.#deduplication.duplicateOf(queue.name, dedupKey, now);
    const message = {
      source: SQS_API_SOURCE,
      body: parsedBody(body),
      ...(entry.MessageAttributes === undefined
        ? {}
        : {
            attributes: Object.fromEntries(
              Object.entries(entry.MessageAttributes).map(([name, value]) => [name, attributeText(value)]),
            ),
          }),
      ...(entry.MessageGroupId === undefined ? {} : { messageGroupId: entry.MessageGroupId }),
      ...(dedupId === undefined ? {} : { messageDeduplicationId: dedupId }),
    };
    this.#stats.accepted();
    if (seen !== undefined) {
      this.#deduplicated.set(queue.name, (this.#deduplicated.get(queue.name) ?? 0) + 1);
      const duplicate: LocalDuplicateMessage = {
        messageId: seen.messageId,
        sentAt: new Date(now).toISOString(),
        ...message,
        duplicateOf: seen.messageId,
      };
      return {
        kind: 'ok',
        messageId: seen.messageId,
        md5,
        sequenceNumber: seen.sequenceNumber,
        written: this.#duplicatesFile(queue.name).append(duplicate),
      };
    }
    const sequenceNumber = settings.fifo ? this.#deduplication.nextSequenceNumber(queue.name) : undefined;
    const messageId = randomUUID();
    if (dedupKey !== undefined)
      this.#deduplication.remember(queue.name, dedupKey, { messageId, sequenceNumber, at: now });
    this.#enqueued.set(queue.name, (this.#enqueued.get(queue.name) ?? 0) + 1);
    return { kind: 'ok', messageId, md5, sequenceNumber, written: queue.send({ ...message, messageId }) };
  }

  #queue(url: string | undefined): LocalQueue {
    try {
      return this.#queues.byName(queueNameFromUrl(url ?? ''));
    } catch (error) {
      throw new QueueDoesNotExist({
        message: `The specified queue does not exist: ${(error as Error).message}`,
        $metadata: { httpStatusCode: 400 },
      });
    }
  }

  #maybeFailCall(operation: string, key: string): void {
    if (this.#faults.failCall({ service: 'sqs', operation, key })) {
      this.#stats.injectedCallFault();
      const error = new RequestThrottled({
        message: 'Request is throttled (injected by the sandbox)',
        $metadata: { httpStatusCode: 400 },
      });
      Object.assign(error, { $retryable: { throttling: true } });
      throw error;
    }
  }

  #duplicatesFile(queueName: string): JsonLinesFile {
    let file = this.#duplicateFiles.get(queueName);
    if (file === undefined) {
      file = new JsonLinesFile(localQueueDuplicatesPath(this.#queues.outputDir, queueName));
      this.#duplicateFiles.set(queueName, file);
    }
    return file;
  }
}

function entryKey(queueName: string, entry: SendEntry): string {
  return contentKey(queueName, entry.MessageDeduplicationId, entry.MessageGroupId, entry.MessageBody);
}

/** Why SQS would refuse one message for its content (SenderFault true), if it would. */
function invalidEntry(
  settings: LocalQueueSettings,
  entry: SendEntry,
): { code: string; message: string } | undefined {
  const body = entry.MessageBody ?? '';
  if (body === '') {
    return { code: 'MissingParameter', message: 'The request must contain the parameter MessageBody.' };
  }
  if (Buffer.byteLength(body) > SQS_LIMITS.payloadBytes) {
    return { code: 'InvalidParameterValue', message: 'The message is longer than the queue allows' };
  }
  if (settings.fifo) {
    if (entry.MessageGroupId === undefined || entry.MessageGroupId === '') {
      return {
        code: 'MissingParameter',
        message: 'The request must contain the parameter MessageGroupId.',
      };
    }
    if (entry.MessageDeduplicationId === undefined && !settings.contentBasedDeduplication) {
      return {
        code: 'InvalidParameterValue',
        message:
          'The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly',
      };
    }
    if (entry.DelaySeconds !== undefined && entry.DelaySeconds !== 0) {
      return {
        code: 'InvalidParameterValue',
        message:
          'Value for parameter DelaySeconds is invalid. Reason: FIFO queues do not support per-message delays',
      };
    }
  } else if (entry.MessageDeduplicationId !== undefined) {
    return {
      code: 'InvalidParameterValue',
      message:
        'The request includes a parameter that is not valid for this queue type: MessageDeduplicationId',
    };
  }
  return undefined;
}

/** An SQS error of a code the SDK has no class for (`MissingParameter`, `InvalidParameterValue`). */
function sqsError(code: string, message: string): SQSServiceException {
  return new SQSServiceException({
    name: code,
    $fault: 'client',
    message,
    $metadata: { httpStatusCode: 400 },
  });
}
