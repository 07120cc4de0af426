import { describe, expect, it } from 'vitest';
import { CONSUMER_FACTORIES, type LocalAdapters } from '../../sandbox/consumers.js';
import {
  VOTE_AGGREGATOR_CONSUMER_NAME,
  VoteAggregatorWiringError,
  voteAggregatorConsumerFactory,
} from '../../sandbox/vote-aggregator-consumer.js';

/** Adapters whose every part records that it was asked for, with the arguments. */
function recordingAdapters(asked: string[]): LocalAdapters {
  const record =
    (name: string) =>
    (...args: unknown[]): never => {
      asked.push(`${name}(${args.map((arg) => JSON.stringify(arg)).join(',')})`);
      return { documentClient: {} } as never;
    };
  return {
    documentClient: {} as never,
    outputDir: '/nowhere',
    deadLetterQueue: record('deadLetterQueue'),
    queue: record('queue'),
    logger: record('logger'),
    metrics: record('metrics'),
    clock: () => 0,
    sns: {} as never,
    ses: {} as never,
    sqs: {} as never,
    s3: {} as never,
    dynamoDb: record('dynamoDb'),
    openSearch: {} as never,
    openSearchClient: record('openSearchClient'),
  };
}

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
    const fn = voteAggregatorConsumerFactory(ENVIRONMENT, recordingAdapters(asked));

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
      const build = (): unknown => voteAggregatorConsumerFactory(env, recordingAdapters([]));

      // Assess
      expect(build).toThrow(VoteAggregatorWiringError);
      expect(build).toThrow(name);
    },
  );
});
