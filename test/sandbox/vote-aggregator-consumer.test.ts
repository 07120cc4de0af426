import { describe, expect, it } from 'vitest';
import { VOTE_AGGREGATOR_CONSUMER_NAME } from '../../lambdas/vote-aggregator/names.js';
import { ConsumerWiringError } from '../../sandbox/consumer-factory.js';
import { CONSUMER_FACTORIES } from '../../sandbox/consumers.js';
import { voteAggregatorConsumerFactory } from '../../sandbox/vote-aggregator-consumer.js';
import { recordingAdapters } from '../support/local-adapters.js';

const ENVIRONMENT = {
  CONSUMER_NAME: 'vote-aggregator',
  DEAD_LETTER_QUEUE_URL: 'https://sqs.sandbox.localhost/000000000000/vote-aggregator-dlq',
  POLL_RESULTS_TABLE_NAME: 'sandbox-PollResults',
};

describe('voteAggregatorConsumerFactory', () => {
  it("is the registry's factory for the vote-aggregator consumer", () => {
    // Assess
    expect(CONSUMER_FACTORIES[VOTE_AGGREGATOR_CONSUMER_NAME]).toBe(voteAggregatorConsumerFactory);
  });

  it('builds the handler from the environment on a counting DynamoDB client of its own', () => {
    // Prepare
    const asked: string[] = [];

    // Act
    const fn = voteAggregatorConsumerFactory(ENVIRONMENT, recordingAdapters(asked, { quote: true }));

    // Assess
    expect(typeof fn).toBe('function');
    expect(asked).toEqual([
      'logger("vote-aggregator")',
      `deadLetterQueue("${ENVIRONMENT.DEAD_LETTER_QUEUE_URL}")`,
      'metrics("vote-aggregator")',
      'dynamoDb("vote-aggregator")',
    ]);
  });

  it.each(['CONSUMER_NAME', 'DEAD_LETTER_QUEUE_URL', 'POLL_RESULTS_TABLE_NAME'])(
    'fails naming %s when the template does not set it',
    (name) => {
      // Prepare
      const { [name as keyof typeof ENVIRONMENT]: _left, ...env } = ENVIRONMENT;

      // Act
      const build = (): unknown => voteAggregatorConsumerFactory(env, recordingAdapters([], { quote: true }));

      // Assess
      expect(build).toThrow(ConsumerWiringError);
      expect(build).toThrow(name);
    },
  );
});
