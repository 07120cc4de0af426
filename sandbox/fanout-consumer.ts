import { createFanoutAdapters } from '../lambdas/order-fanout/compose.js';
import { createOrderFanoutHandler } from '../lambdas/order-fanout/fanout.js';
import { ORDER_FANOUT_CONSUMER_NAME } from '../lambdas/order-fanout/names.js';
import { ENV } from '../lambdas/shared/env.js';
import { type ConsumerFactory, requireTemplateVariable } from './consumer-factory.js';

/**
 * The local twin of `lambdas/order-fanout/handler.ts`: the same composition (createFanoutAdapters, then
 * createOrderFanoutHandler) from the function's environment in the template, with the sandbox's stand-ins where the
 * Lambda has AWS clients: the SNS, SES and SQS stand-ins, a counting DynamoDB Local client of the fan-out's own, and
 * the sandbox's DLQ, logger, metrics and clock. Tracing (X-Ray) is the one part of the Lambda's wiring left out.
 */

/** The fan-out's consumer factory; `npm start`, chaos and bench get it from CONSUMER_FACTORIES. */
export const orderFanoutConsumerFactory: ConsumerFactory = (env, adapters) => {
  const consumerName = requireTemplateVariable(env, ORDER_FANOUT_CONSUMER_NAME, ENV.CONSUMER_NAME);
  const queueUrl = requireTemplateVariable(env, ORDER_FANOUT_CONSUMER_NAME, ENV.DEAD_LETTER_QUEUE_URL);
  const dynamoDb = adapters.dynamoDb(consumerName);
  return createOrderFanoutHandler({
    consumerName,
    deadLetterQueue: adapters.deadLetterQueue(queueUrl),
    logger: adapters.logger(consumerName),
    metrics: adapters.metrics(consumerName),
    clock: adapters.clock,
    // A missing variable throws MissingEnvironmentError naming it, before the sandbox starts any mapping.
    ...createFanoutAdapters(
      { sns: adapters.sns, ses: adapters.ses, sqs: adapters.sqs, documentClient: dynamoDb.documentClient },
      env,
      { clock: adapters.clock },
    ),
  });
};
