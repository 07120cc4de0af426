import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { assertInvocationAlive } from '../invocation-deadline.js';

/**
 * A DynamoDB client (and its DocumentClient) of DynamoDB Local whose calls are counted per API operation, for a
 * consumer that must be measured on its own (the bench's downstream calls per record) and that Lambda would freeze at
 * its deadline (see invocation-deadline.ts). Counted at the SDK's initialize step: one per call the code makes,
 * whatever the SDK's own retries add below it.
 */

/** Calls per DynamoDB API operation (`GetItem`, `TransactWriteItems`, ...) and their total. */
export interface DynamoDbCallCounts {
  readonly byOperation: Readonly<Record<string, number>>;
  readonly total: number;
}

/** Counts calls by operation. */
export class CallCounter {
  readonly #counts = new Map<string, number>();

  public count(operation: string): void {
    this.#counts.set(operation, (this.#counts.get(operation) ?? 0) + 1);
  }

  public snapshot(): DynamoDbCallCounts {
    const byOperation = Object.fromEntries([...this.#counts].sort(([a], [b]) => a.localeCompare(b)));
    return { byOperation, total: [...this.#counts.values()].reduce((sum, n) => sum + n, 0) };
  }
}

export interface CountingDynamoDb {
  readonly client: DynamoDBClient;
  /** removeUndefinedValues on, as the app's own DocumentClients; shares the client's middleware (and counter). */
  readonly documentClient: DynamoDBDocumentClient;
  readonly counter: CallCounter;
  destroy(): void;
}

/** The name of the counting middleware in the client's stack. */
const MIDDLEWARE_NAME = 'sandboxCallCounter';

/** A new client of `config` with a counter of its calls; calls past an invocation's deadline are refused. */
export function createCountingDynamoDb(config: DynamoDBClientConfig): CountingDynamoDb {
  const client = new DynamoDBClient(config);
  const counter = new CallCounter();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const operation = String(context.commandName ?? 'Unknown').replace(/Command$/, '');
      counter.count(operation);
      assertInvocationAlive(`DynamoDB ${operation}`);
      return next(args);
    },
    { step: 'initialize', name: MIDDLEWARE_NAME, override: true },
  );
  // DynamoDBDocumentClient.from shares the client's config and middleware stack, so its calls are counted too.
  const documentClient = DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true },
  });
  return { client, documentClient, counter, destroy: () => client.destroy() };
}
