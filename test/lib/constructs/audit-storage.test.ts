import { App, type CfnResource, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { toAuditLine } from '../../../lambdas/audit-log/audit-line.js';
import { loadStageConfig, type StageConfig } from '../../../lib/config.js';
import {
  AUDIT_COLUMNS,
  AUDIT_SERDE,
  AuditStorage,
  type AuditStorageProps,
  auditDatabaseName,
} from '../../../lib/constructs/audit-storage.js';
import { DataTables } from '../../../lib/constructs/data-tables.js';
import { InvalidPropsError } from '../../../lib/constructs/props-validation.js';
import {
  acknowledgedRuleIds,
  cdkJsonContext,
  testApp,
  testConfig,
  thrownBy,
} from '../../fixtures/cdk-app.js';
import { changeRecord } from '../../lambdas/audit-log/records.js';

/** The stage preset of cdk.json, validated as the app validates it. */
function presetConfig(stage: string): StageConfig {
  return loadStageConfig(new App({ context: { ...cdkJsonContext(), stage } }).node);
}

interface AuditStack {
  readonly stack: Stack;
  readonly audit: AuditStorage;
  readonly tables: DataTables;
  readonly template: Template;
}

function synthesize(props: Partial<AuditStorageProps> & { readonly config: StageConfig }): AuditStack {
  const stack = new Stack(testApp(), 'Data');
  const tables = new DataTables(stack, 'Tables');
  const audit = new AuditStorage(stack, 'Audit', { ordersTable: tables.orders, ...props });
  return { stack, audit, tables, template: Template.fromStack(stack) };
}

function logicalId(construct: { node: { defaultChild?: unknown } }, stack: Stack): string {
  return stack.getLogicalId(construct.node.defaultChild as CfnResource);
}

describe('AuditStorage', () => {
  describe.each([
    { stage: 'dev', mode: 'GOVERNANCE', days: 1, coldAfter: 30, database: 'orders_audit_dev' },
    { stage: 'prod', mode: 'COMPLIANCE', days: 2555, coldAfter: 90, database: 'orders_audit_prod' },
  ])('with the $stage preset', ({ stage, mode, days, coldAfter, database }) => {
    const { stack, audit, tables, template } = synthesize({ config: presetConfig(stage) });
    const bucketId = logicalId(audit.bucket, stack);
    const logsId = logicalId(audit.accessLogsBucket, stack);
    const keyId = stack.getLogicalId(audit.key.node.defaultChild as CfnResource);
    const ordersId = logicalId(tables.orders, stack);

    it(`locks every new object version for ${days} day(s) in ${mode} mode, on a versioned bucket`, () => {
      // Act
      const bucket = template.findResources('AWS::S3::Bucket')[bucketId];

      // Assess
      expect(bucket?.Properties).toMatchObject({
        ObjectLockEnabled: true,
        ObjectLockConfiguration: {
          ObjectLockEnabled: 'Enabled',
          Rule: { DefaultRetention: { Mode: mode, Days: days } },
        },
        VersioningConfiguration: { Status: 'Enabled' },
      });
    });

    it('encrypts with its rotating customer-managed key and S3 Bucket Keys', () => {
      // Assess
      template.hasResourceProperties('AWS::S3::Bucket', {
        ObjectLockEnabled: true,
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [
            {
              BucketKeyEnabled: true,
              ServerSideEncryptionByDefault: {
                SSEAlgorithm: 'aws:kms',
                KMSMasterKeyID: { 'Fn::GetAtt': [keyId, 'Arn'] },
              },
            },
          ],
        },
      });
      template.hasResourceProperties('AWS::KMS::Key', {
        EnableKeyRotation: true,
        Description: 'Encrypts the audit log bucket',
      });
    });

    it('blocks all public access and ACLs on both buckets', () => {
      // Act
      const buckets = template.findResources('AWS::S3::Bucket');

      // Assess
      for (const id of [bucketId, logsId]) {
        expect(buckets[id]?.Properties).toMatchObject({
          PublicAccessBlockConfiguration: {
            BlockPublicAcls: true,
            BlockPublicPolicy: true,
            IgnorePublicAcls: true,
            RestrictPublicBuckets: true,
          },
          OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
        });
      }
    });

    it.each([
      ['the audit bucket', () => bucketId],
      ['the access logs bucket', () => logsId],
    ])('denies requests without TLS 1.2 to %s', (_name, id) => {
      // Assess
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: id() },
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Principal: { AWS: '*' },
              Action: 's3:*',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
            Match.objectLike({
              Effect: 'Deny',
              Action: 's3:*',
              Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } },
            }),
          ]),
        },
      });
    });

    it('sends server access logs to the SSE-S3, versioned log bucket, which expires them', () => {
      // Act
      const buckets = template.findResources('AWS::S3::Bucket');

      // Assess
      expect(buckets[bucketId]?.Properties.LoggingConfiguration).toEqual({
        DestinationBucketName: { Ref: logsId },
        LogFilePrefix: 'audit-bucket/',
      });
      expect(buckets[logsId]?.Properties).toMatchObject({
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
        VersioningConfiguration: { Status: 'Enabled' },
        LifecycleConfiguration: {
          Rules: expect.arrayContaining([
            expect.objectContaining({
              ExpirationInDays: 365,
              NoncurrentVersionExpiration: { NoncurrentDays: 30 },
            }),
            expect.objectContaining({ ExpiredObjectDeleteMarker: true }),
          ]),
        },
      });
      expect(buckets[logsId]?.Properties).not.toHaveProperty('LoggingConfiguration');
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: logsId },
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Allow',
              Principal: { Service: 'logging.s3.amazonaws.com' },
              Action: 's3:PutObject',
            }),
          ]),
        },
      });
    });

    it(`moves objects to Glacier Instant Retrieval after ${coldAfter} days and never expires them`, () => {
      // Act
      const rules =
        template.findResources('AWS::S3::Bucket')[bucketId]?.Properties.LifecycleConfiguration.Rules;

      // Assess
      expect(rules).toEqual([
        expect.objectContaining({
          Status: 'Enabled',
          Transitions: [{ StorageClass: 'GLACIER_IR', TransitionInDays: coldAfter }],
          NoncurrentVersionTransitions: [{ StorageClass: 'GLACIER_IR', TransitionInDays: coldAfter }],
        }),
      ]);
      expect(JSON.stringify(rules)).not.toMatch(/Expiration/);
    });

    it('retains both buckets and the key on stack deletion and replacement', () => {
      // Act
      const retained = [bucketId, logsId, keyId].map((id) => template.toJSON().Resources[id]);

      // Assess
      for (const resource of retained) {
        expect(resource).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
      }
    });

    it(`creates the Glue database ${database} and the table audit with partition projection`, () => {
      // Assess
      template.hasResourceProperties('AWS::Glue::Database', {
        CatalogId: { Ref: 'AWS::AccountId' },
        DatabaseInput: { Name: database },
      });
      template.hasResourceProperties('AWS::Glue::Table', {
        DatabaseName: { Ref: stack.getLogicalId(audit.glueDatabase) },
        TableInput: {
          Name: 'audit',
          TableType: 'EXTERNAL_TABLE',
          Parameters: {
            'projection.enabled': 'true',
            'projection.dt.type': 'date',
            'projection.dt.format': 'yyyy-MM-dd',
            'projection.dt.range': '2024-01-01,NOW',
            'projection.hour.type': 'integer',
            'projection.hour.range': '0,23',
            'projection.hour.digits': '2',
            'storage.location.template': {
              'Fn::Join': [
                '',
                ['s3://', { Ref: bucketId }, '/table=', { Ref: ordersId }, `/dt=\${dt}/hour=\${hour}/`],
              ],
            },
          },
          PartitionKeys: [
            Match.objectLike({ Name: 'dt', Type: 'string' }),
            Match.objectLike({ Name: 'hour', Type: 'string' }),
          ],
          StorageDescriptor: {
            Location: { 'Fn::Join': ['', ['s3://', { Ref: bucketId }, '/table=', { Ref: ordersId }, '/']] },
          },
        },
      });
    });

    it('exports the bucket name and the Athena database and table', () => {
      // Act
      const outputs = Object.values(template.findOutputs('*')).map((output) => output.Value);

      // Assess
      expect(outputs).toEqual(expect.arrayContaining([{ Ref: bucketId }, database, 'audit']));
    });

    it("acknowledges one cdk-nag finding only: the writer policy's object keys under the prefix", () => {
      // Act
      const acknowledged = audit.node.findAll().flatMap((construct) => acknowledgedRuleIds(construct));

      // Assess
      expect(acknowledged).toEqual([`AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/table=<${ordersId}>/*]`]);
    });

    it('defines the only write access: conditional PutObject under the Orders prefix, the key through S3 for this bucket', () => {
      // Act
      const policies = template.findResources('AWS::IAM::ManagedPolicy');
      const policy = policies[stack.getLogicalId(audit.writerPolicy.node.defaultChild as CfnResource)];
      const objects = {
        'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/table=', { Ref: ordersId }, '/*']],
      };

      // Assess
      expect(Object.keys(policies)).toHaveLength(1);
      expect(policy?.Properties.Roles).toBeUndefined();
      expect(policy?.Properties.PolicyDocument.Statement).toEqual([
        {
          Effect: 'Allow',
          Action: 's3:PutObject',
          Resource: objects,
          Condition: { Null: { 's3:if-none-match': 'false' } },
        },
        {
          Effect: 'Allow',
          Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
          Resource: { 'Fn::GetAtt': [keyId, 'Arn'] },
          Condition: {
            StringEquals: {
              'kms:ViaService': {
                'Fn::Join': ['', ['s3.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }]],
              },
            },
            StringLike: {
              'kms:EncryptionContext:aws:s3:arn': [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, objects],
            },
          },
        },
      ]);
      expect(audit.ordersPrefix).toBe(`table=${tables.orders.tableName}/`);
    });
  });

  it('reads the scalar fields with the Hive JSON SerDe, each column named by its line key in lowercase', () => {
    // Prepare
    const { template } = synthesize({ config: testConfig() });

    // Act
    const tables = Object.values(template.findResources('AWS::Glue::Table'));
    const audit = tables.find((table) => table.Properties.TableInput.Name === 'audit');
    const descriptor = audit?.Properties.TableInput.StorageDescriptor;

    // Assess
    expect(descriptor.SerdeInfo).toEqual({ SerializationLibrary: 'org.apache.hive.hcatalog.data.JsonSerDe' });
    expect(AUDIT_SERDE).not.toContain('openx');
    expect(
      descriptor.Columns.map((column: { Name: string; Type: string }) => `${column.Name} ${column.Type}`),
    ).toEqual([
      'eventid string',
      'eventname string',
      'sequencenumber string',
      'approximatecreationtime string',
      'orderid string',
      'changedattributes array<string>',
      'actor string',
    ]);
  });

  it('declares only columns the Hive SerDe can fill from a line: a scalar key for each string column', () => {
    // Prepare: a MODIFY line of the Orders table, with both images and a nested attribute.
    const line = toAuditLine(
      changeRecord({
        eventName: 'MODIFY',
        oldImage: { orderId: { S: 'o-1' }, items: { L: [{ M: { sku: { S: 'a' } } }] }, version: { N: '1' } },
        newImage: { orderId: { S: 'o-1' }, items: { L: [] }, version: { N: '2' } },
      }),
    );
    const keys = new Map(Object.entries(line).map(([key, value]) => [key.toLowerCase(), value]));

    // Act
    const { template } = synthesize({ config: testConfig() });
    const audit = Object.values(template.findResources('AWS::Glue::Table')).find(
      (table) => table.Properties.TableInput.Name === 'audit',
    );
    const columns: { Name: string; Type: string }[] = audit?.Properties.TableInput.StorageDescriptor.Columns;

    // Assess: a nested object in a string column fails the whole query under the Hive SerDe.
    for (const column of columns) {
      const value = keys.get(column.Name);
      if (column.Type === 'string') expect(typeof value, column.Name).toBe('string');
      else expect(Array.isArray(value), column.Name).toBe(true);
    }
    expect(AUDIT_COLUMNS.map((column) => column.field)).not.toEqual(
      expect.arrayContaining(['keys', 'oldImage', 'newImage']),
    );
  });

  it('offers each whole line, images included, as one text column of the lines table', () => {
    // Prepare
    const { audit, template } = synthesize({ config: testConfig() });

    // Act
    const tables = Object.values(template.findResources('AWS::Glue::Table'));
    const lines = tables.find((table) => table.Properties.TableInput.Name === 'audit_lines');
    const auditTable = tables.find((table) => table.Properties.TableInput.Name === 'audit');

    // Assess
    expect(audit.linesTableName).toBe('audit_lines');
    expect(lines?.Properties.TableInput.StorageDescriptor).toMatchObject({
      Location: auditTable?.Properties.TableInput.StorageDescriptor.Location,
      SerdeInfo: {
        SerializationLibrary: 'org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe',
        Parameters: { 'field.delim': '\u0001', 'serialization.format': '\u0001' },
      },
      Columns: [{ Name: 'line', Type: 'string', Comment: expect.any(String) }],
    });
    expect(lines?.Properties.TableInput.Parameters).toEqual(auditTable?.Properties.TableInput.Parameters);
    template.hasOutput('*', { Value: 'audit_lines' });
  });

  it('names the database after a stage with hyphens in Athena-safe underscores', () => {
    // Act
    const name = auditDatabaseName('feature-x');

    // Assess
    expect(name).toBe('orders_audit_feature_x');
  });

  it('takes the removal policy and the projection start date from its props', () => {
    // Prepare
    const { template } = synthesize({
      config: testConfig(),
      removalPolicy: RemovalPolicy.DESTROY,
      projectionStartDate: '2025-06-01',
    });

    // Assess
    template.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Delete', UpdateReplacePolicy: 'Delete' });
    template.hasResourceProperties('AWS::Glue::Table', {
      TableInput: { Parameters: Match.objectLike({ 'projection.dt.range': '2025-06-01,NOW' }) },
    });
  });

  it.each<[string, Partial<AuditStorageProps> & { readonly config: StageConfig }, string, string]>([
    [
      'an unknown retention mode',
      { config: testConfig({ auditRetentionMode: 'LEGAL_HOLD' as never }) },
      'config.auditRetentionMode',
      'must be one of GOVERNANCE, COMPLIANCE, got "LEGAL_HOLD"',
    ],
    [
      'no retention',
      { config: testConfig({ auditRetentionDays: 0 }) },
      'config.auditRetentionDays',
      'must be an integer from 1 to 36500, got 0 (S3 Object Lock default retention)',
    ],
    [
      'a fractional cold storage age',
      { config: testConfig({ auditColdStorageAfterDays: 2.5 }) },
      'config.auditColdStorageAfterDays',
      'must be an integer from 1 to 36500, got 2.5',
    ],
    [
      'access logs kept for no day',
      { config: testConfig(), accessLogsRetentionDays: 0 },
      'accessLogsRetentionDays',
      'must be an integer from 1 to 36500, got 0',
    ],
    [
      'a database name Athena cannot use',
      { config: testConfig(), databaseName: 'Orders-Audit' },
      'databaseName',
      'must be 1-255 lowercase letters, digits or underscores (Athena), got "Orders-Audit"',
    ],
    [
      'a table name whose lines table Glue cannot name',
      { config: testConfig(), tableName: 'a'.repeat(250) },
      'tableName',
      `must be 1-255 lowercase letters, digits or underscores (Athena), got "${'a'.repeat(250)}_lines"`,
    ],
    [
      'an impossible projection start date',
      { config: testConfig(), projectionStartDate: '2024-02-30' },
      'projectionStartDate',
      'must be a date as yyyy-MM-dd, got "2024-02-30"',
    ],
  ])('refuses %s, naming the prop', (_case, props, prop, problem) => {
    // Act
    const error = thrownBy(() => synthesize(props));

    // Assess
    expect(error).toBeInstanceOf(InvalidPropsError);
    expect(error.message).toBe(`Data/Audit: invalid "${prop}": ${problem}`);
  });
});
