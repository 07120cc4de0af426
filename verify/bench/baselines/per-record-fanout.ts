import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { SendEmailCommand, type SendEmailCommandOutput } from '@aws-sdk/client-sesv2';
import { PublishCommand, type PublishCommandOutput } from '@aws-sdk/client-sns';
import { SendMessageCommand, type SendMessageCommandOutput } from '@aws-sdk/client-sqs';
import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { FanoutEnvironment } from '../../../lambdas/order-fanout/compose.js';
import { type PlannedEffect, planEffects } from '../../../lambdas/order-fanout/effects.js';
import { ORDER_EVENT_ATTRIBUTES } from '../../../lambdas/order-fanout/messages.js';
import {
  moveToBackordered,
  stockIntentOf,
  toOrderChange,
} from '../../../lambdas/order-fanout/order-change.js';
import type { StockDecision, StockLine } from '../../../lambdas/order-fanout/stock-plan.js';
import { ENV, type EnvName, requireEnv } from '../../../lambdas/shared/env.js';
import { DynamoDbOrdersRepository } from '../../../lambdas/shared/orders/dynamodb-orders-repository.js';
import type { OrderLine } from '../../../lambdas/shared/orders/order.js';
import type { ChangeRecord } from '../../../lambdas/shared/stream/change-record.js';
import type { DeadLetterQueue } from '../../../lambdas/shared/stream/dead-letter.js';
import {
  type Clock,
  createStreamHandler,
  type StreamHandler,
  type StreamLogger,
  type StreamMetrics,
} from '../../../lambdas/shared/stream/stream-handler.js';

import { idempotentPerRecord } from './idempotent-per-record.js';
/**
 * The baseline of the `fanout` benchmark: the fan-out as a seed-style per-record handler would do it, for comparing
 * downstream calls and throughput with the batched one (createOrderFanoutHandler) on the same records. It runs on
 * the same stream runtime in per-record mode and sends the same messages (planEffects builds them), but per record:
 *
 * - a Powertools idempotency check keyed by the record's eventID (makeIdempotent with a DynamoDBPersistenceLayer on
 *   the Idempotency table, as the orders API guards its creates), which costs a conditional put before and an update
 *   after the work;
 * - one call per effect: SNS Publish, SESv2 SendEmail (templated), SQS SendMessage;
 * - stock one UpdateItem per line, conditional on enough stock for a reservation; when a line is short, the lines
 *   reserved before it are given back, one UpdateItem each, and the order is moved to BACKORDERED (one UpdateItem).
 *
 * It keeps no reservation ledger: a cancellation or an unshipped delete gives the order's lines back whenever the
 * order was not back-ordered before (its previous status tells), which is right for the benchmark's workload (nothing
 * is back-ordered there) and shows what the ledger of the batched handler is for. It is a yardstick, not a product.
 */

/** The single-message calls the baseline makes; the SDK clients and the sandbox's stand-ins satisfy them. */
export interface PerRecordFanoutClients {
  readonly sns: { send(command: PublishCommand): Promise<PublishCommandOutput> };
  readonly ses: { send(command: SendEmailCommand): Promise<SendEmailCommandOutput> };
  readonly sqs: { send(command: SendMessageCommand): Promise<SendMessageCommandOutput> };
  /** removeUndefinedValues on, as the app's own. */
  readonly documentClient: DynamoDBDocumentClient;
}

export interface PerRecordFanoutOptions {
  readonly clients: PerRecordFanoutClients;
  /** The fan-out function's environment: the same tables, topic, queue, sender and templates. */
  readonly env: FanoutEnvironment;
  readonly consumerName: string;
  readonly deadLetterQueue: DeadLetterQueue;
  readonly logger?: StreamLogger;
  readonly metrics?: StreamMetrics;
  /** @default Date.now */
  readonly clock?: Clock;
  /**
   * Prefix of the idempotency records' keys: a fresh one gives a clean ledger on a shared table.
   * @default 'order-fanout-per-record'
   */
  readonly idempotencyKeyPrefix?: string;
}

/** Statuses an order can be cancelled or deleted from while holding reserved stock (if it was not back-ordered). */
const HOLDS_STOCK = new Set(['PLACED', 'PAID']);

