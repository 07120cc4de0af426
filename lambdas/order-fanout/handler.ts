import { Tracer } from '@aws-lambda-powertools/tracer';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SqsDeadLetterQueue } from '../shared/adapters/sqs-dead-letter-queue.js';
import { ENV, requireEnv } from '../shared/env.js';
import { withTraceSegment } from '../shared/tracing.js';
import { createFanoutAdapters } from './compose.js';
import { createOrderFanoutHandler } from './fanout.js';

/**
 * The Lambda's composition root. Everything here runs once per container: clients, environment (a missing variable
 * fails the cold start, not a batch), adapters and the stream runtime. Per invocation it only adds a trace segment.
 */
const consumerName = requireEnv(ENV.CONSUMER_NAME);
const tracer = new Tracer({ serviceName: consumerName });

const sqs = tracer.captureAWSv3Client(new SQSClient({}));
const documentClient = DynamoDBDocumentClient.from(tracer.captureAWSv3Client(new DynamoDBClient({})), {
  // Optional fields of a reservation are left out of the item rather than failing the marshalling.
  marshallOptions: { removeUndefinedValues: true },
});

const streamHandler = createOrderFanoutHandler({
  consumerName,
  deadLetterQueue: new SqsDeadLetterQueue(sqs, requireEnv(ENV.DEAD_LETTER_QUEUE_URL)),
  ...createFanoutAdapters(
    {
      sns: tracer.captureAWSv3Client(new SNSClient({})),
      ses: tracer.captureAWSv3Client(new SESv2Client({})),
      sqs,
      documentClient,
    },
    process.env,
  ),
});

export const handler = withTraceSegment(tracer, consumerName, streamHandler);
