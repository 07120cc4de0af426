import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { CfnTable } from 'aws-cdk-lib/aws-dynamodb';
import type { CfnKey } from 'aws-cdk-lib/aws-kms';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  DataTables,
  IDEMPOTENCY_TTL_ATTRIBUTE,
  ORDERS_BY_CUSTOMER_INDEX,
  ORDERS_TTL_ATTRIBUTE,
} from '../../../lib/constructs/data-tables.js';
import { testApp } from '../../fixtures/cdk-app.js';

type TableName = 'orders' | 'votes' | 'pollResults' | 'inventory' | 'idempotency';

function synthesize(props?: ConstructorParameters<typeof DataTables>[2]): {
  stack: Stack;
  tables: DataTables;
  template: Template;
} {
  const stack = new Stack(testApp(), 'Data');
  const tables = new DataTables(stack, 'Tables', props);
  return { stack, tables, template: Template.fromStack(stack) };
}

describe('DataTables', () => {
  let stack: Stack;
  let tables: DataTables;
  let template: Template;

  beforeAll(() => {
    ({ stack, tables, template } = synthesize());
  });

  function tableResource(name: TableName): { Properties: Record<string, unknown>; DeletionPolicy?: string } {
    const logicalId = stack.getLogicalId(tables[name].node.defaultChild as CfnTable);
    const resource = template.toJSON().Resources[logicalId];
    expect(resource).toBeDefined();
    return resource;
  }

  it('creates five tables', () => {
    // Assess
    template.resourceCountIs('AWS::DynamoDB::Table', 5);
  });

  it.each<[TableName, Array<{ AttributeName: string; KeyType: string }>]>([
    ['orders', [{ AttributeName: 'orderId', KeyType: 'HASH' }]],
    [
      'votes',
      [
        { AttributeName: 'pollId', KeyType: 'HASH' },
        { AttributeName: 'voterId', KeyType: 'RANGE' },
      ],
    ],
    ['pollResults', [{ AttributeName: 'pollId', KeyType: 'HASH' }]],
    ['inventory', [{ AttributeName: 'sku', KeyType: 'HASH' }]],
    ['idempotency', [{ AttributeName: 'id', KeyType: 'HASH' }]],
  ])('keys the %s table by %j', (name, keySchema) => {
    // Assess
    expect(tableResource(name).Properties.KeySchema).toEqual(keySchema);
  });

  it.each<TableName>(['orders', 'votes', 'pollResults', 'inventory', 'idempotency'])(
    'makes the %s table on-demand, point-in-time recoverable, deletion protected, retained and encrypted with the key',
    (name) => {
      // Prepare
      const keyLogicalId = stack.getLogicalId(tables.key.node.defaultChild as CfnKey);

      // Act
      const resource = tableResource(name);

      // Assess
      expect(resource.DeletionPolicy).toBe('Retain');
      expect(resource.Properties).toMatchObject({
        BillingMode: 'PAY_PER_REQUEST',
        DeletionProtectionEnabled: true,
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: {
          SSEEnabled: true,
          SSEType: 'KMS',
          KMSMasterKeyId: { 'Fn::GetAtt': [keyLogicalId, 'Arn'] },
        },
      });
    },
  );

  it.each<[TableName, string | undefined]>([
    ['orders', 'NEW_AND_OLD_IMAGES'],
    ['votes', 'NEW_AND_OLD_IMAGES'],
    ['pollResults', undefined],
    ['inventory', undefined],
    ['idempotency', undefined],
  ])('gives the %s table the stream view %s', (name, viewType) => {
    // Act
    const stream = tableResource(name).Properties.StreamSpecification;

    // Assess
    expect(stream).toEqual(viewType === undefined ? undefined : { StreamViewType: viewType });
  });

  it.each<[TableName, string | undefined]>([
    ['orders', ORDERS_TTL_ATTRIBUTE],
    ['idempotency', IDEMPOTENCY_TTL_ATTRIBUTE],
    ['votes', undefined],
  ])('sets the TTL attribute of the %s table to %s', (name, attribute) => {
    // Act
    const ttl = tableResource(name).Properties.TimeToLiveSpecification;

    // Assess
    expect(ttl).toEqual(attribute === undefined ? undefined : { AttributeName: attribute, Enabled: true });
  });

  it('indexes orders by customer and creation time', () => {
    // Assess
    expect(tableResource('orders').Properties.GlobalSecondaryIndexes).toEqual([
      {
        IndexName: ORDERS_BY_CUSTOMER_INDEX,
        KeySchema: [
          { AttributeName: 'customerId', KeyType: 'HASH' },
          { AttributeName: 'createdAt', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
    ]);
  });

  it('rotates the tables key yearly and retains it', () => {
    // Assess
    template.hasResource('AWS::KMS::Key', {
      Properties: Match.objectLike({ EnableKeyRotation: true, RotationPeriodInDays: 365 }),
      DeletionPolicy: 'Retain',
    });
  });

  it('applies another removal policy to the tables and the key when asked', () => {
    // Act
    const { template: destroyable } = synthesize({ removalPolicy: RemovalPolicy.DESTROY });

    // Assess
    expect(
      Object.keys(destroyable.findResources('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete' })),
    ).toHaveLength(5);
    destroyable.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Delete' });
  });
});
