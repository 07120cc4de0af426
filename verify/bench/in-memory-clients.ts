import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import type { SearchClient as OpenSearchClient } from '../../lambdas/shared/search/opensearch-client-options.js';
import type { DeadLetter } from '../../lambdas/shared/stream/dead-letter.js';
import type { StreamLogger, StreamMetrics } from '../../lambdas/shared/stream/stream-handler.js';
import type { CountingDynamoDb } from '../../sandbox/adapters/counting-dynamodb.js';
import type { LocalAdapters } from '../../sandbox/consumer-factory.js';
import { STOCK_PER_SKU } from './workload.js';

/**
 * Stand-ins that answer every call at once, in memory, with the success a first delivery gets from the real
 * service, for measuring the CPU a consumer's own code spends (cpu-per-record-bench.ts): the commands are built,
 * sent and their answers read as in Lambda, but nothing waits on I/O and nothing is written anywhere. Each answer
 * costs as little as it can (an id echoed per entry), since its CPU counts in the consumer's.
 *
 * - DynamoDB: every write succeeds; a read finds nothing (no ledger claim, no reservation, no stored tally yet),
 *   except a SKU's stock, which is STOCK_PER_SKU as the other benchmarks stock it: nothing is back-ordered.
 * - SNS PublishBatch, SQS SendMessageBatch, SES SendBulkEmail: every entry succeeds; SQS SendMessage too.
 * - S3 PutObject: created.
 * - OpenSearch: the index does not exist and is created, then every bulk item is indexed (201).
 * - Logger and metrics: counted and dropped (Lambda's JSON logs and EMF serialization are not measured).
 */

interface Sendable {
  readonly input?: unknown;
}

/** What every stand-in saw, by command (or request) name. */
export class CallTally {
  readonly #counts = new Map<string, number>();

  public add(name: string): void {
    this.#counts.set(name, (this.#counts.get(name) ?? 0) + 1);
  }

