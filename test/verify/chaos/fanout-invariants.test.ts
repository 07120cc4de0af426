import { describe, expect, it } from 'vitest';
import {
  checkFanoutInvariants,
  type FanoutInvariantInput,
  type FanoutReport,
  type ObservedEmail,
  type ObservedEvent,
  type ObservedQueueMessage,
  type ScannedReservation,
} from '../../../verify/chaos/fanout-invariants.js';
import type { ProbeEffect } from '../../../verify/chaos/probe-consumer.js';

/**
 * Hand-built runs: a correct one (three orders that between them reserve, release, back-order, re-place, ship,
 * cancel and delete), then one violation of each kind added to it.
 */

let sequence = 0;
function change(
  orderId: string,
  eventName: ProbeEffect['eventName'],
  version: number,
  status: string,
  previousStatus?: string,
): ProbeEffect {
  sequence += 1;
  return {
    orderId,
    version,
    eventName,
    eventId: `${orderId}-${eventName}-${version}`,
    sequenceNumber: String(sequence),
    status,
    ...(previousStatus === undefined ? {} : { previousStatus }),
    at: '2024-05-01T12:00:00.000Z',
  };
}

function event(
  orderId: string,
  version: number,
  type: string,
  status: string,
  extra: Record<string, unknown> = {},
): ObservedEvent {
  return {
    message: {
      eventId: `${orderId}:${version}:${type}`,
      type,
      orderId,
      customerId: 'c-1',
      version,
      status,
      ...extra,
    },
    attributes: { eventType: type, status },
  };
}

function email(
  orderId: string,
  kind: 'placed' | 'shipped' | 'cancelled',
  version = 1,
  options: { marked?: boolean } = {},
): ObservedEmail {
  return {
    template: `tpl-${kind}`,
    data: { orderId, customerId: 'c-1' },
    tags: {
      'order-email-id': `${orderId}_${version}_email-${kind}`,
      ...(options.marked === true ? { 'possible-duplicate': 'true' } : {}),
    },
    headers: { 'X-Order-Email-Id': `${orderId}:${version}:email-${kind}` },
  };
}

/** A copy of a delivered message as the fan-out re-sends a claimed effect: with the possible-duplicate attribute. */
function marked<T extends ObservedEvent | ObservedQueueMessage>(message: T): T {
  return { ...message, attributes: { ...message.attributes, possibleDuplicate: 'true' } };
}

function warehouse(
  changeKey: string,
  type: 'OrderPlaced' | 'OrderCancelled',
  reason?: 'cancelled' | 'deleted',
): ObservedQueueMessage {
  const [orderId, , version] = changeKey.split(':');
  return {
    body: {
      schemaVersion: 1,
      type,
      orderId,
      version: Number(version),
      lines: [],
      ...(reason ? { reason } : {}),
    },
    messageGroupId: orderId!,
    messageDeduplicationId: `${changeKey}:${type}`,
  };
}

/** o-1: placed (reserved), paid, cancelled (released), deleted. o-2: short at INSERT, moved to BACKORDERED by the
 * fan-out, re-placed (reserved), paid, shipped. o-3: placed (reserved), deleted while PLACED (released). */
