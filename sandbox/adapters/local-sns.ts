import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import {
  BatchEntryIdsNotDistinctException,
  BatchRequestTooLongException,
  type BatchResultErrorEntry,
  EmptyBatchRequestException,
  InvalidBatchEntryIdException,
  InvalidParameterException,
  type MessageAttributeValue,
  NotFoundException,
  PublishBatchCommand,
  type PublishBatchCommandOutput,
  type PublishBatchResultEntry,
  PublishCommand,
  type PublishCommandOutput,
  ThrottledException,
  TooManyEntriesInBatchRequestException,
} from '@aws-sdk/client-sns';
import { assertInvocationAlive } from '../invocation-deadline.js';
import { deduplicationIdOf, FIFO_DEDUPLICATION_WINDOW_MS, FifoDeduplication } from './fifo-deduplication.js';
import { JsonLinesFile, readJsonLines } from './json-lines-file.js';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from './local-sqs.js';
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
 * Local SNS: a stand-in for the SNS client's `send` with Publish and PublishBatch, answering like the service does
 * (PublishBatch per entry: Successful or Failed with a code and SenderFault) and appending every published message to
 * `<outputDir>/sns/<topicName>.jsonl`, its JSON message parsed and its attributes flattened to text. A topic is any
 * well-formed local ARN (`arn:aws:sns:<region>:000000000000:<name>`); nothing subscribes: the files are there to
 * inspect and to check.
 *
 * FIFO topics (`.fifo`) need a MessageGroupId, and a MessageDeduplicationId unless the topic has content-based
 * deduplication. As SNS documents for MessageDeduplicationId: a message whose deduplication id was accepted less than
 * 5 minutes before (within the topic, or within its message group when the topic's FifoThroughputScope is
 * MessageGroup) is accepted successfully but not delivered. Such drops are answered with the first message's id,
 * counted, and written to `<outputDir>/sns/<topicName>.duplicates.jsonl`, like the SQS stand-in's.
 */

/** SNS FIFO's deduplication interval. */
export const SNS_DEDUPLICATION_WINDOW_MS = FIFO_DEDUPLICATION_WINDOW_MS;

/** The topic attributes that change how a publish is answered. */
export interface LocalTopicSettings {
  readonly fifo: boolean;
  readonly contentBasedDeduplication: boolean;
  /** FifoThroughputScope: deduplication across the topic, or within each message group. */
  readonly deduplicationScope: 'topic' | 'messageGroup';
}

/** The settings of a topic known only by name: FIFO by its suffix, explicit deduplication ids across the topic. */
export function defaultTopicSettings(topicName: string): LocalTopicSettings {
  return { fifo: topicName.endsWith('.fifo'), contentBasedDeduplication: false, deduplicationScope: 'topic' };
}

/** SNS's limits that the stand-in enforces. */
export const SNS_LIMITS = {
  /** Entries of one PublishBatch. */
  batchEntries: 10,
  /** Bytes of one message, and of all messages of one PublishBatch together. */
  payloadBytes: 256 * 1024,
} as const;

const TOPIC_NAME_PATTERN = /^[A-Za-z0-9_-]{1,256}$/;
/** A FIFO MessageGroupId or MessageDeduplicationId: 1-128 ASCII letters, digits and punctuation. */
const FIFO_ID_PATTERN = /^[!-~]{1,128}$/;
const LOCAL_TOPIC_ARN_PATTERN = new RegExp(`^arn:aws:sns:[a-z0-9-]+:${LOCAL_ACCOUNT_ID}:([^:]+)$`);

/** Thrown for a topic name SNS would refuse. */
export class InvalidTopicNameError extends Error {
  public constructor(name: string) {
    super(`Invalid topic name "${name}": SNS needs 1-256 letters, digits, '-' or '_' (plus '.fifo')`);
    this.name = 'InvalidTopicNameError';
  }
}

function isValidTopicName(name: string): boolean {
  const base = name.endsWith('.fifo') ? name.slice(0, -'.fifo'.length) : name;
  return TOPIC_NAME_PATTERN.test(base) && name.length <= 256;
}

/** The local ARN of a topic name. */
export function localTopicArn(topicName: string, region: string = LOCAL_REGION): string {
  if (!isValidTopicName(topicName)) throw new InvalidTopicNameError(topicName);
  return `arn:aws:sns:${region}:${LOCAL_ACCOUNT_ID}:${topicName}`;
}

