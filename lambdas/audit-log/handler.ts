import { Tracer } from '@aws-lambda-powertools/tracer';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SqsDeadLetterQueue } from '../shared/adapters/sqs-dead-letter-queue.js';
import { ENV, requireEnv } from '../shared/env.js';
import { createStreamLogger } from '../shared/stream/stream-handler.js';
import { withTraceSegment } from '../shared/tracing.js';
import { createAuditHandler } from './audit.js';
import { createAuditAdapters } from './compose.js';

/**
 * The Lambda's composition root. Everything here runs once per container: clients, environment (a missing variable
 * fails the cold start, not a batch), adapters and the stream runtime. Per invocation it only adds a trace segment.
 */
const consumerName = requireEnv(ENV.CONSUMER_NAME);
const tracer = new Tracer({ serviceName: consumerName });
const logger = createStreamLogger(consumerName);

const sqs = tracer.captureAWSv3Client(new SQSClient({}));
const s3 = tracer.captureAWSv3Client(new S3Client({}));

const streamHandler = createAuditHandler({
  consumerName,
  deadLetterQueue: new SqsDeadLetterQueue(sqs, requireEnv(ENV.DEAD_LETTER_QUEUE_URL)),
  logger,
  ...createAuditAdapters(s3, process.env),
});

export const handler = withTraceSegment(tracer, consumerName, streamHandler);
