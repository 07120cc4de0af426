import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { paginateScan } from '@aws-sdk/lib-dynamodb';
import { AUDIT_LOG_CONSUMER_NAME } from '../../lambdas/audit-log/names.js';
import { RESERVATION_KEY_PREFIX } from '../../lambdas/order-fanout/adapters/dynamodb-fanout-store.js';
import type { EmailKind } from '../../lambdas/order-fanout/messages.js';
import { ORDER_FANOUT_CONSUMER_NAME } from '../../lambdas/order-fanout/names.js';
import { ENV } from '../../lambdas/shared/env.js';
import { type Order, parseOrderItem } from '../../lambdas/shared/orders/order.js';
import { LocalS3Client, readBucketJournal } from '../../sandbox/adapters/local-s3.js';
import { readOutbox } from '../../sandbox/adapters/local-ses.js';
import {
  readTopicDuplicates,
  readTopicMessages,
  topicNameFromArn,
} from '../../sandbox/adapters/local-sns.js';
import { queueNameFromUrl, readQueueMessages } from '../../sandbox/adapters/local-sqs.js';
import { readQueueDuplicates } from '../../sandbox/adapters/local-sqs-client.js';
import { localClientConfig } from '../../sandbox/dynamodb-local/server.js';
import { latestStreamArn, localStreamsClient } from '../../sandbox/esm/dynamodb-stream-source.js';
import type { SandboxSystem } from '../../sandbox/system.js';
import type { AuditCheckInput, StreamRecordTruth } from './audit-invariants.js';
import { readAuditObjects, readStreamRecords } from './audit-observations.js';
import type { FanoutInvariantInput, ScannedReservation } from './fanout-invariants.js';
import type { ScannedItem } from './votes-invariants.js';

/**
 * What a run over the sandbox reads back to check the consumers' targets (the chaos run, the outage drill): a
 * table's items, a table's stream, what the fan-out left in its sinks, the audit bucket. The checks themselves are
 * the *-invariants.ts modules; each run adds what only it knows (the histories, the poison orders, the letters).
 */

/** The sandbox lacks what a check reads: a table, a consumer's environment variable, a local topic. */
export class MissingObservationError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = 'MissingObservationError';
  }
}

/** A variable of a consumer's function environment as the sandbox resolved it. */
export function consumerVariable(system: SandboxSystem, consumer: string, name: string): string {
  const value = system.environments[consumer]?.[name];
  if (value === undefined)
    throw new MissingObservationError(`The ${consumer} function has no ${name} variable`);
  return value;
}

/** The local name of a table of the template, by its construct id. */
export function tableName(system: SandboxSystem, constructId: string): string {
  const name = system.tables[constructId];
  if (name === undefined) throw new MissingObservationError(`The sandbox has no ${constructId} table`);
  return name;
}

/** Every item of a table, read consistently (the streams have drained: nothing writes any more). */
export async function scanTable(system: SandboxSystem, table: string): Promise<ScannedItem[]> {
  const items: ScannedItem[] = [];
  for await (const page of paginateScan(
    { client: system.documentClient },
    { TableName: table, ConsistentRead: true },
  )) {
    items.push(...(page.Items ?? []));
  }
  return items;
}

/** Every record of a table's stream from TRIM_HORIZON, with clients of its own (the consumers are done with it). */
export async function readTableStream(system: SandboxSystem, table: string): Promise<StreamRecordTruth[]> {
  const dynamoDb = new DynamoDBClient(localClientConfig(system.dynamodbEndpoint));
  const streams = localStreamsClient(system.dynamodbEndpoint);
  try {
    return await readStreamRecords(streams, await latestStreamArn(dynamoDb, table));
  } finally {
    dynamoDb.destroy();
    streams.destroy();
  }
}

/** What the fan-out left behind, as its checks take it; the run adds the histories, poison orders and letters. */
export type FanoutSinks = Omit<
  FanoutInvariantInput,
  'history' | 'poisonOrderIds' | 'deadLetters' | 'onFailureRecords'
>;

