import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { type DeadLetter, type DeadLetterQueue, encodeDeadLetter } from '../stream/dead-letter.js';

/**
 * DeadLetterQueue adapter for a consumer's SQS DLQ: one SendMessage per letter. Permanent failures are rare, so
 * batching them would only add partial-failure handling. The runtime has already fitted the letter to the size
 * limit; this adapter only encodes and sends it.
 */
export class SqsDeadLetterQueue implements DeadLetterQueue {
  readonly #client: SQSClient;
  readonly #queueUrl: string;

  public constructor(client: SQSClient, queueUrl: string) {
    this.#client = client;
    this.#queueUrl = queueUrl;
  }

  public async send(letter: DeadLetter): Promise<void> {
    await this.#client.send(
      new SendMessageCommand({ QueueUrl: this.#queueUrl, MessageBody: encodeDeadLetter(letter) }),
    );
  }
}
