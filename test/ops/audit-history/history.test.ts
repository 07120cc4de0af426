import { describe, expect, it } from 'vitest';
import { renderDiffEntry } from '../../../ops/audit-history/attribute-diff.js';
import {
  assembleHistory,
  compareSequenceNumbers,
  describeProblem,
  type ParsedAuditObject,
  parseAuditObject,
} from '../../../ops/audit-history/history.js';
import { auditLine, ORDER_ID, OTHER_ORDER_ID, objectText, orderImage, seq } from './audit-lines.js';

/** Parses objects given as key and lines. */
function parsed(...objects: [key: string, text: string][]): ParsedAuditObject[] {
  return objects.map(([key, text]) => parseAuditObject(key, text));
}

describe('parseAuditObject', () => {
  it('reads every line of an object, with its key and line number', () => {
    // Prepare
    const text = objectText([auditLine({ sequenceNumber: seq(1) }), auditLine({ sequenceNumber: seq(2) })]);

    // Act
    const object = parseAuditObject('k1', text);

    // Assess
    expect(object.problems).toEqual([]);
    expect(object.lines.map(({ objectKey, line, value }) => [objectKey, line, value.eventId])).toEqual([
      ['k1', 1, `event-${seq(1)}`],
      ['k1', 2, `event-${seq(2)}`],
    ]);
  });

  it('lets through members it does not know (the line format only ever adds fields)', () => {
    // Prepare
    const text = `${JSON.stringify({ ...auditLine({ sequenceNumber: seq(1) }), schemaVersion: 2 })}\n`;

    // Act
    const object = parseAuditObject('k', text);

    // Assess
    expect(object.problems).toEqual([]);
    expect(object.lines).toHaveLength(1);
  });

  describe.each<[string, string, string]>([
    ['a line that is not JSON', '{"eventId": ', 'not JSON'],
    ['an empty line in the middle', '', 'empty line'],
    [
      'a line without an eventId',
      JSON.stringify({ ...auditLine({ sequenceNumber: seq(1) }), eventId: undefined }),
      'eventId',
    ],
    [
      'an unknown eventName',
      JSON.stringify({ ...auditLine({ sequenceNumber: seq(1) }), eventName: 'UPSERT' }),
      'eventName',
    ],
    [
      'a sequence number that is not digits',
      JSON.stringify({ ...auditLine({ sequenceNumber: seq(1) }), sequenceNumber: '4e20' }),
      'sequenceNumber: must be 1 to 40 decimal digits',
    ],
    [
      'a 41-digit sequence number',
      JSON.stringify({ ...auditLine({ sequenceNumber: seq(1) }), sequenceNumber: '1'.repeat(41) }),
      'sequenceNumber',
    ],
    [
      'an image holding a number as a JSON number',
      JSON.stringify(auditLine({ sequenceNumber: seq(1), newImage: { version: { N: 2 } } as never })),
      'newImage.version.N is not a number text',
    ],
    [
      'an unknown actor',
      JSON.stringify({ ...auditLine({ sequenceNumber: seq(1) }), actor: 'admin' }),
      'actor',
    ],
  ])('%s', (_name, badLine, reason) => {
    it('is a malformed-line problem with the key and line number; the other lines are read', () => {
      // Prepare
      const good = (n: number): string => JSON.stringify(auditLine({ sequenceNumber: seq(n) }));
      const text = `${good(1)}\n${badLine}\n${good(3)}\n`;

      // Act
      const object = parseAuditObject('table=Orders/dt=2024-05-01/hour=12/a-b.jsonl.gz', text);

      // Assess
      expect(object.lines.map((line) => line.line)).toEqual([1, 3]);
      expect(object.problems).toEqual([
        {
          kind: 'malformed-line',
          objectKey: 'table=Orders/dt=2024-05-01/hour=12/a-b.jsonl.gz',
          line: 2,
          reason: expect.stringContaining(reason),
        },
      ]);
    });
  });

  it('takes a last line without its newline, and an empty object as no lines', () => {
    // Act
    const unterminated = parseAuditObject('k', JSON.stringify(auditLine({ sequenceNumber: seq(1) })));
    const empty = parseAuditObject('k', '');

    // Assess
    expect(unterminated).toMatchObject({ lines: [{ line: 1 }], problems: [] });
    expect(empty).toEqual({ lines: [], problems: [] });
  });
});

