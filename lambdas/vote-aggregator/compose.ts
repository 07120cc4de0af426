import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ENV, requireEnv } from '../shared/env.js';
import { DynamoDbPollResultsStore } from './adapters/dynamodb-poll-results-store.js';
import type { PollResultsStore } from './ports.js';

/**
 * The environment variables of the vote aggregator, by name: `process.env` in the Lambda, the variables the sandbox
 * resolves from the synthesized template locally. A missing required one throws MissingEnvironmentError.
 */
export type VoteAggregatorEnvironment = Readonly<Record<string, string | undefined>>;

/** What the vote aggregator's handler needs besides its name and DLQ. */
export interface VoteAggregatorPorts {
  readonly store: PollResultsStore;
}

/**
 * The vote aggregator's adapters on a DynamoDB document client: the one composition shared by the Lambda
 * (`handler.ts`) and the local sandbox. POLL_RESULTS_TABLE_NAME is required.
 */
export function createVoteAggregatorAdapters(
  documentClient: DynamoDBDocumentClient,
  env: VoteAggregatorEnvironment,
): VoteAggregatorPorts {
  return {
    store: new DynamoDbPollResultsStore(documentClient, requireEnv(ENV.POLL_RESULTS_TABLE_NAME, env)),
  };
}
