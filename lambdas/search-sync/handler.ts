import { Tracer } from '@aws-lambda-powertools/tracer';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SqsDeadLetterQueue } from '../shared/adapters/sqs-dead-letter-queue.js';
import { ENV, requireEnv } from '../shared/env.js';
import { createOpenSearchClient } from '../shared/search/opensearch-client.js';
import { createStreamLogger } from '../shared/stream/stream-handler.js';
import { withTraceSegment } from '../shared/tracing.js';
import { createSearchSyncAdapters } from './compose.js';
import { createSearchSyncHandler } from './sync.js';

/**
 * The Lambda's composition root. Everything here runs once per container: clients, environment (a missing variable
 * fails the cold start, not a batch), adapters and the stream runtime; the index bootstrap runs before the first bulk
 * request (see createSearchSyncAdapters). Per invocation it only adds a trace segment.
 */
const consumerName = requireEnv(ENV.CONSUMER_NAME);
const tracer = new Tracer({ serviceName: consumerName });
const logger = createStreamLogger(consumerName);

const sqs = tracer.captureAWSv3Client(new SQSClient({}));
const openSearch = createOpenSearchClient({
  endpoint: requireEnv(ENV.OPENSEARCH_ENDPOINT),
  sign: true,
  // A bulk request of a batch of 100 orders is well under a second; 15 s, retried once, stays inside the
  // function's 60-second timeout with the bootstrap's requests, so a stuck request fails the batch (reported and
  // retried by the ESM) rather than timing the invocation out.
  requestTimeoutMs: 15_000,
  maxRetries: 1,
});

const streamHandler = createSearchSyncHandler({
  consumerName,
  deadLetterQueue: new SqsDeadLetterQueue(sqs, requireEnv(ENV.DEAD_LETTER_QUEUE_URL)),
  logger,
  ...createSearchSyncAdapters(openSearch, process.env, { logger }),
});

export const handler = withTraceSegment(tracer, consumerName, streamHandler);
