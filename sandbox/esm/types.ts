import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';

/**
 * Contracts between the parts of the local event source mapping (ESM) runner. The settings come from the synthesized
 * template (esm-config.ts), records from a shard source (DynamoDB Local's streams, or an in-memory source in the
 * contract tests), and the shard processor applies Lambda's DynamoDB-stream semantics between them.
 */

/** One `AWS::Lambda::EventSourceMapping` of the template, with Lambda's defaults filled in where a property is absent. */
export interface EsmConfig {
  /** The mapping's stack and logical id, for messages. */
  readonly stackName: string;
  readonly logicalId: string;
  /** The target function's stack and logical id. */
  readonly functionStackName: string;
  readonly functionLogicalId: string;
  /** The consumer's name: the function's CONSUMER_NAME environment variable. */
  readonly consumerName: string;
  /** The construct id of the table whose stream is read (e.g. `Orders`), resolved from EventSourceArn. */
  readonly tableConstructId: string;
  readonly startingPosition: 'TRIM_HORIZON' | 'LATEST';
  /** 1..10,000; Lambda's default for DynamoDB streams is 100. */
  readonly batchSize: number;
  /** 0..300 s; default 0. */
  readonly maximumBatchingWindowMs: number;
  /** 1..10; default 1. */
  readonly parallelizationFactor: number;
  /** 0..10,000 (-1, infinite, is refused by the CDK construct but accepted here as Infinity). Default infinite. */
  readonly maximumRetryAttempts: number;
  /** 60 s..7 days in ms, or Infinity (-1). Default infinite. */
  readonly maximumRecordAgeMs: number;
  readonly bisectBatchOnFunctionError: boolean;
  /** True when FunctionResponseTypes contains ReportBatchItemFailures. */
  readonly reportBatchItemFailures: boolean;
  /** The parsed `FilterCriteria.Filters[].Pattern`s; empty = every record. A record passes if any pattern matches. */
  readonly filterPatterns: readonly FilterPattern[];
  /** The on-failure destination's stack and logical id (an SQS queue), if any. */
  readonly onFailureDestination?: { readonly stackName: string; readonly logicalId: string };
  /** The function's timeout in ms (Timeout property, default 3 s). */
  readonly functionTimeoutMs: number;
}

/** A parsed Lambda event filter pattern (the JSON of `Filters[].Pattern`). */
export type FilterPattern = Readonly<Record<string, unknown>>;

/** What a handler may resolve to: a partial batch response, or nothing. */
// biome-ignore lint/suspicious/noConfusingVoidType: a handler typed Promise<void> (no partial batch response) must fit.
export type StreamFunctionResult = DynamoDBBatchResponse | undefined | void;

/** What the runner invokes: the consumer's real handler, built by its factory with local adapters. */
export type StreamFunction = (event: DynamoDBStreamEvent, context: Context) => Promise<StreamFunctionResult>;

/** A shard of a stream as the source lists it. */
export interface ShardInfo {
  readonly shardId: string;
  readonly parentShardId?: string;
}

/**
 * Reads one shard. `read` returns the next records after the given position (exclusive) or from the shard's start
 * when `after` is undefined, at most `limit` of them, plus whether the shard is closed and fully read (no more records
 * will ever come after the last one returned).
 */
export interface ShardReader {
  read(after: string | undefined, limit: number): Promise<{ records: DynamoDBRecord[]; closed: boolean }>;
}

/** A stream: its shards (with lineage) and a reader per shard. */
export interface StreamSource {
  listShards(): Promise<ShardInfo[]>;
  reader(shardId: string): ShardReader;
}

/**
 * The message Lambda sends to an on-failure destination for a DynamoDB stream batch that exhausted its retries or
 * record age (the AWS documentation's "Example invocation record" for stream sources).
 */
export interface OnFailureMessage {
  readonly requestContext: {
    readonly requestId: string;
    readonly functionArn: string;
    readonly condition: 'RetryAttemptsExhausted' | 'MaximumRecordAgeExceeded' | 'EventAgeExceeded';
    readonly approximateInvokeCount: number;
  };
  readonly responseContext: {
    readonly statusCode: number;
    readonly executedVersion: string;
    readonly functionError?: string;
  };
  readonly version: '1.0';
  readonly timestamp: string;
  readonly DDBStreamBatchInfo: {
    readonly shardId: string;
    readonly startSequenceNumber: string;
    readonly endSequenceNumber: string;
    readonly approximateArrivalOfFirstRecord: string;
    readonly approximateArrivalOfLastRecord: string;
    readonly batchSize: number;
    readonly streamArn: string;
  };
}

