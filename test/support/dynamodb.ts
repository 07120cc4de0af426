import { randomUUID } from 'node:crypto';
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, paginateScan } from '@aws-sdk/lib-dynamodb';
import { inject } from 'vitest';
import { localClientConfig } from '../../sandbox/dynamodb-local/server.js';
import {
  createTables,
  deleteTables,
  type KnownTableId,
  type TableDefinition,
  tableDefinitionsFromTemplate,
  tableNameOf,
} from '../../sandbox/dynamodb-local/tables.js';
import { synthesizeApp } from '../../sandbox/synth.js';

/** Clients for the run's DynamoDB Local (started by test/support/global-setup.ts). */
export interface LocalDynamoDb {
  readonly endpoint: string;
  /** For any other client of the same endpoint, e.g. DynamoDBStreamsClient or code under test. */
  readonly config: DynamoDBClientConfig;
  readonly client: DynamoDBClient;
  /** Removes undefined values on marshalling, as the app's own document clients do. */
  readonly documentClient: DynamoDBDocumentClient;
}

/** The local names of the app's tables, created for one test file. */
export type TestTables = Readonly<Record<KnownTableId, string>> & {
  /** Deletes the tables; call it in afterAll. */
  drop(): Promise<void>;
};

/**
 * Reports template validation findings as warnings instead of failing the synth: the table definitions need the
 * templates (which the flag does not change), and a finding in an unrelated stack, e.g. the pipelines stack while it
 * is being built, must not break every test that needs a table. The app's own tests validate it strictly.
 */
const TABLES_ONLY_CONTEXT = { '@aws-cdk/core:validateAgainstDefaultRules': false };

let shared: LocalDynamoDb | undefined;
let appTables: TableDefinition[] | undefined;

/** The clients of this test file, created once per file. */
export function localDynamoDb(): LocalDynamoDb {
  if (shared === undefined) {
    const endpoint = inject('dynamodbEndpoint');
    const config: DynamoDBClientConfig = localClientConfig(endpoint);
    const client = new DynamoDBClient(config);
    shared = {
      endpoint,
      config,
      client,
      documentClient: DynamoDBDocumentClient.from(client, {
        marshallOptions: { removeUndefinedValues: true },
      }),
    };
  }
  return shared;
}

/**
 * Creates all the app's tables, as the synthesized template defines them, under a prefix unique to this call: test
 * files run in parallel against one DynamoDB Local and must never see each other's items.
 */
export async function createTestTables(): Promise<TestTables> {
  const { client } = localDynamoDb();
  appTables ??= synthesizeApp(TABLES_ONLY_CONTEXT).stacks.flatMap((stack) =>
    tableDefinitionsFromTemplate(stack.template),
  );
  const names = await createTables(client, appTables, { prefix: `test-${randomUUID()}` });
  const nameOf = (id: KnownTableId): string => tableNameOf(names, id);
  return {
    Orders: nameOf('Orders'),
    Votes: nameOf('Votes'),
    PollResults: nameOf('PollResults'),
    Inventory: nameOf('Inventory'),
    Idempotency: nameOf('Idempotency'),
    drop: () => deleteTables(client, names),
  };
}

/**
 * Every item of a table (strongly consistent), unmarshalled by the document client (big integers as BigInt) and
 * sorted by a canonical serialization, so that two scans of an unchanged table compare equal with `toEqual`.
 */
export async function scanAll(tableName: string): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  const pages = paginateScan(
    { client: localDynamoDb().documentClient },
    { TableName: tableName, ConsistentRead: true },
  );
  for await (const page of pages) {
    items.push(...(page.Items ?? []));
  }
  const keyed = items.map((item) => ({ item, key: canonicalJson(item) }));
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return keyed.map(({ item }) => item);
}

/** JSON with sorted object keys and sorted sets, covering the types the document client returns. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'bigint') {
      return `${v}n`;
    }
    if (v instanceof Set) {
      return [...v].map((member) => canonicalJson(member)).sort();
    }
    if (v instanceof Uint8Array) {
      return Buffer.from(v).toString('base64');
    }
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(
        Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)),
      );
    }
    return v;
  });
}
