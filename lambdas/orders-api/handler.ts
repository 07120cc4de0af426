import { Logger } from '@aws-lambda-powertools/logger';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { ENV, requireEnv } from '../shared/env.js';
import { createOrdersApiFromTables } from './compose.js';

/**
 * The Lambda's composition root. Everything here runs once per container: clients, table names (a missing one
 * fails the cold start, not a request), the API. Per invocation it only adds the log context and a trace segment.
 */
const logger = new Logger({ serviceName: 'orders-api' });
const tracer = new Tracer({ serviceName: 'orders-api' });
const documentClient = DynamoDBDocumentClient.from(tracer.captureAWSv3Client(new DynamoDBClient({})));

const api = createOrdersApiFromTables({
  documentClient,
  tables: {
    orders: requireEnv(ENV.ORDERS_TABLE_NAME),
    votes: requireEnv(ENV.VOTES_TABLE_NAME),
    pollResults: requireEnv(ENV.POLL_RESULTS_TABLE_NAME),
    idempotency: requireEnv(ENV.IDEMPOTENCY_TABLE_NAME),
  },
  logger,
});

export const handler = async (
  event: APIGatewayProxyEvent,
  context: Context,
): Promise<APIGatewayProxyResult> => {
  logger.addContext(context);
  // Manual instrumentation, as Powertools documents it for handlers without decorators or middy.
  const segment = tracer.getSegment();
  const subsegment = segment?.addNewSubsegment('## orders-api');
  if (subsegment !== undefined) {
    tracer.setSegment(subsegment);
  }
  tracer.annotateColdStart();
  tracer.addServiceNameAnnotation();
  try {
    const response = await api(event, context);
    tracer.putAnnotation('statusCode', response.statusCode);
    return response;
  } finally {
    subsegment?.close();
    if (segment !== undefined) {
      tracer.setSegment(segment);
    }
  }
};
