import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { DeadLetter, DeadLetterQueue } from '../../lambdas/shared/stream/dead-letter.js';
import { toLosslessJson } from '../../lambdas/shared/stream/lossless.js';
import type { OnFailureMessage, OnFailureSink } from '../esm/types.js';
import { JsonLinesFile, readJsonLines } from './json-lines-file.js';

/**
 * Local SQS: a queue is a JSON Lines file `<outputDir>/sqs/<queueName>.jsonl`, one message per line, and its URL is
 * shaped like a real queue URL (`https://sqs.sandbox.localhost/000000000000/<queueName>`) so that code taking the
 * queue name from the URL's last segment works unchanged. Nothing consumes these queues: they are there to inspect.
 */

/** The account id in local queue URLs; it matches the local API's caller account. */
export const LOCAL_ACCOUNT_ID = '000000000000';
/** The Region of every local ARN (topics, functions): the sandbox pretends to run in one. */
export const LOCAL_REGION = 'eu-west-1';
const LOCAL_QUEUE_URL_PREFIX = `https://sqs.sandbox.localhost/${LOCAL_ACCOUNT_ID}/`;

/** SQS's own naming rule: 1-80 of letters, digits, `-` and `_`, with `.fifo` on FIFO queues. */
const QUEUE_NAME_PATTERN = /^[A-Za-z0-9_-]{1,80}$/;

/** Thrown for a queue name SQS would refuse. */
export class InvalidQueueNameError extends Error {
  public constructor(name: string) {
    super(
      `Invalid queue name "${name}": SQS needs 1-80 letters, digits, '-' or '_' (plus '.fifo' for FIFO queues)`,
    );
    this.name = 'InvalidQueueNameError';
  }
}

/** Thrown for a queue URL that is not a local queue's: a real AWS URL reaching the sandbox would be a wiring bug. */
export class UnknownQueueUrlError extends Error {
  public constructor(url: string) {
    super(`"${url}" is not a local sandbox queue URL (expected ${LOCAL_QUEUE_URL_PREFIX}<queueName>)`);
    this.name = 'UnknownQueueUrlError';
  }
}

/** What a sender hands to a local queue. */
export interface LocalQueueSendInput {
  /** The message id to store; @default a random UUID. */
  readonly messageId?: string;
  /** Who sent the message, e.g. `dead-letter` (the stream runtime) or `on-failure` (the event source mapping). */
  readonly source: string;
  /** The message body as the value it encodes; stored as JSON (lossless), not as an escaped string. */
  readonly body: unknown;
  readonly attributes?: Readonly<Record<string, string>>;
  /** FIFO queues only. */
  readonly messageGroupId?: string;
  /** FIFO queues only. */
  readonly messageDeduplicationId?: string;
}

/** One line of a local queue file. */
export interface LocalQueueMessage {
  readonly messageId: string;
  /** ISO-8601 time the message was stored. */
  readonly sentAt: string;
  readonly source: string;
  readonly body: unknown;
  readonly attributes?: Readonly<Record<string, string>>;
  readonly messageGroupId?: string;
  readonly messageDeduplicationId?: string;
}

/** Where a local queue's messages live: its file, one message per line. */
export function localQueueFilePath(outputDir: string, queueName: string): string {
  return join(outputDir, 'sqs', `${queueName}.jsonl`);
}

/** The local URL of a queue name. */
export function localQueueUrl(queueName: string): string {
  requireValidQueueName(queueName);
  return `${LOCAL_QUEUE_URL_PREFIX}${queueName}`;
}

/** The queue name in a local queue URL; throws UnknownQueueUrlError for any other URL. */
export function queueNameFromUrl(url: string): string {
  if (!url.startsWith(LOCAL_QUEUE_URL_PREFIX)) {
    throw new UnknownQueueUrlError(url);
  }
  const name = url.slice(LOCAL_QUEUE_URL_PREFIX.length);
  if (!isValidQueueName(name)) {
    throw new UnknownQueueUrlError(url);
  }
  return name;
}

function isValidQueueName(name: string): boolean {
  const base = name.endsWith('.fifo') ? name.slice(0, -'.fifo'.length) : name;
  return QUEUE_NAME_PATTERN.test(base) && name.length <= 80;
}

