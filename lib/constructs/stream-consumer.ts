import { Annotations, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  type Dashboard,
  GraphWidget,
  MathExpression,
  Metric,
  Stats,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Policy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { EventSourceMapping, MetricType, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { type IQueue, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct, type IConstruct } from 'constructs';
import { ENV, METRICS_NAMESPACE } from '../../lambdas/shared/env.js';
import { SQS_MAX_MESSAGE_BYTES } from '../../lambdas/shared/limits.js';
import { STREAM_METRICS, streamMetricDimensions } from '../../lambdas/shared/stream/metrics.js';
import { LOG_RETENTION_DAYS } from '../config.js';
import { BaseFunction, type BaseFunctionProps, validateBaseFunctionProps } from './base-function.js';
import { deadLetterQueueAlarm } from './ops-alerts.js';
import { InvalidPropsError, requireIntegerInRange, requireSecondsInRange } from './props-validation.js';
import { RUNBOOK_ANCHORS, RUNBOOK_DEFAULT_BASE_URL, withRunbookLink } from './runbook.js';

/** DynamoDB Streams keeps a record for 24 hours; no consumer can lag further than that. */
const STREAM_RETENTION_SECONDS = 24 * 60 * 60;

/**
 * DynamoDB Streams serves at most two simultaneous readers per shard; a third gets throttled and every reader's
 * iterator age grows.
 */
const MAX_READERS_PER_STREAM = 2;

/** The id of the synth-time warning about a stream with too many readers, for `Validations.acknowledge`. */
export const TOO_MANY_STREAM_READERS_WARNING = '@orders-streams/stream-consumer:tooManyStreamReaders';

/** The defaults of the event source mapping and the function, each with its reason. */
export const STREAM_CONSUMER_DEFAULTS = {
  /** Lambda's own default for DynamoDB: large enough to amortise an invocation, small enough to bisect quickly. */
  batchSize: 100,
  /** No batching window: a record is processed as soon as it is read, for the lowest end-to-end lag. */
  maxBatchingWindow: Duration.seconds(0),
  /** One concurrent batch per shard: the least load on the sinks; order per item holds at any factor. */
  parallelizationFactor: 1,
  /** Enough to ride out throttling and short sink outages; the maximum record age bounds the time they take. */
  retryAttempts: 10,
  /**
   * A failed record leaves the shard after an hour at most, so it never blocks the shard for the stream's whole
   * 24-hour retention, and the on-failure message (which points into the stream) leaves 23 hours to replay it.
   */
  maxRecordAge: Duration.hours(1),
  /** Room for a batch of 100 records with a few sink calls each, retries of the SDK included. */
  timeout: Duration.seconds(60),
  /** Enough for a batch of 100 records and the SDK clients, with the CPU share that comes with it. */
  memorySize: 512,
  /** Long enough to look into a failure reported by an alarm, short enough to bound the cost of the logs. */
  logRetention: RetentionDays.TWO_WEEKS,
  /** The runbook's path in the repository (docs/runbook.md). */
  runbookBaseUrl: RUNBOOK_DEFAULT_BASE_URL,
} as const;

/**
 * What the stream consumers of one app usually share: where their alarms go, the dashboard they add their rows to,
 * their log retention and memory. An app builds it once and hands it to each of its consumers.
 */
export interface StreamConsumerCommonProps {
  /** The topic every alarm of the consumer notifies, on alarm and on recovery. */
  readonly alarmTopic: ITopic;
  /** The dashboard the consumer adds its row of graphs to. */
  readonly dashboard: Dashboard;
  /**
   * How long the function's log group keeps its logs: one of CloudWatch Logs' retention periods; infinite is refused.
   * @default STREAM_CONSUMER_DEFAULTS.logRetention (two weeks)
   */
  readonly logRetention?: RetentionDays;
  /**
   * Memory in MB (128 to 10,240); CPU scales with it.
   * @default STREAM_CONSUMER_DEFAULTS.memorySize (512)
   */
  readonly memorySize?: number;
  /**
   * The base of the runbook link each alarm's description ends with (`Runbook: <base>#<anchor>`, the anchors of
   * docs/runbook.md): where the operators read the runbook.
   * @default STREAM_CONSUMER_DEFAULTS.runbookBaseUrl (the repository path docs/runbook.md)
   */
  readonly runbookBaseUrl?: string;
}

export interface StreamConsumerProps extends StreamConsumerCommonProps {
  /** The table whose stream the consumer reads; it must have a stream. */
  readonly table: ITable;
  /** Absolute path of the handler's TypeScript file; it must export `handler`. */
  readonly entry: string;
  /**
   * A short stable name (`order-fanout`): the Powertools service name, the `service` dimension of the stream
   * runtime's metrics, the CONSUMER_NAME the runtime puts into dead letters, and the dashboard titles.
   */
  readonly consumerName: string;
  /**
   * The largest batch handed to one invocation (1 to 10,000).
   * @default STREAM_CONSUMER_DEFAULTS.batchSize (100)
   */
  readonly batchSize?: number;
  /**
   * How long to gather records before invoking (at most 300 s).
   * @default STREAM_CONSUMER_DEFAULTS.maxBatchingWindow (no window)
   */
  readonly maxBatchingWindow?: Duration;
  /**
   * Concurrent batches per shard (1 to 10). Records of one item key stay in order at any factor.
   * @default STREAM_CONSUMER_DEFAULTS.parallelizationFactor (1)
   */
  readonly parallelizationFactor?: number;
  /**
   * Retries of a failed batch before its records go to the DLQ (0 to 10,000; infinite retries are refused: one bad
   * record would block its shard until the stream drops it).
   * @default STREAM_CONSUMER_DEFAULTS.retryAttempts (10)
   */
  readonly retryAttempts?: number;
  /**
   * Age after which a failing record goes to the DLQ (60 s to 7 days; infinite is refused, as for retries).
   * @default STREAM_CONSUMER_DEFAULTS.maxRecordAge (1 hour)
   */
  readonly maxRecordAge?: Duration;
  /**
   * Event filter patterns, built with `FilterCriteria.filter()` (at most 5). Records filtered out are dropped
   * without an invocation.
   * @default - every record is delivered
   */
  readonly filters?: ReadonlyArray<Record<string, unknown>>;
  /**
   * The invocation timeout (1 to 900 s).
   * @default STREAM_CONSUMER_DEFAULTS.timeout (60 s)
   */
  readonly timeout?: Duration;
  /**
   * Further environment variables with plain values; resources are bound through `consumer.function.bind*`.
   * @default - none
   */
  readonly environment?: Readonly<Record<string, string>>;
  /**
   * Concurrent executions reserved for (and at most allowed to) the consumer, 1 to 1,000: a cap that protects the
   * sink. The mapping runs one invocation per shard and parallelization factor, so a reservation below shards x
   * factor throttles the excess: those batches wait and are retried within the mapping's maximum record age (the
   * iterator age grows and the throttles alarm fires).
   * @default - no reservation
   */
  readonly reservedConcurrentExecutions?: number;
  /**
   * The consumer's DLQ: the mapping's on-failure destination and the runtime's target for permanent failures. Pass
   * one of the stateful stack (createConsumerDeadLetterQueue): the letters are the only copy of failed records (kept
   * 14 days; the stream keeps 24 h) and must survive a destroy of the stack this construct lives in.
   * @default - a queue of this construct's own (createConsumerDeadLetterQueue), which goes with its stack
   */
  readonly deadLetterQueue?: IQueue;
}

/**
 * One Lambda function wired to one DynamoDB stream the way docs/architecture.md requires of every consumer: TRIM_HORIZON,
 * bisect on error, ReportBatchItemFailures, bounded retries and record age, EventCount metrics, and an SQS DLQ of
 * its own that is both the mapping's on-failure destination (records that exhausted their retries or age) and the
 * runtime's target for permanent failures (DEAD_LETTER_QUEUE_URL). Alarms on iterator age, DLQ depth, errors and
 * throttles notify the ops topic; the consumer adds one row to the dashboard.
 */
export class StreamConsumer extends Construct {
  public readonly function: BaseFunction;
  public readonly deadLetterQueue: IQueue;
  public readonly mapping: EventSourceMapping;
  public readonly iteratorAgeAlarm: Alarm;
  public readonly deadLetterAlarm: Alarm;
  public readonly errorsAlarm: Alarm;
  public readonly throttlesAlarm: Alarm;
  /** Fires on the first record that failed with an error of our own making (the runtime's InternalErrors). */
  public readonly internalErrorsAlarm: Alarm;
  /** Records the mapping dropped, or sent to the on-failure destination: they left the stream unprocessed. */
  public readonly droppedRecordsAlarm: Alarm;
  public readonly onFailureDeliveredAlarm: Alarm;
  /** A failed send to the on-failure destination: the records' positions are lost (data loss). */
  public readonly destinationDeliveryFailuresAlarm: Alarm;
  /** The table is written but the mapping reads nothing: a disabled or broken mapping, which reports no IteratorAge. */
  public readonly notReadingAlarm: Alarm;
  /** The iterator age (ms) above which `iteratorAgeAlarm` fires; see {@link iteratorAgeAlarmThresholdMs}. */
  public readonly iteratorAgeThresholdMs: number;
  /**
   * What every alarm name of this consumer starts with, `<stack name>/<consumer name>/` (see
   * {@link streamConsumerAlarmNamePrefix}): `aws cloudwatch describe-alarms --alarm-name-prefix` lists this
   * consumer's alarms and no other's.
   */
  public readonly alarmNamePrefix: string;

  public constructor(scope: Construct, id: string, props: StreamConsumerProps) {
    super(scope, id);
    const settings = validateStreamConsumerProps(this.node.path, props);
    claimConsumerName(this, props.consumerName);
    const functionProps: BaseFunctionProps = {
      config: { logRetentionDays: settings.logRetention, functionMemoryMb: settings.memorySize },
      entry: props.entry,
      serviceName: props.consumerName,
      description: `DynamoDB stream consumer ${props.consumerName}`,
      memorySize: settings.memorySize,
      timeout: props.timeout ?? STREAM_CONSUMER_DEFAULTS.timeout,
      environment: props.environment,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
    };
    validateBaseFunctionProps(`${this.node.path}/Consumer`, functionProps);

    this.deadLetterQueue =
      props.deadLetterQueue ?? createConsumerDeadLetterQueue(this, 'DeadLetterQueue', RemovalPolicy.DESTROY);

    this.function = new BaseFunction(this, 'Consumer', functionProps);
    this.function.addEnvironment(ENV.CONSUMER_NAME, props.consumerName);
    this.function.bindQueue(ENV.DEAD_LETTER_QUEUE_URL, this.deadLetterQueue);
    Validations.of(this.function.lambdaFunction.node.defaultChild!).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason:
        "Only its event source mapping invokes this function, synchronously; Lambda's DLQ applies to " +
        "asynchronous invocations. Failed records go to the mapping's on-failure destination instead.",
    });

    const streamRead = this.grantStreamRead(props.table, settings.streamArn);

    this.mapping = new EventSourceMapping(this, 'Mapping', {
      target: this.function.lambdaFunction,
      eventSourceArn: settings.streamArn,
      startingPosition: StartingPosition.TRIM_HORIZON,
      batchSize: settings.batchSize,
      maxBatchingWindow: settings.maxBatchingWindow,
      parallelizationFactor: settings.parallelizationFactor,
      retryAttempts: settings.retryAttempts,
      maxRecordAge: settings.maxRecordAge,
      bisectBatchOnError: true,
      reportBatchItemFailures: true,
      onFailure: new SqsDlq(this.deadLetterQueue),
      filters: props.filters === undefined ? undefined : [...props.filters],
      metricsConfig: { metrics: [MetricType.EVENT_COUNT] },
    });
    // Lambda checks the role's stream permissions when it creates the mapping.
    this.mapping.node.addDependency(streamRead);

    this.iteratorAgeThresholdMs = iteratorAgeAlarmThresholdMs(settings.maxRecordAge);
    this.alarmNamePrefix = streamConsumerAlarmNamePrefix(this, props.consumerName);
    const alarms = this.createAlarms(props, settings.runbookBaseUrl);
    this.iteratorAgeAlarm = alarms.iteratorAge;
    this.deadLetterAlarm = alarms.deadLetters;
    this.errorsAlarm = alarms.errors;
    this.throttlesAlarm = alarms.throttles;
    this.internalErrorsAlarm = alarms.internalErrors;
    this.droppedRecordsAlarm = alarms.droppedRecords;
    this.onFailureDeliveredAlarm = alarms.onFailureDelivered;
    this.destinationDeliveryFailuresAlarm = alarms.destinationDeliveryFailures;
    this.notReadingAlarm = alarms.notReading;
    for (const alarm of Object.values(alarms)) {
      alarm.addAlarmAction(new SnsAction(props.alarmTopic));
      alarm.addOkAction(new SnsAction(props.alarmTopic));
    }

    this.addDashboardRow(props.dashboard, props.consumerName);
    this.countStreamReader(props.table, props.consumerName);
  }

  /**
   * The permissions the mapping polls the stream with, in a policy of their own: the mapping depends on exactly
   * this policy, and its one wildcard is acknowledged here and nowhere broader.
   */
  private grantStreamRead(table: ITable, streamArn: string): Policy {
    const statements = [
      new PolicyStatement({
        actions: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
        resources: [streamArn],
      }),
      new PolicyStatement({ actions: ['dynamodb:ListStreams'], resources: ['*'] }),
    ];
    if (table.encryptionKey !== undefined) {
      // Stream records are encrypted with the table's key.
      statements.push(
        new PolicyStatement({ actions: ['kms:Decrypt'], resources: [table.encryptionKey.keyArn] }),
      );
    }
    const policy = new Policy(this, 'StreamReadPolicy', { statements, roles: [this.function.role] });
    Validations.of(policy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'dynamodb:ListStreams supports no resource-level permissions (it lists the streams of the account); ' +
        'reading records is limited to this one stream.',
    });
    return policy;
  }

  private createAlarms(
    props: StreamConsumerProps,
    runbookBaseUrl: string,
  ): Record<StreamConsumerAlarmKind, Alarm> {
    const fn = this.function.lambdaFunction;
    const name = props.consumerName;
    /** The alarm's name (this consumer's prefix and its kind) and its description with the runbook link. */
    const named = (
      kind: StreamConsumerAlarmKind,
      description: string,
    ): { alarmName: string; alarmDescription: string } => ({
      alarmName: `${this.alarmNamePrefix}${kind.charAt(0).toUpperCase()}${kind.slice(1)}`,
      alarmDescription: withRunbookLink(description, runbookBaseUrl, RUNBOOK_ANCHORS[kind]),
    });
    /** Any value above 0 in 5 minutes; no data is no event. */
    const anyOf = (kind: StreamConsumerAlarmKind, id: string, metric: Metric, description: string): Alarm =>
      new Alarm(this, id, {
        ...named(kind, description),
        metric,
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
    const fiveMinutes = Duration.minutes(5);
    return {
      droppedRecords: anyOf(
        'droppedRecords',
        'DroppedRecordsAlarm',
        this.mappingMetric('DroppedEventCount', fiveMinutes),
        `${name}'s mapping dropped records (retries or record age exhausted): they left the stream unprocessed. ` +
          'Their positions are in the DLQ; replay them from the stream while it holds them (24 h).',
      ),
      onFailureDelivered: anyOf(
        'onFailureDelivered',
        'OnFailureDeliveredAlarm',
        this.mappingMetric('OnFailureDestinationDeliveredEventCount', fiveMinutes),
        `${name}'s mapping sent records to its on-failure destination (the DLQ): they left the stream ` +
          'unprocessed, and the DLQ holds only their shard and sequence range. Replay them within 24 h.',
      ),
      destinationDeliveryFailures: anyOf(
        'destinationDeliveryFailures',
        'DestinationDeliveryFailuresAlarm',
        fn.metric('DestinationDeliveryFailures', { statistic: Stats.SUM, period: fiveMinutes }),
        `${name}'s mapping failed to send dropped records to its DLQ: their positions are lost. Check the DLQ ` +
          "(exists, the function's role may send, the key is usable) and the audit log for the lost range.",
      ),
      notReading: new Alarm(this, 'NotReadingAlarm', {
        ...named(
          'notReading',
          `${name} reads nothing from a stream whose table is being written (15 minutes): its mapping is ` +
            'disabled or cannot poll, and a mapping that does not poll reports no iterator age at all.',
        ),
        metric: new MathExpression({
          // FILL: a period with writes but no poll at all has no PolledEventCount data point, and that is the case.
          expression: 'IF(FILL(writes, 0) > 0 AND FILL(polled, 0) == 0, 1, 0)',
          usingMetrics: {
            writes: props.table.metricConsumedWriteCapacityUnits({
              statistic: Stats.SUM,
              period: fiveMinutes,
            }),
            polled: this.mappingMetric('PolledEventCount', fiveMinutes),
          },
          period: fiveMinutes,
          label: 'Written but not read',
        }),
        threshold: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 3,
        datapointsToAlarm: 3,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
      iteratorAge: new Alarm(this, 'IteratorAgeAlarm', {
        ...named(
          'iteratorAge',
          `${name} lags: the oldest record it is processing is older than ${formatMs(this.iteratorAgeThresholdMs)}, ` +
            'half the age at which failing records are sent to its DLQ.',
        ),
        metric: fn.metric('IteratorAge', { statistic: Stats.MAXIMUM, period: Duration.minutes(1) }),
        threshold: this.iteratorAgeThresholdMs,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
        datapointsToAlarm: 3,
        // No invocations, no data: an idle stream is not a lagging one.
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
      deadLetters: deadLetterQueueAlarm(
        this,
        'DeadLetterAlarm',
        this.deadLetterQueue,
        named('deadLetters', `${name} has records in its DLQ: each needs a look, and a replay or a discard.`),
      ),
      errors: new Alarm(this, 'ErrorsAlarm', {
        ...named(
          'errors',
          `${name} failed whole invocations (a throw or a timeout, not a reported record failure): ` +
            'the batch is retried and the shard waits.',
        ),
        metric: fn.metricErrors({ statistic: Stats.SUM, period: Duration.minutes(5) }),
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
      throttles: new Alarm(this, 'ThrottlesAlarm', {
        ...named(
          'throttles',
          `${name} is throttled: the account's concurrency is exhausted and the stream backs up.`,
        ),
        metric: fn.metricThrottles({ statistic: Stats.SUM, period: Duration.minutes(5) }),
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
      // Without it, a bug that fails records (a request the code cannot build, a response or item it cannot read)
      // would look like a slow downstream: retried until the maximum record age, seen only as iterator age.
      internalErrors: new Alarm(this, 'InternalErrorsAlarm', {
        ...named(
          'internalErrors',
          `${name} failed records with an internal error (a bug, or a stored item its code cannot read): they ` +
            'are retried, but a retry will not fix them. Read the error in the function logs before the records ' +
            'age out.',
        ),
        metric: new Metric({
          namespace: METRICS_NAMESPACE,
          metricName: STREAM_METRICS.internalErrors,
          dimensionsMap: streamMetricDimensions(name),
          statistic: Stats.SUM,
          period: Duration.minutes(5),
        }),
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
    };
  }

  /** A metric of this consumer's event source mapping (EventCount metrics, AWS/Lambda by mapping UUID). */
  private mappingMetric(metricName: string, period: Duration): Metric {
    return new Metric({
      namespace: 'AWS/Lambda',
      metricName,
      dimensionsMap: { EventSourceMappingUUID: this.mapping.eventSourceMappingId },
      statistic: Stats.SUM,
      period,
    });
  }

  private addDashboardRow(dashboard: Dashboard, consumerName: string): void {
    const fn = this.function.lambdaFunction;
    const period = Duration.minutes(1);
    const runtimeMetric = (metricName: string, statistic: string, label: string): Metric =>
      new Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        dimensionsMap: streamMetricDimensions(consumerName),
        statistic,
        period,
        label,
      });
    dashboard.addWidgets(
      new GraphWidget({
        title: `${consumerName}: iterator age (ms)`,
        left: [fn.metric('IteratorAge', { statistic: Stats.MAXIMUM, period, label: 'Maximum' })],
        leftAnnotations: [{ value: this.iteratorAgeThresholdMs, label: 'Alarm' }],
        width: 6,
      }),
      new GraphWidget({
        title: `${consumerName}: invocations`,
        left: [
          fn.metricInvocations({ statistic: Stats.SUM, period, label: 'Invocations' }),
          fn.metricErrors({ statistic: Stats.SUM, period, label: 'Errors' }),
          fn.metricThrottles({ statistic: Stats.SUM, period, label: 'Throttles' }),
          runtimeMetric(STREAM_METRICS.internalErrors, Stats.SUM, 'Internal errors'),
        ],
        width: 6,
      }),
      new GraphWidget({
        title: `${consumerName}: dead letters`,
        left: [
          this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
            statistic: Stats.MAXIMUM,
            period,
            label: 'DLQ depth',
          }),
        ],
        right: [
          runtimeMetric(STREAM_METRICS.recordsDeadLettered, Stats.SUM, 'Sent by the runtime'),
          this.mappingMetric('OnFailureDestinationDeliveredEventCount', period).with({
            label: 'Sent by the mapping',
          }),
          this.mappingMetric('DroppedEventCount', period).with({ label: 'Dropped by the mapping' }),
          fn.metric('DestinationDeliveryFailures', {
            statistic: Stats.SUM,
            period,
            label: 'DLQ send failures',
          }),
        ],
        width: 6,
      }),
      new GraphWidget({
        title: `${consumerName}: end-to-end lag (ms)`,
        left: [
          runtimeMetric(STREAM_METRICS.endToEndLag, Stats.p(50), 'p50'),
          runtimeMetric(STREAM_METRICS.endToEndLag, Stats.p(99), 'p99'),
          runtimeMetric(STREAM_METRICS.endToEndLag, Stats.MAXIMUM, 'Maximum'),
        ],
        width: 6,
      }),
    );
  }

  /** Counts this consumer as a reader of the table's stream, and warns from the third reader on. */
  private countStreamReader(table: ITable, consumerName: string): void {
    const readers = streamReadersOf(this.node.root, table.node.path);
    readers.push(consumerName);
    if (readers.length > MAX_READERS_PER_STREAM) {
      Annotations.of(this).addWarningV2(
        TOO_MANY_STREAM_READERS_WARNING,
        `The stream of ${table.node.path} has ${readers.length} readers (${readers.join(', ')}). DynamoDB Streams ` +
          `serves at most ${MAX_READERS_PER_STREAM} readers per shard at a time; more are throttled and every ` +
          'reader lags. Fan out from one consumer instead.',
      );
    }
  }
}

/** The alarms of every stream consumer, by kind; each kind is a section of docs/runbook.md (RUNBOOK_ANCHORS). */
export type StreamConsumerAlarmKind =
  | 'iteratorAge'
  | 'deadLetters'
  | 'errors'
  | 'throttles'
  | 'internalErrors'
  | 'droppedRecords'
  | 'onFailureDelivered'
  | 'destinationDeliveryFailures'
  | 'notReading';

/**
 * The prefix of a consumer's alarm names, `<stack name>/<consumer name>/`; each alarm's name is the prefix and its
 * kind (`OrdersStreams-dev-Pipelines/order-fanout/IteratorAge`). CloudWatch alarm names are unique per account and
 * Region: the stack name is unique there, and the consumer name within the stack (StreamConsumer refuses a second
 * consumer of the same name in one stack). The slash cannot occur in a consumer name, so one consumer's prefix is
 * never the start of another's (`order-fanout/` against `order-fanout-v2/`).
 */
export function streamConsumerAlarmNamePrefix(scope: IConstruct, consumerName: string): string {
  return `${Stack.of(scope).stackName}/${consumerName}/`;
}

/**
 * A stream consumer's DLQ (SQS, the AWS managed key, TLS only, 14 days, 256 KiB messages). Created in the stateful
 * stack, retained, for each consumer (StatefulStack.deadLetterQueues), and passed to the consumer: the letters (full
 * records of permanent failures, positions of records the mapping gave up on) are the only copy of what failed.
 */
export function createConsumerDeadLetterQueue(
  scope: Construct,
  id: string,
  removalPolicy: RemovalPolicy = RemovalPolicy.RETAIN,
): Queue {
  const queue = new Queue(scope, id, {
    // The AWS managed key needs no key policy for the mapping (which sends as the function's role) or the function
    // itself to send; nothing outside the account ever reads these messages.
    encryption: QueueEncryption.KMS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
    maxMessageSizeBytes: SQS_MAX_MESSAGE_BYTES,
    removalPolicy,
  });
  for (const ruleId of ['AwsSolutions-SQS3', 'Serverless-SQSRedrivePolicy']) {
    Validations.of(queue).acknowledge({
      id: ruleId,
      reason:
        'This queue is itself the dead-letter queue (on-failure destination of the event source mapping and ' +
        'target of permanent failures); a DLQ behind it would only move the messages nobody processed.',
    });
  }
  return queue;
}

/**
 * The IteratorAge alarm threshold: half of the effective maximum record age, which is the smaller of `maxRecordAge`
 * and the stream's 24-hour retention (a record can be no older than that). Past the full age, failing records leave
 * for the DLQ; alarming at half of it leaves the other half as time to react before that happens.
 */
export function iteratorAgeAlarmThresholdMs(maxRecordAge: Duration): number {
  const effectiveSeconds = Math.min(maxRecordAge.toSeconds(), STREAM_RETENTION_SECONDS);
  return (effectiveSeconds * 1000) / 2;
}

/** The consumer names taken in each stack: a consumer's alarm names are unique only if its name is in its stack. */
const consumerNamesByStack = new WeakMap<Stack, Set<string>>();

/** Takes a consumer name in the consumer's stack, refusing one that is taken (its alarm names would clash). */
function claimConsumerName(consumer: Construct, consumerName: string): void {
  const stack = Stack.of(consumer);
  let names = consumerNamesByStack.get(stack);
  if (names === undefined) {
    names = new Set();
    consumerNamesByStack.set(stack, names);
  }
  if (names.has(consumerName)) {
    throw new InvalidPropsError(
      consumer.node.path,
      'consumerName',
      `"${consumerName}" is taken by another consumer of stack ${stack.stackName}: its alarm names would clash`,
    );
  }
  names.add(consumerName);
}

/** Readers per stream (keyed by the table's construct path), per app: the count must span every stack. */
const streamReadersByApp = new WeakMap<IConstruct, Map<string, string[]>>();

function streamReadersOf(root: IConstruct, tablePath: string): string[] {
  let byTable = streamReadersByApp.get(root);
  if (byTable === undefined) {
    byTable = new Map();
    streamReadersByApp.set(root, byTable);
  }
  let readers = byTable.get(tablePath);
  if (readers === undefined) {
    readers = [];
    byTable.set(tablePath, readers);
  }
  return readers;
}

interface StreamConsumerSettings {
  readonly streamArn: string;
  readonly batchSize: number;
  readonly maxBatchingWindow: Duration;
  readonly parallelizationFactor: number;
  readonly retryAttempts: number;
  readonly maxRecordAge: Duration;
  readonly logRetention: RetentionDays;
  readonly memorySize: number;
  readonly runbookBaseUrl: string;
}

/**
 * Validates the mapping's props and the log retention, and returns them with the defaults filled in. The function's
 * own props (entry, memory, timeout, environment) are BaseFunction's to validate, before anything is created too.
 */
function validateStreamConsumerProps(path: string, props: StreamConsumerProps): StreamConsumerSettings {
  const streamArn = props.table.tableStreamArn;
  if (streamArn === undefined) {
    throw new InvalidPropsError(
      path,
      'table',
      `${props.table.node.path} has no stream; enable one (NEW_AND_OLD_IMAGES) on the table`,
    );
  }
  if (!/^[a-z][a-z0-9-]{1,39}$/.test(props.consumerName)) {
    throw new InvalidPropsError(
      path,
      'consumerName',
      `must be 2-40 lowercase letters, digits or hyphens, starting with a letter, got "${props.consumerName}"`,
    );
  }
  const settings: StreamConsumerSettings = {
    streamArn,
    batchSize: props.batchSize ?? STREAM_CONSUMER_DEFAULTS.batchSize,
    maxBatchingWindow: props.maxBatchingWindow ?? STREAM_CONSUMER_DEFAULTS.maxBatchingWindow,
    parallelizationFactor: props.parallelizationFactor ?? STREAM_CONSUMER_DEFAULTS.parallelizationFactor,
    retryAttempts: props.retryAttempts ?? STREAM_CONSUMER_DEFAULTS.retryAttempts,
    maxRecordAge: props.maxRecordAge ?? STREAM_CONSUMER_DEFAULTS.maxRecordAge,
    logRetention: props.logRetention ?? STREAM_CONSUMER_DEFAULTS.logRetention,
    memorySize: props.memorySize ?? STREAM_CONSUMER_DEFAULTS.memorySize,
    runbookBaseUrl: props.runbookBaseUrl ?? STREAM_CONSUMER_DEFAULTS.runbookBaseUrl,
  };
  if (!/^[^\s#]+$/.test(settings.runbookBaseUrl)) {
    throw new InvalidPropsError(
      path,
      'runbookBaseUrl',
      `must be a URL or path without spaces or a fragment (#), got "${settings.runbookBaseUrl}"`,
    );
  }
  if (!(LOG_RETENTION_DAYS as readonly number[]).includes(settings.logRetention)) {
    throw new InvalidPropsError(
      path,
      'logRetention',
      `must be a CloudWatch Logs retention period in days (${LOG_RETENTION_DAYS.join(', ')}), got ${settings.logRetention}`,
    );
  }
  requireIntegerInRange(path, 'batchSize', settings.batchSize, { min: 1, max: 10_000 });
  requireSecondsInRange(path, 'maxBatchingWindow', settings.maxBatchingWindow, { min: 0, max: 300 });
  requireIntegerInRange(path, 'parallelizationFactor', settings.parallelizationFactor, { min: 1, max: 10 });
  requireIntegerInRange(path, 'retryAttempts', settings.retryAttempts, {
    min: 0,
    max: 10_000,
    hint: 'infinite retries (-1) would let one failing record block its shard for the 24 hours the stream keeps it',
  });
  requireSecondsInRange(path, 'maxRecordAge', settings.maxRecordAge, {
    min: 60,
    max: 7 * 24 * 60 * 60,
    hint: 'an unbounded age would let one failing record block its shard for the 24 hours the stream keeps it',
  });
  for (const name of [ENV.CONSUMER_NAME, ENV.DEAD_LETTER_QUEUE_URL]) {
    if (props.environment?.[name] !== undefined) {
      throw new InvalidPropsError(path, `environment.${name}`, 'is set by StreamConsumer itself');
    }
  }
  const filters = props.filters ?? [];
  if (filters.length > 5) {
    throw new InvalidPropsError(
      path,
      'filters',
      `at most 5 filter patterns per mapping, got ${filters.length}`,
    );
  }
  return settings;
}

function formatMs(ms: number): string {
  return Duration.millis(ms).toHumanString();
}
