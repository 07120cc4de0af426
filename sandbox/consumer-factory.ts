import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SearchClient as OpenSearchClient } from '../lambdas/shared/search/opensearch-client-options.js';
import type { DeadLetterQueue } from '../lambdas/shared/stream/dead-letter.js';
import type { StreamLogger, StreamMetrics } from '../lambdas/shared/stream/stream-handler.js';
import type { CountingDynamoDb } from './adapters/counting-dynamodb.js';
import type { LocalS3Client } from './adapters/local-s3.js';
import type { LocalSesClient } from './adapters/local-ses.js';
import type { LocalSnsClient } from './adapters/local-sns.js';
import type { LocalQueue } from './adapters/local-sqs.js';
import type { LocalSqsClient } from './adapters/local-sqs-client.js';
import type { ApiHandler } from './api-server.js';
import type { StreamFunction } from './esm/types.js';
import type { LocalOpenSearchClientOptions } from './opensearch/local-client.js';
import type { LocalOpenSearch } from './opensearch/local-opensearch.js';

/**
 * The local stand-ins a consumer factory wires its handler with: the same ports the Lambda composition root fills
 * with AWS clients, here filled with DynamoDB Local, the local OpenSearch and file-backed adapters under `outputDir`.
 */
export interface LocalAdapters {
  /** A document client of DynamoDB Local (removeUndefinedValues on, as the app's own clients). */
  readonly documentClient: DynamoDBDocumentClient;
  /** The sandbox's output directory, where every adapter writes its files. */
  readonly outputDir: string;
  /** The DeadLetterQueue behind a local queue URL (the consumer's DEAD_LETTER_QUEUE_URL, resolved from the template). */
  deadLetterQueue(queueUrl: string): DeadLetterQueue;
  /** The local queue behind a queue URL, for consumers that send to other queues. */
  queue(queueUrl: string): LocalQueue;
  /** A logger writing to `<outputDir>/logs/<service>.jsonl`; stdout stays the user's. */
  logger(service: string): StreamLogger;
  /** Metrics written to `<outputDir>/metrics/<service>.jsonl` instead of EMF on stdout. */
  metrics(service: string): StreamMetrics;
  /** The clock the sandbox runs on. */
  readonly clock: () => number;
  /** The SNS stand-in: Publish and PublishBatch to local topic ARNs, written to `sns/<topic>.jsonl`. */
  readonly sns: LocalSnsClient;
  /** The SESv2 stand-in: SendEmail and SendBulkEmail with the template's SES templates, to `ses/outbox.jsonl`. */
  readonly ses: LocalSesClient;
  /** The SQS stand-in: SendMessage and SendMessageBatch to local queue URLs (FIFO groups and deduplication). */
  readonly sqs: LocalSqsClient;
  /**
   * The S3 stand-in: PutObject (with If-None-Match), GetObject and ListObjectsV2 on the template's buckets (each
   * bucket's `Ref` resolves to its local name), stored under `s3/<bucket>/<key>`.
   */
  readonly s3: LocalS3Client;
  /**
   * A DynamoDB Local client of the consumer's own (`owner`, usually its name; the same owner gets the same client),
   * whose calls are counted in the system's serviceStats().dynamodb[owner] and refused past an invocation's
   * deadline, as Lambda freezes a timed-out function.
   */
  dynamoDb(owner: string): CountingDynamoDb;
  /** The local OpenSearch (sandbox/opensearch/local-opensearch.ts): its URL, documents and request counters. */
  readonly openSearch: LocalOpenSearch;
  /**
   * An unsigned client of the OpenSearch at `endpoint` (the function's OPENSEARCH_ENDPOINT, resolved to the local
   * server), built by the project's createOpenSearchClient; its requests are refused past an invocation's deadline,
   * and the system closes it at stop.
   */
  openSearchClient(endpoint: string, options?: LocalOpenSearchClientOptions): OpenSearchClient;
}

/**
 * Builds one consumer's handler for the sandbox, the local twin of its `handler.ts` composition root: `env` is the
 * function's environment from the synthesized template (table names, local queue URLs, CONSUMER_NAME, ...), so a
 * variable CDK forgets to set is missing here too.
 */
export type ConsumerFactory = (
  env: Readonly<Record<string, string>>,
  adapters: LocalAdapters,
) => StreamFunction;

/**
 * Thrown by a consumer factory when its function's environment in the template lacks a variable the construct sets
 * (CONSUMER_NAME, DEAD_LETTER_QUEUE_URL, a resource the factory resolves itself): the template and the factory are
 * out of step, which no local input can fix.
 */
export class ConsumerWiringError extends Error {
  public constructor(
    public readonly consumerName: string,
    public readonly variable: string,
  ) {
    super(`The ${consumerName} function has no ${variable} variable in the template`);
    this.name = 'ConsumerWiringError';
  }
}

/** The value of `variable` in a consumer's environment from the template, or ConsumerWiringError. */
export function requireTemplateVariable(
  env: Readonly<Record<string, string>>,
  consumerName: string,
  variable: string,
): string {
  const value = env[variable];
  if (value === undefined) throw new ConsumerWiringError(consumerName, variable);
  return value;
}

/**
 * Builds the REST API's handler for the sandbox, the local twin of the API function's `handler.ts` composition root,
 * as a ConsumerFactory does for a consumer: `env` is the API function's environment from the synthesized template, and
 * it gets the same local adapters (sandbox/orders-api-factory.ts is the orders API's).
 */
export type ApiFactory = (env: Readonly<Record<string, string>>, adapters: LocalAdapters) => ApiHandler;
