import { PublishBatchCommand } from '@aws-sdk/client-sns';
import { BatchGetCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { inMemoryAnswer } from '../../../verify/bench/in-memory-clients.js';
import { batchesOf, MemoryOrdersRepository, voteStreamRecords } from '../../../verify/bench/memory-stream.js';
import { applyOrderHistory, planOrderHistory, STOCK_PER_SKU } from '../../../verify/bench/workload.js';

const CLOCK = (): number => Date.UTC(2026, 0, 1);

describe('MemoryOrdersRepository', () => {
  it('records the history as INSERT, MODIFY and REMOVE records with the images DynamoDB would write', async () => {
    // Prepare
    const repository = new MemoryOrdersRepository('Orders', CLOCK);
    const plan = planOrderHistory({
      orders: 20,
      cancelEvery: 10,
      deleteEvery: 20,
      ordersPerTick: 5,
      seed: 1,
    });

    // Act
    const outcome = await applyOrderHistory({
      repository,
      plan,
      concurrency: 1,
      runId: 't',
      log: () => undefined,
    });

    // Assess
    const records = repository.stream.records();
    const { inserts, modifies, removes } = outcome.writes;
    expect(records).toHaveLength(inserts + modifies + removes);
    expect(records.filter((r) => r.eventName === 'INSERT')).toHaveLength(inserts);
    expect(records.filter((r) => r.eventName === 'REMOVE')).toHaveLength(removes);
    const modify = records.find((r) => r.eventName === 'MODIFY');
    expect(modify?.dynamodb?.OldImage?.version).toEqual({ N: '1' });
    expect(modify?.dynamodb?.NewImage?.version).toEqual({ N: '2' });
    expect(modify?.dynamodb?.Keys).toEqual({ orderId: modify?.dynamodb?.NewImage?.orderId });
    const sequence = records.map((r) => r.dynamodb?.SequenceNumber ?? '');
    expect([...sequence].sort()).toEqual(sequence);
  });
});

describe('voteStreamRecords', () => {
  it('makes a cast an INSERT, a change a MODIFY with the old vote, a retraction a REMOVE', () => {
    // Act
    const records = voteStreamRecords(
      [
        [{ kind: 'cast', pollId: 'p', voterId: 'v', option: 'yes' }],
        [{ kind: 'change', pollId: 'p', voterId: 'v', option: 'no' }],
        [{ kind: 'retract', pollId: 'p', voterId: 'v' }],
      ],
      { clock: CLOCK },
    );

    // Assess
    expect(records.map((r) => r.eventName)).toEqual(['INSERT', 'MODIFY', 'REMOVE']);
    expect(records[1]?.dynamodb?.OldImage?.option).toEqual({ S: 'yes' });
    expect(records[1]?.dynamodb?.NewImage?.option).toEqual({ S: 'no' });
    expect(records[2]?.dynamodb?.Keys).toEqual({ pollId: { S: 'p' }, voterId: { S: 'v' } });
  });
});

describe('batchesOf', () => {
  it.each([
    [5, 2, [2, 2, 1]],
    [4, 2, [2, 2]],
    [0, 100, []],
  ])('cuts %d records into batches of %d', (count, size, expected) => {
    const batches = batchesOf(
      Array.from({ length: count }, (_, i) => i),
      size,
    );
    expect(batches.map((batch) => batch.length)).toEqual(expected);
  });
});

describe('inMemoryAnswer', () => {
  it('answers every batch entry as successful, by its id', () => {
    // Act
    const answer = inMemoryAnswer(
      new PublishBatchCommand({
        TopicArn: 't',
        PublishBatchRequestEntries: [
          { Id: 'a', Message: 'x' },
          { Id: 'b', Message: 'y' },
        ],
      }),
    );

    // Assess
    expect(answer).toEqual({
      Successful: [
        { Id: 'a', MessageId: 'm-a' },
        { Id: 'b', MessageId: 'm-b' },
      ],
      Failed: [],
    });
  });

  it('finds the stock of every SKU and nothing else', () => {
    // Act
    const answer = inMemoryAnswer(
      new BatchGetCommand({
        RequestItems: {
          Inventory: { Keys: [{ sku: 'SKU-1' }, { sku: '#reservation#o-1' }] },
          Idempotency: { Keys: [{ id: 'ledger' }] },
        },
      }),
    );

    // Assess
    expect(answer).toEqual({
      Responses: { Inventory: [{ sku: 'SKU-1', available: STOCK_PER_SKU }] },
      UnprocessedKeys: {},
    });
  });
});
