import { randomUUID } from 'node:crypto';
import {
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  ListTablesCommand,
  PutItemCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as StreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTableInput,
  createTables,
  deleteTables,
  InvalidTableNameError,
  KNOWN_TABLE_IDS,
  localTableName,
  MissingTableError,
  type TableDefinition,
  TableIdentityError,
  tableDefinitionsFromTemplate,
  tableNameOf,
  UnsupportedTablePropertyError,
} from '../../../sandbox/dynamodb-local/tables.js';
import type { CfnResource, CfnTemplate } from '../../../sandbox/synth.js';
import { createTestTables, localDynamoDb, type TestTables } from '../../support/dynamodb.js';

// ---- factories ---------------------------------------------------------------------------------------------------

function tableResource(
  constructId: string,
  properties: Record<string, unknown> = {},
  path = `Stack/Tables/${constructId}/Resource`,
): CfnResource {
  return {
    Type: 'AWS::DynamoDB::Table',
    Properties: {
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
      ...properties,
    },
    Metadata: { 'aws:cdk:path': path },
  };
}

function templateOf(resources: Record<string, CfnResource>): CfnTemplate {
  return { Resources: resources };
}

function onlyDefinition(resource: CfnResource): TableDefinition {
  const definitions = tableDefinitionsFromTemplate(templateOf({ TableLogicalId: resource }));
  expect(definitions).toHaveLength(1);
  return definitions[0]!;
}

const byCustomerIndex = {
  IndexName: 'byCustomer',
  KeySchema: [
    { AttributeName: 'customerId', KeyType: 'HASH' },
    { AttributeName: 'createdAt', KeyType: 'RANGE' },
  ],
  Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['status'] },
};

// ---- template -> definition -> CreateTable ----------------------------------------------------------------------

