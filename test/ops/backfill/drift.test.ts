import { describe, expect, it } from 'vitest';
import { compareTableAndIndex } from '../../../ops/backfill/drift.js';

describe('compareTableAndIndex', () => {
  it('finds no drift when every order has a live document at its version and deleted ones a tombstone', () => {
    // Prepare
    const table = new Map([
      ['a', 1],
      ['b', 4],
    ]);

    // Act
    const report = compareTableAndIndex(table, [
      { orderId: 'b', version: 4, deleted: false },
      { orderId: 'a', version: 1, deleted: false },
      { orderId: 'gone', version: 3, deleted: true },
    ]);

    // Assess
    expect(report).toEqual({
      tableOrders: 2,
      indexDocuments: { live: 2, tombstones: 1 },
      inSync: 2,
      missing: [],
      stale: [],
      ahead: [],
      orphaned: [],
      tombstoned: [],
      driftCount: 0,
    });
  });

  it('reports each kind of drift, sorted by order id', () => {
    // Prepare
    const table = new Map([
      ['in-sync', 2],
      ['missing-2', 1],
      ['missing-1', 3],
      ['stale', 5],
      ['ahead', 2],
      ['tombstoned', 4],
    ]);

    // Act
    const report = compareTableAndIndex(table, [
      { orderId: 'in-sync', version: 2, deleted: false },
      { orderId: 'stale', version: 4, deleted: false },
      { orderId: 'ahead', version: 3, deleted: false },
      { orderId: 'tombstoned', version: 5, deleted: true },
      { orderId: 'orphan', version: 7, deleted: false },
      { orderId: 'deleted', version: 2, deleted: true },
    ]);

    // Assess
    expect(report.missing).toEqual([
      { orderId: 'missing-1', tableVersion: 3 },
      { orderId: 'missing-2', tableVersion: 1 },
    ]);
    expect(report.stale).toEqual([{ orderId: 'stale', tableVersion: 5, indexVersion: 4 }]);
    expect(report.ahead).toEqual([{ orderId: 'ahead', tableVersion: 2, indexVersion: 3 }]);
    expect(report.orphaned).toEqual([{ orderId: 'orphan', indexVersion: 7 }]);
    expect(report.tombstoned).toEqual([{ orderId: 'tombstoned', tableVersion: 4, indexVersion: 5 }]);
    expect(report.inSync).toBe(1);
    expect(report.driftCount).toBe(6);
    expect(report.indexDocuments).toEqual({ live: 4, tombstones: 2 });
  });
});
