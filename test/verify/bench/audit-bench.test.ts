import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { gunzipSync } from 'node:zlib';
import type { DynamoDBRecord } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DeadLetter } from '../../../lambdas/shared/stream/dead-letter.js';
import { AUDIT_LOG_MAPPING } from '../../../lib/constructs/audit-log.js';
import { flushJsonLinesWrites } from '../../../sandbox/adapters/json-lines-file.js';
import { LocalS3Client, type LocalS3Stats, localBucketDir } from '../../../sandbox/adapters/local-s3.js';
import { MemoryStreamSource } from '../../../sandbox/esm/memory-stream-source.js';
import { EsmRunner } from '../../../sandbox/esm/runner.js';
import {
  type AuditComparison,
  type AuditVariantFigures,
  auditProductFigures,
  auditVariantFigures,
  benchAuditHandler,
  DeliveryRecorder,
  describeAudit,
  replayAuditVariant,
} from '../../../verify/bench/audit-bench.js';
import { createPerRecordAuditHandler } from '../../../verify/bench/baselines/per-record-audit.js';
import { BENCHMARKS } from '../../../verify/bench/benchmarks.js';
import { testEsmConfig } from '../../support/esm-configs.js';
import { createStreamRecordFactory, lambdaContext, streamArn } from '../../support/stream-records.js';

const BUCKET = 'audit-bench-test';
const ENVIRONMENT = { CONSUMER_NAME: 'audit-log', AUDIT_BUCKET_NAME: BUCKET, ORDERS_TABLE_NAME: 'Orders' };

/** `count` records of the Orders table: each order placed, then paid, every fifth then deleted. */
function orderRecords(count: number): DynamoDBRecord[] {
  const factory = createStreamRecordFactory({ tableName: 'Orders' });
  const records: DynamoDBRecord[] = [];
  for (let index = 0; records.length < count; index += 1) {
    const placed = {
      orderId: `order-${index}`,
      customerId: `cust-${index % 7}`,
      status: 'PLACED',
      version: 1,
      totalCents: 1_500 + index,
      lines: [{ sku: `SKU-${String(index % 40).padStart(4, '0')}`, qty: 1 + (index % 3) }],
    };
    const paid = { ...placed, status: 'PAID', version: 2 };
    records.push(factory.insert(placed), factory.modify(placed, paid));
    if (index % 5 === 0) records.push(factory.remove(paid));
  }
  return records.slice(0, count);
}

/** `records` cut into batches of `size`. */
function cut(records: readonly DynamoDBRecord[], size: number): DynamoDBRecord[][] {
  const batches: DynamoDBRecord[][] = [];
  for (let start = 0; start < records.length; start += size) batches.push(records.slice(start, start + size));
  return batches;
}

/** Every file under `dir` with its size, by path relative to it. */
function filesUnder(dir: string): Map<string, number> {
  const files = new Map<string, number>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) {
      const path = join(entry.parentPath, entry.name);
      files.set(path.slice(dir.length + 1), statSync(path).size);
    }
  }
  return files;
}

function s3Stats(overrides: Partial<LocalS3Stats> = {}): LocalS3Stats {
  return {
    calls: {},
    totalCalls: 0,
    entries: 0,
    accepted: 0,
    failedEntries: 0,
    injectedCallFaults: 0,
    injectedEntryFaults: 0,
    objectsCreated: 0,
    preconditionFailed: 0,
    overwrites: 0,
    bytesStored: 0,
    lostResponses: 0,
    ...overrides,
  };
}

function variant(
  batchSizes: readonly number[],
  puts: number,
  bytesStored: number,
  batchSize = 100,
): AuditVariantFigures {
  return auditVariantFigures({
    batchSize,
    batchSizes,
    s3: s3Stats({ calls: { PutObject: puts }, objectsCreated: puts, bytesStored }),
  });
}

/** Batch sizes of `records` records cut at `size`. */
function sizes(records: number, size: number): number[] {
  return Array.from({ length: Math.ceil(records / size) }, (_unused, i) =>
    Math.min(size, records - i * size),
  );
}

