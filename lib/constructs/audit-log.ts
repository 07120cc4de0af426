import { join } from 'node:path';
import { Annotations, Duration } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IManagedPolicy } from 'aws-cdk-lib/aws-iam';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { AUDIT_LOG_CONSUMER_NAME } from '../../lambdas/audit-log/names.js';
import { ENV } from '../../lambdas/shared/env.js';
import { type PipelineProps, pipelineConsumerProps } from './pipeline.js';
import { StreamConsumer, TOO_MANY_STREAM_READERS_WARNING } from './stream-consumer.js';

/** The audit log's handler, resolved from this file so that it holds whatever the working directory. */
export const AUDIT_LOG_ENTRY = join(import.meta.dirname, '..', '..', 'lambdas', 'audit-log', 'handler.ts');

/**
 * The event source mapping settings of the audit log, each with its reason. The audit log is read by people and
 * Athena, minutes to years later; nobody waits for a record to land within a second, so the mapping trades latency
 * for few, large objects: fewer PUTs, fewer objects for Athena to open, fewer small objects below the 128 KiB that
 * lifecycle transitions and S3 Glacier Instant Retrieval's minimum billing care about.
 */
export const AUDIT_LOG_MAPPING = {
  /**
   * Up to 1,000 records per object. Lambda also cuts a batch at its 6 MB invocation payload, so a batch of large
   * items is smaller; the object is at most that payload as JSON Lines before gzip (typically 5-10 times smaller
   * after). One PUT per batch: 1,000 records cost one request instead of 1,000.
   */
  batchSize: 1_000,
  /**
   * Gathers records for up to a minute per shard before invoking: at low traffic a shard writes at most one object a
   * minute (1,440 a day) instead of one per write. A change is in the audit log about a minute after it was made.
   */
  maxBatchingWindow: Duration.seconds(60),
  /** One batch per shard at a time: objects of a shard follow each other in stream order, never overlapping. */
  parallelizationFactor: 1,
  /**
   * A put fails only when S3 or KMS does (or a policy is wrong): the batch is retried until the records are two hours
   * old, rather than after a count of retries that a short outage would burn in minutes. Records that still fail go
   * to the DLQ as an on-failure message pointing into the stream, which keeps them 22 more hours for a replay.
   */
  retryAttempts: 10_000,
  maxRecordAge: Duration.hours(2),
} as const;

/**
 * Why the audit log may be the third reader of the Orders stream, after the order fan-out and the search sync:
 * acknowledged on the construct, so that the warning of the stream-consumer construct stays for any other third
 * reader.
 */
export const AUDIT_LOG_THIRD_READER_REASON =
  'DynamoDB Streams serves two readers per shard without throttling. A third reader can have GetRecords calls ' +
  'throttled, which Lambda retries: records are delayed, never lost, and every consumer’s IteratorAge alarm shows ' +
  'it. The audit log is the one reader that tolerates delay (it batches for a minute), and its contract (every ' +
  'change, in stream order, exactly once after dropping duplicate eventIDs) needs the DynamoDB stream itself: a ' +
  'Kinesis data stream of the table may reorder and duplicate records. If the fan-out or the search sync lags ' +
  'because of it, see docs/pipelines/audit-log.md ("A third reader").';

/** The audit storage as the consumer uses it; `AuditStorage` (stateful stack) has all of it. */
export interface AuditLogStorage {
  /** The audit bucket's name. */
  readonly bucketName: string;
  /** The only write access to the Orders table's audit objects (`AuditStorage.writerPolicy`). */
  readonly writerPolicy: IManagedPolicy;
}

export interface AuditLogProps extends PipelineProps {
  /** The Orders table, whose stream the audit log reads. */
  readonly table: ITable;
  /** The audit bucket and its writer policy, from the stateful stack. */
  readonly storage: AuditLogStorage;
  /**
   * The consumer's DLQ, from the stateful stack (StatefulStack.deadLetterQueues), so that failed records outlive a
   * destroy of the pipelines stack.
   * @default - a queue of the consumer's own, in this construct's stack (StreamConsumerProps.deadLetterQueue)
   */
  readonly deadLetterQueue?: IQueue;
  /**
   * Absolute path of the handler's TypeScript file; it must export `handler`.
   * @default AUDIT_LOG_ENTRY
   */
  readonly entry?: string;
}

/**
 * The audit log pipeline: the `audit-log` stream consumer on the Orders table, which stores every stream record as a
 * line of one gzipped JSON Lines object per batch in the audit bucket (docs/pipelines/audit-log.md), with the bucket's
 * writer policy (create objects under the Orders table's prefix, with If-None-Match only; no read, no delete) and
 * AUDIT_BUCKET_NAME set together.
 */
export class AuditLog extends Construct {
  public readonly consumer: StreamConsumer;

  public constructor(scope: Construct, id: string, props: AuditLogProps) {
    super(scope, id);
    // Before the consumer exists: the warning is added when the consumer counts itself as a reader.
    Annotations.of(this).acknowledgeWarning(TOO_MANY_STREAM_READERS_WARNING, AUDIT_LOG_THIRD_READER_REASON);
    this.consumer = new StreamConsumer(this, 'Consumer', {
      ...pipelineConsumerProps(props),
      table: props.table,
      entry: props.entry ?? AUDIT_LOG_ENTRY,
      consumerName: AUDIT_LOG_CONSUMER_NAME,
      deadLetterQueue: props.deadLetterQueue,
      ...AUDIT_LOG_MAPPING,
    });
    this.consumer.function.bindBucketWriter(ENV.AUDIT_BUCKET_NAME, {
      bucketName: props.storage.bucketName,
      policy: props.storage.writerPolicy,
    });
  }
}
