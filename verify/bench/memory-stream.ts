import { marshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue, DynamoDBRecord } from 'aws-lambda';
import { type Order, parseOrderItem } from '../../lambdas/shared/orders/order.js';
import type {
  ConditionalDeleteOutcome,
  ConditionalWriteOutcome,
  CreateOrderOutcome,
  OrdersRepository,
  StatusChange,
} from '../../lambdas/shared/orders/orders-repository.js';
import type { VoteStep } from './workload.js';

/**
 * Tables in memory that record the stream records DynamoDB would write for their changes, in the shape of a Lambda
 * DynamoDB stream event's records (NEW_AND_OLD_IMAGES): for benchmarks that need realistic records of the bench
 * workload but no DynamoDB Local. The items are the ones the DynamoDB repositories write (DynamoDbOrdersRepository:
 * the order as is; a status change sets status and updatedAt and increments version; DynamoDbVotesRepository:
 * pollId, voterId, option, votedAt), marshalled as the DocumentClient does.
 */

const REGION = 'us-east-1';

/** Where the records of one table come from, as their eventSourceARN says. */
function streamArn(table: string): string {
  return `arn:aws:dynamodb:${REGION}:000000000000:table/${table}/stream/2026-01-01T00:00:00.000`;
}

/** Records of one table's stream, numbered in write order. */
export class MemoryStreamRecorder {
  readonly #records: DynamoDBRecord[] = [];
  readonly #arn: string;
  readonly #keyNames: readonly string[];
  readonly #clock: () => number;

  public constructor(table: string, keyNames: readonly string[], clock: () => number = Date.now) {
    this.#arn = streamArn(table);
    this.#keyNames = keyNames;
    this.#clock = clock;
  }

  /** Records one change; `before` and `after` are the item before and after it (undefined: absent). */
  public record(before: object | undefined, after: object | undefined): void {
    const eventName = before === undefined ? 'INSERT' : after === undefined ? 'REMOVE' : 'MODIFY';
    const item = (after ?? before) as Record<string, unknown>;
    const keys = Object.fromEntries(this.#keyNames.map((name) => [name, item[name]]));
    const sequence = this.#records.length + 1;
    const image = (value: object | undefined): Record<string, AttributeValue> | undefined =>
      value === undefined
        ? undefined
        : (marshall(value, { removeUndefinedValues: true }) as Record<string, AttributeValue>);
    const newImage = image(after);
    const oldImage = image(before);
    const keyImage = image(keys)!;
    this.#records.push({
      eventID: `memory-${sequence}`,
      eventName,
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: REGION,
      dynamodb: {
        ApproximateCreationDateTime: Math.floor(this.#clock() / 1000),
        Keys: keyImage,
        ...(newImage === undefined ? {} : { NewImage: newImage }),
        ...(oldImage === undefined ? {} : { OldImage: oldImage }),
        // 21 digits, increasing, as DynamoDB's sequence numbers compare.
        SequenceNumber: String(sequence).padStart(21, '0'),
        SizeBytes: JSON.stringify({ keyImage, newImage, oldImage }).length,
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
      eventSourceARN: this.#arn,
    });
  }

  /** Every record so far, in write order. */
  public records(): DynamoDBRecord[] {
    return [...this.#records];
  }
}

/** An Orders table in memory behind the OrdersRepository port, recording its stream. */
export class MemoryOrdersRepository implements OrdersRepository {
  readonly #items = new Map<string, Order>();
  public readonly stream: MemoryStreamRecorder;

  public constructor(table = 'Orders', clock: () => number = Date.now) {
    this.stream = new MemoryStreamRecorder(table, ['orderId'], clock);
  }

  public async get(orderId: string): Promise<Order | undefined> {
    return this.#items.get(orderId);
  }

  public async create(order: Order): Promise<CreateOrderOutcome> {
    const existing = this.#items.get(order.orderId);
    if (existing !== undefined) return { kind: 'exists', existing };
    // Through the item's parser, as a read from the table would give it back.
    const stored = parseOrderItem(structuredClone(order));
    this.#items.set(order.orderId, stored);
    this.stream.record(undefined, stored);
    return { kind: 'created', order: stored };
  }

  public async changeStatus(change: StatusChange): Promise<ConditionalWriteOutcome> {
    const current = this.#items.get(change.orderId);
    if (
      current === undefined ||
      current.version !== change.expectedVersion ||
      current.status !== change.expectedStatus
    ) {
      return { kind: 'conflict', current };
    }
    const changed: Order = {
      ...current,
      status: change.to,
      updatedAt: change.at,
      version: current.version + 1,
    };
    this.#items.set(change.orderId, changed);
    this.stream.record(current, changed);
    return { kind: 'written', order: changed };
  }

  public async delete(orderId: string, expectedVersion?: number): Promise<ConditionalDeleteOutcome> {
    const current = this.#items.get(orderId);
    if (current === undefined || (expectedVersion !== undefined && current.version !== expectedVersion)) {
      return { kind: 'conflict', current };
    }
    this.#items.delete(orderId);
    this.stream.record(current, undefined);
    return { kind: 'deleted', order: current };
  }
}

/**
 * The Votes stream records of a planned vote workload (planVotes), in plan order: a cast is an INSERT, a change a
 * MODIFY with the previous vote as its old image, a retraction a REMOVE.
 */
export function voteStreamRecords(
  plan: readonly (readonly VoteStep[])[],
  options: { readonly table?: string; readonly clock?: () => number } = {},
): DynamoDBRecord[] {
  const clock = options.clock ?? Date.now;
  const recorder = new MemoryStreamRecorder(options.table ?? 'Votes', ['pollId', 'voterId'], clock);
  const held = new Map<string, { pollId: string; voterId: string; option: string; votedAt: string }>();
  for (const step of plan.flat()) {
    const key = `${step.pollId}/${step.voterId}`;
    const before = held.get(key);
    if (step.kind === 'retract') {
      if (before === undefined) continue;
      held.delete(key);
      recorder.record(before, undefined);
      continue;
    }
    const after = {
      pollId: step.pollId,
      voterId: step.voterId,
      option: step.option,
      votedAt: new Date(clock()).toISOString(),
    };
    held.set(key, after);
    recorder.record(before, after);
  }
  return recorder.records();
}

/** Records cut into batches of `size`, in order, as a mapping delivers a backlog of one shard. */
export function batchesOf<T>(records: readonly T[], size: number): T[][] {
  const batches: T[][] = [];
  for (let start = 0; start < records.length; start += size) batches.push(records.slice(start, start + size));
  return batches;
}