describe('the audit benchmark figures', () => {
  it('counts PUTs, objects and bytes per 1,000 records, records per PUT and full batches', () => {
    // Act
    const figures = variant([1000, 1000, 1000, 950], 4, 380_000, 1000);

    // Assess
    expect(figures).toEqual({
      batchSize: 1000,
      records: 3_950,
      batches: 4,
      fullBatches: 3,
      puts: 4,
      objects: 4,
      bytesStored: 380_000,
      putsPer1000Records: 1,
      bytesPer1000Records: 96_203,
      averageRecordsPerPut: 987.5,
      averageObjectBytes: 95_000,
    });
    expect(variant([], 0, 0)).toMatchObject({ records: 0, putsPer1000Records: 0, averageRecordsPerPut: 0 });
  });

  it('compares a variant with the baseline: times fewer requests and bytes, and the targets, exactly', () => {
    // Prepare: 3,950 records in 40 batches of 100 (the last holds 50), and 4,000 records in 40 full ones.
    const perRecord = variant(sizes(3_950, 100), 3_950, 3_950_000);
    const perRecordFull = variant(sizes(4_000, 100), 4_000, 4_000_000);
    const outcome = { failedRecords: 0, deadLettered: 0 };

    // Act
    const partial = auditProductFigures(variant(sizes(3_950, 100), 40, 400_000), perRecord, outcome);
    const full = auditProductFigures(variant(sizes(4_000, 100), 40, 400_000), perRecordFull, outcome);
    const twoPerBatch = auditProductFigures(variant(sizes(4_000, 100), 80, 400_000), perRecordFull, outcome);

    // Assess: the partial last batch costs its PUT (98.8x over the run), while each full batch of 100 is one PUT
    // against 100: the target is per batch size, met by both.
    expect(partial.vsPerRecord).toEqual({ requests: 98.8, bytes: 9.9 });
    expect(partial.meetsTarget).toEqual({ onePutPerBatch: true, hundredTimesFewerRequests: true });
    expect(full.vsPerRecord).toEqual({ requests: 100, bytes: 10 });
    expect(full.meetsTarget).toEqual({ onePutPerBatch: true, hundredTimesFewerRequests: true });
    expect(twoPerBatch.meetsTarget).toEqual({ onePutPerBatch: false, hundredTimesFewerRequests: false });
    // A full batch of 50 is one PUT against 50: below the target, whatever else holds.
    const fifty = auditProductFigures(variant(sizes(4_000, 50), 80, 400_000, 50), perRecordFull, outcome);
    expect(fifty.meetsTarget).toEqual({ onePutPerBatch: true, hundredTimesFewerRequests: false });
    expect(auditProductFigures(variant([], 0, 0), perRecord, outcome).meetsTarget).toEqual({
      onePutPerBatch: false,
      hundredTimesFewerRequests: false,
    });
  });

  it('records what a function was delivered: batch sizes, eventIDs, records reported failed or thrown', async () => {
    // Prepare
    const [a, b, c] = orderRecords(3);
    const recorder = new DeliveryRecorder();
    const fn = recorder.wrap(async (event) =>
      event.Records.length === 2 ? { batchItemFailures: [{ itemIdentifier: 'x' }] } : undefined,
    );
    const failing = recorder.wrap(async () => {
      throw new Error('boom');
    });

    // Act
    await fn({ Records: [a!, b!] }, lambdaContext());
    await fn({ Records: [c!] }, lambdaContext());
    await expect(failing({ Records: [a!, c!] }, lambdaContext())).rejects.toThrow('boom');

    // Assess
    expect(recorder.batchSizes()).toEqual([2, 1, 2]);
    expect(recorder.eventIds()).toEqual([a!.eventID, b!.eventID, c!.eventID, a!.eventID, c!.eventID]);
    expect(recorder.failedRecords()).toBe(3);
  });
});

