import {
  SendMessageBatchCommand,
  type SendMessageBatchCommandOutput,
  type SendMessageBatchRequestEntry,
} from '@aws-sdk/client-sqs';
import type { RecordOutcome } from '../../shared/stream/stream-handler.js';
import { POSSIBLE_DUPLICATE, type WarehouseMessage } from '../messages.js';
import { type SendOptions, SQS_SEND_BATCH_MAX, type WarehouseQueue } from '../ports.js';
import { BatchTooLargeError, mapBatchResults } from './batch-entry-failure.js';

/**
 * The part of an SQS client the warehouse queue uses. `SQSClient` satisfies it; the local sandbox passes a stand-in
 * that writes files instead.
 */
export interface SqsSendBatchClient {
  send(command: SendMessageBatchCommand): Promise<SendMessageBatchCommandOutput>;
}

const SERVICE = 'SQS SendMessageBatch';

/**
 * SendMessageBatch entry codes that SQS reports with `SenderFault: true` although the message itself is fine, so
 * they are transient. classifyError's lists already cover `RequestThrottled`, `ThrottlingException`, `KmsThrottled`,
 * `OverLimit`, `KmsAccessDenied`/`KmsDisabled`/`KmsInvalidState`/`KmsNotFound`/`KmsOptInRequired`,
 * `KMS.AccessDeniedException`, `KMS.DisabledException`, `InvalidSecurity`, `QueueDoesNotExist`,
 * `AWS.SimpleQueueService.NonExistentQueue` and `ResourceNotFoundException`; these are the query-protocol codes of
 * @aws-sdk/client-sqs's error model that they miss:
 * - `KMS.ThrottlingException`: KMS throttled the data key request of the encrypted queue; a retry succeeds.
 * - `KMS.InvalidStateException`, `KMS.NotFoundException`, `KMS.OptInRequired`, `KMS.InvalidKeyUsageException`,
 *   `KmsInvalidKeyUsage`: the queue's key is not usable; an operator fixes it and every message then goes through.
 * - `AWS.SimpleQueueService.QueueDeletedRecently`, `InvalidAddress`: the queue or account is wrong or being
 *   recreated, a deployment problem rather than the message's.
 * Anything else with `SenderFault: true` (InvalidParameterValue, InvalidMessageContents, ...) is about the message's
 * content: permanent.
 */
export const SQS_TRANSIENT_ENTRY_CODES: ReadonlySet<string> = new Set([
  'KMS.ThrottlingException',
  'KMS.InvalidStateException',
  'KMS.NotFoundException',
  'KMS.OptInRequired',
  'KMS.InvalidKeyUsageException',
  'KmsInvalidKeyUsage',
  'AWS.SimpleQueueService.QueueDeletedRecently',
  'InvalidAddress',
]);

/** The entry Id of the i-th message of a call: `m0` ... `m9` (SQS wants Ids unique within the call). */
export function sqsEntryId(index: number): string {
  return `m${index}`;
}

/**
 * WarehouseQueue on the warehouse SQS FIFO queue: one SendMessageBatch call per sendBatch. Entries of one group keep
 * their order: SQS enqueues the messages of a FIFO batch in the order they are sent.
 */
export class SqsWarehouseQueue implements WarehouseQueue {
  readonly #client: SqsSendBatchClient;
  readonly #queueUrl: string;

  public constructor(client: SqsSendBatchClient, queueUrl: string) {
    this.#client = client;
    this.#queueUrl = queueUrl;
  }

  public async sendBatch(
    messages: readonly WarehouseMessage[],
    options: SendOptions = {},
  ): Promise<RecordOutcome[]> {
    if (messages.length > SQS_SEND_BATCH_MAX) {
      throw new BatchTooLargeError(SERVICE, messages.length, SQS_SEND_BATCH_MAX);
    }
    if (messages.length === 0) {
      // SQS rejects an empty batch (EmptyBatchRequest); there is nothing to send anyway.
      return [];
    }
    const ids = messages.map((_message, index) => sqsEntryId(index));
    const entries = messages.map((message, index) =>
      toEntry(message, sqsEntryId(index), options.possibleDuplicates?.has(index) ?? false),
    );
    // A whole-call failure (throttling, auth, a 5xx) propagates: the domain classifies it for every entry.
    const output = await this.#client.send(
      new SendMessageBatchCommand({ QueueUrl: this.#queueUrl, Entries: entries }),
    );
    return mapBatchResults(SERVICE, ids, output.Successful, output.Failed, SQS_TRANSIENT_ENTRY_CODES);
  }
}

function toEntry(
  message: WarehouseMessage,
  id: string,
  possibleDuplicate: boolean,
): SendMessageBatchRequestEntry {
  return {
    Id: id,
    MessageBody: JSON.stringify(message.body),
    MessageGroupId: message.groupId,
    MessageDeduplicationId: message.deduplicationId,
    // Only on a re-send (SQS drops it within 5 minutes anyway; past them, the warehouse sees the mark).
    ...(possibleDuplicate
      ? {
          MessageAttributes: {
            [POSSIBLE_DUPLICATE.attribute]: { DataType: 'String', StringValue: POSSIBLE_DUPLICATE.value },
          },
        }
      : {}),
  };
}