/**
 * The fan-out's topic file and the topic's dropped duplicates, the outbox (its templates' e-mails only), its
 * warehouse queue and that queue's dropped duplicates, the Inventory table's reservations and stock.
 */
export async function observeFanoutSinks(system: SandboxSystem): Promise<FanoutSinks> {
  const variable = (name: string): string => consumerVariable(system, ORDER_FANOUT_CONSUMER_NAME, name);
  const topicArn = variable(ENV.ORDER_EVENTS_TOPIC_ARN);
  const topicName = topicNameFromArn(topicArn);
  if (topicName === undefined) throw new MissingObservationError(`${topicArn} is not a local topic ARN`);
  const queueName = queueNameFromUrl(variable(ENV.WAREHOUSE_QUEUE_URL));
  const emailTemplates: Record<EmailKind, string> = {
    placed: variable(ENV.EMAIL_TEMPLATE_PLACED),
    shipped: variable(ENV.EMAIL_TEMPLATE_SHIPPED),
    cancelled: variable(ENV.EMAIL_TEMPLATE_CANCELLED),
  };
  const templates = new Set(Object.values(emailTemplates));
  const reservations: ScannedReservation[] = [];
  const stock: Record<string, number> = {};
  for (const item of await scanTable(system, tableName(system, 'Inventory'))) {
    const sku = String(item.sku);
    if (sku.startsWith(RESERVATION_KEY_PREFIX)) {
      reservations.push({
        orderId: String(item.orderId),
        state: item.state as ScannedReservation['state'],
        lines: (item.lines as { sku: string; qty: number }[] | undefined) ?? [],
        ...(typeof item.reservedBy === 'string' ? { reservedBy: item.reservedBy } : {}),
        ...(typeof item.releasedBy === 'string' ? { releasedBy: item.releasedBy } : {}),
        shortBy: (item.shortBy as string[] | undefined) ?? [],
      });
    } else {
      stock[sku] = Number(item.available);
    }
  }
  return {
    events: await readTopicMessages(system.outputDir, topicName),
    eventDuplicates: await readTopicDuplicates(system.outputDir, topicName),
    // Other pipelines may send e-mails of their own one day; the fan-out's are those of its templates.
    emails: (await readOutbox(system.outputDir)).filter(
      (email) => email.template !== undefined && templates.has(email.template),
    ),
    emailTemplates,
    warehouse: await readQueueMessages(system.outputDir, queueName),
    warehouseDuplicates: await readQueueDuplicates(system.outputDir, queueName),
    reservations,
    stock,
    initialStock: system.inventory,
  };
}

/** The audit bucket as its check takes it; the run adds the stream, the time slack and the letters. */
export type AuditBucket = Pick<AuditCheckInput, 'tableName' | 'objects' | 'journal' | 'lostResponses'>;

/**
 * Every object of the audit log's bucket (AUDIT_BUCKET_NAME of its environment) through a reading S3 stand-in on the
 * same files, the bucket's PutObject journal, and how many answers the stand-in lost.
 */
export async function observeAuditBucket(system: SandboxSystem): Promise<AuditBucket> {
  const bucket = consumerVariable(system, AUDIT_LOG_CONSUMER_NAME, ENV.AUDIT_BUCKET_NAME);
  return {
    tableName: tableName(system, 'Orders'),
    objects: await readAuditObjects(
      new LocalS3Client({ outputDir: system.outputDir, buckets: [bucket] }),
      bucket,
    ),
    journal: await readBucketJournal(system.outputDir, bucket),
    lostResponses: system.serviceStats().s3.lostResponses,
  };
}

/** The Orders table's items as orders, and the ids of the items that are not orders (no sync could index them). */
export async function scanOrders(
  system: SandboxSystem,
): Promise<{ readonly orders: Order[]; readonly unreadable: string[] }> {
  const orders: Order[] = [];
  const unreadable: string[] = [];
  for (const item of await scanTable(system, tableName(system, 'Orders'))) {
    try {
      orders.push(parseOrderItem(item));
    } catch {
      unreadable.push(String(item.orderId));
    }
  }
  return { orders, unreadable };
}
