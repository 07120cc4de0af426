import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import type { SearchClient as OpenSearchClient } from '../lambdas/shared/search/opensearch-client-options.js';
import { toLosslessJson } from '../lambdas/shared/stream/lossless.js';
import { S3AuditObjects, type S3ReadClient } from '../ops/audit-history/audit-objects.js';
import { DynamoDbStreamReader } from '../ops/aws/dynamodb-stream-reader.js';
import type {
  DeadLetterQueuePort,
  InvokeResult,
  MappingStatus,
  MetricQuery,
  OpsAws,
  PeekedMessage,
  PeekOptions,
  QueueDepth,
  ReceivedMessage,
} from '../ops/aws/ports.js';
import { LOCAL_REGION, type LocalQueues } from './adapters/local-sqs.js';
import { localClientConfig } from './dynamodb-local/server.js';
import type { MappingStats, StreamFunction } from './esm/types.js';
import { localLambdaContext } from './lambda-context.js';
import { createLocalOpenSearchClient } from './opensearch/local-client.js';

/**
 * The ops command's AWS side (ops/aws/ports.ts) answered by a running sandbox, so that `npm run ops -- <command>`
 * runs the same code against it as against a deployed stage: the stage's outputs are the template's own outputs
 * resolved to local names (ops-outputs.ts), Invoke runs the consumer's composed function in-process, the DLQs are
 * the local queues (received and deleted as SQS does), the stream is DynamoDB Local's, the audit bucket is the local
 * S3 store, the search domain the local OpenSearch. What has no local counterpart says so: the sandbox has no
 * CloudWatch alarms, and its metrics are the runner's current figures, not a CloudWatch window.
 */

/** A consumer's function as the sandbox runs it. */
export interface LocalFunction {
  readonly fn: StreamFunction;
  readonly timeoutMs: number;
  readonly memoryMb: number;
}

export interface LocalOpsParts {
  /** Stack name to its outputs (output key to local value). */
  readonly outputs: ReadonlyMap<string, ReadonlyMap<string, string>>;
  /** By the local function name (the FunctionName outputs' values). */
  readonly functions: ReadonlyMap<string, LocalFunction>;
  /** A mapping's figures by its local UUID (the MappingUuid outputs' values); undefined for an unknown one. */
  mappingStats(uuid: string): MappingStats | undefined;
  /** By the function name a mapping invokes (the IteratorAge metric's FunctionName dimension). */
  mappingStatsOfFunction(functionName: string): MappingStats | undefined;
  readonly queues: LocalQueues;
  readonly dynamodbEndpoint: string;
  /** The local OpenSearch's URL: every search endpoint of the stage is it. */
  readonly searchUrl: string;
  /** The local S3 store (LocalS3Client satisfies S3ReadClient). */
  readonly s3: S3ReadClient;
  readonly clock: () => number;
}

/** An Invoke of a function the sandbox does not run (Lambda: ResourceNotFoundException). */
export class LocalFunctionNotFoundError extends Error {
  public constructor(functionName: string, known: readonly string[]) {
    super(
      `ResourceNotFoundException: the sandbox runs no function "${functionName}" (it runs ${known.join(', ')})`,
    );
    this.name = 'LocalFunctionNotFoundError';
  }
}

/** A name of the stage that the sandbox does not know (a queue URL or mapping of another stage). */
export class LocalResourceNotFoundError extends Error {
  public constructor(kind: string, name: string) {
    super(`ResourceNotFoundException: the sandbox has no ${kind} "${name}"`);
    this.name = 'LocalResourceNotFoundError';
  }
}

/** What the sandbox reports as a mapping's last processing result, as Lambda words it. */
function lastProcessingResult(stats: MappingStats): string {
  if (stats.invocations === 0) return 'No records processed';
  return stats.pending > 0 && stats.failedInvocations > 0 ? 'PROBLEM: Function call failed' : 'OK';
}

/** A message body as SQS hands it out: text (the local queue stores the value it encodes). */
function bodyText(body: unknown): string {
  return typeof body === 'string' ? body : toLosslessJson(body);
}

/** The local queues as the DLQ port: peek and receive hide messages as SQS does, delete records the deletion. */
export class LocalDeadLetterQueues implements DeadLetterQueuePort {
  readonly #queues: LocalQueues;

  public constructor(queues: LocalQueues) {
    this.#queues = queues;
  }

  public async depth(queueUrl: string): Promise<QueueDepth> {
    const { visible, inFlight } = await this.#queues.byUrl(queueUrl).depth();
    return { visible, inFlight };
  }

  public async peek(queueUrl: string, options: PeekOptions): Promise<readonly PeekedMessage[]> {
    return (await this.receive(queueUrl, options)).map(({ receiptHandle: _handle, ...message }) => message);
  }

  public async receive(queueUrl: string, options: PeekOptions): Promise<readonly ReceivedMessage[]> {
    const received = await this.#queues
      .byUrl(queueUrl)
      .receive(Math.min(options.limit, 10), options.visibilityTimeoutSeconds * 1000);
    return received.map(({ message, receiptHandle, receiveCount }) => ({
      messageId: message.messageId,
      body: bodyText(message.body),
      sentAt: new Date(message.sentAt),
      receiveCount,
      receiptHandle,
    }));
  }

