import { createOrdersApiFromTables } from '../lambdas/orders-api/compose.js';
import { ORDERS_API_SERVICE_NAME } from '../lambdas/orders-api/names.js';
import { ORDERS_API_SEARCH_CLIENT } from '../lambdas/orders-api/search-client-settings.js';
import { ENV } from '../lambdas/shared/env.js';
import { OpenSearchOrderSearch } from '../lambdas/shared/search/opensearch-order-search.js';
import type { ApiFactory } from './consumer-factory.js';
import { TemplateWiringError } from './template-env.js';

/**
 * The local twin of `lambdas/orders-api/handler.ts`: the same composition (createOrdersApiFromTables) from the API
 * function's environment in the template, with the sandbox's stand-ins where the Lambda has AWS clients: DynamoDB
 * Local's document client, the sandbox's logger, and, when OPENSEARCH_ENDPOINT is set, an unsigned client of the
 * local OpenSearch with the Lambda's own timeout and retries. Tracing (X-Ray) is the one part of its wiring left out.
 */
export const ordersApiFactory: ApiFactory = (env, adapters) => {
  const required = (name: string): string => {
    const value = env[name];
    if (value === undefined) {
      throw new TemplateWiringError(
        `The ${ORDERS_API_SERVICE_NAME} function in the template has no ${name} variable`,
      );
    }
    return value;
  };
  const searchEndpoint = env[ENV.OPENSEARCH_ENDPOINT];
  return createOrdersApiFromTables({
    documentClient: adapters.documentClient,
    tables: {
      orders: required(ENV.ORDERS_TABLE_NAME),
      votes: required(ENV.VOTES_TABLE_NAME),
      pollResults: required(ENV.POLL_RESULTS_TABLE_NAME),
      idempotency: required(ENV.IDEMPOTENCY_TABLE_NAME),
    },
    logger: adapters.logger(ORDERS_API_SERVICE_NAME),
    // As the handler: search only with OPENSEARCH_ENDPOINT; without it the search route answers 503.
    ...(searchEndpoint === undefined || searchEndpoint === ''
      ? {}
      : {
          search: new OpenSearchOrderSearch(
            adapters.openSearchClient(searchEndpoint, ORDERS_API_SEARCH_CLIENT),
          ),
        }),
  });
};
