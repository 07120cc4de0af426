import { SEARCH_SYNC_OPENSEARCH_CLIENT } from '../lambdas/search-sync/client-settings.js';
import { createSearchSyncAdapters } from '../lambdas/search-sync/compose.js';
import { SEARCH_SYNC_CONSUMER_NAME } from '../lambdas/search-sync/names.js';
import { createSearchSyncHandler } from '../lambdas/search-sync/sync.js';
import { ENV } from '../lambdas/shared/env.js';
import { type ConsumerFactory, requireTemplateVariable } from './consumer-factory.js';

/**
 * The local twin of `lambdas/search-sync/handler.ts`: the same composition (createSearchSyncAdapters, then
 * createSearchSyncHandler) from the function's environment in the template, with the sandbox's stand-ins where the
 * Lambda has AWS clients: an unsigned client of the local OpenSearch (OPENSEARCH_ENDPOINT resolves to it), and the
 * sandbox's DLQ, logger, metrics and clock. The client's timeout and retries are the Lambda's; tracing (X-Ray) is
 * the one part of its wiring left out.
 */

/** The search sync's consumer factory; `npm start`, chaos and bench get it from CONSUMER_FACTORIES. */
export const searchSyncConsumerFactory: ConsumerFactory = (env, adapters) => {
  const required = (name: string): string => requireTemplateVariable(env, SEARCH_SYNC_CONSUMER_NAME, name);
  const consumerName = required(ENV.CONSUMER_NAME);
  const queueUrl = required(ENV.DEAD_LETTER_QUEUE_URL);
  const endpoint = required(ENV.OPENSEARCH_ENDPOINT);
  const logger = adapters.logger(consumerName);
  // The Lambda's own client settings (lambdas/search-sync/client-settings.ts), not a copy of them.
  const client = adapters.openSearchClient(endpoint, SEARCH_SYNC_OPENSEARCH_CLIENT);
  return createSearchSyncHandler({
    consumerName,
    deadLetterQueue: adapters.deadLetterQueue(queueUrl),
    logger,
    metrics: adapters.metrics(consumerName),
    clock: adapters.clock,
    // A missing or invalid SEARCH_INDEX_REPLICAS throws here, naming it, before the sandbox starts any mapping.
    ...createSearchSyncAdapters(client, env, { logger }),
  });
};
