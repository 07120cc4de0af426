import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalOpenSearch } from '../../../sandbox/opensearch/local-opensearch.js';
import {
  createAwsSampleSearchSync,
  pythonJsonDumps,
} from '../../../verify/bench/baselines/aws-sample-search-sync.js';
import {
  awsSdkGlobalShim,
  awsSdkShim,
  loadDynamoDbStreamElasticsearch,
  SHIM_CREDENTIALS,
} from '../../../verify/bench/baselines/aws-sdk-v2-shim.js';
import { BENCHMARKS } from '../../../verify/bench/benchmarks.js';
import {
  describeSearch,
  indexMatchesTable,
  type SearchComparison,
  type SearchSideFigures,
  searchBenchmark,
  searchSideFigures,
  searchTargets,
} from '../../../verify/bench/search-bench.js';
import {
  type HistoryStep,
  parentsFirst,
  per1000Records,
  planOrderHistory,
} from '../../../verify/bench/workload.js';
import { createTestTables, localDynamoDb, type TestTables } from '../../support/dynamodb.js';

function side(
  requests: number,
  overrides: Partial<Parameters<typeof searchSideFigures>[0]> = {},
): SearchSideFigures {
  return searchSideFigures({
    index: 'orders',
    records: 3_950,
    batches: 40,
    requests,
    bytes: 1_000_000,
    bodyBytes: 800_000,
    handlerMs: 1_000,
    byRoute: {},
    documents: [],
    matchesTable: true,
    ...overrides,
  });
}

