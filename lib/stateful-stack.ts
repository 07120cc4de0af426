import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
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
import { CONSUMER_OUTPUT_STACK, consumerOutputKey, STAGE_OUTPUTS } from './stage-outputs.js';

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
    this.addOpsOutputs();
  }

  /**
   * The outputs the ops command resolves this stack's names from (lib/stage-outputs.ts): each at the stack's root,
   * with exactly the contract's key as its id.
   */
  private addOpsOutputs(): void {
    const keys = STAGE_OUTPUTS.stateful;
    const outputs: Array<[string, string, string]> = [
      [keys.ordersTableName, 'The Orders table', this.tables.orders.tableName],
      [keys.ordersStreamArn, "The Orders table's stream", this.tables.orders.tableStreamArn!],
      [keys.votesTableName, 'The Votes table', this.tables.votes.tableName],
      [keys.votesStreamArn, "The Votes table's stream", this.tables.votes.tableStreamArn!],
      [keys.pollResultsTableName, 'The PollResults table', this.tables.pollResults.tableName],
      [keys.inventoryTableName, 'The Inventory table', this.tables.inventory.tableName],
      [keys.auditBucketName, 'The audit log bucket', this.audit.bucketName],
      [
        keys.searchEndpoint,
        'The search domain URL, https://<host> (SigV4, service es)',
        `https://${this.search.domainEndpoint}`,
      ],
    ];
    for (const [id, description, value] of outputs) {
      new CfnOutput(this, id, { description, value });
    }
    for (const name of STREAM_CONSUMER_NAMES) {
      const queue = this.deadLetterQueues[name];
      const values = { DeadLetterQueueUrl: queue.queueUrl, DeadLetterQueueName: queue.queueName } as const;
      for (const [field, value] of Object.entries(values) as Array<[keyof typeof values, string]>) {
        if (CONSUMER_OUTPUT_STACK[field] !== 'stateful') {
          throw new Error(`${field} is not an output of the stateful stack (CONSUMER_OUTPUT_STACK)`);
        }
        new CfnOutput(this, consumerOutputKey(name, field), {
          description: `${name}: its DLQ (${field})`,
          value,
        });
      }
    }
  }
}
