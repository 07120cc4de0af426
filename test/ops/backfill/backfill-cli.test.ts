import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOpenSearchClient } from '../../../lambdas/shared/search/opensearch-client.js';
import { OpenSearchIndex } from '../../../lambdas/shared/search/opensearch-index.js';
import { ORDERS_INDEX, toOrderDocument } from '../../../lambdas/shared/search/orders-index.js';
import { type LocalOpenSearch, startLocalOpenSearch } from '../../../sandbox/opensearch/local-opensearch.js';
import { type CliRun, runTsxCli } from '../../support/cli.js';
import { createTestTables, localDynamoDb, type TestTables } from '../../support/dynamodb.js';
import { orderItem } from './order-items.js';

/** Runs `npm run backfill:search -- <args>`; no region in the environment, so the CLI's own check is what runs. */
function backfill(args: readonly string[]): Promise<CliRun> {
  return runTsxCli('ops/backfill/backfill.ts', args, {
    env: { ...process.env, AWS_REGION: '', AWS_DEFAULT_REGION: '' },
  });
}

describe('npm run backfill:search', () => {
  let tables: TestTables;
  let server: LocalOpenSearch;

  beforeAll(async () => {
    tables = await createTestTables();
    server = await startLocalOpenSearch({ port: 0 });
    const { documentClient } = localDynamoDb();
    await Promise.all(
      Array.from({ length: 12 }, (_unused, n) =>
        documentClient.send(new PutCommand({ TableName: tables.Orders, Item: orderItem(n, 1 + (n % 3)) })),
      ),
    );
  });

  afterAll(async () => {
    await server.stop();
    await tables.drop();
  });

  const common = (): string[] => [
    '--table',
    tables.Orders,
    '--endpoint',
    server.url,
    '--no-sign',
    '--dynamodb-endpoint',
    localDynamoDb().endpoint,
  ];

  it('answers a bad flag with exit code 2, naming the flag, and the usage', async () => {
    // Act
    const result = await backfill([
      '--table',
      'Orders',
      '--endpoint',
      'http://127.0.0.1:9200',
      '--no-sign',
      '--segments',
      'x',
    ]);

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--segments must be an integer >= 1, got "x"');
    expect(result.stderr).toContain('Usage: npm run backfill:search');
  });

  it('refuses to sign without a region, naming --region', async () => {
    // Act
    const result = await backfill(['--table', 'Orders', '--endpoint', 'https://search.example.com']);

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--region is required');
  });

  it('backfills, then verifies without drift, then reports drift with exit code 1', async () => {
    // Act: the backfill, as an operator runs it against local endpoints.
    const written = await backfill([...common(), '--segments', '2', '--json']);

    // Assess: one JSON summary on stdout, progress on stderr, the index created and filled.
    expect(written.code).toBe(0);
    expect(JSON.parse(written.stdout)).toMatchObject({ mode: 'write', scanned: 12, indexed: 12, ok: true });
    expect(written.stderr).toMatch(/segments \(scanned\/indexed\): #0 \d+\/\d+, #1 \d+\/\d+ \| 12 scanned/);
    expect(server.documents(ORDERS_INDEX).size).toBe(12);

    // Act: verify, in text.
    const clean = await backfill([...common(), '--verify']);

    // Assess
    expect(clean.code).toBe(0);
    expect(clean.stdout).toContain('12 in sync');
    expect(clean.stdout).toContain('no drift');

    // Prepare: a live document of an order that is not in the table (a missed delete).
    const client = createOpenSearchClient({ endpoint: server.url, sign: false });
    await new OpenSearchIndex(client).bulkIndex([{ document: toOrderDocument(orderItem(99, 4) as never) }]);
    await client.close();

    // Act
    const drifted = await backfill([...common(), '--verify', '--json']);

    // Assess
    expect(drifted.code).toBe(1);
    expect(JSON.parse(drifted.stdout).drift).toMatchObject({
      orphaned: [{ orderId: orderItem(99, 4).orderId, indexVersion: 4 }],
      driftCount: 1,
    });
  });

  it('does a dry run without writing', async () => {
    // Prepare
    server.resetStats();

    // Act
    const result = await backfill([...common(), '--dry-run']);

    // Assess
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('would write 12 orders');
    expect(server.stats().requests).toBe(0);
  });
});
