import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { ORDERS_API_SEARCH_CLIENT } from '../../lambdas/orders-api/search-client-settings.js';
import { ENV } from '../../lambdas/shared/env.js';
import type { SearchClient as OpenSearchClient } from '../../lambdas/shared/search/opensearch-client-options.js';
import type { LocalAdapters } from '../../sandbox/consumer-factory.js';
import type { LocalOpenSearchClientOptions } from '../../sandbox/opensearch/local-client.js';
import { ordersApiFactory } from '../../sandbox/orders-api-factory.js';
import { TemplateWiringError } from '../../sandbox/template-env.js';

const TABLES = {
  [ENV.ORDERS_TABLE_NAME]: 'sandbox-Orders',
  [ENV.VOTES_TABLE_NAME]: 'sandbox-Votes',
  [ENV.POLL_RESULTS_TABLE_NAME]: 'sandbox-PollResults',
  [ENV.IDEMPOTENCY_TABLE_NAME]: 'sandbox-Idempotency',
};

/** Building the API sends nothing: a client of an address nobody serves is enough. */
const client = new DynamoDBClient({ endpoint: 'http://127.0.0.1:9', region: 'eu-west-1' });

function adapters(): {
  adapters: LocalAdapters;
  searchClients: Array<[string, LocalOpenSearchClientOptions?]>;
} {
  const searchClients: Array<[string, LocalOpenSearchClientOptions?]> = [];
  const fake = {
    documentClient: DynamoDBDocumentClient.from(client),
    logger: () => ({
      debug: () => {},
      info: () => {},
      warn: () => {},
      error: () => {},
      addContext: () => {},
    }),
    openSearchClient: (endpoint: string, options?: LocalOpenSearchClientOptions) => {
      searchClients.push([endpoint, options]);
      return {} as OpenSearchClient;
    },
  } as unknown as LocalAdapters;
  return { adapters: fake, searchClients };
}

afterAll(() => {
  client.destroy();
});

describe('ordersApiFactory', () => {
  it("opens a search client with the Lambda's own timeout and retries when OPENSEARCH_ENDPOINT is set", () => {
    // Prepare
    const { adapters: local, searchClients } = adapters();

    // Act
    const handler = ordersApiFactory(
      { ...TABLES, [ENV.OPENSEARCH_ENDPOINT]: 'http://127.0.0.1:9200' },
      local,
    );

    // Assess
    expect(typeof handler).toBe('function');
    expect(searchClients).toEqual([['http://127.0.0.1:9200', ORDERS_API_SEARCH_CLIENT]]);
  });

  it.each([
    ['unset', {}],
    ['empty', { [ENV.OPENSEARCH_ENDPOINT]: '' }],
  ])('opens no search client when OPENSEARCH_ENDPOINT is %s', (_name, search) => {
    // Prepare
    const { adapters: local, searchClients } = adapters();

    // Act
    ordersApiFactory({ ...TABLES, ...search }, local);

    // Assess
    expect(searchClients).toEqual([]);
  });

  it('refuses an environment without a table variable, naming it', () => {
    // Prepare
    const { [ENV.VOTES_TABLE_NAME]: _votes, ...withoutVotes } = TABLES;
    const { adapters: local } = adapters();

    // Act
    const build = (): unknown => ordersApiFactory(withoutVotes, local);

    // Assess
    expect(build).toThrow(TemplateWiringError);
    expect(build).toThrow(ENV.VOTES_TABLE_NAME);
  });
});