describe('tableDefinitionsFromTemplate', () => {
  it.each([
    {
      name: 'a partition key only',
      properties: {},
      expected: { KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }] },
    },
    {
      name: 'a sort key',
      properties: {
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'N' },
        ],
      },
      expected: {
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'N' },
        ],
      },
    },
    {
      name: 'a GSI, dropping its capacity settings',
      properties: {
        GlobalSecondaryIndexes: [
          { ...byCustomerIndex, ProvisionedThroughput: { ReadCapacityUnits: 5, WriteCapacityUnits: 5 } },
        ],
      },
      expected: { GlobalSecondaryIndexes: [byCustomerIndex] },
    },
    {
      name: 'an LSI',
      properties: {
        LocalSecondaryIndexes: [
          {
            IndexName: 'byDate',
            KeySchema: [
              { AttributeName: 'pk', KeyType: 'HASH' },
              { AttributeName: 'date', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'KEYS_ONLY' },
          },
        ],
      },
      expected: {
        LocalSecondaryIndexes: [
          {
            IndexName: 'byDate',
            KeySchema: [
              { AttributeName: 'pk', KeyType: 'HASH' },
              { AttributeName: 'date', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'KEYS_ONLY' },
          },
        ],
      },
    },
    {
      name: 'a stream',
      properties: { StreamSpecification: { StreamViewType: 'KEYS_ONLY' } },
      expected: { StreamSpecification: { StreamEnabled: true, StreamViewType: 'KEYS_ONLY' } },
    },
    {
      name: 'provisioned billing (created on demand locally)',
      properties: {
        BillingMode: 'PROVISIONED',
        ProvisionedThroughput: { ReadCapacityUnits: 1, WriteCapacityUnits: 1 },
      },
      expected: { BillingMode: 'PAY_PER_REQUEST' },
    },
  ])('maps $name to CreateTable', ({ properties, expected }) => {
    // Prepare
    const definition = onlyDefinition(tableResource('Orders', properties));

    // Act
    const input = createTableInput(definition, 'local-Orders');

    // Assess
    expect(input).toMatchObject({ TableName: 'local-Orders', BillingMode: 'PAY_PER_REQUEST', ...expected });
  });

  it.each([
    { name: 'no stream', properties: {}, absent: 'StreamSpecification' },
    { name: 'no GSI', properties: {}, absent: 'GlobalSecondaryIndexes' },
    { name: 'no LSI', properties: {}, absent: 'LocalSecondaryIndexes' },
  ])('leaves $absent out of CreateTable for $name', ({ properties, absent }) => {
    // Prepare
    const definition = onlyDefinition(tableResource('Votes', properties));

    // Act
    const input = createTableInput(definition, 'local-Votes');

    // Assess
    expect(input).not.toHaveProperty(absent);
  });

  it.each([
    { name: 'enabled', spec: { AttributeName: 'expiresAt', Enabled: true }, expected: 'expiresAt' },
    { name: 'disabled', spec: { AttributeName: 'expiresAt', Enabled: false }, expected: undefined },
    { name: 'absent', spec: undefined, expected: undefined },
  ])('reads TTL when $name', ({ spec, expected }) => {
    // Prepare
    const resource = tableResource('Orders', spec === undefined ? {} : { TimeToLiveSpecification: spec });

    // Act
    const definition = onlyDefinition(resource);

    // Assess
    expect(definition.timeToLiveAttribute).toBe(expected);
  });

  it('ignores properties that have no local effect', () => {
    // Prepare
    const plain = tableResource('Orders');
    const decorated = tableResource('Orders', {
      SSESpecification: {
        SSEEnabled: true,
        SSEType: 'KMS',
        KMSMasterKeyId: { 'Fn::GetAtt': ['Key', 'Arn'] },
      },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
      Tags: [{ Key: 'team', Value: 'orders' }],
      ContributorInsightsSpecification: { Enabled: true },
      TableClass: 'STANDARD_INFREQUENT_ACCESS',
      StreamSpecification: { StreamViewType: 'NEW_IMAGE', ResourcePolicy: { PolicyDocument: {} } },
    });

    // Act
    const fromPlain = onlyDefinition(plain);
    const fromDecorated = onlyDefinition(decorated);

    // Assess
    expect(fromDecorated).toEqual({ ...fromPlain, streamViewType: 'NEW_IMAGE' });
  });

  it.each([
    {
      name: 'a Kinesis stream destination',
      properties: { KinesisStreamSpecification: { StreamArn: 'arn:aws:kinesis:eu-west-1:1:stream/s' } },
      mentions: 'KinesisStreamSpecification',
    },
    {
      name: 'an import from S3',
      properties: { ImportSourceSpecification: { InputFormat: 'CSV' } },
      mentions: 'ImportSourceSpecification',
    },
    { name: 'an unknown property', properties: { SomethingNew: true }, mentions: 'SomethingNew' },
    {
      name: 'an unknown GSI property',
      properties: { GlobalSecondaryIndexes: [{ ...byCustomerIndex, Sharding: 'x' }] },
      mentions: 'GlobalSecondaryIndexes.0.Sharding',
    },
    {
      name: 'an intrinsic as a key name',
      properties: { KeySchema: [{ AttributeName: { Ref: 'KeyName' }, KeyType: 'HASH' }] },
      mentions: 'KeySchema.0.AttributeName',
    },
    {
      name: 'an unknown stream view type',
      properties: { StreamSpecification: { StreamViewType: 'EVERYTHING' } },
      mentions: 'StreamSpecification.StreamViewType',
    },
    {
      name: 'TTL enabled without an attribute',
      properties: { TimeToLiveSpecification: { Enabled: true } },
      mentions: 'TTL enabled without AttributeName',
    },
  ])('fails loudly on $name', ({ properties, mentions }) => {
    // Prepare
    const template = templateOf({ OrdersTable: tableResource('Orders', properties) });

    // Act
    const act = (): TableDefinition[] => tableDefinitionsFromTemplate(template);

    // Assess
    expect(act).toThrow(UnsupportedTablePropertyError);
    expect(act).toThrow(mentions);
    expect(act).toThrow('Table Orders (OrdersTable)');
  });

  it('fails loudly on a global table, which it does not read', () => {
    // Prepare
    const template = templateOf({ Global: { Type: 'AWS::DynamoDB::GlobalTable', Properties: {} } });

    // Act
    const act = (): TableDefinition[] => tableDefinitionsFromTemplate(template);

    // Assess
    expect(act).toThrow(UnsupportedTablePropertyError);
  });

  it.each([
    { path: 'OrdersStreams-dev-Data/Tables/Orders/Resource', expected: 'Orders' },
    { path: 'OrdersStreams-dev-Data/Tables/Votes/Resource', expected: 'Votes' },
    { path: 'Stack/LegacyTable', expected: 'LegacyTable' },
  ])('names the table $expected after its construct path $path', ({ path, expected }) => {
    // Prepare
    const resource = tableResource('ignored', {}, path);

    // Act
    const definition = onlyDefinition(resource);

    // Assess
    expect(definition).toMatchObject({ constructId: expected, logicalId: 'TableLogicalId' });
  });

  it.each<{ name: string; resources: Record<string, CfnResource> }>([
    {
      name: 'a table without path metadata',
      resources: { T: { Type: 'AWS::DynamoDB::Table', Properties: tableResource('x').Properties } },
    },
    {
      name: 'two tables with one construct id',
      resources: {
        A: tableResource('Orders', {}, 'StackA/Orders/Resource'),
        B: tableResource('Orders', {}, 'StackB/Orders/Resource'),
      },
    },
  ])('refuses $name', ({ resources }) => {
    // Prepare
    const template = templateOf(resources);

    // Act
    const act = (): TableDefinition[] => tableDefinitionsFromTemplate(template);

    // Assess
    expect(act).toThrow(TableIdentityError);
  });

  it('reads only table resources, in template order', () => {
    // Prepare
    const template = templateOf({
      Key: { Type: 'AWS::KMS::Key', Properties: {} },
      A: tableResource('Alpha'),
      Queue: { Type: 'AWS::SQS::Queue', Properties: {} },
      B: tableResource('Beta'),
    });

    // Act
    const definitions = tableDefinitionsFromTemplate(template);

    // Assess
    expect(definitions.map((d) => d.constructId)).toEqual(['Alpha', 'Beta']);
  });
});

