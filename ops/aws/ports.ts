/**
 * The ops command's ports onto AWS: one small interface per question it asks, so that each SDK client is one adapter
 * (sqs-adapter.ts, ...) and the commands are tested against fakes or mocked clients. Nothing here imports an SDK at
 * run time: the two clients handed out whole (DynamoDB, OpenSearch), because the backfill and the reconcile already
 * run on them, are named by their types only.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import type { SearchClient as OpenSearchClient } from '../../lambdas/shared/search/opensearch-client-options.js';
import type { AuditObjects } from '../audit-history/audit-objects.js';

/** CloudFormation: a stack's outputs. */
export interface StackOutputsPort {
  /** The stack's outputs by output key, or undefined when no stack of that name exists in the region. */
  outputsOf(stackName: string): Promise<ReadonlyMap<string, string> | undefined>;
}

/** Lambda: an event source mapping's state (GetEventSourceMapping). */
export interface MappingStatus {
  /** `Enabled`, `Disabled`, `Creating`, `Enabling`, `Disabling`, `Updating` or `Deleting`. */
  readonly state: string;
  /** E.g. `OK`, `No records processed`, `PROBLEM: ...`; null when Lambda reports none. */
  readonly lastProcessingResult: string | null;
}

export interface EventSourceMappingPort {
  mapping(uuid: string): Promise<MappingStatus>;
}

/** CloudWatch: one metric's statistic over a window (GetMetricData). */
export interface MetricQuery {
  readonly namespace: string;
  readonly metricName: string;
  /** Dimension name to value. */
  readonly dimensions: ReadonlyMap<string, string>;
  readonly statistic: 'Maximum';
  readonly periodSeconds: number;
  readonly start: Date;
  readonly end: Date;
}

export interface MetricsPort {
  /** The largest datapoint of the query in its window, or null when the metric has no datapoint there. */
  maximum(query: MetricQuery): Promise<number | null>;
}

/** CloudWatch: the alarms whose names start with a prefix (DescribeAlarms). */
export interface AlarmSummary {
  readonly name: string;
  /** `OK`, `ALARM` or `INSUFFICIENT_DATA`. */
  readonly state: string;
}

export interface AlarmsPort {
  alarmsWithPrefix(prefix: string): Promise<readonly AlarmSummary[]>;
}

/** SQS: a dead-letter queue: read (peek, receive) and, for redrive only, a letter deleted by its receipt handle. */
export interface QueueDepth {
  /** ApproximateNumberOfMessages. */
  readonly visible: number;
  /** ApproximateNumberOfMessagesNotVisible (received by someone and not yet deleted or returned). */
  readonly inFlight: number;
}

export interface PeekedMessage {
  readonly messageId: string;
  readonly body: string;
  /** SentTimestamp, when SQS returned it. */
  readonly sentAt: Date | null;
  /** ApproximateReceiveCount, this receive included. */
  readonly receiveCount: number | null;
}

export interface PeekOptions {
  /** How many messages at most. */
  readonly limit: number;
  /** How long each message received stays hidden from other consumers (ReceiveMessage VisibilityTimeout). */
  readonly visibilityTimeoutSeconds: number;
}

/** A message received to be worked on: the receipt handle of this receive deletes it. */
export interface ReceivedMessage extends PeekedMessage {
  readonly receiptHandle: string;
}

export interface DeadLetterQueuePort {
  depth(queueUrl: string): Promise<QueueDepth>;
  /** Receives up to `limit` messages and never deletes them: each stays hidden for the visibility timeout. */
  peek(queueUrl: string, options: PeekOptions): Promise<readonly PeekedMessage[]>;
  /**
   * One receive of up to `limit` messages (at most 10, SQS's maximum per call), each hidden for the visibility
   * timeout; an empty answer means no message is visible now.
   */
  receive(queueUrl: string, options: PeekOptions): Promise<readonly ReceivedMessage[]>;
  /** Deletes the message received with `receiptHandle` (DeleteMessage). */
  delete(queueUrl: string, receiptHandle: string): Promise<void>;
}

