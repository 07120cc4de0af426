import { type App, type CfnResource, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AttributeType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { FilterCriteria, FilterRule, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ENV, METRICS_NAMESPACE } from '../../../lambdas/shared/env.js';
import { SQS_MAX_MESSAGE_BYTES } from '../../../lambdas/shared/limits.js';
import { STREAM_METRICS } from '../../../lambdas/shared/stream/metrics.js';
import { DataTables } from '../../../lib/constructs/data-tables.js';
import { OpsAlerts } from '../../../lib/constructs/ops-alerts.js';
import { InvalidPropsError } from '../../../lib/constructs/props-validation.js';
import {
  iteratorAgeAlarmThresholdMs,
  STREAM_CONSUMER_DEFAULTS,
  StreamConsumer,
  type StreamConsumerProps,
  TOO_MANY_STREAM_READERS_WARNING,
} from '../../../lib/constructs/stream-consumer.js';
import { DUMMY_CONSUMER_ENTRY, testApp, thrownBy, warningsWithId } from '../../fixtures/cdk-app.js';

interface ConsumerStack {
  readonly stack: Stack;
  readonly tables: DataTables;
  readonly ops: OpsAlerts;
}

function consumerStack(app: App = testApp(), id = 'Pipelines'): ConsumerStack {
  const stack = new Stack(app, id);
  return { stack, tables: new DataTables(stack, 'Tables'), ops: new OpsAlerts(stack, 'Ops') };
}

function consumerProps(at: ConsumerStack, overrides: Partial<StreamConsumerProps> = {}): StreamConsumerProps {
  return {
    logRetention: RetentionDays.ONE_MONTH,
    memorySize: 256,
    table: at.tables.orders,
    entry: DUMMY_CONSUMER_ENTRY,
    consumerName: 'dummy',
    alarmTopic: at.ops.topic,
    dashboard: at.ops.dashboard,
    ...overrides,
  };
}

function logicalId(construct: { node: { defaultChild?: unknown } } & object, stack: Stack): string {
  return stack.getLogicalId(construct.node.defaultChild as CfnResource);
}

/**
 * The dashboard body with its tokens replaced by a placeholder, parsed. Every token of this body sits inside a
 * JSON string (a function name, a queue name, the region), so the placeholder keeps the JSON valid.
 */
function dashboardBody(template: Template): {
  widgets: Array<{ y: number; properties: Record<string, unknown> }>;
} {
  const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
  const body = dashboard?.Properties.DashboardBody as string | { 'Fn::Join': [string, unknown[]] };
  const text =
    typeof body === 'string'
      ? body
      : body['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : 'TOKEN')).join('');
  return JSON.parse(text);
}

describe('StreamConsumer', () => {
  describe('with the defaults', () => {
    let at: ConsumerStack;
    let consumer: StreamConsumer;
    let template: Template;

    beforeAll(() => {
      at = consumerStack();
      consumer = new StreamConsumer(at.stack, 'Dummy', consumerProps(at));
      template = Template.fromStack(at.stack);
    });

    it('maps the stream to the function from the trim horizon, bisecting and reporting item failures', () => {
      // Assess
      template.hasResource('AWS::Lambda::EventSourceMapping', {
        Properties: {
          EventSourceArn: { 'Fn::GetAtt': [logicalId(at.tables.orders, at.stack), 'StreamArn'] },
          FunctionName: { Ref: logicalId(consumer.function.lambdaFunction, at.stack) },
          StartingPosition: StartingPosition.TRIM_HORIZON,
          BisectBatchOnFunctionError: true,
          FunctionResponseTypes: ['ReportBatchItemFailures'],
          MetricsConfig: { Metrics: ['EventCount'] },
          DestinationConfig: {
            OnFailure: {
              Destination: { 'Fn::GetAtt': [logicalId(consumer.deadLetterQueue, at.stack), 'Arn'] },
            },
          },
          BatchSize: 100,
          MaximumBatchingWindowInSeconds: 0,
          ParallelizationFactor: 1,
          MaximumRetryAttempts: 10,
          MaximumRecordAgeInSeconds: 3600,
          FilterCriteria: Match.absent(),
        },
        // Lambda checks the stream permissions when it creates the mapping.
        DependsOn: Match.arrayWith([Match.stringLikeRegexp('^DummyStreamReadPolicy')]),
      });
    });

    it('gives the consumer its own encrypted, TLS-only DLQ that keeps letters for 14 days', () => {
      // Assess
      template.hasResourceProperties('AWS::SQS::Queue', {
        KmsMasterKeyId: 'alias/aws/sqs',
        MessageRetentionPeriod: 14 * 24 * 60 * 60,
        MaximumMessageSize: SQS_MAX_MESSAGE_BYTES,
      });
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: logicalId(consumer.deadLetterQueue, at.stack) }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 'sqs:*',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      });
    });

    it('tells the function its name and its DLQ, and lets it send to the DLQ', () => {
      // Prepare
      const queueId = logicalId(consumer.deadLetterQueue, at.stack);

      // Assess
      template.hasResourceProperties('AWS::Lambda::Function', {
        Environment: {
          Variables: Match.objectLike({
            [ENV.CONSUMER_NAME]: 'dummy',
            [ENV.DEAD_LETTER_QUEUE_URL]: { Ref: queueId },
            [ENV.POWERTOOLS_SERVICE_NAME]: 'dummy',
          }),
        },
        Timeout: 60,
        MemorySize: 256,
      });
      template.hasResourceProperties('AWS::IAM::Policy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Action: Match.arrayWith(['sqs:SendMessage']),
              Resource: { 'Fn::GetAtt': [queueId, 'Arn'] },
            }),
          ]),
        },
      });
    });

    it('reads this one stream, decrypting it with the table key', () => {
      // Assess
      template.hasResourceProperties('AWS::IAM::Policy', {
        PolicyName: Match.stringLikeRegexp('^DummyStreamReadPolicy'),
        PolicyDocument: {
          Statement: [
            {
              Action: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
              Effect: 'Allow',
              Resource: { 'Fn::GetAtt': [logicalId(at.tables.orders, at.stack), 'StreamArn'] },
            },
            { Action: 'dynamodb:ListStreams', Effect: 'Allow', Resource: '*' },
            {
              Action: 'kms:Decrypt',
              Effect: 'Allow',
              Resource: { 'Fn::GetAtt': [logicalId(at.tables.key, at.stack), 'Arn'] },
            },
          ],
        },
        Roles: [{ Ref: logicalId(consumer.function.role, at.stack) }],
      });
    });

    it.each([
      ['IteratorAge', 'AWS/Lambda', 'Maximum', 60, 3, 1_800_000, 'notBreaching'],
      // Kept as it is without data: SQS stops reporting a queue nobody touches, messages still in it (issue 13).
      ['ApproximateNumberOfMessagesVisible', 'AWS/SQS', 'Maximum', 60, 1, 0, 'ignore'],
      ['Errors', 'AWS/Lambda', 'Sum', 300, 1, 0, 'notBreaching'],
      ['Throttles', 'AWS/Lambda', 'Sum', 300, 1, 0, 'notBreaching'],
      [STREAM_METRICS.internalErrors, METRICS_NAMESPACE, 'Sum', 300, 1, 0, 'notBreaching'],
      // Records that left the stream unprocessed, and a failed send of their positions (issue 13).
      ['DroppedEventCount', 'AWS/Lambda', 'Sum', 300, 1, 0, 'notBreaching'],
      ['OnFailureDestinationDeliveredEventCount', 'AWS/Lambda', 'Sum', 300, 1, 0, 'notBreaching'],
      ['DestinationDeliveryFailures', 'AWS/Lambda', 'Sum', 300, 1, 0, 'notBreaching'],
    ])(
      'alarms to the ops topic when %s (%s, %s over %i s, %i periods) exceeds %i',
      (metricName, namespace, statistic, period, evaluationPeriods, threshold, treatMissingData) => {
        // Prepare
        const topic = { Ref: logicalId(at.ops.topic, at.stack) };

        // Assess
        template.hasResourceProperties('AWS::CloudWatch::Alarm', {
          MetricName: metricName,
          Namespace: namespace,
          Statistic: statistic,
          Period: period,
          EvaluationPeriods: evaluationPeriods,
          Threshold: threshold,
          ComparisonOperator: 'GreaterThanThreshold',
          TreatMissingData: treatMissingData,
          AlarmActions: [topic],
          OKActions: [topic],
        });
      },
    );

    it.each(['DroppedEventCount', 'OnFailureDestinationDeliveredEventCount'])(
      'reads %s of its own mapping (by its UUID)',
      (metricName) => {
        // Assess
        template.hasResourceProperties('AWS::CloudWatch::Alarm', {
          MetricName: metricName,
          Dimensions: [
            {
              Name: 'EventSourceMappingUUID',
              Value: { Ref: logicalId(consumer.mapping, at.stack) },
            },
          ],
        });
      },
    );

    it('alarms when the table is written for 15 minutes while the mapping polls nothing (disabled mapping)', () => {
      // Assess: a disabled mapping reports no IteratorAge, so the iterator-age alarm cannot see it (issue 13).
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Metrics: Match.arrayWith([
          Match.objectLike({ Expression: 'IF(FILL(writes, 0) > 0 AND FILL(polled, 0) == 0, 1, 0)' }),
          Match.objectLike({
            Id: 'writes',
            MetricStat: Match.objectLike({
              Metric: Match.objectLike({
                MetricName: 'ConsumedWriteCapacityUnits',
                Namespace: 'AWS/DynamoDB',
              }),
            }),
          }),
          Match.objectLike({
            Id: 'polled',
            MetricStat: Match.objectLike({
              Metric: Match.objectLike({ MetricName: 'PolledEventCount', Namespace: 'AWS/Lambda' }),
            }),
          }),
        ]),
        Threshold: 1,
        EvaluationPeriods: 3,
        DatapointsToAlarm: 3,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      });
    });

    it('exposes its nine alarms', () => {
      // Assess
      template.resourceCountIs('AWS::CloudWatch::Alarm', 9);
      expect(
        new Set([
          consumer.iteratorAgeAlarm,
          consumer.deadLetterAlarm,
          consumer.errorsAlarm,
          consumer.throttlesAlarm,
          consumer.internalErrorsAlarm,
          consumer.droppedRecordsAlarm,
          consumer.onFailureDeliveredAlarm,
          consumer.destinationDeliveryFailuresAlarm,
          consumer.notReadingAlarm,
        ]).size,
      ).toBe(9);
    });

    it("alarms on the runtime's InternalErrors of this consumer only (its service dimension)", () => {
      // Assess
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: STREAM_METRICS.internalErrors,
        Dimensions: [{ Name: 'service', Value: 'dummy' }],
      });
    });

    it('adds one dashboard row: iterator age, invocations, dead letters and end-to-end lag', () => {
      // Act
      const { widgets } = dashboardBody(template);

      // Assess
      expect(widgets.map((widget) => widget.properties.title)).toEqual([
        'dummy: iterator age (ms)',
        'dummy: invocations',
        'dummy: dead letters',
        'dummy: end-to-end lag (ms)',
      ]);
      expect(new Set(widgets.map((widget) => widget.y))).toEqual(new Set([0]));
      const lag = JSON.stringify(widgets[3]?.properties.metrics);
      expect(lag).toContain(`"${STREAM_METRICS.endToEndLag}","service","dummy"`);
      expect(lag).toContain('"stat":"p99"');
      expect(JSON.stringify(widgets[2]?.properties.metrics)).toContain(STREAM_METRICS.recordsDeadLettered);
      expect(JSON.stringify(widgets[1]?.properties.metrics)).toContain(STREAM_METRICS.internalErrors);
      for (const metric of [
        'OnFailureDestinationDeliveredEventCount',
        'DroppedEventCount',
        'DestinationDeliveryFailures',
      ]) {
        expect(JSON.stringify(widgets[2]?.properties.metrics)).toContain(metric);
      }
    });
  });

  it('passes its mapping settings and filters through', () => {
    // Prepare
    const at = consumerStack();
    const filter = FilterCriteria.filter({ eventName: FilterRule.isEqual('INSERT') });

    // Act
    new StreamConsumer(
      at.stack,
      'Dummy',
      consumerProps(at, {
        batchSize: 500,
        maxBatchingWindow: Duration.seconds(5),
        parallelizationFactor: 4,
        retryAttempts: 3,
        maxRecordAge: Duration.minutes(10),
        filters: [filter],
        memorySize: 1024,
        timeout: Duration.seconds(30),
        environment: { EXTRA: 'value' },
        reservedConcurrentExecutions: 3,
      }),
    );

    // Assess
    const template = Template.fromStack(at.stack);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 500,
      MaximumBatchingWindowInSeconds: 5,
      ParallelizationFactor: 4,
      MaximumRetryAttempts: 3,
      MaximumRecordAgeInSeconds: 600,
      FilterCriteria: { Filters: [{ Pattern: '{"eventName":["INSERT"]}' }] },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      MemorySize: 1024,
      Timeout: 30,
      ReservedConcurrentExecutions: 3,
      Environment: { Variables: Match.objectLike({ EXTRA: 'value' }) },
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'IteratorAge',
      Threshold: 300_000,
    });
  });

  describe('iteratorAgeAlarmThresholdMs', () => {
    it.each([
      [Duration.minutes(1), 30_000],
      [Duration.hours(1), 1_800_000],
      [Duration.hours(24), 43_200_000],
      // The stream keeps records for 24 hours, so a longer maximum age changes nothing.
      [Duration.days(7), 43_200_000],
    ])('alarms at half the effective maximum record age: %s -> %i ms', (maxRecordAge, threshold) => {
      // Act
      const ms = iteratorAgeAlarmThresholdMs(maxRecordAge);

      // Assess
      expect(ms).toBe(threshold);
    });
  });

  describe('stream readers', () => {
    function addConsumers(at: ConsumerStack, table: Table, count: number): StreamConsumer[] {
      return Array.from(
        { length: count },
        (_, index) =>
          new StreamConsumer(
            at.stack,
            `Reader${index}`,
            consumerProps(at, { table, consumerName: `reader-${index}` }),
          ),
      );
    }

    it.each([
      [1, 0],
      [2, 0],
      [3, 1],
      [4, 2],
    ])('with %i consumers on one stream, warns %i times (from the third reader on)', (readers, warnings) => {
      // Prepare
      const at = consumerStack();

      // Act
      addConsumers(at, at.tables.orders, readers);

      // Assess
      expect(warningsWithId(at.stack, TOO_MANY_STREAM_READERS_WARNING)).toHaveLength(warnings);
    });

    it('names the stream and its readers in the warning', () => {
      // Prepare
      const at = consumerStack();

      // Act
      addConsumers(at, at.tables.orders, 3);

      // Assess
      expect(warningsWithId(at.stack, TOO_MANY_STREAM_READERS_WARNING)).toEqual([
        expect.stringContaining(
          'The stream of Pipelines/Tables/Orders has 3 readers (reader-0, reader-1, reader-2)',
        ),
      ]);
    });

    it('counts the readers of each stream apart', () => {
      // Prepare
      const at = consumerStack();

      // Act
      addConsumers(at, at.tables.orders, 2);
      new StreamConsumer(
        at.stack,
        'VotesReader',
        consumerProps(at, { table: at.tables.votes, consumerName: 'votes' }),
      );

      // Assess
      expect(warningsWithId(at.stack, TOO_MANY_STREAM_READERS_WARNING)).toHaveLength(0);
    });

    it('counts readers across the stacks of one app, and not across apps', () => {
      // Prepare
      const app = testApp();
      const data = consumerStack(app, 'Data');
      const other = new Stack(app, 'Other');
      const otherOps = new OpsAlerts(other, 'Ops');
      const unrelated = consumerStack();
      addConsumers(unrelated, unrelated.tables.orders, 2);

      // Act
      addConsumers(data, data.tables.orders, 2);
      new StreamConsumer(
        other,
        'Third',
        consumerProps(data, {
          consumerName: 'third',
          alarmTopic: otherOps.topic,
          dashboard: otherOps.dashboard,
        }),
      );

      // Assess
      expect(warningsWithId(data.stack, TOO_MANY_STREAM_READERS_WARNING)).toHaveLength(0);
      expect(warningsWithId(other, TOO_MANY_STREAM_READERS_WARNING)).toHaveLength(1);
      expect(warningsWithId(unrelated.stack, TOO_MANY_STREAM_READERS_WARNING)).toHaveLength(0);
    });
  });

  it('names its alarms <stack>/<consumer>/<Kind> and links each description to its runbook section', () => {
    // Prepare
    const at = consumerStack();

    // Act
    const consumer = new StreamConsumer(
      at.stack,
      'Dummy',
      consumerProps(at, { runbookBaseUrl: 'https://runbook.example.com/ops.md' }),
    );

    // Assess
    expect(consumer.alarmNamePrefix).toBe('Pipelines/dummy/');
    Template.fromStack(at.stack).hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Pipelines/dummy/IteratorAge',
      AlarmDescription: Match.stringLikeRegexp(
        ' Runbook: https://runbook.example.com/ops.md#consumer-iterator-age$',
      ),
    });
  });

  it('refuses a second consumer of the same name in one stack, whose alarm names would clash', () => {
    // Prepare
    const at = consumerStack();
    new StreamConsumer(at.stack, 'First', consumerProps(at));

    // Act
    const error = thrownBy(() => new StreamConsumer(at.stack, 'Second', consumerProps(at)));

    // Assess
    expect(error).toBeInstanceOf(InvalidPropsError);
    expect(error.message).toContain('consumerName');
  });

  it('keeps logs for the given retention and sizes the function as given, with no stage configuration', () => {
    // Prepare
    const at = consumerStack();

    // Act
    new StreamConsumer(
      at.stack,
      'Dummy',
      consumerProps(at, { logRetention: RetentionDays.ONE_YEAR, memorySize: 1024 }),
    );

    // Assess
    const template = Template.fromStack(at.stack);
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 365 });
    template.hasResourceProperties('AWS::Lambda::Function', { MemorySize: 1024 });
  });

  it('defaults to two weeks of logs and 512 MB of memory', () => {
    // Prepare
    const at = consumerStack();
    const { logRetention: _retention, memorySize: _memory, ...props } = consumerProps(at);

    // Act
    new StreamConsumer(at.stack, 'Dummy', props);

    // Assess
    const template = Template.fromStack(at.stack);
    expect(STREAM_CONSUMER_DEFAULTS).toMatchObject({
      logRetention: RetentionDays.TWO_WEEKS,
      memorySize: 512,
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 14 });
    template.hasResourceProperties('AWS::Lambda::Function', { MemorySize: 512 });
  });

  describe('props validation', () => {
    it.each<[string, (at: ConsumerStack) => Partial<StreamConsumerProps>, string]>([
      [
        'a table without a stream',
        (at) => ({
          table: new Table(at.stack, 'NoStream', {
            partitionKey: { name: 'id', type: AttributeType.STRING },
          }),
        }),
        'table',
      ],
      ['an upper-case consumer name', () => ({ consumerName: 'Fanout' }), 'consumerName'],
      ['a batch size of 0', () => ({ batchSize: 0 }), 'batchSize'],
      ['a batch size of 10,001', () => ({ batchSize: 10_001 }), 'batchSize'],
      ['a fractional batch size', () => ({ batchSize: 1.5 }), 'batchSize'],
      [
        'a batching window over 300 s',
        () => ({ maxBatchingWindow: Duration.seconds(301) }),
        'maxBatchingWindow',
      ],
      ['a parallelization factor of 0', () => ({ parallelizationFactor: 0 }), 'parallelizationFactor'],
      ['a parallelization factor of 11', () => ({ parallelizationFactor: 11 }), 'parallelizationFactor'],
      ['infinite retries (-1)', () => ({ retryAttempts: -1 }), 'retryAttempts'],
      ['10,001 retries', () => ({ retryAttempts: 10_001 }), 'retryAttempts'],
      ['a maximum record age of 59 s', () => ({ maxRecordAge: Duration.seconds(59) }), 'maxRecordAge'],
      ['a maximum record age over 7 days', () => ({ maxRecordAge: Duration.days(8) }), 'maxRecordAge'],
      [
        'an infinite maximum record age',
        () => ({ maxRecordAge: Duration.seconds(Number.POSITIVE_INFINITY) }),
        'maxRecordAge',
      ],
      ['a timeout of 0 s', () => ({ timeout: Duration.seconds(0) }), 'timeout'],
      ['a timeout over 900 s', () => ({ timeout: Duration.seconds(901) }), 'timeout'],
      ['64 MB of memory', () => ({ memorySize: 64 }), 'memorySize'],
      ['an infinite log retention', () => ({ logRetention: RetentionDays.INFINITE }), 'logRetention'],
      ['a log retention of 2 days', () => ({ logRetention: 2 as RetentionDays }), 'logRetention'],
      [
        'a reserved concurrency of 0',
        () => ({ reservedConcurrentExecutions: 0 }),
        'reservedConcurrentExecutions',
      ],
      ['an entry that does not exist', () => ({ entry: '/nonexistent/handler.ts' }), 'entry'],
      [
        'six filters',
        () => ({ filters: Array.from({ length: 6 }, () => FilterCriteria.filter({})) }),
        'filters',
      ],
      [
        'its own CONSUMER_NAME in the environment',
        () => ({ environment: { [ENV.CONSUMER_NAME]: 'other' } }),
        `environment.${ENV.CONSUMER_NAME}`,
      ],
      [
        'its own DEAD_LETTER_QUEUE_URL in the environment',
        () => ({ environment: { [ENV.DEAD_LETTER_QUEUE_URL]: 'https://example.com' } }),
        `environment.${ENV.DEAD_LETTER_QUEUE_URL}`,
      ],
    ])('rejects %s, naming the prop, before creating anything', (_case, overrides, prop) => {
      // Prepare
      const at = consumerStack();
      const props = consumerProps(at, overrides(at));

      // Act
      const error = thrownBy(() => new StreamConsumer(at.stack, 'Dummy', props));

      // Assess
      expect(error).toBeInstanceOf(InvalidPropsError);
      expect(error.message).toMatch(new RegExp(`^Pipelines/Dummy(/Consumer)?: invalid "${prop}": `));
      expect(at.stack.node.findChild('Dummy').node.children).toHaveLength(0);
    });
  });
});
