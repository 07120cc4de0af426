import {
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type {
  DeadLetterQueuePort,
  PeekedMessage,
  PeekOptions,
  QueueDepth,
  ReceivedMessage,
} from './ports.js';

/** ReceiveMessage returns at most 10 messages per call. */
const MAX_PER_RECEIVE = 10;
/**
 * Long polling of 1 s: a short poll samples a subset of the queue's servers and can answer empty while messages
 * wait; a long poll asks them all.
 */
const WAIT_SECONDS = 1;

function count(raw: string | undefined): number {
  const value = Number(raw ?? '0');
  return Number.isSafeInteger(value) && value >= 0 ? value : 0;
}

/**
 * Adapter: the consumers' DLQs through SQS. `peek` (dlq list/show) never deletes; `delete` is redrive's only, one
 * DeleteMessage by the receipt handle of its `receive`.
 */
export class SqsDeadLetterQueues implements DeadLetterQueuePort {
  readonly #client: SQSClient;

  public constructor(client: SQSClient) {
    this.#client = client;
  }

  public async depth(queueUrl: string): Promise<QueueDepth> {
    const { Attributes } = await this.#client.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    return {
      visible: count(Attributes?.ApproximateNumberOfMessages),
      inFlight: count(Attributes?.ApproximateNumberOfMessagesNotVisible),
    };
  }

  public async peek(queueUrl: string, options: PeekOptions): Promise<readonly PeekedMessage[]> {
    const seen = new Map<string, PeekedMessage>();
    while (seen.size < options.limit) {
      const messages = await this.#receiveOnce(queueUrl, options.limit - seen.size, options);
      const fresh = messages.filter((message) => !seen.has(message.messageId));
      if (fresh.length === 0) break;
      for (const { receiptHandle: _, ...message } of fresh) seen.set(message.messageId, message);
    }
    return [...seen.values()].slice(0, options.limit);
  }

  public async receive(queueUrl: string, options: PeekOptions): Promise<readonly ReceivedMessage[]> {
    return this.#receiveOnce(queueUrl, options.limit, options);
  }

  public async delete(queueUrl: string, receiptHandle: string): Promise<void> {
    await this.#client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: receiptHandle }));
  }

  async #receiveOnce(queueUrl: string, limit: number, options: PeekOptions): Promise<ReceivedMessage[]> {
    const { Messages = [] } = await this.#client.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: Math.min(MAX_PER_RECEIVE, limit),
        VisibilityTimeout: options.visibilityTimeoutSeconds,
        WaitTimeSeconds: WAIT_SECONDS,
        MessageSystemAttributeNames: ['SentTimestamp', 'ApproximateReceiveCount'],
      }),
    );
    return Messages.flatMap((message) => {
      const received = toReceived(message);
      return received === undefined ? [] : [received];
    });
  }
}

function toReceived(message: Message): ReceivedMessage | undefined {
  if (message.MessageId === undefined || message.ReceiptHandle === undefined) return undefined;
  const sent = message.Attributes?.SentTimestamp;
  const receives = message.Attributes?.ApproximateReceiveCount;
  return {
    messageId: message.MessageId,
    receiptHandle: message.ReceiptHandle,
    body: message.Body ?? '',
    sentAt: sent === undefined ? null : new Date(Number(sent)),
    receiveCount: receives === undefined ? null : Number(receives),
  };
}