describe('localTableName', () => {
  it.each([
    { prefix: 'ab', constructId: 'Orders', valid: true },
    { prefix: 'test-1.2_3', constructId: 'PollResults', valid: true },
    { prefix: 'has space', constructId: 'Orders', valid: false },
    { prefix: 'slash/', constructId: 'Orders', valid: false },
    { prefix: 'x'.repeat(250), constructId: 'Orders', valid: false },
  ])('accepts "$prefix" + $constructId: $valid', ({ prefix, constructId, valid }) => {
    // Act
    const act = (): string => localTableName(prefix, constructId);

    // Assess
    if (valid) {
      expect(act()).toBe(`${prefix}-${constructId}`);
    } else {
      expect(act).toThrow(InvalidTableNameError);
    }
  });
});

describe('tableNameOf', () => {
  it('returns a created name and throws for a missing one', () => {
    // Prepare
    const names = { Orders: 'p-Orders' };

    // Act
    const found = tableNameOf(names, 'Orders');
    const missing = (): string => tableNameOf(names, 'Votes');

    // Assess
    expect(found).toBe('p-Orders');
    expect(missing).toThrow(MissingTableError);
  });
});

// ---- against DynamoDB Local ------------------------------------------------------------------------------------

describe('createTables in DynamoDB Local', () => {
  it('creates nothing when one table fails: the others are deleted again', async () => {
    // Prepare
    const { client } = localDynamoDb();
    const prefix = `rollback-${randomUUID()}`;
    const good = onlyDefinition(tableResource('Good'));
    // A key attribute without an AttributeDefinition is rejected by CreateTable.
    const bad: TableDefinition = { ...onlyDefinition(tableResource('Bad')), attributeDefinitions: [] };

    // Act
    const result = createTables(client, [good, bad], { prefix });

    // Assess
    await expect(result).rejects.toThrow();
    const { TableNames = [] } = await client.send(new ListTablesCommand({}));
    expect(TableNames.filter((name) => name.startsWith(prefix))).toEqual([]);
  });

  it('deletes tables idempotently', async () => {
    // Prepare
    const { client } = localDynamoDb();
    const names = await createTables(client, [onlyDefinition(tableResource('Once'))], {
      prefix: `delete-${randomUUID()}`,
    });

    // Act
    await deleteTables(client, names);
    const again = deleteTables(client, names);

    // Assess
    await expect(again).resolves.toBeUndefined();
    await expect(client.send(new DescribeTableCommand({ TableName: names.Once }))).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
  });
});