/** Lambda: a synchronous invocation (Invoke, RequestResponse). */
export interface InvokeResult {
  /** The HTTP status of the invocation (200 for RequestResponse when Lambda ran the function). */
  readonly statusCode: number;
  /** `Unhandled` or `Handled` when the function threw; undefined when it returned. */
  readonly functionError?: string | undefined;
  /** The response payload as text (the function's JSON result, or its error object). */
  readonly payload: string;
}

export interface FunctionInvokerPort {
  /** Invokes `functionName` synchronously with `payload` serialised as JSON; rejects only when Lambda refused. */
  invoke(functionName: string, payload: unknown): Promise<InvokeResult>;
}

/** DynamoDB Streams: the records of one shard from one sequence number to another. */
export type StreamRange =
  /** The records from `start` to `end` inclusive, in stream order, in the shape of a Lambda event's records. */
  | { readonly kind: 'records'; readonly records: readonly DynamoDBRecord[] }
  /** The stream no longer holds the range (past its 24 h retention, or the shard or stream is gone). */
  | { readonly kind: 'trimmed'; readonly reason: string };

export interface StreamReaderPort {
  readRange(streamArn: string, shardId: string, start: string, end: string): Promise<StreamRange>;
}

/** Credentials for signing a request (the default chain in production, static ones in tests). */
export interface SigningCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export type CredentialsProvider = () => Promise<SigningCredentials>;

/**
 * The AWS side of one ops run, for one region (undefined: the SDK's default chain). Every client a command uses comes
 * from here, never from the command itself, so that the same commands run against another implementation (a local
 * sandbox's endpoints) with nothing else changed. Members that take a name get the one resolved from the stage's
 * outputs; an implementation that keeps its own stand-ins may map or ignore it.
 */
export interface OpsAws {
  /** CloudFormation (DescribeStacks): where every other name comes from. */
  readonly stackOutputs: StackOutputsPort;
  /** Lambda GetEventSourceMapping (status). */
  readonly mappings: EventSourceMappingPort;
  /** CloudWatch GetMetricData (status). */
  readonly metrics: MetricsPort;
  /** CloudWatch DescribeAlarms (status). */
  readonly alarms: AlarmsPort;
  /** SQS on the consumers' DLQs (status, dlq, redrive). */
  readonly deadLetterQueues: DeadLetterQueuePort;
  /** Lambda Invoke of a consumer (redrive). */
  readonly functions: FunctionInvokerPort;
  /** DynamoDB Streams reads of a range (redrive). */
  readonly streams: StreamReaderPort;
  /** Credentials to sign a request with (api). */
  readonly credentials: CredentialsProvider;
  /**
   * DynamoDB for the stage's tables, named by the caller with each request: the backfill's parallel Scan of Orders,
   * and, through a document client over it (`DynamoDBDocumentClient.from`), the reconcile's recount, marker items and
   * fix. Owned here: `close` destroys it. A local implementation hands out a client of DynamoDB Local
   * (ops/cli/emulator.ts has its configuration).
   */
  readonly dynamoDb: DynamoDBClient;
  /**
   * A new OpenSearch client of the stage's search endpoint (`https://<host>`, its output) for the backfill. Against
   * AWS it signs every request with SigV4 for service `es` in `region`. The caller owns it and closes it
   * (`await client.close()`). A local implementation returns an unsigned client of its local stand-in.
   */
  searchClient(endpoint: string, region: string): OpenSearchClient;
  /**
   * The objects of the stage's audit bucket (history, replay, redrive past the stream): S3 ListObjectsV2 and
   * GetObject against AWS, the sandbox's
   * local store in a local implementation. Its client is owned here: `close` releases it.
   */
  auditObjects(bucket: string): AuditObjects;
  /** The region requests go to: the flag's, else the SDK's default chain's; undefined when none is configured. */
  region(): Promise<string | undefined>;
  /** Releases the clients' sockets. */
  close(): void;
}
