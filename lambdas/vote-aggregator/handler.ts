import { Tracer } from '@aws-lambda-powertools/tracer';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SqsDeadLetterQueue } from '../shared/adapters/sqs-dead-letter-queue.js';
import { ENV, requireEnv } from '../shared/env.js';
import { createStreamLogger } from '../shared/stream/stream-handler.js';
import { withTraceSegment } from '../shared/tracing.js';
import { createVoteAggregatorHandler } from './aggregator.js';
import { createVoteAggregatorAdapters } from './compose.js';

/**
 * The Lambda's composition root. Everything here runs once per container: clients, environment (a missing variable
 * fails the cold start, not a batch), adapters and the stream runtime. Per invocation it only adds a trace segment.
 */
const consumerName = requireEnv(ENV.CONSUMER_NAME);
const tracer = new Tracer({ serviceName: consumerName });
const logger = createStreamLogger(consumerName);

const sqs = tracer.captureAWSv3Client(new SQSClient({}));
const dynamodb = tracer.captureAWSv3Client(new DynamoDBClient({}));
// removeUndefinedValues: an absent optional attribute is left out of the item rather than failing the marshalling.
const documentClient = DynamoDBDocumentClient.from(dynamodb, {
  marshallOptions: { removeUndefinedValues: true },
});

const streamHandler = createVoteAggregatorHandler({
  consumerName,
  deadLetterQueue: new SqsDeadLetterQueue(sqs, requireEnv(ENV.DEAD_LETTER_QUEUE_URL)),
  logger,
  ...createVoteAggregatorAdapters(documentClient, process.env),
});

export const handler = withTraceSegment(tracer, consumerName, streamHandler);
