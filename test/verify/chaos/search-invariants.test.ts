import { describe, expect, it } from 'vitest';
import type { Order } from '../../../lambdas/shared/orders/order.js';
import { tombstoneDocument, toOrderDocument } from '../../../lambdas/shared/search/orders-index.js';
import { checkSearchIndex, type IndexedDocument } from '../../../verify/chaos/search-invariants.js';
import { storedOrder } from '../../support/orders.js';

function order(n: number, overrides: Partial<Order> = {}): Order {
  return storedOrder({ orderId: `o-${n}`, ...overrides });
}

function live(item: Order): IndexedDocument {
  return { version: item.version, source: { ...toOrderDocument(item) } };
}

function tombstone(orderId: string, lastVersion: number): IndexedDocument {
  return {
    version: lastVersion + 1,
    source: { ...tombstoneDocument(orderId, lastVersion, '2030-01-02T00:00:00.000Z', 'user') },
  };
}

describe('checkSearchIndex', () => {
  it('is ok when every order has its document and every deleted order its tombstone or nothing', () => {
    // Prepare
    const paid = order(1, { status: 'PAID', version: 2 });
    const placed = order(2);
    const documents = new Map([
      ['o-1', live(paid)],
      ['o-2', live(placed)],
      ['o-3', tombstone('o-3', 4)],
    ]);

    // Act
    const report = checkSearchIndex({
      table: [paid, placed],
      deleted: [
        { orderId: 'o-3', lastVersion: 4 },
        { orderId: 'o-4', lastVersion: 1 },
      ],
      documents,
    });

    // Assess
    expect(report).toEqual({
      documents: 3,
      live: 2,
      tombstones: 1,
      missing: 0,
      stale: 0,
      extra: 0,
      resurrected: 0,
      ok: true,
      problems: [],
    });
  });

  it('counts an order without a document as missing', () => {
    // Prepare
    const placed = order(1);

    // Act
    const report = checkSearchIndex({ table: [placed], deleted: [], documents: new Map() });

    // Assess
    expect(report).toMatchObject({ missing: 1, ok: false });
    expect(report.problems).toEqual(['order o-1 (version 1) has no document in the index']);
  });

  it.each([
    ['an older version', live(order(1, { version: 2, status: 'PAID' })), /holds version 2/],
    ['the same version with other fields', live(order(1, { version: 3, status: 'PAID' })), /holds version 3/],
    [
      'a document version that is not the source version',
      { ...live(order(1, { version: 3 })), version: 4 },
      /holds version 4/,
    ],
    ['a tombstone of the existing order', tombstone('o-1', 3), /holds its tombstone/],
  ])('counts %s as stale', (_name, document, problem) => {
    // Prepare
    const current = order(1, { version: 3, status: 'SHIPPED' });

    // Act
    const report = checkSearchIndex({
      table: [current],
      deleted: [],
      documents: new Map([['o-1', document]]),
    });

    // Assess
    expect(report).toMatchObject({ stale: 1, missing: 0, ok: false });
    expect(report.problems[0]).toMatch(problem);
  });

  it('counts a live document of a deleted order as resurrected', () => {
    // Act: the order was deleted at version 2; its version 1 came back.
    const report = checkSearchIndex({
      table: [],
      deleted: [{ orderId: 'o-1', lastVersion: 2 }],
      documents: new Map([['o-1', live(order(1))]]),
    });

    // Assess
    expect(report).toMatchObject({ resurrected: 1, live: 1, ok: false });
    expect(report.problems[0]).toMatch(
      /deleted at version 2, but the index holds a live document at version 1/,
    );
  });

  it.each([
    ['of another version', tombstone('o-1', 1), /at version 2 .* not 3/],
    ['of another order', tombstone('o-9', 2), /names order o-9/],
    [
      'with an extra field',
      { ...tombstone('o-1', 2), source: { ...tombstone('o-1', 2).source, status: 'PAID' } },
      /fields are/,
    ],
    [
      'with an unknown remover',
      { ...tombstone('o-1', 2), source: { ...tombstone('o-1', 2).source, removedBy: 'admin' } },
      /removedBy is admin/,
    ],
  ])('counts a tombstone %s as stale', (_name, document, problem) => {
    // Act
    const report = checkSearchIndex({
      table: [],
      deleted: [{ orderId: 'o-1', lastVersion: 2 }],
      documents: new Map([['o-1', document]]),
    });

    // Assess
    expect(report).toMatchObject({ stale: 1, ok: false });
    expect(report.problems[0]).toMatch(problem);
  });

  it('counts documents of orders the run never had as extra, live or tombstone', () => {
    // Act
    const report = checkSearchIndex({
      table: [],
      deleted: [],
      documents: new Map([
        ['o-7', live(order(7))],
        ['o-8', tombstone('o-8', 1)],
      ]),
    });

    // Assess
    expect(report).toMatchObject({ extra: 2, live: 1, tombstones: 1, ok: false });
  });

  it('keeps at most 20 problems however many there are', () => {
    // Prepare
    const table = Array.from({ length: 30 }, (_, i) => order(i));

    // Act
    const report = checkSearchIndex({ table, deleted: [], documents: new Map() });

    // Assess
    expect(report.missing).toBe(30);
    expect(report.problems).toHaveLength(20);
  });
});
