import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { assertInvocationAlive } from '../invocation-deadline.js';

/**
 * A DynamoDB client (and its DocumentClient) of DynamoDB Local whose calls are counted per API operation, for a
 * consumer that must be measured on its own (the bench's downstream calls per record) and that Lambda would freeze at
 * its deadline (see invocation-deadline.ts). Counted at the SDK's initialize step: one per call the code makes,
 * whatever the SDK's own retries add below it. A measurement that needs more than counts (the votes bench: writes per
 * table and per second of one item) asks for the call log too.
 */

/** Calls per DynamoDB API operation (`GetItem`, `TransactWriteItems`, ...) and their total. */
export interface DynamoDbCallCounts {
  readonly byOperation: Readonly<Record<string, number>>;
  readonly total: number;
}

/** One call as the call log keeps it. */
export interface DynamoDbCall {
  /** When the code made it, by the counter's clock. */
  readonly atMs: number;
  readonly operation: string;
  /** The tables it names: TableName, or those of a batch or a transaction. */
  readonly tables: readonly string[];
  /**
   * The command's input as the counter saw it: a DocumentClient's may be marshalled already (`{ S: ... }`) or not,
   * depending on where its marshalling sits in the stack.
   */
  readonly input: Readonly<Record<string, unknown>>;
}

export interface CallCounterOptions {
  /**
   * Keep every call (DynamoDbCall) as well as the counts, for calls(). Off by default: a long sandbox run makes
   * millions of calls and needs only their counts.
   */
  readonly keepCalls?: boolean;
  /** For DynamoDbCall.atMs. @default Date.now */
  readonly clock?: () => number;
}

/** Thrown by CallCounter.calls() when the counter was not asked to keep its calls. */
export class CallLogDisabledError extends Error {
  public constructor() {
    super('This counter keeps no call log: create it with { keepCalls: true }');
    this.name = 'CallLogDisabledError';
  }
}

/** Counts calls by operation, and keeps them when asked to. */
export class CallCounter {
  readonly #counts = new Map<string, number>();
  readonly #calls: DynamoDbCall[] | undefined;
  readonly #clock: () => number;

  public constructor(options: CallCounterOptions = {}) {
    this.#calls = options.keepCalls === true ? [] : undefined;
    this.#clock = options.clock ?? Date.now;
  }

  public count(operation: string, input: Readonly<Record<string, unknown>> = {}): void {
    this.#counts.set(operation, (this.#counts.get(operation) ?? 0) + 1);
    this.#calls?.push({ atMs: this.#clock(), operation, tables: tablesOf(input), input });
  }

  public snapshot(): DynamoDbCallCounts {
    const byOperation = Object.fromEntries([...this.#counts].sort(([a], [b]) => a.localeCompare(b)));
    return { byOperation, total: [...this.#counts.values()].reduce((sum, n) => sum + n, 0) };
  }

  /** Every call so far, in the order they were made (its length is a mark to count from). */
  public calls(): readonly DynamoDbCall[] {
    if (this.#calls === undefined) throw new CallLogDisabledError();
    return this.#calls;
  }
}

/** The tables a call's input names: TableName, or those of a batch or a transaction. */
function tablesOf(input: Readonly<Record<string, unknown>>): string[] {
  if (typeof input.TableName === 'string') return [input.TableName];
  if (typeof input.RequestItems === 'object' && input.RequestItems !== null) {
    return Object.keys(input.RequestItems);
  }
  if (Array.isArray(input.TransactItems)) {
    return [
      ...new Set(
        (input.TransactItems as Record<string, { TableName?: string } | undefined>[]).flatMap((item) =>
          Object.values(item).flatMap((action) =>
            action?.TableName === undefined ? [] : [action.TableName],
          ),
        ),
      ),
    ];
  }
  return [];
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
export function createCountingDynamoDb(
  config: DynamoDBClientConfig,
  options: CallCounterOptions = {},
): CountingDynamoDb {
  const client = new DynamoDBClient(config);
  const counter = new CallCounter(options);
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const operation = String(context.commandName ?? 'Unknown').replace(/Command$/, '');
      counter.count(operation, (args.input ?? {}) as Record<string, unknown>);
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
