import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TRAFFIC_SKUS } from '../../../sandbox/traffic.js';
import { BENCHMARKS } from '../../../verify/bench/benchmarks.js';
import {
  callsPer1000Records,
  describeFanout,
  type FanoutComparison,
  type FanoutSideFigures,
  fanoutBenchmark,
  sideFigures,
} from '../../../verify/bench/fanout-bench.js';
import { benchOrderLines, benchStatusPath, STOCK_PER_SKU } from '../../../verify/bench/workload.js';

function figures(total: number, overrides: Partial<FanoutSideFigures> = {}): FanoutSideFigures {
  return sideFigures({
    records: 1_000,
    invocations: 10,
    calls: { sns: total / 2, ses: total / 4, sqs: total / 4, dynamodb: 0 },
    dynamodb: { byOperation: {}, total: 0 },
    handlerMs: 500,
    ...overrides,
  });
}

describe('the fan-out benchmark figures', () => {
  it('counts calls per 1,000 records by service, with their total', () => {
    // Act
    const per = callsPer1000Records({ sns: 391, ses: 51, sqs: 112, dynamodb: 140, total: 694 }, 3_900);

    // Assess
    expect(per).toEqual({ sns: 100.3, ses: 13.1, sqs: 28.7, dynamodb: 35.9, total: 177.9 });
    expect(callsPer1000Records({ sns: 1, ses: 1, sqs: 1, dynamodb: 1, total: 4 }, 0).total).toBe(0);
  });

  it('adds up one side: total calls, calls per 1,000 records, records per second in the handler', () => {
    // Act
    const side = sideFigures({
      records: 3_900,
      invocations: 40,
      calls: { sns: 391, ses: 51, sqs: 112, dynamodb: 140 },
      dynamodb: { byOperation: { BatchGetItem: 69, TransactWriteItems: 71 }, total: 140 },
      handlerMs: 2_000,
    });

    // Assess
    expect(side).toEqual({
      records: 3_900,
      invocations: 40,
      calls: { sns: 391, ses: 51, sqs: 112, dynamodb: 140, total: 694 },
      callsPer1000Records: { sns: 100.3, ses: 13.1, sqs: 28.7, dynamodb: 35.9, total: 177.9 },
      dynamodbByOperation: { BatchGetItem: 69, TransactWriteItems: 71 },
      handlerMs: 2_000,
      recordsPerSecond: 1_950,
    });
  });

  it('gives every order 1-3 distinct traffic SKUs of 1-3 units, the same for the same order', () => {
    for (let index = 0; index < 200; index += 1) {
      const lines = benchOrderLines(index);
      expect(lines.length).toBe(1 + (index % 3));
      expect(new Set(lines.map((line) => line.sku)).size).toBe(lines.length);
      expect(lines.every((line) => TRAFFIC_SKUS.includes(line.sku) && line.qty >= 1 && line.qty <= 3)).toBe(
        true,
      );
      expect(benchOrderLines(index)).toEqual(lines);
    }
    // Nothing can be back-ordered: the whole workload orders less of a SKU than it has.
    expect(1_000 * 3 * 3).toBeLessThan(STOCK_PER_SKU);
  });

  it('cancels every n-th order after PAID and ships the others', () => {
    expect(benchStatusPath(0, 10)).toEqual(['PAID', 'SHIPPED', 'DELIVERED']);
    expect(benchStatusPath(9, 10)).toEqual(['PAID', 'CANCELLED']);
  });

  it('describes the comparison in a headline and one line per side', () => {
    // Prepare
    const comparison: FanoutComparison = {
      unit: 'downstream calls per 1,000 records',
      workload: {
        orders: 10,
        cancelEvery: 10,
        stockPerSku: 1,
        records: 1_000,
        failedWrites: 0,
        backordered: 0,
      },
      batched: { ...figures(100), endToEndRecordsPerSecond: 5, replay: figures(100) },
      perRecord: figures(2_000),
    };

    // Act
    const lines = describeFanout(comparison).split('\n');

    // Assess
    expect(lines).toHaveLength(3);
    expect(lines[0]).toContain('20.0x fewer downstream calls');
    expect(lines[1]).toMatch(
      /^ {2}batched +100 calls per 1,000 records \(SNS 50, SES 25, SQS 25, DynamoDB 0\)/,
    );
    expect(lines[2]).toMatch(/^ {2}per record +2000 calls per 1,000 records/);
  });

  it('is in the registry', () => {
    expect(BENCHMARKS.map((benchmark) => benchmark.name)).toContain('fanout');
  });
});

describe('the fanout benchmark, end to end on a small workload', () => {
  it('measures the real fan-out and the per-record baseline on the same records', async () => {
    // Prepare: 20 orders; the 10th and 20th are cancelled.
    const outputDir = mkdtempSync(join(tmpdir(), 'bench-fanout-test-'));
    const benchmark = fanoutBenchmark({ orders: 20 });

    // Act
    const result = await benchmark.run({
      ratePerSecond: 50,
      seconds: 60,
      seed: 1,
      outputDir,
      log: () => undefined,
    });

    // Assess: the workload's records (20 INSERT, 20 PAID, 18 SHIPPED, 18 DELIVERED, 2 CANCELLED).
    const fanout = result.comparisons?.fanout as FanoutComparison;
    expect(fanout.unit).toBe('downstream calls per 1,000 records');
    expect(fanout.workload).toEqual({
      orders: 20,
      cancelEvery: 10,
      stockPerSku: STOCK_PER_SKU,
      records: 78,
      failedWrites: 0,
      backordered: 0,
    });
    // Assess: the baseline makes one call per effect and per stock line, and two idempotency calls per record.
    const lines = Array.from({ length: 20 }, (_unused, i) => benchOrderLines(i).length).reduce(
      (a, b) => a + b,
    );
    const releasedLines = benchOrderLines(9).length + benchOrderLines(19).length;
    expect(fanout.perRecord.records).toBe(78);
    expect(fanout.perRecord.calls).toEqual({
      sns: 78,
      ses: 20 + 18 + 2,
      sqs: 20 + 2,
      dynamodb: 2 * 78 + lines + releasedLines,
      total: 78 + 40 + 22 + 2 * 78 + lines + releasedLines,
    });
    // Assess: the batched handler needs far fewer calls, the same live and replayed on the same batches.
    expect(fanout.batched.records).toBe(78);
    expect(fanout.batched.calls.total).toBeLessThan(fanout.perRecord.calls.total / 3);
    expect(fanout.batched.replay.calls).toEqual(fanout.batched.calls);
    expect(fanout.batched.dynamodbByOperation).toEqual({
      BatchGetItem: expect.any(Number),
      TransactWriteItems: expect.any(Number),
    });
    expect(Object.keys(fanout.batched.callsPer1000Records)).toEqual([
      'sns',
      'ses',
      'sqs',
      'dynamodb',
      'total',
    ]);
    expect(typeof fanout.batched.recordsPerSecond).toBe('number');
    expect(typeof fanout.batched.endToEndRecordsPerSecond).toBe('number');
    expect(typeof fanout.perRecord.recordsPerSecond).toBe('number');
    rmSync(outputDir, { recursive: true, force: true });
  });
});
