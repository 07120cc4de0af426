import type { DynamoDBRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { MemoryStreamSource } from '../../sandbox/esm/memory-stream-source.js';
import { EsmRunner } from '../../sandbox/esm/runner.js';
import type { SettledRecords } from '../../sandbox/esm/types.js';
import { LagRecorder, percentile, writeTimeMs } from '../../sandbox/lag.js';
import { testEsmConfig } from '../support/esm-configs.js';
import { HANG_TIMEOUT_MS } from '../support/hang.js';
import { createStreamRecordFactory } from '../support/stream-records.js';

const PROBE = 'test-probe';

/** Three order records written at 12:00:00.000, .100 and .200 (updatedAt), sequence numbers ...1 to ...3. */
function threeRecords(): DynamoDBRecord[] {
  const records = createStreamRecordFactory();
  return [0, 100, 200].map((ms, i) =>
    records.insert({
      orderId: `o-${i}`,
      updatedAt: new Date(Date.UTC(2024, 4, 1, 12, 0, 0, ms)).toISOString(),
    }),
  );
}

const seq = (record: DynamoDBRecord | undefined): string => record?.dynamodb?.SequenceNumber ?? '';

function settled(
  records: readonly DynamoDBRecord[],
  atMs: number,
  overrides: Partial<SettledRecords> = {},
): SettledRecords {
  return { consumerName: PROBE, shardId: 'shard-1', outcome: 'processed', records, atMs, ...overrides };
}

describe('writeTimeMs', () => {
  const records = createStreamRecordFactory({ approximateCreationDateTime: 1_714_564_800 });

  it.each([
    [
      'updatedAt of an order',
      records.insert({ orderId: 'o', updatedAt: '2024-05-01T12:00:01.234Z' }),
      1_714_564_801_234,
    ],
    [
      'votedAt of a vote',
      records.modify(
        { orderId: 'v', votedAt: '2024-05-01T11:00:00.000Z' },
        { orderId: 'v', votedAt: '2024-05-01T12:00:02.500Z' },
      ),
      1_714_564_802_500,
    ],
    [
      'ApproximateCreationDateTime of a REMOVE',
      records.remove({ orderId: 'o', updatedAt: '2020-01-01T00:00:00Z' }),
      1_714_564_800_000,
    ],
    [
      'ApproximateCreationDateTime when updatedAt is not a time',
      records.insert({ orderId: 'o', updatedAt: 'soon' }),
      1_714_564_800_000,
    ],
  ])('reads %s', (_name, record, expected) => {
    expect(writeTimeMs(record)).toBe(expected);
  });
});

describe('percentile', () => {
  it.each([
    [[], 50, null],
    [[7], 99, 7],
    [[1, 2, 3, 4], 50, 2],
    [[1, 2, 3, 4], 100, 4],
    [Array.from({ length: 100 }, (_, i) => i + 1), 99, 99],
    [Array.from({ length: 1000 }, (_, i) => i + 1), 99, 990],
  ])('of %j at p%d is %s', (sorted, p, expected) => {
    expect(percentile(sorted, p)).toBe(expected);
  });
});

describe('LagRecorder', () => {
  const completedAt = Date.UTC(2024, 4, 1, 12, 0, 1, 0);

  it('samples each processed record at the time the runner settled it', () => {
    // Prepare
    const records = threeRecords();
    const recorder = new LagRecorder();

    // Act
    recorder.onSettled(settled(records.slice(0, 1), completedAt));
    recorder.onSettled(settled(records.slice(1), completedAt + 50));

    // Assess
    expect(recorder.samples(PROBE)).toEqual([1000, 950, 850]);
    expect(recorder.summary(PROBE)).toEqual({ lagSamples: 3, lagP50Ms: 950, lagP99Ms: 1000, lagMaxMs: 1000 });
  });

  it('samples nothing from records handed to on-failure, and keeps consumers apart', () => {
    // Prepare
    const records = threeRecords();
    const recorder = new LagRecorder();

    // Act
    recorder.onSettled(settled(records, completedAt, { outcome: 'on-failure' }));
    recorder.onSettled(settled(records.slice(0, 1), completedAt, { consumerName: 'other' }));

    // Assess
    expect(recorder.samples(PROBE)).toEqual([]);
    expect(recorder.summary(PROBE)).toEqual({
      lagSamples: 0,
      lagP50Ms: null,
      lagP99Ms: null,
      lagMaxMs: null,
    });
    expect(recorder.samples('other')).toEqual([1000]);
  });

  it('samples a record the runner delivered twice once, when an invocation first completed it', async () => {
    // Prepare: the first invocation fails at the second record; the retry of the rest succeeds.
    const records = threeRecords();
    const source = new MemoryStreamSource().addShard('shard-1').append('shard-1', ...records);
    source.close('shard-1');
    const recorder = new LagRecorder();
    let calls = 0;
    const runner = new EsmRunner({
      mappings: [
        {
          config: testEsmConfig({ consumerName: PROBE }),
          streamArn: 'arn:aws:dynamodb:local:000000000000:table/orders/stream/memory',
          functionArn: `arn:aws:lambda:local:000000000000:function:${PROBE}`,
          source,
          fn: async () => {
            calls += 1;
            return calls === 1 ? { batchItemFailures: [{ itemIdentifier: seq(records[1]) }] } : undefined;
          },
          onFailure: async () => undefined,
        },
      ],
      pollIntervalMs: 10,
      shardDiscoveryIntervalMs: 10,
      clock: () => completedAt,
      onSettled: recorder.onSettled,
    });

    // Act
    runner.start();
    const drained = await runner.waitUntilDrained({ timeoutMs: HANG_TIMEOUT_MS, quietMs: 100 });
    await runner.stop();

    // Assess
    expect(drained).toBe(true);
    expect(calls).toBe(2);
    expect(recorder.samples(PROBE)).toEqual([1000, 900, 800]);
  });
});