describe("the app's tables in DynamoDB Local", () => {
  let tables: TestTables;

  beforeAll(async () => {
    tables = await createTestTables();
  });

  afterAll(async () => {
    await tables?.drop();
  });

  it.each([
    {
      id: 'Orders',
      keys: [['orderId', 'HASH']],
      stream: 'NEW_AND_OLD_IMAGES',
      ttl: 'expiresAt',
      gsis: ['byCustomer'],
    },
    {
      id: 'Votes',
      keys: [
        ['pollId', 'HASH'],
        ['voterId', 'RANGE'],
      ],
      stream: 'NEW_AND_OLD_IMAGES',
      ttl: undefined,
      gsis: [],
    },
    { id: 'PollResults', keys: [['pollId', 'HASH']], stream: undefined, ttl: undefined, gsis: [] },
    { id: 'Inventory', keys: [['sku', 'HASH']], stream: undefined, ttl: undefined, gsis: [] },
    { id: 'Idempotency', keys: [['id', 'HASH']], stream: undefined, ttl: 'expiration', gsis: [] },
  ] as const)('$id has its keys, indexes, stream and TTL', async ({ id, keys, stream, ttl, gsis }) => {
    // Prepare
    const { client } = localDynamoDb();
    const tableName = tables[id];

    // Act
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    const { TimeToLiveDescription } = await client.send(
      new DescribeTimeToLiveCommand({ TableName: tableName }),
    );

    // Assess
    expect(Table?.TableStatus).toBe('ACTIVE');
    expect(Table?.KeySchema?.map((k) => [k.AttributeName, k.KeyType])).toEqual(keys);
    expect((Table?.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName)).toEqual(gsis);
    expect(Table?.StreamSpecification?.StreamEnabled ?? false).toBe(stream !== undefined);
    expect(Table?.StreamSpecification?.StreamViewType).toBe(stream);
    expect(TimeToLiveDescription?.TimeToLiveStatus).toBe(ttl === undefined ? 'DISABLED' : 'ENABLED');
    expect(TimeToLiveDescription?.AttributeName).toBe(ttl);
  });

  it('names every known table with one prefix unique to the call', () => {
    // Act
    const names = KNOWN_TABLE_IDS.map((id) => tables[id]);

    // Assess
    const prefix = names[0]!.slice(0, -'Orders'.length);
    expect(names).toEqual(KNOWN_TABLE_IDS.map((id) => `${prefix}${id}`));
  });

  it('streams an INSERT into Orders with both images as configured', async () => {
    // Prepare
    const { client, config } = localDynamoDb();
    const streams = new DynamoDBStreamsClient(config);
    const orderId = `order-${randomUUID()}`;
    const item = {
      orderId: { S: orderId },
      customerId: { S: 'customer-1' },
      createdAt: { S: '2025-01-01T00:00:00.000Z' },
      totalCents: { N: '12345678901234567890123456789012345678' },
    };

    // Act
    await client.send(new PutItemCommand({ TableName: tables.Orders, Item: item }));
    const record = await firstStreamRecord(streams, tables.Orders);

    // Assess
    expect(record.eventName).toBe('INSERT');
    expect(record.dynamodb?.Keys).toEqual({ orderId: { S: orderId } });
    expect(record.dynamodb?.NewImage).toEqual(item);
    expect(record.dynamodb?.StreamViewType).toBe('NEW_AND_OLD_IMAGES');
    expect(record.dynamodb?.SequenceNumber).toMatch(/^\d+$/);
    streams.destroy();
  });
});

/** Reads the stream of a table from TRIM_HORIZON until the first record shows up (bounded by the test timeout). */
async function firstStreamRecord(streams: DynamoDBStreamsClient, tableName: string): Promise<StreamRecord> {
  const { client } = localDynamoDb();
  const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
  const streamArn = Table?.LatestStreamArn;
  expect(streamArn).toBeDefined();
  const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
  const iterators = new Map<string, string | undefined>();
  for (const shard of StreamDescription?.Shards ?? []) {
    const { ShardIterator } = await streams.send(
      new GetShardIteratorCommand({
        StreamArn: streamArn,
        ShardId: shard.ShardId,
        ShardIteratorType: 'TRIM_HORIZON',
      }),
    );
    iterators.set(shard.ShardId!, ShardIterator);
  }
  while ([...iterators.values()].some((iterator) => iterator !== undefined)) {
    for (const [shardId, iterator] of iterators) {
      if (iterator === undefined) {
        continue;
      }
      const { Records = [], NextShardIterator } = await streams.send(
        new GetRecordsCommand({ ShardIterator: iterator }),
      );
      iterators.set(shardId, NextShardIterator);
      if (Records[0] !== undefined) {
        return Records[0];
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`The stream of ${tableName} ended without a record`);
}
