import { GetQueueAttributesCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DeadLetterQueuePort, PeekedMessage, PeekOptions, QueueDepth } from './ports.js';

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

/** Adapter: the consumers' DLQs through SQS. Reads only; it never sends DeleteMessage. */
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
      const { Messages = [] } = await this.#client.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: Math.min(MAX_PER_RECEIVE, options.limit - seen.size),
          VisibilityTimeout: options.visibilityTimeoutSeconds,
          WaitTimeSeconds: WAIT_SECONDS,
          MessageSystemAttributeNames: ['SentTimestamp', 'ApproximateReceiveCount'],
        }),
      );
      const fresh = Messages.filter(
        (message) => message.MessageId !== undefined && !seen.has(message.MessageId),
      );
      if (fresh.length === 0) break;
      for (const message of fresh) {
        const sent = message.Attributes?.SentTimestamp;
        const receives = message.Attributes?.ApproximateReceiveCount;
        seen.set(message.MessageId as string, {
          messageId: message.MessageId as string,
          body: message.Body ?? '',
          sentAt: sent === undefined ? null : new Date(Number(sent)),
          receiveCount: receives === undefined ? null : Number(receives),
        });
      }
    }
    return [...seen.values()].slice(0, options.limit);
  }
}
