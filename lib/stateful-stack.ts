import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { StageConfig } from './config.js';
import { AuditStorage } from './constructs/audit-storage.js';
import { DataTables } from './constructs/data-tables.js';
import { OrderMessaging } from './constructs/order-messaging.js';
import { SearchDomain } from './constructs/search-domain.js';

export interface StatefulStackProps extends StackProps {
  /** The validated stage configuration. */
  readonly config: StageConfig;
}

/**
 * Everything that holds data or that other parties hold on to: the tables and their key, the order events topic and
 * the warehouse queues, the search domain, the audit bucket and its Athena table. All retained on stack deletion, so that the
 * stateless stack can be destroyed and redeployed freely.
 */
export class StatefulStack extends Stack {
  public readonly tables: DataTables;
  /** The order fan-out's topic and warehouse queues: subscribers and the warehouse outlive pipeline redeploys. */
  public readonly messaging: OrderMessaging;
  /** The OpenSearch domain of the order search: the index outlives pipeline redeploys (rebuilding it takes hours). */
  public readonly search: SearchDomain;
  /** The audit log bucket (Object Lock) and its Athena table: evidence that must outlive every redeploy. */
  public readonly audit: AuditStorage;

  public constructor(scope: Construct, id: string, props: StatefulStackProps) {
    super(scope, id, props);
    this.tables = new DataTables(this, 'Tables');
    this.messaging = new OrderMessaging(this, 'Messaging');
    this.search = new SearchDomain(this, 'Search', { config: props.config });
    this.audit = new AuditStorage(this, 'Audit', { config: props.config, ordersTable: this.tables.orders });
  }
}