describe('the audit benchmark variants, on the same records', () => {
  let outputDir: string;

  beforeEach(() => {
    outputDir = mkdtempSync(join(tmpdir(), 'bench-audit-test-'));
  });

  afterEach(() => {
    rmSync(outputDir, { recursive: true, force: true });
  });

  it('stores one gzipped object per batch for the audit log and one plain object per record for the baseline', async () => {
    // Prepare: 250 records in batches of 100.
    const records = orderRecords(250);
    const batches = cut(records, 100);
    const letters: DeadLetter[] = [];
    const ourDir = join(outputDir, 'batch-100');
    const baselineDir = join(outputDir, 'per-record');

    // Act
    const ours = await replayAuditVariant({
      outputDir: ourDir,
      bucket: BUCKET,
      batchSize: 100,
      batches,
      functionName: 'audit-log-test',
      build: (s3) => benchAuditHandler({ env: ENVIRONMENT, s3, outputDir: ourDir, letters }),
    });
    const baseline = await replayAuditVariant({
      outputDir: baselineDir,
      bucket: BUCKET,
      batchSize: 100,
      batches,
      functionName: 'per-record-test',
      build: (s3) => createPerRecordAuditHandler({ client: s3, bucket: BUCKET }),
    });

    // Assess: ceil(250 / 100) = 3 PUTs and objects for ours, 250 for the baseline.
    expect(ours.figures).toMatchObject({ records: 250, batches: 3, fullBatches: 2, puts: 3, objects: 3 });
    expect(baseline.figures).toMatchObject({ records: 250, batches: 3, puts: 250, objects: 250 });
    expect(ours.failedRecords + baseline.failedRecords + letters.length).toBe(0);
    // Assess: the bytes are those of the files stored, each object of ours the batch's lines, gzipped.
    const ourFiles = filesUnder(localBucketDir(ourDir, BUCKET));
    const baselineFiles = filesUnder(localBucketDir(baselineDir, BUCKET));
    const total = (files: Map<string, number>): number => [...files.values()].reduce((a, b) => a + b, 0);
    expect(ourFiles.size).toBe(3);
    expect(ours.figures.bytesStored).toBe(total(ourFiles));
    expect(baselineFiles.size).toBe(250);
    expect(baseline.figures.bytesStored).toBe(total(baselineFiles));
    const lines = [...ourFiles.keys()]
      .sort()
      .map((key) => gunzipSync(readFileSync(join(localBucketDir(ourDir, BUCKET), key))).toString('utf8'))
      .map((body) =>
        body
          .trimEnd()
          .split('\n')
          .map((line) => (JSON.parse(line) as { eventId: string }).eventId),
      );
    expect(lines.map((batch) => batch.length).sort((x, y) => x - y)).toEqual([50, 100, 100]);
    expect(lines.flat().sort()).toEqual(records.map((record) => record.eventID).sort());
    expect(baseline.figures.bytesStored).toBe(
      records.reduce((sum, record) => sum + Buffer.byteLength(JSON.stringify(record)), 0),
    );
    // Assess: per 1,000 records, 12 PUTs against 1,000, and gzip stores fewer bytes than plain JSON.
    const compared = auditProductFigures(ours.figures, baseline.figures, {
      failedRecords: 0,
      deadLettered: 0,
    });
    expect(compared.putsPer1000Records).toBe(12);
    expect(baseline.figures.putsPer1000Records).toBe(1000);
    expect(compared.vsPerRecord.requests).toBe(83.3);
    expect(compared.vsPerRecord.bytes).toBeGreaterThan(1);
    expect(compared.meetsTarget).toEqual({ onePutPerBatch: true, hundredTimesFewerRequests: true });
  });

  it('makes one PUT per batch the event source mapping delivers at the deployed batch size', async () => {
    // Prepare: the audit log's mapping on an in-memory stream; 250 records there at start, 130 more later.
    const records = orderRecords(380);
    const source = new MemoryStreamSource().addShard('shard-1').append('shard-1', ...records.slice(0, 250));
    const s3 = new LocalS3Client({ outputDir, buckets: [BUCKET] });
    const recorder = new DeliveryRecorder();
    const letters: DeadLetter[] = [];
    const config = testEsmConfig({
      consumerName: 'audit-log',
      batchSize: AUDIT_LOG_MAPPING.batchSize,
      // The deployed window, shortened: the test waits for each batch.
      maximumBatchingWindowMs: 50,
      functionTimeoutMs: 60_000,
    });
    const runner = new EsmRunner({
      mappings: [
        {
          config,
          streamArn: streamArn('Orders'),
          functionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:audit-log',
          source,
          fn: recorder.wrap(benchAuditHandler({ env: ENVIRONMENT, s3, outputDir, letters })),
          onFailure: async () => undefined,
        },
      ],
      pollIntervalMs: 10,
      shardDiscoveryIntervalMs: 10,
    });
    const delivered = async (count: number): Promise<void> => {
      while (recorder.eventIds().length < count) await sleep(5);
    };

    // Act
    runner.start();
    try {
      await delivered(250);
      source.append('shard-1', ...records.slice(250));
      await delivered(380);
      await runner.waitUntilDrained({ timeoutMs: 10_000, quietMs: 50 });
    } finally {
      await runner.stop();
      await flushJsonLinesWrites();
    }

    // Assess: the records came in two arrivals, so two batches, each one PUT.
    const figures = auditVariantFigures({
      batchSize: AUDIT_LOG_MAPPING.batchSize,
      batchSizes: recorder.batchSizes(),
      s3: s3.stats(),
    });
    expect(recorder.batchSizes()).toEqual([250, 130]);
    expect(figures).toMatchObject({ records: 380, batches: 2, fullBatches: 0, puts: 2, objects: 2 });
    expect(figures.averageRecordsPerPut).toBe(190);
    expect(figures.bytesStored).toBe(
      [...filesUnder(localBucketDir(outputDir, BUCKET)).values()].reduce((a, b) => a + b, 0),
    );
    expect(recorder.failedRecords() + letters.length).toBe(0);
  });
});

