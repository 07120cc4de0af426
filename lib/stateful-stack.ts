import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { AUDIT_LOG_CONSUMER_NAME } from '../lambdas/audit-log/names.js';
import { ORDER_FANOUT_CONSUMER_NAME } from '../lambdas/order-fanout/names.js';
import { SEARCH_SYNC_CONSUMER_NAME } from '../lambdas/search-sync/names.js';
import { VOTE_AGGREGATOR_CONSUMER_NAME } from '../lambdas/vote-aggregator/names.js';
import type { StageConfig } from './config.js';
import { AuditStorage } from './constructs/audit-storage.js';
import { DataTables } from './constructs/data-tables.js';
import { OrderMessaging } from './constructs/order-messaging.js';
import { SearchDomain } from './constructs/search-domain.js';
import { createConsumerDeadLetterQueue } from './constructs/stream-consumer.js';

/** The stream consumers of the app, each with a DLQ in this stack. */
export const STREAM_CONSUMER_NAMES = [
  ORDER_FANOUT_CONSUMER_NAME,
  SEARCH_SYNC_CONSUMER_NAME,
  AUDIT_LOG_CONSUMER_NAME,
  VOTE_AGGREGATOR_CONSUMER_NAME,
] as const;
export type StreamConsumerName = (typeof STREAM_CONSUMER_NAMES)[number];

export interface StatefulStackProps extends StackProps {
  /** The validated stage configuration. */
  readonly config: StageConfig;
}

/**
 * Everything that holds data or that other parties hold on to: the tables and their key, the order events topic and
 * the warehouse queue, the search domain, the audit bucket and its Athena table, and every stream consumer's DLQ (the
 * only copy of failed records). All retained on stack deletion, so that the stateless stack can be destroyed and
 * redeployed freely.
 */
export class StatefulStack extends Stack {
  public readonly tables: DataTables;
  /** The order fan-out's topic and warehouse queues: subscribers and the warehouse outlive pipeline redeploys. */
  public readonly messaging: OrderMessaging;
  /** The OpenSearch domain of the order search: the index outlives pipeline redeploys (rebuilding it takes hours). */
  public readonly search: SearchDomain;
  /** The audit log bucket (Object Lock) and its Athena table: evidence that must outlive every redeploy. */
  public readonly audit: AuditStorage;
  /**
   * Per stream consumer its DLQ, retained: failed records are kept 14 days there, the stream keeps them 24 h, and a
   * destroy of the pipelines stack must not take them along.
   */
  public readonly deadLetterQueues: Readonly<Record<StreamConsumerName, Queue>>;

  public constructor(scope: Construct, id: string, props: StatefulStackProps) {
    super(scope, id, props);
    this.tables = new DataTables(this, 'Tables');
    const queues = new Construct(this, 'DeadLetterQueues');
    this.deadLetterQueues = Object.fromEntries(
      STREAM_CONSUMER_NAMES.map((name) => [name, createConsumerDeadLetterQueue(queues, name)]),
    ) as Record<StreamConsumerName, Queue>;
    this.messaging = new OrderMessaging(this, 'Messaging');
    this.search = new SearchDomain(this, 'Search', { config: props.config });
    this.audit = new AuditStorage(this, 'Audit', { config: props.config, ordersTable: this.tables.orders });
  }
}