/** Where the runner sends on-failure messages (a local SQS queue file in the sandbox). */
export type OnFailureSink = (message: OnFailureMessage) => Promise<void>;

/**
 * Records a shard processor has settled, reported when it checkpoints past them: `processed` when an invocation
 * completed them (as Lambda reads its outcome: a throw or a timeout completes none, a partial batch response the
 * records before its lowest reported one), `on-failure` when they were handed to the on-failure destination. Each
 * record read is settled once, however many times it was delivered.
 */
export interface SettledRecords {
  readonly consumerName: string;
  readonly shardId: string;
  readonly outcome: 'processed' | 'on-failure';
  /** In sequence order, as the stream served them (not the copies the function was given). */
  readonly records: readonly DynamoDBRecord[];
  /** When the processor checkpointed them, by its clock. */
  readonly atMs: number;
}

/** Told about every settled batch of records; it must return quickly, as the checkpoint waits for it. */
export type SettledListener = (settled: SettledRecords) => void;

/** Counters per mapping, for the status view and the JSON summaries. All cumulative since start. */
export interface MappingStats {
  readonly consumerName: string;
  /** Records read from the stream that passed the filters. */
  readonly recordsRead: number;
  /** Records dropped by the filters. */
  readonly recordsFiltered: number;
  /** Records whose processing completed (checkpoint moved past them), counting each record once. */
  readonly recordsProcessed: number;
  /** Invocations of the function. */
  readonly invocations: number;
  /** Invocations that threw, timed out, or returned a failure response. */
  readonly failedInvocations: number;
  /** Records sent to the on-failure destination (by batch info). */
  readonly recordsToOnFailure: number;
  /** Records re-delivered (delivered more than once). */
  readonly recordsRedelivered: number;
  /** Milliseconds between now and the ApproximateCreationDateTime of the oldest unprocessed record; 0 when idle. */
  readonly iteratorAgeMs: number;
  /** Records read and not yet checkpointed. */
  readonly pending: number;
}

/** Mutable counters a shard processor updates; the runner sums them per mapping into MappingStats. */
export interface ShardCounters {
  recordsRead: number;
  recordsFiltered: number;
  recordsProcessed: number;
  invocations: number;
  failedInvocations: number;
  recordsToOnFailure: number;
  recordsRedelivered: number;
  /** ApproximateCreationDateTime (ms) of the oldest record read and not yet checkpointed; undefined when none. */
  oldestPendingCreationMs: number | undefined;
  pending: number;
  /**
   * Reads of the shard that succeeded, empty ones included. Not a statistic: the runner's drain check watches it move,
   * as "nothing pending" only means something while the shard is being read.
   */
  successfulReads: number;
}

/**
 * Everything one shard processor needs (sandbox/esm/shard-processor.ts). It reads its shard from the start (or
 * TRIM_HORIZON/LATEST per config), applies the filters, splits records into `parallelizationFactor` lanes by a hash
 * of the item's partition key (so one key is never in flight twice and stays in order), batches per lane (batch size,
 * batching window), invokes `fn` with a Lambda-like context (remaining time from `functionTimeoutMs`; a call that
 * outlives it counts as a timeout and fails the whole batch), checkpoints per ReportBatchItemFailures, bisects, retries
 * within `maximumRetryAttempts` and `maximumRecordAgeMs`, then sends an OnFailureMessage and moves on.
 */
export interface ShardProcessorOptions {
  readonly config: EsmConfig;
  readonly streamArn: string;
  readonly functionArn: string;
  readonly shardId: string;
  readonly reader: ShardReader;
  readonly fn: StreamFunction;
  readonly onFailure: OnFailureSink;
  readonly counters: ShardCounters;
  /** Told which records settled, and how, each time the processor checkpoints. @default nobody */
  readonly onSettled?: SettledListener;
  /** How often an idle shard is polled. @default 250 ms (about four times a second, like Lambda) */
  readonly pollIntervalMs?: number;
  /** @default Date.now */
  readonly clock?: () => number;
}
