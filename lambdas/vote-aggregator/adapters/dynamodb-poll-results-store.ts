import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DynamoDBServiceException,
  GetItemCommand,
} from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { POLL_RESULTS_ATTRIBUTES as A, SEQUENCE_NUMBER_WIDTH } from '../../shared/poll-results.js';
import * as z from '../../shared/zod.js';
import type { ApplyResult, PollDelta, PollResultsStore, StoredPollResults } from '../ports.js';

/** The watermark of a poll with no item: below every sequence number. */
export const NO_WATERMARK = '0'.repeat(SEQUENCE_NUMBER_WIDTH);

/** The stored state of a poll that has no item yet. */
export const EMPTY_POLL_RESULTS: StoredPollResults = {
  lastSequence: NO_WATERMARK,
  counts: new Map(),
  total: 0,
};

/**
 * The item a failed condition returned does not have the PollResults layout. Not a record's fault and not
 * something a retry of the records fixes by itself, but an operator's (the item is repaired or deleted and recounted):
 * a plain Error, so the runtime reports the poll's records for retry rather than dead-lettering them.
 */
export class MalformedPollResultsItemError extends Error {
  public constructor(pollId: string, cause: unknown) {
    super(`PollResults item of poll ${pollId} does not have the expected layout`, { cause });
    this.name = 'MalformedPollResultsItemError';
  }
}

/** Creating the poll's item and updating it kept missing each other (the item vanished between them): retried. */
export class PollResultsItemRaceError extends Error {
  public constructor(pollId: string) {
    super(`PollResults item of poll ${pollId} neither updatable nor creatable; it appeared and vanished`);
    this.name = 'PollResultsItemRaceError';
  }
}

/** What the update path needs of a returned item; `asOf` and the rest are not read. */
const storedItemSchema = z.looseObject({
  [A.lastSeq]: z.object({ S: z.string() }),
  [A.total]: z.object({ N: z.string() }),
});

/**
 * The counts map of a returned item, read from its raw AttributeValues by hand into a Map: unmarshall (and a zod
 * record) assign keys to a plain object, where an option named `__proto__` (which an item written before options
 * were checked may hold) would vanish.
 */
function readCounts(value: AttributeValue | undefined): Map<string, number> | undefined {
  if (value?.M === undefined) {
    return undefined;
  }
  const counts = new Map<string, number>();
  for (const [option, count] of Object.entries(value.M)) {
    const number = count.N === undefined ? Number.NaN : Number(count.N);
    if (!Number.isSafeInteger(number)) {
      return undefined;
    }
    counts.set(option, number);
  }
  return counts;
}

/**
 * Whether an UpdateItem failed because the SDK could not read DynamoDB's answer, not because DynamoDB refused it: an
 * error that is not a modelled service exception yet carries the response's status, 400. With this store's
 * requests the one 400 answer that carries an item is a failed condition with its ALL_OLD item, and the SDK's
 * error deserializer fails on some map keys (`__proto__`) that its output deserializer reads fine.
 */
function isUnreadableRefusal(err: unknown): boolean {
  if (err instanceof DynamoDBServiceException || !(err instanceof Error)) {
    return false;
  }
  const metadata = (err as { $metadata?: { httpStatusCode?: number } }).$metadata;
  return metadata?.httpStatusCode === 400;
}

function parseStored(pollId: string, raw: Record<string, AttributeValue>): StoredPollResults {
  const parsed = storedItemSchema.safeParse(raw);
  const counts = readCounts(raw[A.counts]);
  const total = parsed.success ? Number(parsed.data[A.total].N) : Number.NaN;
  if (!parsed.success || counts === undefined || !Number.isSafeInteger(total)) {
    throw new MalformedPollResultsItemError(pollId, parsed.error);
  }
  return { lastSequence: parsed.data[A.lastSeq].S, counts, total };
}

/** `missing`: the poll has no item yet; otherwise what the update did or found. */
type UpdateResult = ApplyResult | { readonly kind: 'missing' };

/**
 * The PollResults table behind PollResultsStore (layout: lambdas/shared/poll-results.ts).
 *
 * `apply` is one UpdateItem:
 * `ADD counts.#o0 :d0, ..., total :t, records :r SET lastSeq = :last, asOf = :asOf [, reconcileToken = :token]`
 * on the condition `lastSeq < :first` and, for each decreasing option, `counts.#oi >= :needi` (and `total >= :needT`
 * when the total decreases), the needs as positive numbers, with ReturnValuesOnConditionCheckFailure ALL_OLD. Every
 * attribute and option name goes through ExpressionAttributeNames: options are free-form text (dots, `#`, spaces,
 * reserved words) and must never reach the expression itself; `total` and `records` are reserved-looking too.
 *
 * A failed condition:
 * - no item returned: the poll has no item yet, and a nested `ADD counts.#o` needs the map to exist. The item is
 *   created with one UpdateItem `SET counts = :map, total, records, lastSeq, asOf [, reconcileToken]` on
 *   `attribute_not_exists(pollId)`. If that fails its condition, another writer created it meanwhile: back to the
 *   update. When the first batch would create a negative count or total (a poll's first records remove votes cast
 *   before the stream or this consumer existed), nothing is written and `wouldGoNegative` is returned against an
 *   empty poll: the aggregator clamps at zero, logs the drift for the reconcile command, and the next apply creates
 *   the item with non-negative values;
 * - an item with `lastSeq >= first`: `behind`;
 * - an item below the watermark: a needed count or the total is short: `wouldGoNegative`.
 *
 * The `:counts` map of the create is handed to the marshaller as a Map: a plain object with an option named
 * `constructor` is refused by it (it judges objects by `constructor.name`), a Map never is. When the SDK cannot read
 * a refusal's item (isUnreadableRefusal), the item is read again with a strongly consistent GetItem, whose answer it
 * can read, and judged the same way.
 */
