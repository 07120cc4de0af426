import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import {
  AttributeType,
  BillingMode,
  StreamViewType,
  Table,
  TableEncryption,
  type TableProps,
} from 'aws-cdk-lib/aws-dynamodb';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { IDEMPOTENCY_TTL_ATTRIBUTE } from '../../lambdas/shared/table-attributes.js';

/** Attribute and index names of the tables, shared with the Lambda code that reads them. */
export const ORDERS_BY_CUSTOMER_INDEX = 'byCustomer';
export const ORDERS_TTL_ATTRIBUTE = 'expiresAt';
export { IDEMPOTENCY_TTL_ATTRIBUTE };

export interface DataTablesProps {
  /**
   * Removal policy of the tables and their key. Stateful data outlives a stack deletion by default.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The application's DynamoDB tables, all encrypted with one customer-managed key, on-demand, with point-in-time
 * recovery and deletion protection. The Orders and Votes tables carry NEW_AND_OLD_IMAGES streams: every consumer
 * needs the old image to tell what changed.
 */
export class DataTables extends Construct {
  public readonly key: Key;
  public readonly orders: Table;
  public readonly votes: Table;
  public readonly pollResults: Table;
  public readonly inventory: Table;
  public readonly idempotency: Table;

  public constructor(scope: Construct, id: string, props: DataTablesProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    this.key = new Key(this, 'TablesKey', {
      description: 'Encrypts the order pipeline tables and their streams',
      enableKeyRotation: true,
      rotationPeriod: Duration.days(365),
      removalPolicy,
    });

    const common: Omit<TableProps, 'partitionKey'> = {
      billingMode: BillingMode.PAY_PER_REQUEST,
      encryption: TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.key,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy,
    };

    this.orders = new Table(this, 'Orders', {
      ...common,
      partitionKey: { name: 'orderId', type: AttributeType.STRING },
      stream: StreamViewType.NEW_AND_OLD_IMAGES,
      timeToLiveAttribute: ORDERS_TTL_ATTRIBUTE,
    });
    this.orders.addGlobalSecondaryIndex({
      indexName: ORDERS_BY_CUSTOMER_INDEX,
      partitionKey: { name: 'customerId', type: AttributeType.STRING },
      sortKey: { name: 'createdAt', type: AttributeType.STRING },
    });

    this.votes = new Table(this, 'Votes', {
      ...common,
      partitionKey: { name: 'pollId', type: AttributeType.STRING },
      sortKey: { name: 'voterId', type: AttributeType.STRING },
      stream: StreamViewType.NEW_AND_OLD_IMAGES,
    });

    this.pollResults = new Table(this, 'PollResults', {
      ...common,
      partitionKey: { name: 'pollId', type: AttributeType.STRING },
    });

    this.inventory = new Table(this, 'Inventory', {
      ...common,
      partitionKey: { name: 'sku', type: AttributeType.STRING },
    });

    // Powertools idempotency schema: partition key `id`, TTL attribute `expiration`.
    this.idempotency = new Table(this, 'Idempotency', {
      ...common,
      partitionKey: { name: 'id', type: AttributeType.STRING },
      timeToLiveAttribute: IDEMPOTENCY_TTL_ATTRIBUTE,
    });
  }
}
