import { ENV } from '../lambdas/shared/env.js';
import { createVoteAggregatorHandler } from '../lambdas/vote-aggregator/aggregator.js';
import { createVoteAggregatorAdapters } from '../lambdas/vote-aggregator/compose.js';
import { VOTE_AGGREGATOR_CONSUMER_NAME } from '../lambdas/vote-aggregator/names.js';
import { type ConsumerFactory, requireTemplateVariable } from './consumer-factory.js';

/**
 * The local twin of `lambdas/vote-aggregator/handler.ts`: the same composition (createVoteAggregatorAdapters, then
 * createVoteAggregatorHandler) from the function's environment in the template, on a counting DynamoDB Local client
 * of its own (its calls show in `serviceStats().dynamodb['vote-aggregator']`, and are refused past an invocation's
 * deadline), with the sandbox's DLQ, logger, metrics and clock. Tracing (X-Ray) is the one part left out.
 */

/** The vote aggregator's consumer factory; `npm start`, chaos and bench get it from CONSUMER_FACTORIES. */
export const voteAggregatorConsumerFactory: ConsumerFactory = (env, adapters) => {
  const required = (name: string): string =>
    requireTemplateVariable(env, VOTE_AGGREGATOR_CONSUMER_NAME, name);
  const consumerName = required(ENV.CONSUMER_NAME);
  const queueUrl = required(ENV.DEAD_LETTER_QUEUE_URL);
  required(ENV.POLL_RESULTS_TABLE_NAME);
  const logger = adapters.logger(consumerName);
  return createVoteAggregatorHandler({
    consumerName,
    deadLetterQueue: adapters.deadLetterQueue(queueUrl),
    logger,
    metrics: adapters.metrics(consumerName),
    clock: adapters.clock,
    ...createVoteAggregatorAdapters(adapters.dynamoDb(consumerName).documentClient, env),
  });
};