export class DynamoDbPollResultsStore implements PollResultsStore {
  readonly #documentClient: DynamoDBDocumentClient;
  readonly #tableName: string;

  public constructor(documentClient: DynamoDBDocumentClient, tableName: string) {
    this.#documentClient = documentClient;
    this.#tableName = tableName;
  }

  public async apply(delta: PollDelta): Promise<ApplyResult> {
    // update (no item) -> create (created meanwhile) -> update: the second update finds the item.
    for (let round = 0; round < 2; round += 1) {
      const updated = await this.#update(delta);
      if (updated.kind !== 'missing') {
        return updated;
      }
      if ([...delta.counts.values()].some((amount) => amount < 0) || delta.total < 0) {
        return { kind: 'wouldGoNegative', stored: EMPTY_POLL_RESULTS };
      }
      if (await this.#create(delta)) {
        return { kind: 'applied' };
      }
    }
    throw new PollResultsItemRaceError(delta.pollId);
  }

  async #update(delta: PollDelta): Promise<UpdateResult> {
    // DynamoDB refuses a name or value the expressions do not use: `#counts` only when an option changes (a batch
    // of markers or unchanged options has none), each need only for a decrement.
    const names: Record<string, string> = {
      '#total': A.total,
      '#records': A.records,
      '#lastSeq': A.lastSeq,
      '#asOf': A.asOf,
    };
    const values: Record<string, unknown> = {
      ':t': delta.total,
      ':r': delta.records,
      ':first': delta.firstSequence,
      ':last': delta.lastSequence,
      ':asOf': delta.asOf,
    };
    const additions: string[] = [];
    // No item at all fails this too (a missing attribute compares false), which is how the missing item is seen.
    const conditions = ['#lastSeq < :first'];
    [...delta.counts].forEach(([option, amount], index) => {
      names['#counts'] = A.counts;
      names[`#o${index}`] = option;
      values[`:d${index}`] = amount;
      additions.push(`#counts.#o${index} :d${index}`);
      if (amount < 0) {
        values[`:need${index}`] = -amount;
        conditions.push(`#counts.#o${index} >= :need${index}`);
      }
    });
    additions.push('#total :t', '#records :r');
    if (delta.total < 0) {
      values[':needTotal'] = -delta.total;
      conditions.push('#total >= :needTotal');
    }
    const sets = ['#lastSeq = :last', '#asOf = :asOf'];
    if (delta.reconcileToken !== undefined) {
      names['#token'] = A.reconcileToken;
      values[':token'] = delta.reconcileToken;
      sets.push('#token = :token');
    }
    try {
      await this.#documentClient.send(
        new UpdateCommand({
          TableName: this.#tableName,
          Key: { [A.pollId]: delta.pollId },
          UpdateExpression: `ADD ${additions.join(', ')} SET ${sets.join(', ')}`,
          ConditionExpression: conditions.join(' AND '),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { kind: 'applied' };
    } catch (err) {
      let item: Record<string, AttributeValue> | undefined;
      if (err instanceof ConditionalCheckFailedException) {
        // The DocumentClient does not translate the error's Item: it is raw AttributeValues.
        item = err.Item;
      } else if (isUnreadableRefusal(err)) {
        item = await this.#read(delta.pollId);
      } else {
        throw err;
      }
      if (item === undefined) {
        return { kind: 'missing' };
      }
      const stored = parseStored(delta.pollId, item);
      return stored.lastSequence >= delta.firstSequence
        ? { kind: 'behind', stored }
        : { kind: 'wouldGoNegative', stored };
    }
  }

  /**
   * The poll's item as raw AttributeValues (a raw GetItem through the DocumentClient, so nothing is unmarshalled
   * into plain objects). Only the attributes parseStored reads.
   */
  async #read(pollId: string): Promise<Record<string, AttributeValue> | undefined> {
    const { Item } = await this.#documentClient.send(
      new GetItemCommand({
        TableName: this.#tableName,
        Key: { [A.pollId]: { S: pollId } },
        ConsistentRead: true,
        ProjectionExpression: '#lastSeq, #counts, #total',
        ExpressionAttributeNames: { '#lastSeq': A.lastSeq, '#counts': A.counts, '#total': A.total },
      }),
    );
    return Item;
  }

  /** Creates the poll's item from a non-negative delta; false when it exists already. */
  async #create(delta: PollDelta): Promise<boolean> {
    const names: Record<string, string> = {
      '#pollId': A.pollId,
      '#counts': A.counts,
      '#total': A.total,
      '#records': A.records,
      '#lastSeq': A.lastSeq,
      '#asOf': A.asOf,
    };
    const values: Record<string, unknown> = {
      // The delta's Map as it is: the marshaller refuses a plain object with an own `constructor` (see the class
      // comment), never a Map.
      ':counts': delta.counts,
      ':t': delta.total,
      ':r': delta.records,
      ':last': delta.lastSequence,
      ':asOf': delta.asOf,
    };
    const sets = ['#counts = :counts', '#total = :t', '#records = :r', '#lastSeq = :last', '#asOf = :asOf'];
    if (delta.reconcileToken !== undefined) {
      names['#token'] = A.reconcileToken;
      values[':token'] = delta.reconcileToken;
      sets.push('#token = :token');
    }
    try {
      await this.#documentClient.send(
        new UpdateCommand({
          TableName: this.#tableName,
          Key: { [A.pollId]: delta.pollId },
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: 'attribute_not_exists(#pollId)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) {
        return false;
      }
      throw err;
    }
  }
}
