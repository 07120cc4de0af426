import type { TestProject } from 'vitest/node';
import { ensureDynamoDbLocal } from '../../sandbox/dynamodb-local/fetch.js';
import { startDynamoDbLocal } from '../../sandbox/dynamodb-local/server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The endpoint of the one DynamoDB Local shared by every test file of the run. */
    dynamodbEndpoint: string;
  }
}

/**
 * Starts one in-memory DynamoDB Local for the whole run: a JVM per test file would cost seconds each on 2 cores.
 * Test files stay independent by creating uniquely prefixed tables (test/support/dynamodb.ts).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const emulatorDir = await ensureDynamoDbLocal();
  const dynamodb = await startDynamoDbLocal({ emulatorDir });
  project.provide('dynamodbEndpoint', dynamodb.endpoint);
  return async (): Promise<void> => {
    await dynamodb.stop();
  };
}