function correctRun(): FanoutInvariantInput {
  return {
    history: [
      change('o-1', 'INSERT', 1, 'PLACED'),
      change('o-2', 'INSERT', 1, 'PLACED'),
      change('o-3', 'INSERT', 1, 'PLACED'),
      change('o-1', 'MODIFY', 2, 'PAID', 'PLACED'),
      change('o-2', 'MODIFY', 2, 'BACKORDERED', 'PLACED'),
      change('o-1', 'MODIFY', 3, 'CANCELLED', 'PAID'),
      change('o-3', 'REMOVE', 1, 'PLACED'),
      change('o-2', 'MODIFY', 3, 'PLACED', 'BACKORDERED'),
      change('o-1', 'REMOVE', 3, 'CANCELLED'),
      change('o-2', 'MODIFY', 4, 'PAID', 'PLACED'),
      change('o-2', 'MODIFY', 5, 'SHIPPED', 'PAID'),
    ],
    poisonOrderIds: new Set(),
    eventDuplicates: [],
    events: [
      event('o-1', 1, 'OrderPlaced', 'PLACED'),
      event('o-2', 1, 'OrderBackordered', 'BACKORDERED', { shortSkus: ['B'] }),
      event('o-3', 1, 'OrderPlaced', 'PLACED'),
      event('o-1', 2, 'OrderStatusChanged', 'PAID', { previousStatus: 'PLACED' }),
      event('o-2', 2, 'OrderStatusChanged', 'BACKORDERED', { previousStatus: 'PLACED' }),
      event('o-1', 3, 'OrderStatusChanged', 'CANCELLED', { previousStatus: 'PAID' }),
      event('o-3', 1, 'OrderDeleted', 'PLACED', { removedBy: 'user' }),
      event('o-2', 3, 'OrderStatusChanged', 'PLACED', { previousStatus: 'BACKORDERED' }),
      event('o-1', 3, 'OrderDeleted', 'CANCELLED', { removedBy: 'user' }),
      event('o-2', 4, 'OrderStatusChanged', 'PAID', { previousStatus: 'PLACED' }),
      event('o-2', 5, 'OrderStatusChanged', 'SHIPPED', { previousStatus: 'PAID' }),
    ],
    emails: [
      email('o-1', 'placed'),
      email('o-3', 'placed'),
      email('o-1', 'cancelled', 3),
      email('o-2', 'placed', 3),
      email('o-2', 'shipped', 5),
    ],
    emailTemplates: { placed: 'tpl-placed', shipped: 'tpl-shipped', cancelled: 'tpl-cancelled' },
    warehouse: [
      warehouse('o-1:INSERT:1', 'OrderPlaced'),
      warehouse('o-3:INSERT:1', 'OrderPlaced'),
      warehouse('o-1:MODIFY:3', 'OrderCancelled', 'cancelled'),
      warehouse('o-3:REMOVE:1', 'OrderCancelled', 'deleted'),
      warehouse('o-2:MODIFY:3', 'OrderPlaced'),
    ],
    warehouseDuplicates: [],
    reservations: [
      {
        orderId: 'o-1',
        state: 'RELEASED',
        lines: [{ sku: 'A', qty: 2 }],
        reservedBy: 'o-1:INSERT:1',
        releasedBy: 'o-1:MODIFY:3',
        shortBy: [],
      },
      {
        orderId: 'o-2',
        state: 'RESERVED',
        lines: [{ sku: 'B', qty: 6 }],
        reservedBy: 'o-2:MODIFY:3',
        shortBy: ['o-2:INSERT:1'],
      },
      {
        orderId: 'o-3',
        state: 'RELEASED',
        lines: [{ sku: 'A', qty: 1 }],
        reservedBy: 'o-3:INSERT:1',
        releasedBy: 'o-3:REMOVE:1',
        shortBy: [],
      },
    ],
    stock: { A: 10, B: 4 },
    initialStock: { A: 10, B: 10 },
    deadLetters: 0,
    onFailureRecords: 0,
  };
}

const ZERO = {
  duplicates: 0,
  missing: 0,
  unexpected: 0,
  orderViolations: 0,
  malformed: 0,
  reservationProblems: 0,
  stockMismatches: 0,
};

/** The report's failure counters, for comparing with ZERO plus what a test expects. */
function failures(report: FanoutReport): typeof ZERO {
  const {
    duplicates,
    missing,
    unexpected,
    orderViolations,
    malformed,
    reservationProblems,
    stockMismatches,
  } = report;
  return {
    duplicates,
    missing,
    unexpected,
    orderViolations,
    malformed,
    reservationProblems,
    stockMismatches,
  };
}

