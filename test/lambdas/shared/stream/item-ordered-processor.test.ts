import { processPartialResponse } from '@aws-lambda-powertools/batch';
import type { DynamoDBRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import {
  EarlierRecordFailedError,
  ItemOrderedBatchProcessor,
} from '../../../../lambdas/shared/stream/item-ordered-processor.js';
import { createStreamRecordFactory, streamEvent } from '../../../support/stream-records.js';

const orderIdOf = (record: DynamoDBRecord): string | undefined => record.dynamodb?.Keys?.orderId?.S;
const seq = (record: DynamoDBRecord): string => record.dynamodb?.SequenceNumber ?? 'missing';

describe('ItemOrderedBatchProcessor', () => {
  it('runs records one at a time even when asked to run them in parallel', async () => {
    // Prepare
    const records = createStreamRecordFactory();
    const event = streamEvent(...['A', 'B', 'C'].map((orderId) => records.insert({ orderId })));
    const order: string[] = [];
    const handler = async (record: DynamoDBRecord): Promise<void> => {
      order.push(`start ${seq(record)}`);
      // Yield to the event loop: records started in parallel would all start before any ends.
      await new Promise((resolve) => setImmediate(resolve));
      order.push(`end ${seq(record)}`);
    };

    // Act
    await processPartialResponse(event, handler, new ItemOrderedBatchProcessor(orderIdOf), {
      processInParallel: true,
    });

    // Assess
    expect(order).toEqual(event.Records.flatMap((record) => [`start ${seq(record)}`, `end ${seq(record)}`]));
  });

  it('reports the later records of a failed item with EarlierRecordFailedError without running them', async () => {
    // Prepare
    const records = createStreamRecordFactory();
    const a1 = records.insert({ orderId: 'A' });
    const b1 = records.insert({ orderId: 'B' });
    const a2 = records.modify({ orderId: 'A' }, { orderId: 'A', status: 'PAID' });
    const ran: string[] = [];
    const processor = new ItemOrderedBatchProcessor(orderIdOf);
    const handler = async (record: DynamoDBRecord): Promise<void> => {
      ran.push(seq(record));
      if (record === a1) {
        throw new Error('sink throttled');
      }
    };

    // Act
    processor.register([a1, b1, a2], handler, { throwOnFullBatchFailure: false });
    const results = await processor.process();

    // Assess
    expect(ran).toEqual([seq(a1), seq(b1)]);
    expect(results.map(([status]) => status)).toEqual(['fail', 'success', 'fail']);
    expect(results[2]?.[1]).toBe(new EarlierRecordFailedError('A').message);
    expect(processor.response()).toEqual({
      batchItemFailures: [{ itemIdentifier: seq(a1) }, { itemIdentifier: seq(a2) }],
    });
    expect(processor.blockedCount).toBe(1);
  });

  it('neither blocks nor is blocked by records without an item key', async () => {
    // Prepare
    const records = createStreamRecordFactory();
    const first = records.insert({ orderId: 'A' });
    const second = records.insert({ orderId: 'A' });
    const ran: string[] = [];
    const handler = async (record: DynamoDBRecord): Promise<void> => {
      ran.push(seq(record));
      throw new Error('fails');
    };

    // Act
    const response = await processPartialResponse(
      streamEvent(first, second),
      handler,
      new ItemOrderedBatchProcessor(() => undefined),
      { throwOnFullBatchFailure: false },
    );

    // Assess
    expect(ran).toEqual([seq(first), seq(second)]);
    expect(response.batchItemFailures).toHaveLength(2);
  });

  it('starts every invocation with no blocked item', async () => {
    // Prepare
    const records = createStreamRecordFactory();
    const failing = records.insert({ orderId: 'A' });
    const later = records.modify({ orderId: 'A' }, { orderId: 'A', status: 'PAID' });
    const processor = new ItemOrderedBatchProcessor(orderIdOf);
    const ran: string[] = [];
    const handler = async (record: DynamoDBRecord): Promise<void> => {
      ran.push(seq(record));
      if (record === failing) {
        throw new Error('fails');
      }
    };
    await processPartialResponse(streamEvent(failing), handler, processor, {
      throwOnFullBatchFailure: false,
    });

    // Act
    const response = await processPartialResponse(streamEvent(later), handler, processor);

    // Assess
    expect(ran).toEqual([seq(failing), seq(later)]);
    expect(response).toEqual({ batchItemFailures: [] });
  });
});
