import { describe, expect, it } from 'vitest';
import { assembleHistory, parseAuditObject } from '../../../ops/audit-history/history.js';
import {
  describeHistory,
  describeSummary,
  historyJson,
  historyOk,
} from '../../../ops/audit-history/history-report.js';
import type { AuditHistoryResult } from '../../../ops/audit-history/history-run.js';
import { auditLine, ORDER_ID, objectKeyOf, objectText, orderImage, seq } from './audit-lines.js';

const LINES = [
  auditLine({
    sequenceNumber: seq(1),
    eventName: 'INSERT',
    newImage: orderImage({}, { totalCents: { N: '1500' } }),
    time: '2024-05-01T10:00:00.000Z',
  }),
  auditLine({
    sequenceNumber: seq(2),
    oldImage: orderImage({}, { totalCents: { N: '1500' } }),
    newImage: orderImage(
      { status: 'SHIPPED', version: 2 },
      { totalCents: { N: '1500.0' }, note: { S: 'gift' } },
    ),
    time: '2024-05-01T11:00:00.000Z',
  }),
  auditLine({
    sequenceNumber: seq(3),
    eventName: 'REMOVE',
    oldImage: orderImage({ status: 'SHIPPED', version: 2 }),
    actor: 'ttl',
    time: '2024-05-02T00:00:00.000Z',
  }),
];

/** A run's result over objects given as key and text. */
function result(objects: [string, string][], scope: Partial<AuditHistoryResult> = {}): AuditHistoryResult {
  const history = assembleHistory(
    ORDER_ID,
    objects.map(([key, text]) => parseAuditObject(key, text)),
  );
  return {
    ...history,
    location: 's3://orders-audit',
    tables: ['Orders'],
    since: undefined,
    until: undefined,
    objectsRead: objects.length,
    ...scope,
  };
}

describe('describeHistory', () => {
  it('prints a header per change, its diff, and the summary line last', () => {
    // Prepare: the MODIFY stored twice.
    const key = objectKeyOf(LINES);
    const run = result([
      [key, objectText(LINES)],
      ['table=Orders/dt=2024-05-01/hour=11/retry.jsonl.gz', objectText([LINES[1]!])],
    ]);

    // Act
    const text = describeHistory(run);

    // Assess
    expect(text).toBe(
      [
        `History of order ${ORDER_ID} from s3://orders-audit (table=Orders; every day), oldest first:`,
        '',
        `[1] 2024-05-01T10:00:00.000Z  INSERT  by user  seq ${seq(1)}  eventId event-${seq(1)}`,
        `  + orderId: "${ORDER_ID}"`,
        '  + status: "PLACED"',
        '  + totalCents: 1500',
        '  + version: 1',
        '',
        `[2] 2024-05-01T11:00:00.000Z  MODIFY  by user  seq ${seq(2)}  eventId event-${seq(2)}`,
        '  + note: "gift"',
        '  ~ status: "PLACED" -> "SHIPPED"',
        '  ~ version: 1 -> 2',
        '',
        `[3] 2024-05-02T00:00:00.000Z  REMOVE  by TTL  seq ${seq(3)}  eventId event-${seq(3)}`,
        "  removed by DynamoDB's TTL process (the item had expired)",
        `  - orderId: "${ORDER_ID}"`,
        '  - status: "SHIPPED"',
        '  - version: 2',
        '',
        '3 changes, 1 duplicate dropped, 2 objects read',
      ].join('\n'),
    );
    expect(historyOk(run)).toBe(true);
  });

  it('says a REMOVE was a user when it was', () => {
    // Prepare
    const run = result([['k', objectText([auditLine({ sequenceNumber: seq(1), eventName: 'REMOVE' })])]]);

    // Act
    const text = describeHistory(run);

    // Assess
    expect(text).toContain('REMOVE  by user');
    expect(text).toContain('removed by a user (DeleteItem)');
  });

  it('says where it looked when the order has no change, and is not ok', () => {
    // Prepare
    const run = result(
      [['k', objectText([auditLine({ sequenceNumber: seq(1), orderId: 'someone-else' })])]],
      {
        tables: ['Orders', 'Votes'],
        since: '2024-05-01',
        until: undefined,
      },
    );

    // Act
    const text = describeHistory(run);

    // Assess
    expect(text).toBe(
      [
        `No changes of order ${ORDER_ID} in s3://orders-audit (table=Orders, table=Votes; days 2024-05-01 to (last)).`,
        '',
        '0 changes, 0 duplicates dropped, 1 object read',
      ].join('\n'),
    );
    expect(historyOk(run)).toBe(false);
  });

  it('lists the problems after the history it could print, and is not ok', () => {
    // Prepare
    const run = result([['k', `${JSON.stringify(LINES[0])}\n{oops\n`]]);

    // Act
    const text = describeHistory(run);

    // Assess
    expect(text).toContain('[1] 2024-05-01T10:00:00.000Z  INSERT');
    expect(text).toContain('The audit log has 1 problem:\n  k line 2: malformed: not JSON');
    expect(text.split('\n').at(-1)).toBe('1 change, 0 duplicates dropped, 1 object read, 1 problem');
    expect(historyOk(run)).toBe(false);
  });

  it("names each change's table when the changes come from several tables", () => {
    // Prepare
    const run = result(
      [
        [objectKeyOf([LINES[0]!], 'Orders'), objectText([LINES[0]!])],
        [objectKeyOf([LINES[1]!], 'Archive'), objectText([LINES[1]!])],
      ],
      { tables: ['Archive', 'Orders'] },
    );

    // Act
    const text = describeHistory(run);

    // Assess
    expect(text).toContain(`eventId event-${seq(1)}  table Orders`);
    expect(text).toContain(`eventId event-${seq(2)}  table Archive`);
  });

  it('notes a change whose attributes did not change', () => {
    // Prepare
    const same = auditLine({ sequenceNumber: seq(1), oldImage: orderImage(), newImage: orderImage() });
    const run = result([['k', objectText([same])]]);

    // Act
    const text = describeHistory(run);

    // Assess
    expect(text).toContain('  (no attribute changed)');
  });
});