/** The topic name of a local topic ARN; undefined for any other ARN. */
export function topicNameFromArn(arn: string): string | undefined {
  const name = LOCAL_TOPIC_ARN_PATTERN.exec(arn)?.[1];
  return name !== undefined && isValidTopicName(name) ? name : undefined;
}

/** Where a local topic's messages live. */
export function localTopicFilePath(outputDir: string, topicName: string): string {
  return join(outputDir, 'sns', `${topicName}.jsonl`);
}

/** One line of a local topic file: one published message. */
export interface LocalSnsMessage {
  readonly messageId: string;
  /** ISO-8601 time it was published. */
  readonly publishedAt: string;
  readonly topicArn: string;
  readonly operation: 'Publish' | 'PublishBatch';
  /** The entry's Id within its PublishBatch call. */
  readonly entryId?: string;
  readonly subject?: string;
  /** The message: the JSON value it encodes, or its text when it is not JSON. */
  readonly message: unknown;
  /** Message attributes by name, as text (binary values base64). */
  readonly attributes: Readonly<Record<string, string>>;
  readonly messageGroupId?: string;
  readonly messageDeduplicationId?: string;
}

/** The messages of a local topic file; empty when nothing was published. */
export function readTopicMessages(outputDir: string, topicName: string): Promise<LocalSnsMessage[]> {
  return readJsonLines<LocalSnsMessage>(localTopicFilePath(outputDir, topicName));
}

/** Where a FIFO topic's dropped duplicates are written. */
export function localTopicDuplicatesPath(outputDir: string, topicName: string): string {
  return join(outputDir, 'sns', `${topicName}.duplicates.jsonl`);
}

/** One line of a duplicates file: a message SNS accepted but did not deliver, as a duplicate. */
export interface LocalSnsDuplicate extends LocalSnsMessage {
  /** The id of the delivered message with the same deduplication id. */
  readonly duplicateOf: string;
}

/** The dropped duplicates of a topic; empty when there were none. */
export function readTopicDuplicates(outputDir: string, topicName: string): Promise<LocalSnsDuplicate[]> {
  return readJsonLines<LocalSnsDuplicate>(localTopicDuplicatesPath(outputDir, topicName));
}

export interface LocalSnsClientOptions {
  /** Where the topic files go (`<outputDir>/sns/`). */
  readonly outputDir: string;
  /** @default no faults */
  readonly faults?: ServiceFaultHook;
  /** @default Date.now */
  readonly clock?: () => number;
  /** The settings of a topic by name; @default defaultTopicSettings */
  readonly settings?: (topicName: string) => LocalTopicSettings | undefined;
  /** @default SNS_DEDUPLICATION_WINDOW_MS */
  readonly deduplicationWindowMs?: number;
}

/** What became of one accepted entry: delivered, or dropped as a duplicate of `messageId`. */
interface Accepted {
  readonly messageId: string;
  readonly sequenceNumber: string | undefined;
  readonly written: Promise<void>;
}

/** What one entry of a Publish or PublishBatch call asks for. */
interface PublishEntry {
  readonly Id?: string | undefined;
  readonly Message?: string | undefined;
  readonly Subject?: string | undefined;
  readonly MessageAttributes?: Record<string, MessageAttributeValue> | undefined;
  readonly MessageGroupId?: string | undefined;
  readonly MessageDeduplicationId?: string | undefined;
}

const $metadata = { httpStatusCode: 200 };

/** The stand-in client; see the module comment. */
export class LocalSnsClient {
  readonly #outputDir: string;
  readonly #faults: ServiceFaultHook;
  readonly #clock: () => number;
  readonly #files = new Map<string, JsonLinesFile>();
  readonly #stats = new ServiceStatsRecorder();
  readonly #published = new Map<string, number>();
  readonly #settings: (topicName: string) => LocalTopicSettings | undefined;
  readonly #deduplication: FifoDeduplication;
  readonly #duplicateFiles = new Map<string, JsonLinesFile>();
  readonly #deduplicated = new Map<string, number>();

