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
 */

/** SNS's limits that the stand-in enforces. */
export const SNS_LIMITS = {
  /** Entries of one PublishBatch. */
  batchEntries: 10,
  /** Bytes of one message, and of all messages of one PublishBatch together. */
  payloadBytes: 256 * 1024,
} as const;

const TOPIC_NAME_PATTERN = /^[A-Za-z0-9_-]{1,256}$/;
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

export interface LocalSnsClientOptions {
  /** Where the topic files go (`<outputDir>/sns/`). */
  readonly outputDir: string;
  /** @default no faults */
  readonly faults?: ServiceFaultHook;
  /** @default Date.now */
  readonly clock?: () => number;
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

  public constructor(options: LocalSnsClientOptions) {
    this.#outputDir = options.outputDir;
    this.#faults = options.faults ?? NO_SERVICE_FAULTS;
    this.#clock = options.clock ?? Date.now;
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
    return { ...this.#stats.snapshot(), publishedByTopic: Object.fromEntries(this.#published) };
  }

  /** Resolves once every message published so far is in its file. */
  public async flush(): Promise<void> {
    await Promise.all([...this.#files.values()].map((file) => file.flush()));
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
    entries.forEach((entry, index) => {
      const Id = ids[index]!;
      const invalid = invalidEntry(topicName, entry);
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
      const messageId = randomUUID();
      // Issued in entry order: the file keeps the order SNS accepted them in.
      writes.push(this.#write(topicName, TopicArn!, operation, entry, messageId));
      this.#stats.accepted();
      Successful.push({ Id, MessageId: messageId });
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
    const invalid = invalidEntry(topicName, entry);
    if (invalid !== undefined) {
      this.#stats.failedEntry(false);
      throw new InvalidParameterException({ message: invalid.message, $metadata: { httpStatusCode: 400 } });
    }
    this.#maybeFailCall(operation, entryKey(command.input.TopicArn ?? '', entry));
    const messageId = randomUUID();
    await this.#write(topicName, command.input.TopicArn!, operation, entry, messageId);
    this.#stats.accepted();
    return { MessageId: messageId, $metadata };
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
    const line: LocalSnsMessage = {
      messageId,
      publishedAt: new Date(this.#clock()).toISOString(),
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
    return file.append(line);
  }
}

/** LocalServiceStats plus the messages published per topic name. */
export interface LocalSnsStats extends LocalServiceStats {
  readonly publishedByTopic: Readonly<Record<string, number>>;
}

function entryKey(topicArn: string, entry: PublishEntry): string {
  return contentKey(topicArn, entry.Message, entry.Subject, entry.MessageAttributes, entry.MessageGroupId);
}

/** Why SNS would refuse one entry for its content (SenderFault true), if it would. */
function invalidEntry(topicName: string, entry: PublishEntry): { code: string; message: string } | undefined {
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
  const fifo = topicName.endsWith('.fifo');
  if (fifo && (entry.MessageGroupId === undefined || entry.MessageGroupId === '')) {
    return {
      code: 'InvalidParameter',
      message: 'Invalid parameter: The MessageGroupId parameter is required for FIFO topics',
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
