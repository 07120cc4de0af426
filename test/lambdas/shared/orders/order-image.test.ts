import { marshall } from '@aws-sdk/util-dynamodb';
import { describe, expect, it } from 'vitest';
import { orderFromImage } from '../../../../lambdas/shared/orders/order-image.js';
import { decodeItem, type RawItem } from '../../../../lambdas/shared/stream/lossless.js';
import { storedOrder } from '../../../support/orders.js';

function image(item: Record<string, unknown>): ReturnType<typeof decodeItem> {
  return decodeItem(marshall(item) as RawItem);
}

describe('orderFromImage', () => {
  it('reads a stored order with its numbers as exact safe integers', () => {
    // Prepare
    const order = storedOrder({ totalCents: 9_007_199_254_740_991, version: 42 });

    // Act
    const read = orderFromImage(image({ ...order, expiresAt: 1_900_000_000 }));

    // Assess
    expect(read).toEqual(order);
  });

  it.each([
    { name: 'a version beyond the safe range', patch: { version: { N: '9007199254740993' } } },
    {
      name: 'a fractional quantity',
      patch: { lines: { L: [{ M: { sku: { S: 'A' }, qty: { N: '1.5' }, unitPriceCents: { N: '1' } } }] } },
    },
    { name: 'an unknown status', patch: { status: { S: 'LOST' } } },
  ])('refuses $name', ({ patch }) => {
    // Prepare
    const raw = { ...(marshall(storedOrder()) as RawItem), ...(patch as unknown as RawItem) };

    // Act / Assess
    expect(() => orderFromImage(decodeItem(raw))).toThrow();
  });
});
