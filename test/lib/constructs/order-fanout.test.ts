import { type CfnResource, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { CfnRole } from 'aws-cdk-lib/aws-iam';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import type { DynamoDBRecord } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { EMAIL_KINDS, type EmailTemplateData } from '../../../lambdas/order-fanout/messages.js';
import { ENV } from '../../../lambdas/shared/env.js';
import { buildApp } from '../../../lib/app.js';
import { DataTables } from '../../../lib/constructs/data-tables.js';
import { OpsAlerts } from '../../../lib/constructs/ops-alerts.js';
import {
  EMAIL_TEMPLATE_ENV,
  ORDER_EMAIL_CONTENT,
  ORDER_FANOUT_FILTER_PATTERNS,
  ORDER_FANOUT_MAPPING,
  OrderFanout,
  type OrderFanoutProps,
} from '../../../lib/constructs/order-fanout.js';
import { OrderMessaging } from '../../../lib/constructs/order-messaging.js';
import { InvalidPropsError } from '../../../lib/constructs/props-validation.js';
import { TOO_MANY_STREAM_READERS_WARNING } from '../../../lib/constructs/stream-consumer.js';
import { compileFilters } from '../../../sandbox/esm/filters.js';
import {
  DUMMY_CONSUMER_ENTRY,
  sesArn,
  testApp,
  testConfig,
  thrownBy,
  viaService,
  warningsWithId,
} from '../../fixtures/cdk-app.js';
import { createStreamRecordFactory } from '../../support/stream-records.js';

/** Everything the fan-out needs, in one stack, so that references are plain `Ref`s and `Fn::GetAtt`s. */
interface FanoutStack {
  readonly stack: Stack;
  readonly tables: DataTables;
  readonly messaging: OrderMessaging;
  readonly ops: OpsAlerts;
}

function fanoutStack(): FanoutStack {
  const stack = new Stack(testApp(), 'Pipelines');
  return {
    stack,
    tables: new DataTables(stack, 'Tables'),
    messaging: new OrderMessaging(stack, 'Messaging'),
    ops: new OpsAlerts(stack, 'Ops'),
  };
}

function fanoutProps(at: FanoutStack, overrides: Partial<OrderFanoutProps> = {}): OrderFanoutProps {
  return {
    config: testConfig(),
    tables: at.tables,
    messaging: at.messaging,
    alarmTopic: at.ops.topic,
    dashboard: at.ops.dashboard,
    ...overrides,
  };
}

function logicalId(construct: { node: { defaultChild?: unknown } }, stack: Stack): string {
  return stack.getLogicalId(construct.node.defaultChild as CfnResource);
}

const arnOf = (id: string): unknown => ({ 'Fn::GetAtt': [id, 'Arn'] });

/** One permission: an action on a resource, under a condition (or none). */
interface Grant {
  readonly action: string;
  readonly resource: unknown;
  readonly condition?: unknown;
}

/**
 * Every permission of a role (its inline policies and every policy attached to it), one per action and resource, so
 * that the assertions do not depend on how CDK merges statements.
 */
function grantsOf(template: Template, stack: Stack, role: CfnRole): Grant[] {
  const roleId = stack.getLogicalId(role);
  const inline = (template.toJSON().Resources[roleId].Properties.Policies ?? []) as Array<{
    PolicyDocument: { Statement: unknown[] };
  }>;
  const attached = Object.values(template.findResources('AWS::IAM::Policy')).filter(
    (policy) => JSON.stringify(policy.Properties.Roles) === JSON.stringify([{ Ref: roleId }]),
  );
  const statements = [...inline, ...attached.map((policy) => policy.Properties)].flatMap(
    (policy) =>
      policy.PolicyDocument.Statement as Array<{
        Effect: string;
        Action: string | string[];
        Resource: unknown;
        Condition?: unknown;
      }>,
  );
  expect(statements.every((statement) => statement.Effect === 'Allow')).toBe(true);
  return statements.flatMap((statement) =>
    [statement.Action].flat().flatMap((action) =>
      [statement.Resource].flat().map((resource) => ({
        action,
        resource,
        ...(statement.Condition === undefined ? {} : { condition: statement.Condition }),
      })),
    ),
  );
}

function sorted(grants: readonly Grant[]): Grant[] {
  const key = (grant: Grant): string => JSON.stringify([grant.action, grant.resource, grant.condition]);
  return [...grants].sort((a, b) => key(a).localeCompare(key(b)));
}

/** The fields of the template data, checked against the type both ways. */
const TEMPLATE_FIELDS = ['orderId', 'customerId', 'total', 'lineCount'] as const satisfies ReadonlyArray<
  keyof EmailTemplateData
>;
type Unlisted = Exclude<keyof EmailTemplateData, (typeof TEMPLATE_FIELDS)[number]>;
const everyFieldListed: Unlisted extends never ? true : false = true;

describe('OrderFanout', () => {
  let at: FanoutStack;
  let fanout: OrderFanout;
  let template: Template;

  beforeAll(() => {
    at = fanoutStack();
    fanout = new OrderFanout(at.stack, 'OrderFanout', fanoutProps(at));
    template = Template.fromStack(at.stack);
  });

  describe('event source mapping', () => {
    it('reads the Orders stream in batches of 100 gathered for up to 1 s, one batch per shard at a time', () => {
      // Assess
      template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: { 'Fn::GetAtt': [logicalId(at.tables.orders, at.stack), 'StreamArn'] },
        FunctionName: { Ref: logicalId(fanout.consumer.function.lambdaFunction, at.stack) },
        StartingPosition: 'TRIM_HORIZON',
        BatchSize: 100,
        MaximumBatchingWindowInSeconds: 1,
        ParallelizationFactor: 1,
        // The construct's defaults.
        MaximumRetryAttempts: 10,
        MaximumRecordAgeInSeconds: 3600,
        BisectBatchOnFunctionError: true,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
      });
      expect(ORDER_FANOUT_MAPPING.maxBatchingWindow.toSeconds()).toBe(1);
    });

    it('filters on INSERT and REMOVE, and on MODIFY with a string status in the new image', () => {
      // Assess
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        FilterCriteria: {
          Filters: [
            { Pattern: '{"eventName":["INSERT","REMOVE"]}' },
            {
              Pattern: '{"eventName":["MODIFY"],"dynamodb":{"NewImage":{"status":{"S":[{"exists":true}]}}}}',
            },
          ],
        },
      });
      expect(ORDER_FANOUT_FILTER_PATTERNS).toEqual([
        { eventName: ['INSERT', 'REMOVE'] },
        { eventName: ['MODIFY'], dynamodb: { NewImage: { status: { S: [{ exists: true }] } } } },
      ]);
    });

    describe('filters, as the local runner compiles them from the template', () => {
      const records = createStreamRecordFactory({ tableName: 'Orders', keyAttributes: ['orderId'] });
      const placed = { orderId: 'order-1', status: 'PLACED', version: 1 };
      const noStatus = { orderId: 'order-1', version: 1 };

      it.each<[string, DynamoDBRecord, boolean]>([
        ['an INSERT', records.insert(placed), true],
        ['an INSERT without a status', records.insert(noStatus), true],
        [
          'a MODIFY that changes the status',
          records.modify(placed, { ...placed, status: 'PAID', version: 2 }),
          true,
        ],
        // Filters cannot compare old and new status: the handler drops this one itself.
        ['a MODIFY that keeps the status', records.modify(placed, { ...placed, version: 2 }), true],
        [
          'a MODIFY whose new image has no status',
          records.modify(placed, { ...noStatus, version: 2 }),
          false,
        ],
        [
          'a MODIFY whose status is not a string',
          records.modify(placed, { ...placed, status: 3, version: 2 }),
          false,
        ],
        ['a REMOVE', records.remove(placed), true],
      ])('%s is delivered: %s', (_case, record, delivered) => {
        // Prepare
        const mapping = Object.values(template.findResources('AWS::Lambda::EventSourceMapping'))[0]!;
        const patterns = (mapping.Properties.FilterCriteria.Filters as Array<{ Pattern: string }>).map(
          (filter) => JSON.parse(filter.Pattern) as Record<string, unknown>,
        );

        // Act
        const matches = compileFilters(patterns)(record);

        // Assess
        expect(matches).toBe(delivered);
      });
    });
  });

  describe('e-mail templates', () => {
    it('creates one template per e-mail kind, with names CloudFormation generates', () => {
      // Assess
      template.resourceCountIs('AWS::SES::Template', EMAIL_KINDS.length);
      expect(Object.keys(fanout.templates).sort()).toEqual([...EMAIL_KINDS].sort());
      for (const resource of Object.values(template.findResources('AWS::SES::Template'))) {
        expect(resource.Properties.Template.TemplateName).toBeUndefined();
      }
    });

    it.each(EMAIL_KINDS)('the %s template has a subject, HTML and text using the template data', (kind) => {
      // Prepare
      const content = ORDER_EMAIL_CONTENT[kind];
      const placeholders = (text: string): string[] =>
        [...text.matchAll(/\{\{\s*([^}\s]+)\s*\}\}/g)].map((match) => match[1]!);

      // Assess
      const resource = template.toJSON().Resources[at.stack.getLogicalId(fanout.templates[kind])];
      expect(resource.Properties.Template).toEqual({
        SubjectPart: content.subject,
        HtmlPart: content.html,
        TextPart: content.text,
      });
      expect(everyFieldListed).toBe(true);
      expect(placeholders(content.subject)).toContain('orderId');
      for (const part of [content.html, content.text]) {
        expect(new Set(placeholders(part))).toEqual(new Set(TEMPLATE_FIELDS));
      }
      for (const part of [content.subject, content.html, content.text]) {
        expect(
          placeholders(part).every((name) => (TEMPLATE_FIELDS as readonly string[]).includes(name)),
        ).toBe(true);
      }
    });
  });

  describe('function', () => {
    it('is the order-fanout consumer, told exactly the resources it uses', () => {
      // Prepare
      const id = (construct: { node: { defaultChild?: unknown } }): string => logicalId(construct, at.stack);

      // Assess
      template.hasResourceProperties('AWS::Lambda::Function', {
        Environment: {
          Variables: {
            [ENV.POWERTOOLS_SERVICE_NAME]: 'order-fanout',
            [ENV.POWERTOOLS_METRICS_NAMESPACE]: Match.anyValue(),
            [ENV.CONSUMER_NAME]: 'order-fanout',
            [ENV.DEAD_LETTER_QUEUE_URL]: { Ref: id(fanout.consumer.deadLetterQueue) },
            [ENV.ORDERS_TABLE_NAME]: { Ref: id(at.tables.orders) },
            [ENV.INVENTORY_TABLE_NAME]: { Ref: id(at.tables.inventory) },
            [ENV.IDEMPOTENCY_TABLE_NAME]: { Ref: id(at.tables.idempotency) },
            [ENV.ORDER_EVENTS_TOPIC_ARN]: { Ref: id(at.messaging.orderEventsTopic) },
            [ENV.WAREHOUSE_QUEUE_URL]: { Ref: id(at.messaging.warehouseQueue) },
            [ENV.EMAIL_FROM_ADDRESS]: 'orders@example.com',
            [ENV.EMAIL_TEMPLATE_PLACED]: { Ref: at.stack.getLogicalId(fanout.templates.placed) },
            [ENV.EMAIL_TEMPLATE_SHIPPED]: { Ref: at.stack.getLogicalId(fanout.templates.shipped) },
            [ENV.EMAIL_TEMPLATE_CANCELLED]: { Ref: at.stack.getLogicalId(fanout.templates.cancelled) },
          },
        },
      });
      expect(EMAIL_TEMPLATE_ENV).toEqual({
        placed: ENV.EMAIL_TEMPLATE_PLACED,
        shipped: ENV.EMAIL_TEMPLATE_SHIPPED,
        cancelled: ENV.EMAIL_TEMPLATE_CANCELLED,
      });
    });

    it('may do exactly what its code does, and nothing else', () => {
      // Prepare
      const id = (construct: { node: { defaultChild?: unknown } }): string => logicalId(construct, at.stack);
      const tablesKey = arnOf(id(at.tables.key));
      const messagingKey = arnOf(id(at.messaging.key));
      const via = (service: string): unknown => ({ StringEquals: { 'kms:ViaService': viaService(service) } });
      const each = (actions: readonly string[], resource: unknown, condition?: unknown): Grant[] =>
        actions.map((action) => ({ action, resource, ...(condition === undefined ? {} : { condition }) }));
      const expected: Grant[] = [
        // Every function: its own log group, and X-Ray.
        ...each(['logs:CreateLogStream', 'logs:PutLogEvents'], arnOf(id(fanout.consumer.function.logGroup))),
        ...each(['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], '*'),
        // Every stream consumer: the stream, and its own DLQ (the mapping's on-failure destination).
        ...each(['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'], {
          'Fn::GetAtt': [id(at.tables.orders), 'StreamArn'],
        }),
        ...each(['dynamodb:ListStreams'], '*'),
        ...each(['kms:Decrypt'], tablesKey),
        ...each(
          ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'],
          arnOf(id(fanout.consumer.deadLetterQueue)),
        ),
        // The fan-out's own grants.
        ...each(['dynamodb:UpdateItem'], arnOf(id(at.tables.orders))),
        ...each(
          ['dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
          arnOf(id(at.tables.inventory)),
        ),
        ...each(['dynamodb:BatchGetItem', 'dynamodb:PutItem'], arnOf(id(at.tables.idempotency))),
        ...each(
          [
            'kms:Decrypt',
            'kms:DescribeKey',
            'kms:Encrypt',
            'kms:GenerateDataKey',
            'kms:GenerateDataKeyWithoutPlaintext',
            'kms:ReEncryptFrom',
            'kms:ReEncryptTo',
          ],
          tablesKey,
          via('dynamodb'),
        ),
        ...each(['sns:Publish'], { Ref: id(at.messaging.orderEventsTopic) }),
        ...each(['kms:Decrypt', 'kms:GenerateDataKey'], messagingKey, via('sns')),
        ...each(['sqs:SendMessage'], arnOf(id(at.messaging.warehouseQueue))),
        ...each(['kms:Decrypt', 'kms:GenerateDataKey'], messagingKey, via('sqs')),
        ...each(['ses:SendBulkEmail'], sesArn(':identity/example.com')),
        ...EMAIL_KINDS.flatMap((kind) =>
          each(
            ['ses:SendBulkEmail'],
            sesArn(':template/', { Ref: at.stack.getLogicalId(fanout.templates[kind]) }),
          ),
        ),
      ];

      // Act
      const grants = grantsOf(template, at.stack, fanout.consumer.function.role.node.defaultChild as CfnRole);

      // Assess
      expect(sorted(grants)).toEqual(sorted(expected));
    });

    it('has wildcards only where a service offers no resource-level permission', () => {
      // Act
      const wildcards = grantsOf(
        template,
        at.stack,
        fanout.consumer.function.role.node.defaultChild as CfnRole,
      )
        .filter((grant) => grant.resource === '*' || grant.action.includes('*'))
        .map((grant) => grant.action)
        .sort();

      // Assess
      expect(wildcards).toEqual([
        'dynamodb:ListStreams',
        'xray:PutTelemetryRecords',
        'xray:PutTraceSegments',
      ]);
    });

    it('sends as the configured identity, which may be an address', () => {
      // Prepare
      const other = fanoutStack();
      const config = testConfig({ emailFromAddress: 'shop@example.org', emailIdentity: 'shop@example.org' });

      // Act
      const sender = new OrderFanout(other.stack, 'OrderFanout', fanoutProps(other, { config }));

      // Assess
      const grants = grantsOf(
        Template.fromStack(other.stack),
        other.stack,
        sender.consumer.function.role.node.defaultChild as CfnRole,
      );
      expect(grants).toContainEqual({
        action: 'ses:SendBulkEmail',
        resource: sesArn(':identity/shop@example.org'),
      });
      Template.fromStack(other.stack).hasResourceProperties('AWS::Lambda::Function', {
        Environment: { Variables: Match.objectLike({ [ENV.EMAIL_FROM_ADDRESS]: 'shop@example.org' }) },
      });
    });
  });

  describe('alarms', () => {
    it('alarms when the warehouse receives messages it does not delete for an hour (its queue has no DLQ)', () => {
      // Prepare
      const topic = { Ref: logicalId(at.ops.topic, at.stack) };
      const queueName = { 'Fn::GetAtt': [logicalId(at.messaging.warehouseQueue, at.stack), 'QueueName'] };

      // Assess
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Metrics: Match.arrayWith([
          Match.objectLike({ Expression: 'IF(FILL(received, 0) > FILL(deleted, 0), 1, 0)' }),
          Match.objectLike({
            Id: 'received',
            MetricStat: Match.objectLike({
              Metric: {
                Namespace: 'AWS/SQS',
                MetricName: 'NumberOfMessagesReceived',
                Dimensions: [{ Name: 'QueueName', Value: queueName }],
              },
            }),
          }),
          Match.objectLike({
            Id: 'deleted',
            MetricStat: Match.objectLike({
              Metric: Match.objectLike({ MetricName: 'NumberOfMessagesDeleted' }),
            }),
          }),
        ]),
        EvaluationPeriods: 12,
        DatapointsToAlarm: 12,
        Threshold: 1,
        AlarmActions: [topic],
        OKActions: [topic],
      });
      expect(fanout.warehouseStuckAlarm).toBeDefined();
    });

    it('alarms when the oldest warehouse message waits for more than an hour, keeping its state without data', () => {
      // Prepare
      const topic = { Ref: logicalId(at.ops.topic, at.stack) };

      // Assess
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateAgeOfOldestMessage',
        Dimensions: [
          {
            Name: 'QueueName',
            Value: { 'Fn::GetAtt': [logicalId(at.messaging.warehouseQueue, at.stack), 'QueueName'] },
          },
        ],
        Statistic: 'Maximum',
        Threshold: 3600,
        TreatMissingData: 'ignore',
        AlarmActions: [topic],
        OKActions: [topic],
      });
      expect(fanout.warehouseBacklogAlarm).toBeDefined();
    });

    it('charts the marked re-sends (PossibleDuplicateEffects) on the dashboard', () => {
      // Assess
      const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
      const body = JSON.stringify(dashboard?.Properties.DashboardBody);
      expect(body).toContain('PossibleDuplicateEffects');
      expect(body).toContain('possible duplicate effects');
    });

    it("has the consumer's nine alarms besides", () => {
      // Assess
      template.resourceCountIs('AWS::CloudWatch::Alarm', 11);
    });
  });

  describe('stream readers', () => {
    it('shares the Orders stream with the search sync and the audit log in the app, so one more reader warns', () => {
      // Prepare
      const app = testApp();
      const { stateful, stateless } = buildApp(app);
      const before = warningsWithId(stateless, TOO_MANY_STREAM_READERS_WARNING);

      // Act
      stateless.addStreamConsumer('Third', {
        table: stateful.tables.orders,
        entry: DUMMY_CONSUMER_ENTRY,
        consumerName: 'third',
      });

      // Assess
      expect(before).toEqual([]);
      expect(warningsWithId(stateless, TOO_MANY_STREAM_READERS_WARNING)).toEqual([
        expect.stringContaining('has 4 readers (order-fanout, search-sync, audit-log, third)'),
      ]);
    });
  });

  describe('props validation', () => {
    it.each<[string, (at: FanoutStack) => Partial<OrderFanoutProps>, string]>([
      [
        'a standard warehouse queue',
        (s) => ({ messaging: { ...s.messaging, warehouseQueue: new Queue(s.stack, 'Standard') } }),
        'messaging.warehouseQueue',
      ],
      [
        'a standard order events topic',
        (s) => ({ messaging: { ...s.messaging, orderEventsTopic: new Topic(s.stack, 'StandardTopic') } }),
        'messaging.orderEventsTopic',
      ],
      [
        'a From address that is no address',
        () => ({ config: testConfig({ emailFromAddress: 'orders' }) }),
        'config.emailFromAddress',
      ],
      ['an empty identity', () => ({ config: testConfig({ emailIdentity: ' ' }) }), 'config.emailIdentity'],
      ['an entry that does not exist', () => ({ entry: '/nonexistent/handler.ts' }), 'entry'],
    ])('rejects %s, naming the prop, before creating anything', (_case, overrides, prop) => {
      // Prepare
      const s = fanoutStack();
      const props = fanoutProps(s, overrides(s));

      // Act
      const error = thrownBy(() => new OrderFanout(s.stack, 'OrderFanout', props));

      // Assess
      expect(error).toBeInstanceOf(InvalidPropsError);
      expect(error.message).toMatch(
        new RegExp(`^Pipelines/OrderFanout(/Consumer(/Consumer)?)?: invalid "${prop}": `),
      );
      expect(
        s.stack.node.findChild('OrderFanout').node.children.flatMap((c) => c.node.children),
      ).toHaveLength(0);
    });
  });
});
