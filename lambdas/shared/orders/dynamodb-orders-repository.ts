import { type AttributeValue, ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { type Order, parseOrderItem } from './order.js';
import type {
  ConditionalDeleteOutcome,
  ConditionalWriteOutcome,
  CreateOrderOutcome,
  OrdersRepository,
  StatusChange,
} from './orders-repository.js';

/** The Orders table behind {@link OrdersRepository}, through the DocumentClient. */
export class DynamoDbOrdersRepository implements OrdersRepository {
  public constructor(
    private readonly documentClient: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  public async get(orderId: string): Promise<Order | undefined> {
    const { Item } = await this.documentClient.send(
      new GetCommand({ TableName: this.tableName, Key: { orderId }, ConsistentRead: true }),
    );
    return Item === undefined ? undefined : parseOrderItem(Item);
  }

  public async create(order: Order): Promise<CreateOrderOutcome> {
    try {
      await this.documentClient.send(
        new PutCommand({
          TableName: this.tableName,
          Item: order,
          ConditionExpression: 'attribute_not_exists(orderId)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { kind: 'created', order };
    } catch (error) {
      const current = conditionFailureItem(error);
      if (current === undefined) {
        throw error;
      }
      if (current.item === undefined) {
        // A put conditioned on absence fails only when the item exists; DynamoDB returned no copy of it, so read it.
        const existing = await this.get(order.orderId);
        if (existing === undefined) {
          throw error;
        }
        return { kind: 'exists', existing };
      }
      return { kind: 'exists', existing: current.item };
    }
  }

  public async changeStatus(change: StatusChange): Promise<ConditionalWriteOutcome> {
    try {
      const { Attributes } = await this.documentClient.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { orderId: change.orderId },
          UpdateExpression: 'SET #status = :to, #updatedAt = :at, #version = #version + :one',
          // Both: the version proves nobody wrote since the read; the status guards against an item written
          // by code that forgot to bump the version.
          ConditionExpression: '#version = :expectedVersion AND #status = :expectedStatus',
          ExpressionAttributeNames: { '#status': 'status', '#updatedAt': 'updatedAt', '#version': 'version' },
          ExpressionAttributeValues: {
            ':to': change.to,
            ':at': change.at,
            ':one': 1,
            ':expectedVersion': change.expectedVersion,
            ':expectedStatus': change.expectedStatus,
          },
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { kind: 'written', order: parseOrderItem(Attributes) };
    } catch (error) {
      const current = conditionFailureItem(error);
      if (current === undefined) {
        throw error;
      }
      return { kind: 'conflict', current: current.item };
    }
  }

  public async delete(orderId: string, expectedVersion?: number): Promise<ConditionalDeleteOutcome> {
    const condition =
      expectedVersion === undefined
        ? { ConditionExpression: 'attribute_exists(orderId)' }
        : {
            ConditionExpression: 'attribute_exists(orderId) AND #version = :expectedVersion',
            ExpressionAttributeNames: { '#version': 'version' },
            ExpressionAttributeValues: { ':expectedVersion': expectedVersion },
          };
    try {
      const { Attributes } = await this.documentClient.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { orderId },
          // Without a condition, deleting nothing succeeds silently and the API could not answer 404.
          ...condition,
          ReturnValues: 'ALL_OLD',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { kind: 'deleted', order: parseOrderItem(Attributes) };
    } catch (error) {
      const current = conditionFailureItem(error);
      if (current === undefined) {
        throw error;
      }
      return { kind: 'conflict', current: current.item };
    }
  }
}

/**
 * For a failed condition, the item DynamoDB returned with it (ReturnValuesOnConditionCheckFailure = ALL_OLD), parsed;
 * `{ item: undefined }` when there is no item; undefined when the error is something else. The DocumentClient does
 * not translate the error's `Item`, so it is unmarshalled here.
 */
function conditionFailureItem(error: unknown): { item: Order | undefined } | undefined {
  if (!(error instanceof ConditionalCheckFailedException)) {
    return undefined;
  }
  const raw: Record<string, AttributeValue> | undefined = error.Item;
  return { item: raw === undefined ? undefined : parseOrderItem(unmarshall(raw)) };
}
