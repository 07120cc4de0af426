import { type CfnResource, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_LOG_CONSUMER_NAME } from '../../../lambdas/audit-log/names.js';
import { ENV } from '../../../lambdas/shared/env.js';
import { buildApp } from '../../../lib/app.js';
import {
  AUDIT_LOG_ENTRY,
  AUDIT_LOG_MAPPING,
  AUDIT_LOG_THIRD_READER_REASON,
  AuditLog,
} from '../../../lib/constructs/audit-log.js';
import { AuditStorage } from '../../../lib/constructs/audit-storage.js';
import { DataTables } from '../../../lib/constructs/data-tables.js';
import { OpsAlerts } from '../../../lib/constructs/ops-alerts.js';
import { InvalidPropsError } from '../../../lib/constructs/props-validation.js';
import { TOO_MANY_STREAM_READERS_WARNING } from '../../../lib/constructs/stream-consumer.js';
import {
  DUMMY_CONSUMER_ENTRY,
  testApp,
  testConfig,
  thrownBy,
  warningsWithId,
} from '../../fixtures/cdk-app.js';

/** Everything the audit log needs in one stack, so that references are plain `Ref`s and `Fn::GetAtt`s. */
interface AuditLogStack {
  readonly stack: Stack;
  readonly tables: DataTables;
  readonly storage: AuditStorage;
  readonly auditLog: AuditLog;
  readonly template: Template;
}

function auditLogStack(): AuditLogStack {
  const stack = new Stack(testApp(), 'Pipelines');
  const tables = new DataTables(stack, 'Tables');
  const storage = new AuditStorage(stack, 'Audit', { config: testConfig(), ordersTable: tables.orders });
  const ops = new OpsAlerts(stack, 'Ops');
  const auditLog = new AuditLog(stack, 'AuditLog', {
    config: testConfig(),
    table: tables.orders,
    storage,
    alarmTopic: ops.topic,
    dashboard: ops.dashboard,
    entry: DUMMY_CONSUMER_ENTRY,
  });
  return { stack, tables, storage, auditLog, template: Template.fromStack(stack) };
}

function logicalId(construct: { node: { defaultChild?: unknown } }, stack: Stack): string {
  return stack.getLogicalId(construct.node.defaultChild as CfnResource);
}

interface Statement {
  readonly Action: string | string[];
}

describe('AuditLog', () => {
  let at: AuditLogStack;

  beforeAll(() => {
    at = auditLogStack();
  });

  it('reads the Orders stream in batches of up to 1,000 gathered for up to 60 s, retried for up to 2 hours', () => {
    // Assess
    at.template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
    at.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [logicalId(at.tables.orders, at.stack), 'StreamArn'] },
      FunctionName: { Ref: logicalId(at.auditLog.consumer.function.lambdaFunction, at.stack) },
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 1000,
      MaximumBatchingWindowInSeconds: 60,
      ParallelizationFactor: 1,
      MaximumRetryAttempts: 10000,
      MaximumRecordAgeInSeconds: 7200,
      BisectBatchOnFunctionError: true,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      // Every change is audited, TTL deletes included: no filter.
      FilterCriteria: Match.absent(),
    });
    expect(AUDIT_LOG_MAPPING.maxRecordAge.toHours()).toBe(2);
  });

  it('alarms on iterator age at half the maximum record age: one hour', () => {
    // Assess
    at.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'IteratorAge',
      Threshold: 3_600_000,
    });
  });

  it('attaches the bucket writer policy and names the bucket in AUDIT_BUCKET_NAME, as audit-log', () => {
    // Prepare
    const roleId = at.stack.getLogicalId(at.auditLog.consumer.function.role.node.defaultChild as CfnResource);

    // Act
    const role = at.template.findResources('AWS::IAM::Role')[roleId];

    // Assess
    expect(role?.Properties.ManagedPolicyArns).toEqual([
      { Ref: logicalId(at.storage.writerPolicy, at.stack) },
    ]);
    at.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          [ENV.AUDIT_BUCKET_NAME]: { Ref: logicalId(at.storage.bucket, at.stack) },
          [ENV.CONSUMER_NAME]: AUDIT_LOG_CONSUMER_NAME,
        }),
      },
    });
  });

  it('has no S3 permission of its own: it can neither read, delete nor write anything else', () => {
    // Prepare
    const roleId = at.stack.getLogicalId(at.auditLog.consumer.function.role.node.defaultChild as CfnResource);

    // Act
    const actions = Object.values(at.template.findResources('AWS::IAM::Policy'))
      .filter((policy) => JSON.stringify(policy.Properties.Roles).includes(roleId))
      .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[])
      .flatMap((statement) => [statement.Action].flat());

    // Assess
    expect(actions.length).toBeGreaterThan(0);
    expect(actions.filter((action) => action.startsWith('s3:'))).toEqual([]);
  });

  it('refuses a second binding of AUDIT_BUCKET_NAME', () => {
    // Act
    const error = thrownBy(() =>
      at.auditLog.consumer.function.bindBucketWriter(ENV.AUDIT_BUCKET_NAME, {
        bucketName: 'other',
        policy: at.storage.writerPolicy,
      }),
    );

    // Assess
    expect(error).toBeInstanceOf(InvalidPropsError);
    expect(error.message).toContain(ENV.AUDIT_BUCKET_NAME);
  });

  it('defaults to the audit-log handler', () => {
    // Assess
    expect(AUDIT_LOG_ENTRY).toMatch(/lambdas\/audit-log\/handler\.ts$/);
  });

  describe('in the app, as the third reader of the Orders stream', () => {
    it('acknowledges the stream-consumer warning with its reason, so none is left', () => {
      // Prepare
      const { stateless } = buildApp(testApp());

      // Act
      const warnings = warningsWithId(stateless, TOO_MANY_STREAM_READERS_WARNING);

      // Assess
      expect(warnings).toEqual([]);
      expect(stateless.auditLog).toBeInstanceOf(AuditLog);
      expect(AUDIT_LOG_THIRD_READER_REASON).toContain('never lost');
    });

    it("keeps the warning for a reader after it: the acknowledgement is the audit log's only", () => {
      // Prepare
      const { stateful, stateless } = buildApp(testApp());

      // Act
      stateless.addStreamConsumer('Fourth', {
        table: stateful.tables.orders,
        entry: DUMMY_CONSUMER_ENTRY,
        consumerName: 'fourth',
      });

      // Assess
      expect(warningsWithId(stateless, TOO_MANY_STREAM_READERS_WARNING)).toEqual([
        expect.stringContaining('has 4 readers (order-fanout, search-sync, audit-log, fourth)'),
      ]);
    });
  });
});