function requireValidQueueName(name: string): void {
  if (!isValidQueueName(name)) {
    throw new InvalidQueueNameError(name);
  }
}

/** One local queue: appends messages to its file and counts them. */
export class LocalQueue {
  public readonly name: string;
  public readonly url: string;
  public readonly file: JsonLinesFile;
  readonly #clock: () => number;
  /** Where deletions are kept: the queue file itself only ever grows. */
  readonly #deletions: JsonLinesFile;
  readonly #deleted = new Set<string>();
  readonly #hiddenUntil = new Map<string, number>();
  readonly #receiveCounts = new Map<string, number>();
  #sent = 0;

  public constructor(outputDir: string, name: string, clock: () => number = Date.now) {
    requireValidQueueName(name);
    this.name = name;
    this.url = localQueueUrl(name);
    // Lossless: dead letters carry raw AttributeValue images and may carry binary values (Uint8Array).
    this.file = new JsonLinesFile(localQueueFilePath(outputDir, name), (value) => toLosslessJson(value));
    this.#deletions = new JsonLinesFile(join(outputDir, 'sqs', `${name}.deleted.jsonl`));
    this.#clock = clock;
  }

  /** Messages stored by this process since start. */
  public get sentCount(): number {
    return this.#sent;
  }

  /** Stores one message; resolves with its id once it is in the file. */
  public async send(input: LocalQueueSendInput): Promise<string> {
    const message: LocalQueueMessage = {
      messageId: input.messageId ?? randomUUID(),
      sentAt: new Date(this.#clock()).toISOString(),
      source: input.source,
      body: input.body,
      ...(input.attributes === undefined ? {} : { attributes: input.attributes }),
      ...(input.messageGroupId === undefined ? {} : { messageGroupId: input.messageGroupId }),
      ...(input.messageDeduplicationId === undefined
        ? {}
        : { messageDeduplicationId: input.messageDeduplicationId }),
    };
    await this.file.append(message);
    this.#sent += 1;
    return message.messageId;
  }

  /** Every message in the file. */
  public readAll(): Promise<LocalQueueMessage[]> {
    return this.file.readAll<LocalQueueMessage>();
  }

  /**
   * Receives up to `limit` messages as SQS does for a standard queue: each visible message (not deleted, not hidden
   * by an earlier receive whose visibility timeout has not run out) is hidden for `visibilityTimeoutMs` and handed
   * out with a fresh receipt handle and its receive count. The file stays as it is: a message is never removed from
   * it, so what was sent can always be inspected; deletions are kept beside it (`<queue>.deleted.jsonl`).
   */
  public async receive(limit: number, visibilityTimeoutMs: number): Promise<LocalReceivedMessage[]> {
    await this.file.flush();
    const now = this.#clock();
    const received: LocalReceivedMessage[] = [];
    for (const message of await this.readAll()) {
      if (received.length >= limit) break;
      if (this.#deleted.has(message.messageId)) continue;
      if ((this.#hiddenUntil.get(message.messageId) ?? 0) > now) continue;
      const receiveCount = (this.#receiveCounts.get(message.messageId) ?? 0) + 1;
      this.#receiveCounts.set(message.messageId, receiveCount);
      this.#hiddenUntil.set(message.messageId, now + visibilityTimeoutMs);
      received.push({ message, receiptHandle: `${message.messageId}#${receiveCount}`, receiveCount });
    }
    return received;
  }

  /** Deletes the message a receipt handle of this queue was given for; an unknown handle is refused. */
  public async delete(receiptHandle: string): Promise<void> {
    const messageId = receiptHandle.slice(0, receiptHandle.lastIndexOf('#'));
    if (!this.#receiveCounts.has(messageId)) throw new UnknownReceiptHandleError(this.name, receiptHandle);
    if (this.#deleted.has(messageId)) return;
    this.#deleted.add(messageId);
    this.#hiddenUntil.delete(messageId);
    await this.#deletions.append({ messageId, deletedAt: new Date(this.#clock()).toISOString() });
  }

  /** Messages not deleted: visible ones, and in flight (received and hidden); the oldest one's send time. */
  public async depth(): Promise<{ visible: number; inFlight: number; oldestSentAt: string | undefined }> {
    await this.file.flush();
    const now = this.#clock();
    let visible = 0;
    let inFlight = 0;
    let oldestSentAt: string | undefined;
    for (const message of await this.readAll()) {
      if (this.#deleted.has(message.messageId)) continue;
      if ((this.#hiddenUntil.get(message.messageId) ?? 0) > now) inFlight += 1;
      else visible += 1;
      if (oldestSentAt === undefined || message.sentAt < oldestSentAt) oldestSentAt = message.sentAt;
    }
    return { visible, inFlight, oldestSentAt };
  }
}

/** A message handed out by LocalQueue.receive. */
export interface LocalReceivedMessage {
  readonly message: LocalQueueMessage;
  readonly receiptHandle: string;
  /** How many times it was received, this time included. */
  readonly receiveCount: number;
}

/** A delete with a receipt handle the queue never gave out (SQS: ReceiptHandleIsInvalid). */
export class UnknownReceiptHandleError extends Error {
  public constructor(queueName: string, receiptHandle: string) {
    super(`ReceiptHandleIsInvalid: "${receiptHandle}" was not given out by the local queue ${queueName}`);
    this.name = 'UnknownReceiptHandleError';
  }
}

/**
 * The local queues of one sandbox run, one LocalQueue per name: the DLQ adapter and the on-failure sink of a
 * consumer get the same instance, so its count covers both.
 */
export class LocalQueues {
  readonly #outputDir: string;
  readonly #clock: () => number;
  readonly #queues = new Map<string, LocalQueue>();

  public constructor(outputDir: string, clock: () => number = Date.now) {
    this.#outputDir = outputDir;
    this.#clock = clock;
  }

  /** The directory the queue files live under (`<outputDir>/sqs/`). */
  public get outputDir(): string {
    return this.#outputDir;
  }

  /** The queue of that name, created on first use. */
  public byName(name: string): LocalQueue {
    let queue = this.#queues.get(name);
    if (queue === undefined) {
      queue = new LocalQueue(this.#outputDir, name, this.#clock);
      this.#queues.set(name, queue);
    }
    return queue;
  }

  /** The queue behind a local queue URL; throws UnknownQueueUrlError for any other URL. */
  public byUrl(url: string): LocalQueue {
    return this.byName(queueNameFromUrl(url));
  }

  public all(): LocalQueue[] {
    return [...this.#queues.values()];
  }

  /** Resolves once every message sent so far is in its file. */
  public async flush(): Promise<void> {
    await Promise.all(this.all().map((queue) => queue.file.flush()));
  }
}

/** The stream runtime's DeadLetterQueue port on a local queue: each letter becomes one message. */
export class LocalDeadLetterQueue implements DeadLetterQueue {
  readonly #queue: LocalQueue;

  public constructor(queue: LocalQueue) {
    this.#queue = queue;
  }

  public async send(letter: DeadLetter): Promise<void> {
    await this.#queue.send({ source: DEAD_LETTER_SOURCE, body: letter });
  }
}

/** `source` of the messages the stream runtime sends (permanent failures). */
export const DEAD_LETTER_SOURCE = 'dead-letter';
/** `source` of the messages the local event source mapping sends (exhausted retries or record age). */
export const ON_FAILURE_SOURCE = 'on-failure';

/**
 * The event source mapping's on-failure destination on a local queue. In the template it is the consumer's own DLQ,
 * so its messages land in the same file as the runtime's dead letters, told apart by `source`.
 */
export function localOnFailureSink(queue: LocalQueue): OnFailureSink {
  return async (message: OnFailureMessage): Promise<void> => {
    await queue.send({ source: ON_FAILURE_SOURCE, body: message });
  };
}

/** The messages of a local queue file (for tests and the chaos checks); empty when nothing was sent. */
export function readQueueMessages(outputDir: string, queueName: string): Promise<LocalQueueMessage[]> {
  return readJsonLines<LocalQueueMessage>(localQueueFilePath(outputDir, queueName));
}
