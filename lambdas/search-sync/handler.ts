import { Tracer } from '@aws-lambda-powertools/tracer';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SqsDeadLetterQueue } from '../shared/adapters/sqs-dead-letter-queue.js';
import { ENV, requireEnv } from '../shared/env.js';
import { createOpenSearchClient } from '../shared/search/opensearch-client.js';
import { createStreamLogger } from '../shared/stream/stream-handler.js';
import { withTraceSegment } from '../shared/tracing.js';
import { SEARCH_SYNC_OPENSEARCH_CLIENT } from './client-settings.js';
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
  // 15 s per attempt, one retry: why, in client-settings.ts (the sandbox's twin uses the same settings).
  ...SEARCH_SYNC_OPENSEARCH_CLIENT,
});

const streamHandler = createSearchSyncHandler({
  consumerName,
  deadLetterQueue: new SqsDeadLetterQueue(sqs, requireEnv(ENV.DEAD_LETTER_QUEUE_URL)),
  logger,
  ...createSearchSyncAdapters(openSearch, process.env, { logger }),
});

export const handler = withTraceSegment(tracer, consumerName, streamHandler);
