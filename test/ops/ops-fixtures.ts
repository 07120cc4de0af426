import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBRecord } from 'aws-lambda';
import type { SearchClient as OpenSearchClient } from '../../lambdas/shared/search/opensearch-client-options.js';
import {
  CONSUMER_OUTPUT_FIELDS,
  CONSUMER_OUTPUT_STACK,
  consumerOutputKey,
  OPS_CONSUMERS,
  type OpsConsumerName,
  STAGE_OUTPUTS,
  stackNames,
} from '../../lib/stage-outputs.js';
import { S3AuditObjects } from '../../ops/audit-history/audit-objects.js';
import type {
  AlarmSummary,
  DeadLetterQueuePort,
  FunctionInvokerPort,
  InvokeResult,
  MappingStatus,
  MetricQuery,
  OpsAws,
  ReceivedMessage,
  SigningCredentials,
  StackOutputsPort,
  StreamRange,
  StreamReaderPort,
} from '../../ops/aws/ports.js';
import { SqsDeadLetterQueues } from '../../ops/aws/sqs-dead-letter-queues.js';
import { bufferedOpsIo } from '../../ops/cli/command.js';
import type { OpsDeps } from '../../ops/ops-cli.js';

export const STAGE = 'test';
export const REGION = 'eu-west-1';
export const NOW = new Date('2024-05-01T12:00:00.000Z');

/** Placeholder credentials for the SDK clients of a test, which never reach AWS. */
const STATIC_CREDENTIALS = { accessKeyId: 'a', secretAccessKey: 'b' } as const;

/** The names a deployed stage would output, derived from the key so that each value is recognisable. */
export function outputValue(key: string): string {
  if (key.endsWith('DeadLetterQueueUrl')) return `https://sqs.${REGION}.amazonaws.com/123456789012/${key}`;
  if (key === STAGE_OUTPUTS.stateless.apiUrl)
    return `https://abc123.execute-api.${REGION}.amazonaws.com/prod/`;
  if (key === STAGE_OUTPUTS.stateful.searchEndpoint)
    return `https://search-orders-${STAGE}-abc123.${REGION}.es.amazonaws.com`;
  return `value-of-${key}`;
}

/** Every output of the contract, per stack name; `without` leaves keys out. */
export function createStageOutputs(without: readonly string[] = []): Map<string, Map<string, string>> {
  const stacks = stackNames(STAGE);
  const outputs = new Map([
    [stacks.stateful, new Map<string, string>()],
    [stacks.stateless, new Map<string, string>()],
  ]);
  const put = (which: 'stateful' | 'stateless', key: string): void => {
    if (!without.includes(key)) outputs.get(stacks[which])?.set(key, outputValue(key));
  };
  for (const key of Object.values(STAGE_OUTPUTS.stateful)) put('stateful', key);
  for (const key of Object.values(STAGE_OUTPUTS.stateless)) put('stateless', key);
  for (const consumer of OPS_CONSUMERS) {
    for (const field of CONSUMER_OUTPUT_FIELDS)
      put(CONSUMER_OUTPUT_STACK[field], consumerOutputKey(consumer, field));
  }
  return outputs;
}

/** A CloudFormation stand-in over fixed outputs; a stack absent from the map does not exist. */
export function fakeStackOutputs(
  outputs: ReadonlyMap<string, ReadonlyMap<string, string>>,
): StackOutputsPort & {
  readonly asked: string[];
} {
  const asked: string[] = [];
  return {
    asked,
    outputsOf: async (stackName) => {
      asked.push(stackName);
      return outputs.get(stackName);
    },
  };
}

export interface FakeAwsOptions {
  readonly outputs?: Map<string, Map<string, string>>;
  readonly mappings?: ReadonlyMap<string, MappingStatus>;
  /** Metric name to the maximum the fake returns. */
  readonly maxima?: ReadonlyMap<string, number | null>;
  /** Alarm name prefix to its alarms. */
  readonly alarms?: ReadonlyMap<string, readonly AlarmSummary[]>;
  readonly credentials?: SigningCredentials;
  readonly functions?: FunctionInvokerPort;
  readonly streams?: StreamReaderPort;
  /** Replaces the SQS adapter over the client (e.g. createFakeQueue). */
  readonly deadLetterQueues?: DeadLetterQueuePort;
  /** The DynamoDB client handed out (mock it with aws-sdk-client-mock); default: one of REGION. */
  readonly dynamoDb?: DynamoDBClient;
  /** The S3 client the audit objects are read with (mock it); default: one of REGION. */
  readonly s3?: S3Client;
  /**
   * The OpenSearch client handed out for the stage's endpoint (e.g. an unsigned one of a local OpenSearch); default:
   * none, and asking for one fails the run.
   */
  readonly searchClient?: () => OpenSearchClient;
}

