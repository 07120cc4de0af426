import { describe, expect, it } from 'vitest';
import { InvalidEnvironmentError } from '../../lambdas/search-sync/compose.js';
import { SEARCH_SYNC_CONSUMER_NAME } from '../../lambdas/search-sync/names.js';
import { MissingEnvironmentError } from '../../lambdas/shared/env.js';
import { ConsumerWiringError } from '../../sandbox/consumer-factory.js';
import { CONSUMER_FACTORIES } from '../../sandbox/consumers.js';
import { searchSyncConsumerFactory } from '../../sandbox/search-sync-consumer.js';
import { recordingAdapters } from '../support/local-adapters.js';

const ENVIRONMENT = {
  CONSUMER_NAME: 'search-sync',
  DEAD_LETTER_QUEUE_URL: 'https://sqs.sandbox.localhost/000000000000/search-sync-dlq',
  OPENSEARCH_ENDPOINT: 'http://127.0.0.1:9200',
  SEARCH_INDEX_REPLICAS: '0',
};

describe('searchSyncConsumerFactory', () => {
  it("is the registry's factory for the search-sync consumer", () => {
    // Assess
    expect(CONSUMER_FACTORIES[SEARCH_SYNC_CONSUMER_NAME]).toBe(searchSyncConsumerFactory);
  });

  it('builds the handler from the environment: its DLQ, logger, metrics and a client of the endpoint', () => {
    // Prepare
    const asked: string[] = [];

    // Act
    const fn = searchSyncConsumerFactory(ENVIRONMENT, recordingAdapters(asked, { quote: true }));

    // Assess: the client is the Lambda's (15 s, one retry), against the resolved endpoint.
    expect(typeof fn).toBe('function');
    expect(asked).toEqual([
      'logger("search-sync")',
      'openSearchClient("http://127.0.0.1:9200",{"requestTimeoutMs":15000,"maxRetries":1})',
      `deadLetterQueue("${ENVIRONMENT.DEAD_LETTER_QUEUE_URL}")`,
      'metrics("search-sync")',
    ]);
  });

  it.each(['CONSUMER_NAME', 'DEAD_LETTER_QUEUE_URL', 'OPENSEARCH_ENDPOINT'])(
    'fails naming %s when the template does not set it',
    (name) => {
      // Prepare
      const { [name as keyof typeof ENVIRONMENT]: _left, ...env } = ENVIRONMENT;

      // Act
      const build = (): unknown => searchSyncConsumerFactory(env, recordingAdapters([], { quote: true }));

      // Assess
      expect(build).toThrow(ConsumerWiringError);
      expect(build).toThrow(name);
    },
  );

  it('fails at build time for a missing or invalid SEARCH_INDEX_REPLICAS, as the Lambda does at cold start', () => {
    // Prepare
    const { SEARCH_INDEX_REPLICAS: _replicas, ...missing } = ENVIRONMENT;

    // Act
    const withoutReplicas = (): unknown =>
      searchSyncConsumerFactory(missing, recordingAdapters([], { quote: true }));
    const withBadReplicas = (): unknown =>
      searchSyncConsumerFactory(
        { ...ENVIRONMENT, SEARCH_INDEX_REPLICAS: 'one' },
        recordingAdapters([], { quote: true }),
      );

    // Assess
    expect(withoutReplicas).toThrow(MissingEnvironmentError);
    expect(withBadReplicas).toThrow(InvalidEnvironmentError);
  });
});