describe('the audit benchmark report', () => {
  it('describes the comparison in a headline, one line per variant and the targets', () => {
    // Prepare
    const perRecord: AuditVariantFigures = variant(sizes(3_950, 100), 3_950, 3_950_000);
    const outcome = { failedRecords: 0, deadLettered: 0 };
    const comparison: AuditComparison = {
      unit: 'calls per 1,000 records',
      workload: {
        orders: 1_000,
        cancelEvery: 10,
        deleteEvery: 20,
        records: 3_950,
        inserts: 1_000,
        modifies: 2_900,
        removes: 50,
        failedWrites: 0,
        writeSeconds: 12.5,
      },
      deployed: {
        ...auditProductFigures(variant([1000, 1000, 1000, 950], 4, 380_000, 1000), perRecord, outcome),
        batchingWindowMs: 60_000,
        batchSizes: [1000, 1000, 1000, 950],
      },
      batch100: auditProductFigures(variant(sizes(3_950, 100), 40, 400_000), perRecord, outcome),
      perRecord,
    };

    // Act
    const lines = describeAudit(comparison).split('\n');

    // Assess
    expect(lines).toHaveLength(8);
    expect(lines[0]).toContain(
      '987.5x fewer PUTs than one per record at the deployed mapping (batch size 1000',
    );
    expect(lines[1]).toMatch(
      /^ {2}deployed +1\.0 PUTs per 1,000 records \(4 objects, 987\.5 records per PUT/,
    );
    expect(lines[2]).toMatch(
      /^ {2}batch 100 +10\.1 PUTs per 1,000 records .*98\.8x fewer requests, 9\.9x fewer bytes$/,
    );
    expect(lines[3]).toMatch(/^ {2}per record +1000\.0 PUTs per 1,000 records/);
    expect(lines[4]).toBe('  target met: deployed: one PUT per batch (4 PUTs, 4 batches)');
    expect(lines[7]).toMatch(
      /^ {2}target met: batch 100: at least 100x fewer requests .*partial batches included: 98\.8x\)$/,
    );
  });

  it('is in the registry, after search', () => {
    const names = BENCHMARKS.map((benchmark) => benchmark.name);
    expect(names.indexOf('audit')).toBe(names.indexOf('search') + 1);
  });
});