/** A stream record of the Orders table, as Lambda delivers it. */
function streamRecord(
  eventName: 'INSERT' | 'MODIFY' | 'REMOVE',
  orderId: string,
  sequence: number,
): DynamoDBRecord {
  const image = { orderId: { S: orderId }, status: { S: 'PAID' }, version: { N: '2' } };
  return {
    eventID: `event-${sequence}`,
    eventName,
    eventSourceARN: 'arn:aws:dynamodb:eu-west-1:000000000000:table/Orders/stream/2030-01-01T00:00:00.000',
    dynamodb: {
      Keys: { orderId: { S: orderId } },
      ...(eventName === 'REMOVE' ? {} : { NewImage: image }),
      ...(eventName === 'INSERT' ? {} : { OldImage: image }),
      SequenceNumber: String(100 + sequence),
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
  };
}

describe('the search benchmark workload', () => {
  it('plans every order placed, moved through its statuses and every 20th deleted, one step per order per tick', () => {
    // Act
    const plan = planOrderHistory({
      orders: 100,
      cancelEvery: 10,
      deleteEvery: 20,
      ordersPerTick: 25,
      seed: 1,
    });

    // Assess: 100 INSERTs, 90 x 3 + 10 x 2 MODIFYs, 5 REMOVEs.
    const steps = plan.flat();
    const count = (kind: HistoryStep['kind']): number => steps.filter((step) => step.kind === kind).length;
    expect(count('place')).toBe(100);
    expect(count('status')).toBe(90 * 3 + 10 * 2);
    expect(count('delete')).toBe(5);
    for (const tick of plan) {
      const orders = tick.map((step) => step.order);
      expect(new Set(orders).size).toBe(orders.length);
    }
    // Assess: each order's steps come in its lifecycle's order, the cancelled ones PAID then CANCELLED.
    const stepsOf = (order: number): string[] =>
      steps
        .filter((step) => step.order === order)
        .map((step) => (step.kind === 'status' ? step.to : step.kind));
    expect(stepsOf(0)).toEqual(['place', 'PAID', 'SHIPPED', 'DELIVERED']);
    expect(stepsOf(9)).toEqual(['place', 'PAID', 'CANCELLED']);
    expect(stepsOf(19)).toEqual(['place', 'PAID', 'CANCELLED', 'delete']);
    expect(
      planOrderHistory({ orders: 100, cancelEvery: 10, deleteEvery: 20, ordersPerTick: 25, seed: 1 }),
    ).toEqual(plan);
  });

  it('orders shards parents first, whatever order they are listed in', () => {
    // Act
    const ordered = parentsFirst([
      { shardId: 'c', parentShardId: 'b' },
      { shardId: 'b', parentShardId: 'a' },
      { shardId: 'a', parentShardId: 'trimmed' },
      { shardId: 'd' },
    ]);

    // Assess
    expect(ordered).toEqual(['a', 'b', 'c', 'd']);
  });
});

describe('the search benchmark figures', () => {
  it('counts requests and bytes per 1,000 records, per batch, and records per second in the handler', () => {
    // Act
    const figures = side(40, { bytes: 1_185_000, bodyBytes: 790_000, handlerMs: 2_000 });

    // Assess
    expect(figures).toMatchObject({
      requests: 40,
      requestsPer1000Records: 10.1,
      requestsPerBatch: 1,
      bytesPer1000Records: 300_000,
      bodyBytes: 790_000,
      bodyBytesPer1000Records: 200_000,
      handlerMs: 2_000,
      recordsPerSecond: 1_975,
      documents: { live: 0, tombstones: 0 },
    });
    expect(per1000Records(5, 0)).toBe(0);
  });

  it('checks the targets: one request per batch, and what that makes per 1,000 records with a partial last batch', () => {
    // Act
    const met = searchTargets(side(40), 100);
    const missed = searchTargets(side(80), 100);

    // Assess
    expect(met.map((target) => [target.target, target.actual, target.met])).toEqual([
      [1, 1, true],
      [10.1, 10.1, true],
    ]);
    expect(missed.every((target) => !target.met)).toBe(true);
  });

  it('compares an index with the table: versions, deleted orders, tombstones when required', () => {
    // Prepare
    const order = { version: 3 } as never;
    const history = { live: new Map([['a', order]]), deleted: new Map([['b', 2]]) };

    // Act and Assess
    const live = { orderId: 'a', version: 3, deleted: false };
    const tombstone = { orderId: 'b', version: 3, deleted: true };
    expect(indexMatchesTable([live, tombstone], history, true)).toBe(true);
    expect(indexMatchesTable([live], history, true)).toBe(false);
    expect(indexMatchesTable([live], history, false)).toBe(true);
    expect(indexMatchesTable([{ ...live, version: 2 }], history, false)).toBe(false);
    expect(indexMatchesTable([live, { orderId: 'b', version: 2, deleted: false }], history, false)).toBe(
      false,
    );
  });

  it('describes the comparison in a headline, one line per side and the targets', () => {
    // Prepare
    const ours = { ...side(40), documentsSent: 3_900, failedRecords: 0, deadLettered: 0 };
    const comparison: SearchComparison = {
      unit: 'requests per 1,000 records',
      workload: {
        orders: 1_000,
        cancelEvery: 10,
        deleteEvery: 20,
        records: 3_950,
        inserts: 1_000,
        modifies: 2_900,
        removes: 50,
        batches: 40,
        failedWrites: 0,
      },
      batchSize: 100,
      ours,
      baseline: side(4_000),
      awsSample: { ...side(3_950), failedResponses: 0 },
      ratioBaselineToOurs: 100,
      ratioAwsSampleToOurs: 98.8,
      targets: searchTargets(ours, 100),
    };

    // Act
    const lines = describeSearch(comparison).split('\n');

    // Assess
    expect(lines).toHaveLength(6);
    expect(lines[0]).toContain('100x fewer requests than dynamodb-stream-elasticsearch');
    expect(lines[1]).toMatch(/^ {2}ours +10\.1 requests per 1,000 records \(1 per batch\)/);
    expect(lines[2]).toMatch(/^ {2}baseline +1012\.7 requests per 1,000 records/);
    expect(lines[4]).toMatch(/^ {2}target met: ours: at most 1 request per batch/);
  });

  it('is in the registry, after fanout', () => {
    const names = BENCHMARKS.map((benchmark) => benchmark.name);
    expect(names.indexOf('search')).toBe(names.indexOf('fanout') + 1);
  });
});

describe('the AWS documentation sample', () => {
  it("serialises the document as Python's json.dumps does", () => {
    // Act
    const text = pythonJsonDumps({
      orderId: { S: 'a' },
      lines: { L: [{ N: '1' }, true, null] },
      name: 'Zoë €',
    });

    // Assess
    expect(text).toBe(
      '{"orderId": {"S": "a"}, "lines": {"L": [{"N": "1"}, true, null]}, "name": "Zo\\u00eb \\u20ac"}',
    );
  });

  it('sends one PUT of the raw new image per INSERT and MODIFY and one DELETE per REMOVE, never reading a status', async () => {
    // Prepare
    const sent: { method: string; url: string; body: string | undefined; contentType: string | undefined }[] =
      [];
    const fakeFetch: typeof fetch = async (input, init) => {
      sent.push({
        method: init?.method ?? 'GET',
        url: String(input),
        body: init?.body as string | undefined,
        contentType: (init?.headers as Record<string, string> | undefined)?.['Content-Type'],
      });
      return new Response('{"error":"whatever"}', { status: 500 });
    };
    const handler = createAwsSampleSearchSync({
      endpoint: 'http://os.local/',
      index: 'lambda-index',
      fetch: fakeFetch,
    });

    // Act
    const result = await handler({
      Records: [
        streamRecord('INSERT', 'a', 1),
        streamRecord('MODIFY', 'a', 2),
        streamRecord('REMOVE', 'b', 3),
      ],
    });

    // Assess
    expect(result).toBe('3 records processed.');
    expect(sent.map(({ method, url }) => `${method} ${url}`)).toEqual([
      'PUT http://os.local/lambda-index/_doc/a',
      'PUT http://os.local/lambda-index/_doc/a',
      'DELETE http://os.local/lambda-index/_doc/b',
    ]);
    expect(sent[0]?.body).toBe('{"orderId": {"S": "a"}, "status": {"S": "PAID"}, "version": {"N": "2"}}');
    expect(sent[0]?.contentType).toBe('application/json');
    expect(sent[2]?.body).toBeUndefined();
  });
});

describe('the AWS SDK v2 shim', () => {
  it('unmarshalls with v2 signature and hands out static credentials', () => {
    // Prepare
    const { DynamoDB } = awsSdkShim();
    const { config } = awsSdkGlobalShim();
    let failure: Error | null | undefined;

    // Act
    const item = DynamoDB.Converter.unmarshall({ orderId: { S: 'a' }, version: { N: '3' } });
    config.getCredentials((error) => {
      failure = error;
    });

    // Assess
    expect(item).toEqual({ orderId: 'a', version: 3 });
    expect(failure).toBeNull();
    expect(config.credentials).toMatchObject(SHIM_CREDENTIALS);
  });

  it('loads dynamodb-stream-elasticsearch without loading the AWS SDK v2', () => {
    // Act
    const module = loadDynamoDbStreamElasticsearch();

    // Assess
    expect(typeof module.pushStream).toBe('function');
    const cache = createRequire(import.meta.url).cache;
    expect(Object.keys(cache).filter((path) => /[\\/]node_modules[\\/]aws-sdk[\\/]/.test(path))).toEqual([]);
    expect(loadDynamoDbStreamElasticsearch()).toBe(module);
  });

  it("answers the package's requests against the local OpenSearch: index per upsert, exists then delete per REMOVE", async () => {
    // Prepare
    const server = await startLocalOpenSearch({ port: 0 });
    try {
      const { pushStream } = loadDynamoDbStreamElasticsearch();

      // Act
      await pushStream({
        event: { Records: [streamRecord('INSERT', 'a', 1), streamRecord('INSERT', 'b', 2)] },
        endpoint: server.url,
        index: 'baseline',
      });
      await pushStream({
        event: { Records: [streamRecord('REMOVE', 'b', 3)] },
        endpoint: server.url,
        index: 'baseline',
      });

      // Assess
      expect(server.stats().byRoute).toEqual({
        'PUT /{index}/_doc/{id}': 2,
        'HEAD /{index}/_doc/{id}': 1,
        'DELETE /{index}/_doc/{id}': 1,
      });
      expect([...server.documents('baseline').keys()]).toEqual(['a']);
      expect(server.documents('baseline').get('a')?.source).toEqual({
        orderId: 'a',
        status: 'PAID',
        version: 2,
      });
    } finally {
      await server.stop();
    }
  });
});

describe('the search benchmark, end to end on a small workload', () => {
  let tables: TestTables;
  let outputDir: string;

  beforeAll(async () => {
    tables = await createTestTables();
    outputDir = mkdtempSync(join(tmpdir(), 'bench-search-test-'));
  });

  afterAll(async () => {
    await tables.drop();
    rmSync(outputDir, { recursive: true, force: true });
  });

  it('gives every contestant the same batches and counts each one’s requests against one local server', async () => {
    // Prepare: 40 orders; the 10th, 20th, 30th and 40th cancelled, the 20th and 40th deleted.
    const benchmark = searchBenchmark({
      orders: 40,
      dynamodb: { endpoint: localDynamoDb().endpoint, ordersTable: tables.Orders },
    });

    // Act
    const result = await benchmark.run({
      ratePerSecond: 50,
      seconds: 60,
      seed: 7,
      outputDir,
      log: () => undefined,
    });

    // Assess: the workload's records: 40 INSERTs, 36 x 3 + 4 x 2 MODIFYs, 2 REMOVEs, in batches of 100.
    const search = result.comparisons?.search as SearchComparison;
    expect(search.unit).toBe('requests per 1,000 records');
    expect(search.workload).toEqual({
      orders: 40,
      cancelEvery: 10,
      deleteEvery: 20,
      records: 158,
      inserts: 40,
      modifies: 116,
      removes: 2,
      batches: search.workload.batches,
      failedWrites: 0,
    });
    expect(search.workload.batches).toBeGreaterThanOrEqual(2);
    // Assess: ours one _bulk per batch; the baseline one index per upsert, exists + delete per REMOVE; the sample
    // one request per record. Every index ends up holding the table.
    expect(search.ours).toMatchObject({
      records: 158,
      requests: search.workload.batches,
      requestsPerBatch: 1,
      byRoute: { 'POST /{index}/_bulk': search.workload.batches },
      documents: { live: 38, tombstones: 2 },
      matchesTable: true,
      documentsSent: expect.any(Number),
      failedRecords: 0,
      deadLettered: 0,
    });
    expect(search.baseline).toMatchObject({
      requests: 40 + 116 + 2 * 2,
      byRoute: {
        'PUT /{index}/_doc/{id}': 156,
        'HEAD /{index}/_doc/{id}': 2,
        'DELETE /{index}/_doc/{id}': 2,
      },
      documents: { live: 38, tombstones: 0 },
      matchesTable: true,
    });
    expect(search.awsSample).toMatchObject({
      requests: 158,
      byRoute: { 'PUT /{index}/_doc/{id}': 156, 'DELETE /{index}/_doc/{id}': 2 },
      documents: { live: 38, tombstones: 0 },
      matchesTable: true,
      failedResponses: 0,
    });
    expect(search.ours.documentsSent).toBeLessThanOrEqual(158);
    expect(search.ours.documentsSent).toBeGreaterThanOrEqual(40);
    expect(search.ratioBaselineToOurs).toBeGreaterThan(10);
    expect(search.targets[0]?.met).toBe(true);
    for (const figures of [search.ours, search.baseline, search.awsSample]) {
      expect(figures.bytes).toBeGreaterThan(figures.bodyBytes);
      expect(figures.bodyBytes).toBeGreaterThan(0);
      expect(typeof figures.recordsPerSecond).toBe('number');
    }
  });
});