/** The AWS side of a test: fakes for the ports without an installed client, the real SQS adapter over `sqs`. */
export interface FakeAws {
  readonly aws: OpsAws;
  readonly mappingsAsked: string[];
  readonly metricQueries: MetricQuery[];
  readonly alarmPrefixesAsked: string[];
  readonly stacksAsked: string[];
  /** The endpoint and region of every search client asked for. */
  readonly searchClientsAsked: { endpoint: string; region: string }[];
  /** The bucket of every AuditObjects asked for. */
  readonly auditBucketsAsked: string[];
  closed: number;
}

export function createFakeAws(sqs: SQSClient, options: FakeAwsOptions = {}): FakeAws {
  const stackOutputs = fakeStackOutputs(options.outputs ?? createStageOutputs());
  const fake: FakeAws = {
    mappingsAsked: [],
    metricQueries: [],
    alarmPrefixesAsked: [],
    stacksAsked: stackOutputs.asked,
    searchClientsAsked: [],
    auditBucketsAsked: [],
    closed: 0,
    aws: {
      stackOutputs,
      mappings: {
        mapping: async (uuid) => {
          fake.mappingsAsked.push(uuid);
          return options.mappings?.get(uuid) ?? { state: 'Enabled', lastProcessingResult: 'OK' };
        },
      },
      metrics: {
        maximum: async (query) => {
          fake.metricQueries.push(query);
          return options.maxima?.get(query.metricName) ?? null;
        },
      },
      alarms: {
        alarmsWithPrefix: async (prefix) => {
          fake.alarmPrefixesAsked.push(prefix);
          return options.alarms?.get(prefix) ?? [{ name: `${prefix}-errors`, state: 'OK' }];
        },
      },
      deadLetterQueues: options.deadLetterQueues ?? new SqsDeadLetterQueues(sqs),
      functions: options.functions ?? createFakeFunction(),
      streams: options.streams ?? createFakeStream(new Map()),
      credentials: async () =>
        options.credentials ?? { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret-example' },
      dynamoDb: options.dynamoDb ?? createDynamoDbClient(),
      searchClient: (endpoint, region) => {
        fake.searchClientsAsked.push({ endpoint, region });
        if (options.searchClient === undefined) throw new Error('No search client in this test');
        return options.searchClient();
      },
      auditObjects: (bucket) => {
        fake.auditBucketsAsked.push(bucket);
        return new S3AuditObjects(options.s3 ?? createS3Client(), bucket);
      },
      region: async () => REGION,
      close: () => {
        fake.closed += 1;
      },
    },
  };
  return fake;
}

export function createSqsClient(): SQSClient {
  return new SQSClient({ region: REGION, credentials: STATIC_CREDENTIALS });
}

export function createDynamoDbClient(): DynamoDBClient {
  return new DynamoDBClient({ region: REGION, credentials: STATIC_CREDENTIALS });
}

export function createS3Client(): S3Client {
  return new S3Client({ region: REGION, credentials: STATIC_CREDENTIALS });
}

/** Captures what the CLI writes. */
export const captureIo = bufferedOpsIo;

export function depsFor(fake: FakeAws, now: Date = NOW): OpsDeps {
  return {
    aws: () => fake.aws,
    // `--local`: the same fake, as a sandbox standing in for STAGE.
    local: async () => ({ aws: fake.aws, stage: STAGE, description: 'the fake sandbox' }),
    now: () => now,
  };
}

export function consumerOutput(
  consumer: OpsConsumerName,
  field: (typeof CONSUMER_OUTPUT_FIELDS)[number],
): string {
  return outputValue(consumerOutputKey(consumer, field));
}

/** One Invoke the fake function received. */
export interface FakeInvocation {
  readonly functionName: string;
  readonly sequenceNumbers: readonly string[];
}

/**
 * A consumer function whose effect is idempotent per record: a Set of the sequence numbers it applied. `failing`
 * sequence numbers are reported in batchItemFailures (with the records after them, as the runtime does for one
 * item) until removed; `throwing` makes every invocation answer a FunctionError.
 */
export interface FakeFunction extends FunctionInvokerPort {
  readonly applied: Set<string>;
  /** How often each sequence number was applied (idempotence: applying twice changes nothing). */
  readonly appliedTimes: Map<string, number>;
  readonly invocations: FakeInvocation[];
  readonly failing: Set<string>;
  throwing: boolean;
}

export function createFakeFunction(): FakeFunction {
  const fake: FakeFunction = {
    applied: new Set(),
    appliedTimes: new Map(),
    invocations: [],
    failing: new Set(),
    throwing: false,
    invoke: async (functionName, payload): Promise<InvokeResult> => {
      const records = (payload as { Records: DynamoDBRecord[] }).Records;
      const sequenceNumbers = records.map((record) => record.dynamodb?.SequenceNumber ?? '');
      fake.invocations.push({ functionName, sequenceNumbers });
      if (fake.throwing) {
        return {
          statusCode: 200,
          functionError: 'Unhandled',
          payload: JSON.stringify({ errorType: 'Error', errorMessage: 'downstream unavailable' }),
        };
      }
      const failed: string[] = [];
      for (const sequenceNumber of sequenceNumbers) {
        if (failed.length > 0 || fake.failing.has(sequenceNumber)) {
          failed.push(sequenceNumber);
          continue;
        }
        fake.applied.add(sequenceNumber);
        fake.appliedTimes.set(sequenceNumber, (fake.appliedTimes.get(sequenceNumber) ?? 0) + 1);
      }
      return {
        statusCode: 200,
        payload: JSON.stringify({ batchItemFailures: failed.map((itemIdentifier) => ({ itemIdentifier })) }),
      };
    },
  };
  return fake;
}

/** A stream stand-in: per shard id, its records in order, or 'trimmed'; `reads` records each readRange. */
export function createFakeStream(
  shards: ReadonlyMap<string, readonly DynamoDBRecord[] | 'trimmed'>,
): StreamReaderPort & { readonly reads: { shardId: string; start: string; end: string }[] } {
  const reads: { shardId: string; start: string; end: string }[] = [];
  const compare = (a: string, b: string): number =>
    a.length !== b.length ? a.length - b.length : a < b ? -1 : a > b ? 1 : 0;
  return {
    reads,
    readRange: async (_streamArn, shardId, start, end): Promise<StreamRange> => {
      reads.push({ shardId, start, end });
      const shard = shards.get(shardId);
      if (shard === undefined || shard === 'trimmed') {
        return { kind: 'trimmed', reason: 'TrimmedDataAccessException: beyond the retention period' };
      }
      const records = shard.filter((record) => {
        const sequenceNumber = record.dynamodb?.SequenceNumber ?? '';
        return compare(sequenceNumber, start) >= 0 && compare(sequenceNumber, end) <= 0;
      });
      return { kind: 'records', records };
    },
  };
}

/**
 * An in-memory SQS queue: messages received are hidden until `returnInFlight` (the visibility timeout running
 * out), deleted by the receipt handle of their latest receive. Receipt handles change with each receive, as in SQS.
 */
export interface FakeQueue extends DeadLetterQueuePort {
  /** Message id to body, of the messages not deleted. */
  readonly messages: Map<string, string>;
  readonly deletedIds: string[];
  readonly receives: { limit: number; visibilityTimeoutSeconds: number }[];
  /** `sentAt`: the SentTimestamp SQS answers with; none by default (SQS returns it only when asked). */
  send(messageId: string, body: string, sentAt?: Date): void;
  /** Every message received is visible again. */
  returnInFlight(): void;
}

export function createFakeQueue(): FakeQueue {
  const hidden = new Set<string>();
  const handles = new Map<string, string>();
  const sentAts = new Map<string, Date>();
  let receipts = 0;
  const queue: FakeQueue = {
    messages: new Map(),
    deletedIds: [],
    receives: [],
    send: (messageId, body, sentAt) => {
      queue.messages.set(messageId, body);
      if (sentAt !== undefined) sentAts.set(messageId, sentAt);
    },
    returnInFlight: () => hidden.clear(),
    depth: async () => ({ visible: queue.messages.size - hidden.size, inFlight: hidden.size }),
    peek: async () => {
      throw new Error('peek is not expected in this test');
    },
    receive: async (_queueUrl, options): Promise<ReceivedMessage[]> => {
      queue.receives.push({ ...options });
      const visible = [...queue.messages].filter(([id]) => !hidden.has(id)).slice(0, options.limit);
      return visible.map(([messageId, body]) => {
        hidden.add(messageId);
        receipts += 1;
        const receiptHandle = `receipt-${receipts}-${messageId}`;
        handles.set(receiptHandle, messageId);
        return { messageId, receiptHandle, body, sentAt: sentAts.get(messageId) ?? null, receiveCount: null };
      });
    },
    delete: async (_queueUrl, receiptHandle) => {
      const messageId = handles.get(receiptHandle);
      if (messageId === undefined) throw new Error(`ReceiptHandleIsInvalid: ${receiptHandle}`);
      queue.messages.delete(messageId);
      hidden.delete(messageId);
      queue.deletedIds.push(messageId);
    },
  };
  return queue;
}