/** The baseline's Lambda handler; see the module comment. */
export function createPerRecordFanoutHandler(options: PerRecordFanoutOptions): StreamHandler {
  const { clients } = options;
  const read = (name: EnvName): string => requireEnv(name, options.env);
  const tables = {
    orders: read(ENV.ORDERS_TABLE_NAME),
    inventory: read(ENV.INVENTORY_TABLE_NAME),
    idempotency: read(ENV.IDEMPOTENCY_TABLE_NAME),
  };
  const topicArn = read(ENV.ORDER_EVENTS_TOPIC_ARN);
  const queueUrl = read(ENV.WAREHOUSE_QUEUE_URL);
  const fromAddress = read(ENV.EMAIL_FROM_ADDRESS);
  const templates = {
    placed: read(ENV.EMAIL_TEMPLATE_PLACED),
    shipped: read(ENV.EMAIL_TEMPLATE_SHIPPED),
    cancelled: read(ENV.EMAIL_TEMPLATE_CANCELLED),
  };
  const clock = options.clock ?? Date.now;
  const orders = new DynamoDbOrdersRepository(clients.documentClient, tables.orders);
  const persistenceStore = new DynamoDBPersistenceLayer({
    tableName: tables.idempotency,
    awsSdkV3Client: clients.documentClient,
  });
  const keyPrefix = options.idempotencyKeyPrefix ?? 'order-fanout-per-record';

  const addStock = async (sku: string, delta: number, need?: number): Promise<boolean> => {
    try {
      await clients.documentClient.send(
        new UpdateCommand({
          TableName: tables.inventory,
          Key: { sku },
          UpdateExpression: 'ADD #available :delta',
          ExpressionAttributeNames: { '#available': 'available' },
          ...(need === undefined
            ? { ExpressionAttributeValues: { ':delta': delta } }
            : {
                ConditionExpression: '#available >= :need',
                ExpressionAttributeValues: { ':delta': delta, ':need': need },
              }),
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  };

  /** One UpdateItem per line; on a short line, the lines reserved so far go back (one UpdateItem each). */
  const reserve = async (lines: readonly OrderLine[]): Promise<StockDecision> => {
    const reserved: StockLine[] = [];
    for (const { sku, qty } of lines) {
      if (await addStock(sku, -qty, qty)) {
        reserved.push({ sku, qty });
        continue;
      }
      for (const line of reserved) await addStock(line.sku, line.qty);
      return { kind: 'short', shortSkus: [sku] };
    }
    return { kind: 'reserved', lines: reserved };
  };

  const release = async (lines: readonly OrderLine[]): Promise<StockDecision> => {
    for (const { sku, qty } of lines) await addStock(sku, qty);
    return { kind: 'released', lines: lines.map(({ sku, qty }) => ({ sku, qty })) };
  };

  const send = async (effect: PlannedEffect, record: ChangeRecord): Promise<void> => {
    switch (effect.kind) {
      case 'event':
      case 'backorder-event':
        await clients.sns.send(
          new PublishCommand({
            TopicArn: topicArn,
            Message: JSON.stringify(effect.event),
            MessageAttributes: {
              [ORDER_EVENT_ATTRIBUTES.eventType]: { DataType: 'String', StringValue: effect.event.type },
              [ORDER_EVENT_ATTRIBUTES.status]: { DataType: 'String', StringValue: effect.event.status },
            },
            // The topic is FIFO: the same group and deduplication id as the batched publisher's.
            MessageGroupId: effect.event.orderId,
            MessageDeduplicationId: effect.event.eventId,
          }),
        );
        return;
      case 'email':
        await clients.ses.send(
          new SendEmailCommand({
            FromEmailAddress: fromAddress,
            Destination: { ToAddresses: [effect.email.to] },
            Content: {
              Template: {
                TemplateName: templates[effect.email.kind],
                TemplateData: JSON.stringify(effect.email.data),
              },
            },
          }),
        );
        return;
      case 'warehouse':
        await clients.sqs.send(
          new SendMessageCommand({
            QueueUrl: queueUrl,
            MessageBody: JSON.stringify(effect.message.body),
            MessageGroupId: effect.message.groupId,
            MessageDeduplicationId: effect.message.deduplicationId,
          }),
        );
        return;
      case 'backorder': {
        await moveToBackordered(orders, toOrderChange(record).order, new Date(clock()).toISOString());
        return;
      }
    }
  };

  const apply = async (record: ChangeRecord): Promise<void> => {
    const change = toOrderChange(record);
    const intent = stockIntentOf(change);
    let decision: StockDecision | undefined;
    if (intent?.kind === 'reserve') {
      decision = await reserve(change.order.lines);
    } else if (intent?.kind === 'release') {
      const held =
        change.kind === 'deleted'
          ? HOLDS_STOCK.has(change.order.status)
          : HOLDS_STOCK.has(change.previousStatus ?? '');
      decision = held ? await release(change.order.lines) : { kind: 'nothing-to-release' };
    }
    for (const effect of planEffects(change, decision)) await send(effect, record);
  };

  return createStreamHandler({
    consumerName: options.consumerName,
    deadLetterQueue: options.deadLetterQueue,
    logger: options.logger,
    metrics: options.metrics,
    clock: options.clock,
    handleRecord: idempotentPerRecord(apply, { persistenceStore, keyPrefix }),
  });
}