  public constructor(options: LocalSnsClientOptions) {
    this.#outputDir = options.outputDir;
    this.#faults = options.faults ?? NO_SERVICE_FAULTS;
    this.#clock = options.clock ?? Date.now;
    this.#settings = options.settings ?? defaultTopicSettings;
    this.#deduplication = new FifoDeduplication(
      options.deduplicationWindowMs ?? SNS_DEDUPLICATION_WINDOW_MS,
      10_000_000_000_000_000_000n,
    );
  }

  public send(command: PublishBatchCommand): Promise<PublishBatchCommandOutput>;
  public send(command: PublishCommand): Promise<PublishCommandOutput>;
  public async send(
    command: PublishBatchCommand | PublishCommand,
  ): Promise<PublishBatchCommandOutput | PublishCommandOutput> {
    if (command instanceof PublishBatchCommand) return this.#publishBatch(command);
    if (command instanceof PublishCommand) return this.#publish(command);
    throw new UnsupportedLocalCommandError('SNS', command);
  }

  /** Counters since creation. */
  public stats(): LocalSnsStats {
    return {
      ...this.#stats.snapshot(),
      publishedByTopic: Object.fromEntries(this.#published),
      deduplicatedByTopic: Object.fromEntries(this.#deduplicated),
    };
  }

  /** Resolves once every message published so far is in its file. */
  public async flush(): Promise<void> {
    await Promise.all(
      [...this.#files.values(), ...this.#duplicateFiles.values()].map((file) => file.flush()),
    );
  }

  /** For symmetry with the SDK clients, which the composition roots destroy. */
  public destroy(): void {}

  async #publishBatch(command: PublishBatchCommand): Promise<PublishBatchCommandOutput> {
    const operation = 'PublishBatch';
    this.#stats.call(operation);
    assertInvocationAlive(`SNS ${operation}`);
    const { TopicArn, PublishBatchRequestEntries } = command.input;
    const entries: PublishEntry[] = PublishBatchRequestEntries ?? [];
    this.#stats.entries(entries.length);
    const topicName = this.#topic(TopicArn);
    const ids = checkBatchRequest(entries, {
      maxEntries: SNS_LIMITS.batchEntries,
      maxPayloadBytes: SNS_LIMITS.payloadBytes,
      bodyOf: (entry) => entry.Message,
      errors: {
        empty: () =>
          new EmptyBatchRequestException({
            message: 'The batch request does not contain any entries',
            $metadata,
          }),
        tooMany: () =>
          new TooManyEntriesInBatchRequestException({
            message: `The batch request contains more entries than permissible (${SNS_LIMITS.batchEntries})`,
            $metadata,
          }),
        invalidId: (id) =>
          new InvalidBatchEntryIdException({ message: `Invalid batch entry id "${id}"`, $metadata }),
        idsNotDistinct: () =>
          new BatchEntryIdsNotDistinctException({
            message: 'Two or more batch entries in the request have the same Id',
            $metadata,
          }),
        tooLong: (bytes) =>
          new BatchRequestTooLongException({
            message: `The batch request is ${bytes} bytes, more than ${SNS_LIMITS.payloadBytes}`,
            $metadata,
          }),
      },
    });
    const entryKeys = entries.map((entry) => entryKey(TopicArn ?? '', entry));
    this.#maybeFailCall(operation, contentKey(entryKeys));

    const Successful: PublishBatchResultEntry[] = [];
    const Failed: BatchResultErrorEntry[] = [];
    const writes: Promise<void>[] = [];
    const settings = this.#topicSettings(topicName);
    entries.forEach((entry, index) => {
      const Id = ids[index]!;
      const invalid = invalidEntry(settings, entry);
      if (invalid !== undefined) {
        this.#stats.failedEntry(false);
        Failed.push({ Id, Code: invalid.code, Message: invalid.message, SenderFault: true });
        return;
      }
      if (this.#faults.failEntry({ service: 'sns', operation, key: entryKeys[index]! })) {
        this.#stats.failedEntry(true);
        Failed.push({
          Id,
          Code: 'Throttled',
          Message: 'Rate exceeded (injected by the sandbox)',
          SenderFault: false,
        });
        return;
      }
      // Issued in entry order: the file keeps the order SNS accepted them in.
      const accepted = this.#accept(topicName, settings, TopicArn!, operation, entry);
      writes.push(accepted.written);
      this.#stats.accepted();
      Successful.push({
        Id,
        MessageId: accepted.messageId,
        ...(accepted.sequenceNumber === undefined ? {} : { SequenceNumber: accepted.sequenceNumber }),
      });
    });
    await Promise.all(writes);
    return { Successful, Failed, $metadata };
  }

  async #publish(command: PublishCommand): Promise<PublishCommandOutput> {
    const operation = 'Publish';
    this.#stats.call(operation);
    assertInvocationAlive(`SNS ${operation}`);
    this.#stats.entries(1);
    const entry: PublishEntry = command.input;
    const topicName = this.#topic(command.input.TopicArn);
    const settings = this.#topicSettings(topicName);
    const invalid = invalidEntry(settings, entry);
    if (invalid !== undefined) {
      this.#stats.failedEntry(false);
      throw new InvalidParameterException({ message: invalid.message, $metadata: { httpStatusCode: 400 } });
    }
    this.#maybeFailCall(operation, entryKey(command.input.TopicArn ?? '', entry));
    const accepted = this.#accept(topicName, settings, command.input.TopicArn!, operation, entry);
    await accepted.written;
    this.#stats.accepted();
    return {
      MessageId: accepted.messageId,
      ...(accepted.sequenceNumber === undefined ? {} : { SequenceNumber: accepted.sequenceNumber }),
      $metadata,
    };
  }

  #topicSettings(topicName: string): LocalTopicSettings {
    return this.#settings(topicName) ?? defaultTopicSettings(topicName);
  }

  /**
   * Delivers one valid entry (appends it to the topic file), or, on a FIFO topic, drops it as a duplicate of a message
   * with the same deduplication id accepted within the window (appends it to the duplicates file). The write is
   * started, not awaited.
   */
  #accept(
    topicName: string,
    settings: LocalTopicSettings,
    topicArn: string,
    operation: LocalSnsMessage['operation'],
    entry: PublishEntry,
  ): Accepted {
    const now = this.#clock();
    const dedupKey = settings.fifo
      ? FifoDeduplication.key(
          deduplicationIdOf(entry.MessageDeduplicationId, entry.Message ?? ''),
          entry.MessageGroupId,
          settings.deduplicationScope === 'messageGroup',
        )
      : undefined;
    const seen =
      dedupKey === undefined ? undefined : this.#deduplication.duplicateOf(topicName, dedupKey, now);
    if (seen !== undefined) {
      this.#deduplicated.set(topicName, (this.#deduplicated.get(topicName) ?? 0) + 1);
      const duplicate: LocalSnsDuplicate = {
        ...this.#line(topicArn, operation, entry, seen.messageId, now),
        duplicateOf: seen.messageId,
      };
      return {
        messageId: seen.messageId,
        sequenceNumber: seen.sequenceNumber,
        written: this.#file(
          this.#duplicateFiles,
          localTopicDuplicatesPath(this.#outputDir, topicName),
        ).append(duplicate),
      };
    }
    const messageId = randomUUID();
    const sequenceNumber = settings.fifo ? this.#deduplication.nextSequenceNumber(topicName) : undefined;
    if (dedupKey !== undefined)
      this.#deduplication.remember(topicName, dedupKey, { messageId, sequenceNumber, at: now });
    return {
      messageId,
      sequenceNumber,
      written: this.#write(topicName, topicArn, operation, entry, messageId),
    };
  }

  #file(files: Map<string, JsonLinesFile>, path: string): JsonLinesFile {
    let file = files.get(path);
    if (file === undefined) {
      file = new JsonLinesFile(path);
      files.set(path, file);
    }
    return file;
  }

  /** The topic name of the call's ARN; NotFoundException, as SNS answers, for anything but a local topic. */
  #topic(topicArn: string | undefined): string {
    const name = topicArn === undefined ? undefined : topicNameFromArn(topicArn);
    if (name === undefined) {
      throw new NotFoundException({
        message: `Topic does not exist: "${topicArn ?? ''}" is not a local sandbox topic ARN`,
        $metadata: { httpStatusCode: 404 },
      });
    }
    return name;
  }

  #maybeFailCall(operation: string, key: string): void {
    if (this.#faults.failCall({ service: 'sns', operation, key })) {
      this.#stats.injectedCallFault();
      const error = new ThrottledException({
        message: 'Rate exceeded (injected by the sandbox)',
        $metadata: { httpStatusCode: 400 },
      });
      // As the SDK marks a throttling error after its own retries.
      Object.assign(error, { $retryable: { throttling: true } });
      throw error;
    }
  }

  #write(
    topicName: string,
    topicArn: string,
    operation: LocalSnsMessage['operation'],
    entry: PublishEntry,
    messageId: string,
  ): Promise<void> {
    let file = this.#files.get(topicName);
    if (file === undefined) {
      file = new JsonLinesFile(localTopicFilePath(this.#outputDir, topicName));
      this.#files.set(topicName, file);
    }
    this.#published.set(topicName, (this.#published.get(topicName) ?? 0) + 1);
    return file.append(this.#line(topicArn, operation, entry, messageId, this.#clock()));
  }

  #line(
    topicArn: string,
    operation: LocalSnsMessage['operation'],
    entry: PublishEntry,
    messageId: string,
    at: number,
  ): LocalSnsMessage {
    return {
      messageId,
      publishedAt: new Date(at).toISOString(),
      topicArn,
      operation,
      ...(entry.Id === undefined ? {} : { entryId: entry.Id }),
      ...(entry.Subject === undefined ? {} : { subject: entry.Subject }),
      message: parsedBody(entry.Message ?? ''),
      attributes: Object.fromEntries(
        Object.entries(entry.MessageAttributes ?? {}).map(([name, value]) => [name, attributeText(value)]),
      ),
      ...(entry.MessageGroupId === undefined ? {} : { messageGroupId: entry.MessageGroupId }),
      ...(entry.MessageDeduplicationId === undefined
        ? {}
        : { messageDeduplicationId: entry.MessageDeduplicationId }),
    };
  }
}

/** LocalServiceStats plus the messages published (delivered) and dropped as duplicates per topic name. */
export interface LocalSnsStats extends LocalServiceStats {
  readonly publishedByTopic: Readonly<Record<string, number>>;
  readonly deduplicatedByTopic: Readonly<Record<string, number>>;
}

function entryKey(topicArn: string, entry: PublishEntry): string {
  return contentKey(topicArn, entry.Message, entry.Subject, entry.MessageAttributes, entry.MessageGroupId);
}

/** Why SNS would refuse one entry for its content (SenderFault true), if it would. */
function invalidEntry(
  settings: LocalTopicSettings,
  entry: PublishEntry,
): { code: string; message: string } | undefined {
  if (entry.Message === undefined || entry.Message === '') {
    return { code: 'InvalidParameter', message: 'Invalid parameter: Empty message' };
  }
  if (Buffer.byteLength(entry.Message) > SNS_LIMITS.payloadBytes) {
    return { code: 'InvalidParameter', message: 'Invalid parameter: Message too long' };
  }
  for (const [name, value] of Object.entries(entry.MessageAttributes ?? {})) {
    const type = value.DataType ?? '';
    const hasValue = value.StringValue !== undefined || value.BinaryValue !== undefined;
    if (!/^(String|Number|Binary|String\.Array)(\..+)?$/.test(type) || !hasValue) {
      return {
        code: 'ParameterValueInvalid',
        message: `The message attribute '${name}' has an invalid type or no value`,
      };
    }
  }
  const { fifo } = settings;
  if (fifo && (entry.MessageGroupId === undefined || entry.MessageGroupId === '')) {
    return {
      code: 'InvalidParameter',
      message: 'Invalid parameter: The MessageGroupId parameter is required for FIFO topics',
    };
  }
  // Both ids: up to 128 ASCII letters, digits and punctuation (SNS API reference, PublishBatchRequestEntry).
  for (const [name, value] of [
    ['MessageGroupId', entry.MessageGroupId],
    ['MessageDeduplicationId', entry.MessageDeduplicationId],
  ] as const) {
    if (fifo && value !== undefined && !FIFO_ID_PATTERN.test(value)) {
      return { code: 'InvalidParameter', message: `Invalid parameter: ${name} "${value}" is not valid` };
    }
  }
  if (fifo && entry.MessageDeduplicationId === undefined && !settings.contentBasedDeduplication) {
    return {
      code: 'InvalidParameter',
      message:
        'Invalid parameter: The topic should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly',
    };
  }
  if (!fifo && entry.MessageDeduplicationId !== undefined) {
    return {
      code: 'InvalidParameter',
      message: 'Invalid parameter: MessageDeduplicationId is only valid for FIFO topics',
    };
  }
  return undefined;
}