describe('checkFanoutInvariants', () => {
  it('passes a correct run and counts what it saw', () => {
    // Act
    const report = checkFanoutInvariants(correctRun());

    // Assess
    expect(report.problems).toEqual([]);
    expect(failures(report)).toEqual(ZERO);
    expect(report).toMatchObject({
      ok: true,
      orders: 3,
      changes: 11,
      events: 11,
      emails: 5,
      warehouseMessages: 5,
      backorders: 1,
      reservations: { RESERVED: 1, RELEASED: 2, BACKORDERED: 0 },
      skus: 2,
    });
  });

  it('reads the history with duplicate eventIDs dropped and in version order, whatever the file order', () => {
    // Prepare
    const run = correctRun();
    const shuffled = { ...run, history: [...run.history].reverse().concat(run.history.slice(0, 3)) };

    // Act
    const report = checkFanoutInvariants(shuffled);

    // Assess
    expect(report.ok).toBe(true);
  });

  describe('duplicates (deliveries per effect after the services’ deduplication)', () => {
    const paid = (): ObservedEvent =>
      event('o-1', 2, 'OrderStatusChanged', 'PAID', { previousStatus: 'PLACED' });

    it.each([
      ['an SNS event', (run: Mutable) => run.events.push(paid())],
      ['an e-mail', (run: Mutable) => run.emails.push(email('o-2', 'shipped', 5))],
      ['a warehouse message', (run: Mutable) => run.warehouse.push(warehouse('o-2:MODIFY:3', 'OrderPlaced'))],
    ])('fails %s delivered twice without the possible-duplicate mark: unexplained', (_name, mutate) => {
      // Prepare
      const run = mutable();
      mutate(run);

      // Act
      const report = checkFanoutInvariants(run);

      // Assess
      expect(failures(report)).toEqual({ ...ZERO, duplicates: 1 });
      expect(report.unexplainedDuplicates).toBe(1);
      expect(report.accountedDuplicates).toEqual({ sns: 0, ses: 0, sqs: 0 });
      expect(report.ok).toBe(false);
    });

    it.each([
      ['an SNS event', 'sns', (run: Mutable) => run.events.push(marked(paid()), marked(paid()))],
      [
        'an e-mail',
        'ses',
        (run: Mutable) =>
          run.emails.push(
            email('o-2', 'shipped', 5, { marked: true }),
            email('o-2', 'shipped', 5, { marked: true }),
          ),
      ],
      [
        'a warehouse message',
        'sqs',
        (run: Mutable) =>
          run.warehouse.push(
            marked(warehouse('o-2:MODIFY:3', 'OrderPlaced')),
            marked(warehouse('o-2:MODIFY:3', 'OrderPlaced')),
          ),
      ],
    ] as const)(
      'accounts for %s delivered again with the mark on every extra copy',
      (_name, sink, mutate) => {
        // Prepare
        const run = mutable();
        mutate(run);

        // Act
        const report = checkFanoutInvariants(run);

        // Assess
        expect(failures(report)).toEqual(ZERO);
        expect(report.ok).toBe(true);
        expect(report.unexplainedDuplicates).toBe(0);
        expect(report.accountedDuplicates).toEqual({ sns: 0, ses: 0, sqs: 0, [sink]: 2 });
      },
    );

    it('fails a duplicate whose extra copies are marked only in part, counting every extra copy', () => {
      // Prepare
      const run = mutable();
      run.events.push(marked(paid()), paid());

      // Act
      const report = checkFanoutInvariants(run);

      // Assess
      expect(report.unexplainedDuplicates).toBe(2);
      expect(report.accountedDuplicates.sns).toBe(0);
      expect(report.problems).toEqual([
        expect.stringContaining('SNS event o-1:2:OrderStatusChanged delivered 3 times, 1 extra copy without'),
      ]);
    });

    it('counts what SNS and SQS dropped as duplicates apart: not deliveries, no failure', () => {
      // Prepare
      const run = mutable();
      run.eventDuplicates.push(paid());
      run.warehouseDuplicates.push(warehouse('o-2:MODIFY:3', 'OrderPlaced'));

      // Act
      const report = checkFanoutInvariants(run);

      // Assess
      expect(report.ok).toBe(true);
      expect(report).toMatchObject({
        eventDuplicatesDropped: 1,
        warehouseDuplicatesDropped: 1,
        unexplainedDuplicates: 0,
        effectsDelivered: { sns: 11, ses: 5, sqs: 5 },
      });
    });

    it('finds an e-mail whose id is not that of the change calling for it', () => {
      // Prepare
      const run = mutable();
      run.emails[4] = email('o-2', 'shipped', 4);

      // Act
      const report = checkFanoutInvariants(run);

      // Assess
      expect(failures(report)).toEqual({ ...ZERO, malformed: 1 });
    });
  });

  describe('missing effects', () => {
    it.each([
      [
        'an OrderStatusChanged',
        (run: Mutable) => run.events.splice(3, 1),
        'missing: SNS event o-1:2:OrderStatusChanged',
      ],
      ['an OrderDeleted', (run: Mutable) => run.events.splice(8, 1), 'missing: SNS event o-1:3:OrderDeleted'],
      [
        'the placed e-mail of a reservation',
        (run: Mutable) => run.emails.splice(3, 1),
        'missing: e-mail o-2:3:email-placed',
      ],
      ['a shipped e-mail', (run: Mutable) => run.emails.splice(4, 1), 'missing: e-mail o-2:5:email-shipped'],
      [
        'the warehouse OrderCancelled of a release',
        (run: Mutable) => run.warehouse.splice(3, 1),
        'missing: warehouse OrderCancelled o-3:REMOVE:1:OrderCancelled',
      ],
    ])('finds %s missing', (_name, mutate, problem) => {
      // Prepare
      const run = mutable();
      mutate(run);

      // Act
      const report = checkFanoutInvariants(run);

      // Assess
      expect(failures(report)).toEqual({ ...ZERO, missing: 1 });
      expect(report.problems).toEqual([problem]);
    });

    it('finds an INSERT with neither OrderPlaced nor OrderBackordered', () => {
      // Prepare
      const run = mutable();
      run.events.splice(0, 1);

      // Act
      const report = checkFanoutInvariants(run);

      // Assess
      expect(failures(report)).toEqual({ ...ZERO, missing: 1 });
      expect(report.problems).toEqual(['missing: SNS OrderPlaced or OrderBackordered of o-1:INSERT:1']);
    });
  });

  describe('unexpected effects', () => {
    it('finds an INSERT with both OrderPlaced and OrderBackordered', () => {
      // Prepare
      const run = mutable();
      run.events.splice(1, 0, event('o-1', 1, 'OrderBackordered', 'BACKORDERED'));

      // Act
      const report = checkFanoutInvariants(run);

      // Assess: two decisions of one INSERT, and one of them contradicts the reservation.
      expect(failures(report)).toEqual({ ...ZERO, unexpected: 1, reservationProblems: 1 });
    });

    it.each([
      [
        'an event of a change the order never had',
        (run: Mutable) =>
          run.events.push(event('o-2', 9, 'OrderStatusChanged', 'DELIVERED', { previousStatus: 'SHIPPED' })),
      ],
      [
        'an OrderPlaced of a re-placement (it sends only its e-mail and warehouse message)',
        (run: Mutable) => run.events.splice(8, 0, event('o-2', 3, 'OrderPlaced', 'PLACED')),
      ],
      [
        'a shipped e-mail of an order never shipped',
        (run: Mutable) => run.emails.push(email('o-3', 'shipped')),
      ],
      [
        'a placed e-mail of an order never reserved',
        (run: Mutable) => {
          run.emails.push(email('o-4', 'placed'));
        },
      ],
      [
        'a warehouse OrderCancelled of an order still reserved',
        (run: Mutable) => run.warehouse.push(warehouse('o-2:MODIFY:5', 'OrderCancelled', 'cancelled')),
      ],
    ])('finds %s', (_name, mutate) => {
      // Prepare
      const run = mutable();
      mutate(run);

      // Act
      const report = checkFanoutInvariants(run);

      // Assess
      expect(failures(report)).toEqual({ ...ZERO, unexpected: 1 });
    });

    it('finds the events, e-mails, messages and reservation of an order with no history', () => {
      // Prepare
      const run = mutable();
      run.events.push(event('o-9', 1, 'OrderPlaced', 'PLACED'));
      run.emails.push(email('o-9', 'placed'));
      run.warehouse.push(warehouse('o-9:INSERT:1', 'OrderPlaced'));
      run.reservations.push({ orderId: 'o-9', state: 'BACKORDERED', lines: [], shortBy: ['o-9:INSERT:1'] });

      // Act
      const report = checkFanoutInvariants(run);

      // Assess
      expect(failures(report)).toEqual({ ...ZERO, unexpected: 4 });
    });
  });

  describe('order per order and sink', () => {
    it.each([
      ['SNS', (run: Mutable) => run.events.reverse()],
      ['SES', (run: Mutable) => run.emails.push(...run.emails.splice(0, 1))],
      ['SQS', (run: Mutable) => run.warehouse.push(...run.warehouse.splice(0, 1))],
    ])('finds a later change sent before an earlier one in %s', (sink, mutate) => {
      // Prepare
      const run = mutable();
      mutate(run);

      // Act
      const report = checkFanoutInvariants(run);

      // Assess
      expect(report.orderViolations).toBeGreaterThan(0);
      expect(report.problems.every((problem) => problem.startsWith(`orderViolations: ${sink}`))).toBe(true);
    });
  });

  describe('content', () => {
    it.each([
      [
        'attributes that do not match the event',
        (run: Mutable) => {
          run.events[3] = {
            ...run.events[3]!,
            attributes: { eventType: 'OrderStatusChanged', status: 'PLACED' },
          };
        },
      ],
      [
        'a status the history does not have',
        (run: Mutable) => {
          run.events[3] = event('o-1', 2, 'OrderStatusChanged', 'SHIPPED', { previousStatus: 'PLACED' });
        },
      ],
      [
        'a previousStatus the history does not have',
        (run: Mutable) => {
          run.events[3] = event('o-1', 2, 'OrderStatusChanged', 'PAID', { previousStatus: 'BACKORDERED' });
        },
      ],
      [
        'a warehouse message of the wrong group',
        (run: Mutable) => {
          run.warehouse[0] = { ...run.warehouse[0]!, messageGroupId: 'o-x' };
        },
      ],
      [
        'a cancellation with the wrong reason',
        (run: Mutable) => {
          run.warehouse[3] = warehouse('o-3:REMOVE:1', 'OrderCancelled', 'cancelled');
        },
      ],
      [
        'a line that is not an event',
        (run: Mutable) => run.events.push({ message: 'hello', attributes: {} }),
      ],
    ])('finds %s', (_name, mutate) => {
      // Prepare
      const run = mutable();
      mutate(run);

      // Act
      const report = checkFanoutInvariants(run);

      // Assess
      expect(failures(report)).toEqual({ ...ZERO, malformed: 1 });
    });
  });

  describe('reservations and stock', () => {
    it('finds a cancelled order whose stock was never released', () => {
      // Prepare: everything consistent with a reservation left RESERVED, but the history has the cancel.
      const run = mutable();
      run.reservations[0] = { ...run.reservations[0]!, state: 'RESERVED', releasedBy: undefined };
      run.warehouse.splice(2, 1);
      run.stock.A = 8;

      // Act
      const report = checkFanoutInvariants(run);

      // Assess
      expect(failures(report)).toEqual({ ...ZERO, reservationProblems: 1 });
      expect(report.problems).toEqual([
        'reservationProblems: order o-1 still holds its stock after o-1:MODIFY:3',
      ]);
    });

    it('finds a placement with no stock decision, and a decision naming no change of the order', () => {
      // Prepare
      const run = mutable();
      run.reservations[1] = { ...run.reservations[1]!, shortBy: ['o-2:INSERT:7'] };

      // Act
      const report = checkFanoutInvariants(run);

      // Assess: the INSERT is undecided, a shortBy names nothing, and the OrderBackordered no longer fits.
      expect(failures(report)).toEqual({ ...ZERO, reservationProblems: 3 });
    });

    it.each([
      ['more stock than initial - reserved + released', { A: 10, B: 5 }],
      ['negative stock', { A: 10, B: 4, C: -1 }],
    ])('finds %s', (_name, stock) => {
      // Prepare
      const run = mutable();
      run.stock = stock;

      // Act
      const report = checkFanoutInvariants(run);

      // Assess
      expect(failures(report)).toEqual({ ...ZERO, stockMismatches: 1 });
    });
  });

  it("leaves poison orders out of the per-order checks, but counts their reservations' stock", () => {
    // Prepare: a poison order with no history, an event, an e-mail and a reservation of 3 B.
    const run = mutable();
    run.poisonOrderIds = new Set(['o-p']);
    run.events.push(event('o-p', 1, 'OrderPlaced', 'PLACED'));
    run.emails.push(email('o-p', 'placed'));
    run.reservations.push({
      orderId: 'o-p',
      state: 'RESERVED',
      lines: [{ sku: 'B', qty: 3 }],
      reservedBy: 'o-p:INSERT:1',
      shortBy: [],
    });
    run.stock.B = 1;

    // Act
    const report = checkFanoutInvariants(run);

    // Assess
    expect(report.problems).toEqual([]);
    expect(report).toMatchObject({ ok: true, orders: 3, poisonOrdersExcluded: 1 });
  });

  it.each([
    ['dead letters', { deadLetters: 1 }],
    ['records given up on', { onFailureRecords: 3 }],
  ])('fails with %s of the fan-out', (_name, counts) => {
    // Act
    const report = checkFanoutInvariants({ ...correctRun(), ...counts });

    // Assess
    expect(failures(report)).toEqual(ZERO);
    expect(report.ok).toBe(false);
    expect(report.problems).toHaveLength(1);
  });
});

type Mutable = {
  -readonly [K in keyof FanoutInvariantInput]: FanoutInvariantInput[K] extends ReadonlyArray<infer T>
    ? T[]
    : FanoutInvariantInput[K] extends Readonly<Record<string, number>>
      ? Record<string, number>
      : FanoutInvariantInput[K];
} & { reservations: ScannedReservation[] };

function mutable(): Mutable {
  const run = correctRun();
  return {
    ...run,
    history: [...run.history],
    events: [...run.events],
    eventDuplicates: [...run.eventDuplicates],
    emails: [...run.emails],
    warehouse: [...run.warehouse],
    warehouseDuplicates: [...run.warehouseDuplicates],
    reservations: [...run.reservations],
    stock: { ...run.stock },
    initialStock: { ...run.initialStock },
  };
}