describe('compareSequenceNumbers', () => {
  it.each<[string, string, number]>([
    ['9', '10', -1],
    ['400000000000000000009', '400000000000000000010', -1],
    // A 21-digit number is earlier than any 40-digit one, whatever the text order says.
    ['900000000000000000000', '1000000000000000000000000000000000000000', -1],
    ['9999999999999999999999999999999999999999', '9999999999999999999999999999999999999998', 1],
    ['7'.repeat(40), '7'.repeat(40), 0],
  ])('%s vs %s -> %i', (a, b, expected) => {
    expect(compareSequenceNumbers(a, b)).toBe(expected);
  });
});

describe('assembleHistory', () => {
  it('orders the changes across objects by sequence number, oldest first', () => {
    // Prepare: a later object listed first (keys sort by day and hour, not by stream position).
    const objects = parsed(
      ['b', objectText([auditLine({ sequenceNumber: seq(3) }), auditLine({ sequenceNumber: seq(4) })])],
      ['a', objectText([auditLine({ sequenceNumber: seq(1), eventName: 'INSERT' })])],
      ['c', objectText([auditLine({ sequenceNumber: seq(2) })])],
    );

    // Act
    const history = assembleHistory(ORDER_ID, objects);

    // Assess
    expect(history.changes.map((change) => [change.sequenceNumber, change.source.objectKey])).toEqual([
      [seq(1), 'a'],
      [seq(2), 'c'],
      [seq(3), 'b'],
      [seq(4), 'b'],
    ]);
    expect(history.problems).toEqual([]);
  });

  it('orders 40-digit sequence numbers numerically, not as text', () => {
    // Prepare: as text, "9..." (21 digits) sorts after "1..." (40 digits); as numbers it is earlier.
    const early = '900000000000000000000';
    const late = '1000000000000000000000000000000000000001';
    const later = '1000000000000000000000000000000000000002';
    const objects = parsed([
      'k',
      objectText([
        auditLine({ sequenceNumber: later }),
        auditLine({ sequenceNumber: early }),
        auditLine({ sequenceNumber: late }),
      ]),
    ]);

    // Act
    const history = assembleHistory(ORDER_ID, objects);

    // Assess
    expect(history.changes.map((change) => change.sequenceNumber)).toEqual([early, late, later]);
  });

  it("keeps only the order's lines, by the top-level orderId", () => {
    // Prepare
    const objects = parsed([
      'k',
      objectText([
        auditLine({ sequenceNumber: seq(1) }),
        auditLine({ sequenceNumber: seq(2), orderId: OTHER_ORDER_ID }),
        auditLine({ sequenceNumber: seq(3) }),
      ]),
    ]);

    // Act
    const history = assembleHistory(ORDER_ID, objects);

    // Assess
    expect(history.changes.map((change) => change.sequenceNumber)).toEqual([seq(1), seq(3)]);
  });

  it('drops a line stored twice (a bisected retry) and counts it', () => {
    // Prepare: the first batch's retry after a bisect wrote records 2 and 3 again, in another object.
    const first = [auditLine({ sequenceNumber: seq(1) }), auditLine({ sequenceNumber: seq(2) })];
    const retry = [auditLine({ sequenceNumber: seq(2) }), auditLine({ sequenceNumber: seq(3) })];
    const objects = parsed(['first', objectText(first)], ['retry', objectText(retry)]);

    // Act
    const history = assembleHistory(ORDER_ID, objects);

    // Assess
    expect(history.changes.map((change) => change.sequenceNumber)).toEqual([seq(1), seq(2), seq(3)]);
    expect(history.changes[1]?.source).toEqual({ objectKey: 'first', line: 2 });
    expect(history.duplicatesDropped).toBe(1);
    expect(history.problems).toEqual([]);
  });

  it('takes a duplicate with its members in another order as the same line', () => {
    // Prepare
    const line = auditLine({ sequenceNumber: seq(1) });
    const reordered = Object.fromEntries(Object.entries(line).reverse());
    const objects = parsed(['a', objectText([line])], ['b', `${JSON.stringify(reordered)}\n`]);

    // Act
    const history = assembleHistory(ORDER_ID, objects);

    // Assess
    expect(history.duplicatesDropped).toBe(1);
    expect(history.problems).toEqual([]);
  });

  it('reports two lines with one eventId and different content as an integrity problem, keeping the first', () => {
    // Prepare
    const original = auditLine({ sequenceNumber: seq(2), eventId: 'e-2' });
    const tampered = auditLine({
      sequenceNumber: seq(2),
      eventId: 'e-2',
      newImage: orderImage({ status: 'CANCELLED', version: 2 }),
    });
    const objects = parsed(['a', objectText([original])], ['b', objectText([tampered])]);

    // Act
    const history = assembleHistory(ORDER_ID, objects);

    // Assess
    expect(history.changes).toHaveLength(1);
    expect(history.changes[0]?.diff.map(renderDiffEntry)).toContain('~ status: "PLACED" -> "PAID"');
    expect(history.duplicatesDropped).toBe(0);
    expect(history.problems).toEqual([
      {
        kind: 'conflicting-duplicate',
        eventId: 'e-2',
        kept: { objectKey: 'a', line: 1 },
        conflicting: { objectKey: 'b', line: 1 },
      },
    ]);
    expect(describeProblem(history.problems[0]!)).toBe(
      'eventId e-2 appears twice with different content: a line 1 (kept) and b line 1',
    );
  });

  it('carries the malformed lines of every object over, whatever order they belong to', () => {
    // Prepare
    const objects = parsed(['a', `${JSON.stringify(auditLine({ sequenceNumber: seq(1) }))}\nnot json\n`]);

    // Act
    const history = assembleHistory(ORDER_ID, objects);

    // Assess
    expect(history.changes).toHaveLength(1);
    expect(history.problems).toMatchObject([{ kind: 'malformed-line', objectKey: 'a', line: 2 }]);
    expect(describeProblem(history.problems[0]!)).toMatch(/^a line 2: malformed: not JSON/);
  });

  it('turns each line into a change with its header fields and diff', () => {
    // Prepare
    const lines = [
      auditLine({
        sequenceNumber: seq(1),
        eventName: 'INSERT',
        newImage: orderImage(),
        time: '2024-05-01T10:00:00.000Z',
      }),
      auditLine({
        sequenceNumber: seq(2),
        oldImage: orderImage(),
        newImage: orderImage({ status: 'SHIPPED', version: 2 }, { note: { S: 'gift' } }),
      }),
      auditLine({ sequenceNumber: seq(3), eventName: 'REMOVE', oldImage: orderImage(), actor: 'ttl' }),
    ];

    // Act
    const history = assembleHistory(ORDER_ID, parsed(['k', objectText(lines)]));

    // Assess
    expect(
      history.changes.map(({ eventName, actor, approximateCreationTime }) => [
        eventName,
        actor,
        approximateCreationTime,
      ]),
    ).toEqual([
      ['INSERT', 'user', '2024-05-01T10:00:00.000Z'],
      ['MODIFY', 'user', '2024-05-01T12:00:00.000Z'],
      ['REMOVE', 'ttl', '2024-05-01T12:00:00.000Z'],
    ]);
    expect(history.changes.map((change) => change.diff.map(renderDiffEntry))).toEqual([
      [`+ orderId: "${ORDER_ID}"`, '+ status: "PLACED"', '+ version: 1'],
      ['+ note: "gift"', '~ status: "PLACED" -> "SHIPPED"', '~ version: 1 -> 2'],
      [`- orderId: "${ORDER_ID}"`, '- status: "PLACED"', '- version: 1'],
    ]);
    expect(history.changes.every((change) => change.note === undefined)).toBe(true);
  });

  it('notes a MODIFY whose record carries no old image', () => {
    // Prepare
    const line = { ...auditLine({ sequenceNumber: seq(1) }), oldImage: undefined };

    // Act
    const history = assembleHistory(ORDER_ID, parsed(['k', `${JSON.stringify(line)}\n`]));

    // Assess
    expect(history.changes[0]?.note).toContain('no old image');
  });
});