  public async delete(queueUrl: string, receiptHandle: string): Promise<void> {
    await this.#queues.byUrl(queueUrl).delete(receiptHandle);
  }
}

/**
 * Invokes a local function as Lambda's RequestResponse does: the payload as fresh JSON, a context with the
 * function's deadline, the result as JSON text, a throw or a timeout as an `Unhandled` function error.
 */
export async function invokeLocalFunction(
  fn: LocalFunction,
  functionName: string,
  payload: unknown,
  clock: () => number,
): Promise<InvokeResult> {
  const event = JSON.parse(JSON.stringify(payload)) as DynamoDBStreamEvent;
  const deadlineMs = clock() + fn.timeoutMs;
  const requestId = randomUUID();
  const context = localLambdaContext({
    functionName,
    requestId,
    deadlineMs,
    clock,
    memoryLimitInMB: String(fn.memoryMb),
    logStreamName: `local/${requestId}`,
    callbackWaitsForEmptyEventLoop: false,
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), fn.timeoutMs);
  });
  try {
    const outcome = await Promise.race([fn.fn(event, context), timeout]);
    if (outcome === 'timeout') {
      return {
        statusCode: 200,
        functionError: 'Unhandled',
        payload: JSON.stringify({
          errorType: 'Sandbox.Timedout',
          errorMessage: `Task timed out after ${fn.timeoutMs / 1000} seconds`,
        }),
      };
    }
    return { statusCode: 200, payload: JSON.stringify(outcome ?? null) };
  } catch (error) {
    const err = error instanceof Error ? error : new Error(String(error));
    return {
      statusCode: 200,
      functionError: 'Unhandled',
      payload: JSON.stringify({ errorType: err.name, errorMessage: err.message }),
    };
  } finally {
    clearTimeout(timer);
  }
}

function metricDimension(query: MetricQuery, name: string): string {
  const value = query.dimensions.get(name);
  if (value === undefined) throw new LocalResourceNotFoundError(`${query.metricName} dimension`, name);
  return value;
}

/** The ops command's AWS side over a running sandbox's parts. Its own clients are released by `close`. */
export function localOpsAws(parts: LocalOpsParts): OpsAws {
  const clientConfig = localClientConfig(parts.dynamodbEndpoint);
  const dynamoDb = new DynamoDBClient(clientConfig);
  const streams = new DynamoDBStreamsClient(clientConfig);
  const deadLetterQueues = new LocalDeadLetterQueues(parts.queues);
  return {
    stackOutputs: { outputsOf: async (stackName) => parts.outputs.get(stackName) },
    mappings: {
      mapping: async (uuid): Promise<MappingStatus> => {
        const stats = parts.mappingStats(uuid);
        if (stats === undefined) throw new LocalResourceNotFoundError('event source mapping', uuid);
        // The local runner reads every mapping for as long as the sandbox runs.
        return { state: 'Enabled', lastProcessingResult: lastProcessingResult(stats) };
      },
    },
    metrics: {
      // The runner's current figure, not a maximum over a CloudWatch window: the sandbox keeps no history.
      maximum: async (query) => {
        if (query.metricName === 'IteratorAge') {
          const stats = parts.mappingStatsOfFunction(metricDimension(query, 'FunctionName'));
          return stats === undefined ? null : stats.iteratorAgeMs;
        }
        if (query.metricName === 'ApproximateAgeOfOldestMessage') {
          const queue = parts.queues.byName(metricDimension(query, 'QueueName'));
          const { oldestSentAt } = await queue.depth();
          return oldestSentAt === undefined
            ? null
            : Math.max(0, Math.floor((parts.clock() - Date.parse(oldestSentAt)) / 1000));
        }
        return null;
      },
    },
    // The sandbox evaluates no alarms.
    alarms: { alarmsWithPrefix: async () => [] },
    deadLetterQueues,
    functions: {
      invoke: async (functionName, payload) => {
        const fn = parts.functions.get(functionName);
        if (fn === undefined) throw new LocalFunctionNotFoundError(functionName, [...parts.functions.keys()]);
        return invokeLocalFunction(fn, functionName, payload, parts.clock);
      },
    },
    streams: new DynamoDbStreamReader(streams),
    credentials: async () => ({ ...clientConfig.credentials }),
    dynamoDb,
    searchClient: (endpoint): OpenSearchClient => {
      if (endpoint.replace(/\/+$/, '') !== parts.searchUrl.replace(/\/+$/, '')) {
        throw new LocalResourceNotFoundError('search endpoint', endpoint);
      }
      return createLocalOpenSearchClient(parts.searchUrl);
    },
    auditObjects: (bucket) => new S3AuditObjects(parts.s3, bucket, { location: `sandbox s3://${bucket}` }),
    region: async () => LOCAL_REGION,
    close: () => {
      dynamoDb.destroy();
      streams.destroy();
    },
  };
}