describe('historyJson', () => {
  it('gives the order, its changes with rendered and raw diff values, duplicates, objects and problems', () => {
    // Prepare
    const key = objectKeyOf(LINES);
    const run = result([
      [key, objectText(LINES)],
      ['retry', objectText([LINES[1]!])],
    ]);

    // Act
    const json = JSON.parse(JSON.stringify(historyJson(run)));

    // Assess
    expect(json).toMatchObject({
      orderId: ORDER_ID,
      location: 's3://orders-audit',
      tables: ['Orders'],
      since: null,
      until: null,
      duplicatesDropped: 1,
      objectsRead: 2,
      problems: [],
      ok: true,
    });
    expect(json.changes).toHaveLength(3);
    expect(json.changes[1]).toEqual({
      eventId: `event-${seq(2)}`,
      eventName: 'MODIFY',
      sequenceNumber: seq(2),
      approximateCreationTime: '2024-05-01T11:00:00.000Z',
      actor: 'user',
      table: 'Orders',
      objectKey: key,
      line: 2,
      diff: [
        { op: 'added', path: 'note', new: '"gift"', newValue: { S: 'gift' } },
        {
          op: 'changed',
          path: 'status',
          old: '"PLACED"',
          new: '"SHIPPED"',
          oldValue: { S: 'PLACED' },
          newValue: { S: 'SHIPPED' },
        },
        { op: 'changed', path: 'version', old: '1', new: '2', oldValue: { N: '1' }, newValue: { N: '2' } },
      ],
    });
    expect(json.changes[2]).toMatchObject({
      actor: 'ttl',
      diff: [{ op: 'removed', path: 'orderId' }, {}, {}],
    });
  });

  it('carries each problem with its message', () => {
    // Prepare
    const run = result([['k', '[]\n']]);

    // Act
    const json = historyJson(run);

    // Assess
    expect(json.ok).toBe(false);
    expect(json.problems).toEqual([
      expect.objectContaining({
        kind: 'malformed-line',
        objectKey: 'k',
        line: 1,
        message: expect.stringMatching(/^k line 1: malformed/),
      }),
    ]);
  });
});

describe('describeSummary', () => {
  it('counts in the singular and plural', () => {
    // Prepare
    const run = result([['k', objectText([LINES[0]!])]]);

    // Act
    const summary = describeSummary({ ...run, duplicatesDropped: 2, objectsRead: 1 });

    // Assess
    expect(summary).toBe('1 change, 2 duplicates dropped, 1 object read');
  });
});
