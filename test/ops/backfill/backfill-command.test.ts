import 'aws-sdk-client-mock-vitest/extend';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createOpenSearchClient } from '../../../lambdas/shared/search/opensearch-client.js';
import { OpenSearchIndex } from '../../../lambdas/shared/search/opensearch-index.js';
import { ORDERS_INDEX, toOrderDocument } from '../../../lambdas/shared/search/orders-index.js';
import { STAGE_OUTPUTS } from '../../../lib/stage-outputs.js';
import { runOpsCli } from '../../../ops/ops-cli.js';
import { type LocalOpenSearch, startLocalOpenSearch } from '../../../sandbox/opensearch/local-opensearch.js';
import {
  captureIo,
  createDynamoDbClient,
  createFakeAws,
  createSqsClient,
  depsFor,
  outputValue,
  REGION,
  STAGE,
} from '../ops-fixtures.js';
import { orderItem } from './order-items.js';

const ORDERS_TABLE = outputValue(STAGE_OUTPUTS.stateful.ordersTableName);
const SEARCH_ENDPOINT = outputValue(STAGE_OUTPUTS.stateful.searchEndpoint);

/** The scan each segment answers: segment 0 orders 0 and 1, segment 1 order 2. */
const SEGMENTS = new Map([
  [0, [orderItem(0, 1), orderItem(1, 2)]],
  [1, [orderItem(2, 3)]],
]);

describe('npm run ops -- backfill search', () => {
  let server: LocalOpenSearch;
  const dynamoDb = createDynamoDbClient();
  const dynamo = mockClient(dynamoDb);

  beforeAll(async () => {
    server = await startLocalOpenSearch({ port: 0 });
  });

  afterAll(async () => {
    await server.stop();
  });

  beforeEach(() => {
    dynamo.reset();
    dynamo.on(ScanCommand).callsFake((input: { Segment: number }) => ({
      Items: (SEGMENTS.get(input.Segment) ?? []).map((item) => marshall(item)),
    }));
  });

  /** The fake AWS side: the mocked DynamoDB client, an unsigned client of the local OpenSearch. */
  const fakeAws = () =>
    createFakeAws(createSqsClient(), {
      dynamoDb,
      searchClient: () => createOpenSearchClient({ endpoint: server.url, sign: false }),
    });

  it("backfills the stage's Orders table into its search endpoint, and prints the JSON summary", async () => {
    // Prepare
    const fake = fakeAws();
    const io = captureIo();

    // Act
    const code = await runOpsCli(
      ['backfill', 'search', '--stage', STAGE, '--segments', '2', '--json'],
      io,
      depsFor(fake),
    );

    // Assess: the names and the region of the stage, each segment scanned exactly, the index filled.
    expect(code).toBe(0);
    expect(fake.searchClientsAsked).toEqual([{ endpoint: SEARCH_ENDPOINT, region: REGION }]);
    const scans = dynamo.commandCalls(ScanCommand).map((call) => call.args[0].input);
    // toEqual: the paginator sends ExclusiveStartKey undefined on a first page, which the SDK leaves out.
    expect(scans.sort((a, b) => (a.Segment ?? 0) - (b.Segment ?? 0))).toEqual(
      [0, 1].map((segment) => ({
        TableName: ORDERS_TABLE,
        Segment: segment,
        TotalSegments: 2,
        ConsistentRead: true,
        Limit: 100,
      })),
    );
    expect(server.documents(ORDERS_INDEX).size).toBe(3);
    expect(JSON.parse(io.out())).toMatchObject({
      stage: STAGE,
      endpoint: SEARCH_ENDPOINT,
      mode: 'write',
      table: ORDERS_TABLE,
      segments: 2,
      scanned: 3,
      indexed: 3,
      orders: 3,
      failed: [],
      invalid: [],
      ok: true,
    });
    expect(io.err()).toContain(`Resolving stage ${STAGE} from its stacks...`);
    expect(io.err()).toContain(`Backfilling ${ORDERS_TABLE} into ${SEARCH_ENDPOINT} (2 segments)...`);
    expect(fake.closed).toBe(1);
  });

  it('does a dry run without a request to the index', async () => {
    // Prepare
    const fake = fakeAws();
    const io = captureIo();
    server.resetStats();

    // Act
    const code = await runOpsCli(['backfill', 'search', '--stage', STAGE, '--dry-run'], io, depsFor(fake));

    // Assess
    expect(code).toBe(0);
    expect(io.out()).toContain(`Dry run of ${ORDERS_TABLE}: would write 3 orders`);
    expect(dynamo).toHaveReceivedCommandTimes(ScanCommand, 4);
    expect(server.stats().requests).toBe(0);
  });

  it('reports drift with --verify and exit code 1', async () => {
    // Prepare: the three orders are indexed, and a live document of an order the table lacks (a missed delete).
    const client = createOpenSearchClient({ endpoint: server.url, sign: false });
    const indexed = [...SEGMENTS.values()].flat().concat(orderItem(99, 4));
    await new OpenSearchIndex(client).bulkIndex(
      indexed.map((item) => ({ document: toOrderDocument(item as never) })),
    );
    await client.close();
    const fake = fakeAws();
    const io = captureIo();

    // Act
    const code = await runOpsCli(
      ['backfill', 'search', '--stage', STAGE, '--verify', '--json'],
      io,
      depsFor(fake),
    );

    // Assess
    expect(code).toBe(1);
    expect(fake.searchClientsAsked).toEqual([{ endpoint: SEARCH_ENDPOINT, region: REGION }]);
    expect(JSON.parse(io.out())).toMatchObject({
      stage: STAGE,
      mode: 'verify',
      table: ORDERS_TABLE,
      drift: { orphaned: [{ orderId: orderItem(99, 4).orderId, indexVersion: 4 }], driftCount: 1 },
      ok: false,
    });
    expect(io.err()).toContain(`Verifying ${ORDERS_TABLE} against ${SEARCH_ENDPOINT} (4 segments)...`);
  });

  it('answers a failed scan with exit code 1 and the error on stderr', async () => {
    // Prepare
    dynamo.on(ScanCommand).rejects(
      Object.assign(new Error('not authorized to perform dynamodb:Scan'), {
        name: 'AccessDeniedException',
      }),
    );
    const io = captureIo();

    // Act
    const code = await runOpsCli(
      ['backfill', 'search', '--stage', STAGE, '--dry-run'],
      io,
      depsFor(fakeAws()),
    );

    // Assess
    expect(code).toBe(1);
    expect(io.err()).toContain('AccessDeniedException: not authorized to perform dynamodb:Scan');
    expect(io.out()).toBe('');
  });
});
