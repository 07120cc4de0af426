import {
  PublishBatchCommand,
  type PublishBatchCommandOutput,
  type PublishBatchRequestEntry,
} from '@aws-sdk/client-sns';
import type { RecordOutcome } from '../../shared/stream/stream-handler.js';
import { ORDER_EVENT_ATTRIBUTES, type OrderEvent, POSSIBLE_DUPLICATE } from '../messages.js';
import { type EventPublisher, type SendOptions, SNS_PUBLISH_BATCH_MAX } from '../ports.js';
import { BatchTooLargeError, mapBatchResults } from './batch-entry-failure.js';

/**
 * The part of an SNS client the publisher uses. `SNSClient` satisfies it; the local sandbox passes a stand-in that
 * writes files instead.
 */
export interface SnsPublishClient {
  send(command: PublishBatchCommand): Promise<PublishBatchCommandOutput>;
}

const SERVICE = 'SNS PublishBatch';

/**
 * PublishBatch entry codes that SNS reports with `SenderFault: true` although the entry itself is fine, so they are
 * transient. Codes as SNS spells them (the `awsQueryError` codes of @aws-sdk/client-sns's error model), which
 * classifyError's lists mostly do not contain:
 * - `Throttled`, `KMSThrottling`: rate limits of SNS and of KMS (for an encrypted topic); a retry succeeds.
 * - `KMSAccessDenied`, `KMSDisabled`, `KMSInvalidState`, `KMSNotFound`, `KMSOptInRequired`: the topic's key is not
 *   usable; an operator fixes the key or its policy and every entry then succeeds.
 * - `AuthorizationError`, `InvalidSecurity`: IAM or signing; an operator fix (also in classifyError's list).
 * - `NotFound`, `ResourceNotFound`: the topic does not exist (a deployment problem, not the event's).
 * Anything else with `SenderFault: true` (InvalidParameter, ParameterValueInvalid, InvalidParameterValue,
 * ValidationException, ...) is about the entry's content: permanent.
 */
export const SNS_TRANSIENT_ENTRY_CODES: ReadonlySet<string> = new Set([
  'Throttled',
  'KMSThrottling',
  'KMSAccessDenied',
  'KMSDisabled',
  'KMSInvalidState',
  'KMSNotFound',
  'KMSOptInRequired',
  'AuthorizationError',
  'InvalidSecurity',
  'NotFound',
  'ResourceNotFound',
]);

/** The entry Id of the i-th event of a call: `e0` ... `e9` (SNS wants Ids unique within the call). */
export function snsEntryId(index: number): string {
  return `e${index}`;
}

/**
 * EventPublisher on the `order-events` SNS FIFO topic: one PublishBatch call per publishBatch. Each event is the JSON
 * message of one entry, with the `eventType` and `status` message attributes that subscription filter policies
 * match on, its order id as MessageGroupId (an order's events reach FIFO subscribers in order) and its eventId as
 * MessageDeduplicationId (SNS accepts a repeat within 5 minutes and does not deliver it). An eventId is
 * `<orderId>:<version>:<type>`: a UUID, digits, letters and `:`, about 60 characters, well within SNS's 128
 * alphanumeric and punctuation characters; a longer or odd order id gets the entry refused (InvalidParameter,
 * permanent) rather than mangled, which would merge two events' deduplication.
 */
export class SnsEventPublisher implements EventPublisher {
  readonly #client: SnsPublishClient;
  readonly #topicArn: string;

  public constructor(client: SnsPublishClient, topicArn: string) {
    this.#client = client;
    this.#topicArn = topicArn;
  }

  public async publishBatch(
    events: readonly OrderEvent[],
    options: SendOptions = {},
  ): Promise<RecordOutcome[]> {
    if (events.length > SNS_PUBLISH_BATCH_MAX) {
      throw new BatchTooLargeError(SERVICE, events.length, SNS_PUBLISH_BATCH_MAX);
    }
    if (events.length === 0) {
      // SNS rejects an empty batch (EmptyBatchRequest); there is nothing to publish anyway.
      return [];
    }
    const ids = events.map((_event, index) => snsEntryId(index));
    const entries = events.map((event, index) =>
      toEntry(event, snsEntryId(index), options.possibleDuplicates?.has(index) ?? false),
    );
    // A whole-call failure (throttling, auth, a 5xx) propagates: the domain classifies it for every entry.
    const output = await this.#client.send(
      new PublishBatchCommand({ TopicArn: this.#topicArn, PublishBatchRequestEntries: entries }),
    );
    return mapBatchResults(SERVICE, ids, output.Successful, output.Failed, SNS_TRANSIENT_ENTRY_CODES);
  }
}

function toEntry(event: OrderEvent, id: string, possibleDuplicate: boolean): PublishBatchRequestEntry {
  return {
    Id: id,
    Message: JSON.stringify(event),
    MessageAttributes: {
      [ORDER_EVENT_ATTRIBUTES.eventType]: { DataType: 'String', StringValue: event.type },
      [ORDER_EVENT_ATTRIBUTES.status]: { DataType: 'String', StringValue: event.status },
      ...(possibleDuplicate
        ? { [POSSIBLE_DUPLICATE.attribute]: { DataType: 'String', StringValue: POSSIBLE_DUPLICATE.value } }
        : {}),
    },
    MessageGroupId: event.orderId,
    MessageDeduplicationId: event.eventId,
  };
}
