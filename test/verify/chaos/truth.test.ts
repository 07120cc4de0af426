import { describe, expect, it } from 'vitest';
import type { TrafficOperation } from '../../../sandbox/traffic.js';
import { deriveOrderTruth, type ScannedOrder } from '../../../verify/chaos/truth.js';

function scanned(overrides: Partial<ScannedOrder> = {}): ScannedOrder {
  return { orderId: 'o-1', customerId: 'cust-1', version: 1, ...overrides };
}

function operation(overrides: Partial<TrafficOperation> = {}): TrafficOperation {
  return {
    index: 0,
    kind: 'createOrder',
    method: 'POST',
    path: '/orders',
    headers: {},
    status: 201,
    ok: true,
    orderId: 'o-1',
    customerId: 'cust-1',
    version: 1,
    sentAt: '2024-05-01T12:00:00.000Z',
    latencyMs: 5,
    ...overrides,
  };
}

function deleted(orderId: string, ifMatch: string, status: number, customerId = 'cust-1'): TrafficOperation {
  return operation({
    kind: 'deleteOrder',
    method: 'DELETE',
    path: `/orders/${orderId}`,
    headers: { 'if-match': ifMatch },
    status,
    ok: status === 204,
    orderId,
    customerId,
    version: undefined,
  });
}

describe('deriveOrderTruth', () => {
  it('takes existing orders from the scan, whatever the log says', () => {
    // Prepare: the PATCH to version 3 had no response, yet happened.
    const log = [operation(), operation({ kind: 'advanceOrder', status: 0, ok: false, version: undefined })];

    // Act
    const truth = deriveOrderTruth(
      [scanned({ version: 3 }), scanned({ orderId: 'o-2', customerId: 'poison-4' })],
      log,
    );

    // Assess
    expect(truth).toEqual({
      orders: [
        { orderId: 'o-1', poison: false, finalVersion: 3, deleted: false },
        { orderId: 'o-2', poison: true, finalVersion: 1, deleted: false },
      ],
      problems: [],
    });
  });

  it.each([
    ['answered 204', '"2"', 204],
    ['unanswered, with the order gone', '2', 0],
  ])('takes a deleted order and its last version from a DELETE %s', (_case, ifMatch, status) => {
    // Prepare
    const log = [
      operation({ orderId: 'o-9', customerId: 'poison-1' }),
      deleted('o-9', ifMatch, status, 'poison-1'),
    ];

    // Act
    const truth = deriveOrderTruth([], log);

    // Assess
    expect(truth).toEqual({
      orders: [{ orderId: 'o-9', poison: true, finalVersion: 2, deleted: true }],
      problems: [],
    });
  });

  it.each([
    ['no DELETE', [operation()]],
    ['only a refused DELETE', [operation(), deleted('o-1', '"1"', 412)]],
  ])('reports an order of the log missing from the table with %s', (_case, log) => {
    // Act
    const truth = deriveOrderTruth([], log);

    // Assess
    expect(truth.orders).toEqual([]);
    expect(truth.problems).toEqual([
      'order o-1 is in the traffic log but neither in the table nor deleted by a DELETE',
    ]);
  });

  it('ignores operations on votes', () => {
    // Act
    const truth = deriveOrderTruth(
      [],
      [operation({ kind: 'vote', orderId: undefined, customerId: undefined })],
    );

    // Assess
    expect(truth).toEqual({ orders: [], problems: [] });
  });
});