  public counts(): Readonly<Record<string, number>> {
    return Object.fromEntries([...this.#counts.entries()].sort(([a], [b]) => a.localeCompare(b)));
  }
}

function commandName(command: unknown): string {
  return (command as { constructor?: { name?: string } })?.constructor?.name ?? 'unknown';
}

function entriesOf(input: unknown, field: string): readonly { Id?: string }[] {
  const value = (input as Record<string, unknown> | undefined)?.[field];
  return Array.isArray(value) ? (value as { Id?: string }[]) : [];
}

/**
 * The items a DocumentClient BatchGet finds: for every key that is a SKU's (an `sku` that is not a reservation's
 * `#...` key), its stock item.
 */
function stockOf(input: unknown): Record<string, Record<string, unknown>[]> {
  const requestItems = (input as { RequestItems?: Record<string, { Keys?: Record<string, unknown>[] }> })
    ?.RequestItems;
  const responses: Record<string, Record<string, unknown>[]> = {};
  for (const [table, request] of Object.entries(requestItems ?? {})) {
    const items = (request.Keys ?? [])
      .filter((key) => typeof key.sku === 'string' && !key.sku.startsWith('#'))
      .map((key) => ({ sku: key.sku, available: STOCK_PER_SKU }));
    if (items.length > 0) responses[table] = items;
  }
  return responses;
}

/** The answer of one AWS command, by its name (DynamoDB, SNS, SQS, SES, S3 alike). */
export function inMemoryAnswer(command: Sendable & object): unknown {
  const name = commandName(command);
  switch (name) {
    case 'BatchGetCommand':
      return { Responses: stockOf(command.input), UnprocessedKeys: {} };
    case 'PublishBatchCommand':
      return {
        Successful: entriesOf(command.input, 'PublishBatchRequestEntries').map((entry) => ({
          Id: entry.Id,
          MessageId: `m-${entry.Id}`,
        })),
        Failed: [],
      };
    case 'SendMessageBatchCommand':
      return {
        Successful: entriesOf(command.input, 'Entries').map((entry) => ({
          Id: entry.Id,
          MessageId: `m-${entry.Id}`,
          MD5OfMessageBody: '',
        })),
        Failed: [],
      };
    case 'SendBulkEmailCommand':
      return {
        BulkEmailEntryResults: entriesOf(command.input, 'BulkEmailEntries').map((_entry, index) => ({
          Status: 'SUCCESS',
          MessageId: `m-${index}`,
        })),
      };
    case 'SendMessageCommand':
      return { MessageId: 'm' };
    case 'PutObjectCommand':
      return { ETag: '"bench"' };
    default:
      // Writes succeed; GetItem, Get and the like find nothing.
      return {};
  }
}

/** A client of any AWS service whose `send` answers in memory (inMemoryAnswer), counting the commands. */
export function inMemoryAwsClient<T>(tally: CallTally): T {
  return {
    send: async (command: Sendable & object): Promise<unknown> => {
      tally.add(commandName(command));
      return inMemoryAnswer(command);
    },
    destroy: (): void => undefined,
  } as unknown as T;
}

/**
 * An OpenSearch client whose transport answers in memory: HEAD of the index says it does not exist, a PUT creates
 * it, a `_bulk` indexes every item (one result per action line pair of the NDJSON body).
 */
export function inMemoryOpenSearchClient(tally: CallTally): OpenSearchClient {
  const request = async (params: {
    method?: string;
    path?: string;
    bulkBody?: unknown;
  }): Promise<{ body: unknown; statusCode: number }> => {
    const method = params.method ?? 'GET';
    tally.add(`${method} ${params.path?.endsWith('/_bulk') ? '_bulk' : (params.path ?? '/')}`);
    if (method === 'HEAD') return { body: false, statusCode: 404 };
    if (typeof params.bulkBody === 'string') {
      let lines = 0;
      for (let at = params.bulkBody.indexOf('\n'); at !== -1; at = params.bulkBody.indexOf('\n', at + 1)) {
        lines += 1;
      }
      const items = Array.from({ length: Math.floor(lines / 2) }, () => ({ index: { status: 201 } }));
      return { body: { errors: false, items }, statusCode: 200 };
    }
    return { body: { acknowledged: true }, statusCode: 200 };
  };
  return { transport: { request }, close: async () => undefined } as unknown as OpenSearchClient;
}

/** A logger that counts its lines and keeps none. */
export class CountingLogger implements StreamLogger {
  public lines = 0;

  public addContext(_context: Context): void {}

  public debug(..._input: unknown[]): void {
    this.lines += 1;
  }

  public info(..._input: unknown[]): void {
    this.lines += 1;
  }

  public warn(..._input: unknown[]): void {
    this.lines += 1;
  }

  public error(..._input: unknown[]): void {
    this.lines += 1;
  }
}

/** Metrics that sum their values per name and drop them at publish, as a flush would empty them. */
export class SummingMetrics implements StreamMetrics {
  readonly #totals = new Map<string, number>();

  public addMetric(name: string, _unit: unknown, value: number): void {
    this.#totals.set(name, (this.#totals.get(name) ?? 0) + value);
  }

  public publishStoredMetrics(): void {}

  public total(name: string): number {
    return this.#totals.get(name) ?? 0;
  }
}

/** Everything a consumer factory was given, to read back after the run. */
export interface InMemoryAdapterState {
  readonly calls: CallTally;
  readonly letters: DeadLetter[];
  readonly metrics: SummingMetrics;
  readonly logger: CountingLogger;
}

/**
 * The sandbox's LocalAdapters (what a ConsumerFactory composes a consumer from) filled with the in-memory stand-ins
 * above, so that the registry's real factories (sandbox/consumers.ts) build the consumers. The sandbox-only members
 * no factory calls (`queue`, `openSearch`) refuse use.
 */
export function inMemoryLocalAdapters(outputDir: string): {
  readonly adapters: LocalAdapters;
  readonly state: InMemoryAdapterState;
} {
  const state: InMemoryAdapterState = {
    calls: new CallTally(),
    letters: [],
    metrics: new SummingMetrics(),
    logger: new CountingLogger(),
  };
  const documentClient = inMemoryAwsClient<DynamoDBDocumentClient>(state.calls);
  const dynamoDb = {
    client: documentClient,
    documentClient,
    destroy: () => undefined,
  } as unknown as CountingDynamoDb;
  const refuse = (member: string) => (): never => {
    throw new Error(`The in-memory adapters have no ${member}`);
  };
  const adapters: LocalAdapters = {
    documentClient,
    outputDir,
    deadLetterQueue: () => ({ send: async (letter: DeadLetter) => void state.letters.push(letter) }),
    queue: refuse('queue'),
    logger: () => state.logger,
    metrics: () => state.metrics,
    clock: Date.now,
    sns: inMemoryAwsClient(state.calls),
    ses: inMemoryAwsClient(state.calls),
    sqs: inMemoryAwsClient(state.calls),
    s3: inMemoryAwsClient(state.calls),
    dynamoDb: () => dynamoDb,
    get openSearch(): never {
      return refuse('openSearch')();
    },
    openSearchClient: () => inMemoryOpenSearchClient(state.calls),
  };
  return { adapters, state };
}
