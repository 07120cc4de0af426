import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { LocalPutJournalEntry } from '../../../sandbox/adapters/local-s3.js';
import {
  type AuditCheckInput,
  checkAuditLog,
  type StoredAuditObject,
  type StreamRecordTruth,
} from '../../../verify/chaos/audit-invariants.js';
import { MAX_PROBLEMS } from '../../../verify/chaos/invariants.js';

const TABLE = 'sandbox-Orders';
/** The minute DynamoDB Local truncates the stream's times to. */
const MINUTE = Date.parse('2030-01-01T12:34:00.000Z');
/** When the sandbox's stream source first read the records: the lines' time. */
const READ_AT = '2030-01-01T12:34:17.000Z';
const SLACK_MS = 120_000;

/** The stream record of the nth change: INSERT of order o-n at version 1 (sequence numbers grow with n). */
function streamRecord(n: number, overrides: Partial<StreamRecordTruth> = {}): StreamRecordTruth {
  return {
    shardId: 'shard-1',
    eventId: `ev-${n}`,
    eventName: 'INSERT',
    sequenceNumber: `${400_000_000_000_000_000_000n + BigInt(n)}`,
    approximateCreationTime: MINUTE,
    keys: { orderId: { S: `o-${n}` } },
    newImage: { orderId: { S: `o-${n}` }, status: { S: 'PLACED' }, version: { N: '1' } },
    actor: 'user',
    ...overrides,
  };
}

/** The audit line the record must have (audit-line.ts, AuditLine), as a JSON object. */
function lineOf(record: StreamRecordTruth, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const names = new Set([...Object.keys(record.oldImage ?? {}), ...Object.keys(record.newImage ?? {})]);
  return {
    eventId: record.eventId,
    eventName: record.eventName,
    sequenceNumber: record.sequenceNumber,
    approximateCreationTime: READ_AT,
    orderId: (record.keys.orderId as { S: string }).S,
    keys: record.keys,
    ...(record.oldImage === undefined ? {} : { oldImage: record.oldImage }),
    ...(record.newImage === undefined ? {} : { newImage: record.newImage }),
    changedAttributes: [...names].sort(),
    actor: record.actor,
    ...overrides,
  };
}

/** The key of an object holding these lines. */
function keyOf(lines: readonly Record<string, unknown>[], table = TABLE): string {
  const first = lines[0]!;
  const last = lines[lines.length - 1]!;
  const time = String(first.approximateCreationTime);
  return `table=${table}/dt=${time.slice(0, 10)}/hour=${time.slice(11, 13)}/${String(first.sequenceNumber)}-${String(last.sequenceNumber)}.jsonl.gz`;
}

/** A stored object of these lines, under the key its content implies unless another is given. */
function objectOf(lines: readonly Record<string, unknown>[], key = keyOf(lines)): StoredAuditObject {
  return { key, body: gzipSync(lines.map((line) => `${JSON.stringify(line)}\n`).join('')) };
}

function rawObject(key: string, text: string): StoredAuditObject {
  return { key, body: gzipSync(text) };
}

function sha256(object: StoredAuditObject): string {
  return createHash('sha256').update(object.body).digest('base64');
}

/** The journal line of one PutObject of the object. */
function put(
  object: StoredAuditObject,
  result: LocalPutJournalEntry['result'],
  overrides: Partial<LocalPutJournalEntry> = {},
): LocalPutJournalEntry {
  return {
    at: '2030-01-01T12:34:20.000Z',
    key: object.key,
    result,
    ifNoneMatch: true,
    bytes: object.body.byteLength,
    sha256: sha256(object),
    ...(result === 'failed' ? { reason: 'SlowDown (injected)' } : {}),
    ...overrides,
  };
}

/** The input of a run whose every object was created once, nothing else happening. */
function input(
  stream: readonly StreamRecordTruth[],
  objects: readonly StoredAuditObject[],
  overrides: Partial<AuditCheckInput> = {},
): AuditCheckInput {
  return {
    tableName: TABLE,
    stream,
    objects,
    journal: objects.map((object) => put(object, 'created')),
    lostResponses: 0,
    creationTimeSlackMs: SLACK_MS,
    deadLetters: 0,
    onFailureRecords: 0,
    ...overrides,
  };
}

describe('checkAuditLog', () => {
  it('is ok when every record has its line, duplicates and retries that met their own object included', () => {
    // Prepare: a batch of three stored after a SlowDown, then its answer lost and the retry answered 412; a bisected
    // retry of its first half stored again under its own key.
    const records = [1, 2, 3].map((n) => streamRecord(n));
    const whole = objectOf(records.map((record) => lineOf(record)));
    const half = objectOf(records.slice(0, 2).map((record) => lineOf(record)));
    const journal = [
      put(whole, 'failed'),
      put(whole, 'created'),
      put(whole, 'precondition-failed'),
      put(half, 'created'),
    ];

    // Act
    const report = checkAuditLog(
      input(records, [half, whole], { journal, lostResponses: 1, deadLetters: 0, onFailureRecords: 0 }),
    );

    // Assess
    expect(report).toEqual({
      streamRecords: 3,
      objects: 2,
      lines: 5,
      eventIds: 3,
      putCalls: 4,
      created: 2,
      preconditionFailed: 1,
      slowDowns: 1,
      lostResponses: 1,
      missing: 0,
      unexpected: 0,
      mismatched: 0,
      duplicates: 2,
      overwrites: 0,
      keyCollisions: 0,
      unconditionalPuts: 0,
      misfiled: 0,
      outOfOrder: 0,
      malformed: 0,
      deadLetters: 0,
      onFailureRecords: 0,
      ok: true,
      problems: [],
    });
  });

  it('is ok with an empty stream and an empty bucket', () => {
    // Act
    const report = checkAuditLog(input([], []));

    // Assess
    expect(report).toMatchObject({ streamRecords: 0, objects: 0, lines: 0, ok: true });
  });

  it('counts a stream record without a line as missing', () => {
    // Prepare
    const records = [1, 2, 3].map((n) => streamRecord(n));

    // Act
    const report = checkAuditLog(input(records, [objectOf([lineOf(records[0]!), lineOf(records[2]!)])]));

    // Assess
    expect(report).toMatchObject({ missing: 1, ok: false });
    expect(report.problems).toEqual([
      `stream record ev-2 (INSERT ${records[1]!.sequenceNumber} of shard-1, keys {"orderId":{"S":"o-2"}}) has no line in the audit bucket`,
    ]);
  });

  it('counts a line of no stream record as unexpected', () => {
    // Prepare
    const stranger = streamRecord(9);
    const object = objectOf([lineOf(stranger)]);

    // Act
    const report = checkAuditLog(input([], [object]));

    // Assess
    expect(report).toMatchObject({ unexpected: 1, missing: 0, ok: false });
    expect(report.problems[0]).toMatch(/line 1: eventID ev-9 .* is not a record of the stream/);
  });

  describe.each([
    ['another event name', { eventName: 'MODIFY' }, /eventName MODIFY, the stream says INSERT/],
    [
      'another sequence number',
      { sequenceNumber: '400000000000000000099' },
      /sequenceNumber 400000000000000000099/,
    ],
    ['other keys', { keys: { orderId: { S: 'o-2' } } }, /keys \{"orderId":\{"S":"o-2"\}\}/],
    [
      'an old image the record lacks',
      { oldImage: { orderId: { S: 'o-1' } } },
      /oldImage .*the stream says nothing/,
    ],
    [
      'a number spelled otherwise',
      { newImage: { orderId: { S: 'o-1' }, status: { S: 'PLACED' }, version: { N: '1.0' } } },
      /newImage/,
    ],
    ['an unmarshalled image', { newImage: { orderId: 'o-1', status: 'PLACED', version: 1 } }, /newImage/],
    ['wrong changed attributes', { changedAttributes: ['status'] }, /changedAttributes \[status\]/],
    ['another order id', { orderId: 'o-2' }, /orderId "o-2", the keys say "o-1"/],
    ['no order id', { orderId: undefined }, /orderId nothing, the keys say "o-1"/],
    ['another actor', { actor: 'ttl' }, /actor ttl, the stream says user/],
    [
      'a time before the record',
      { approximateCreationTime: '2030-01-01T12:33:58.000Z' },
      /approximateCreationTime/,
    ],
    [
      'a time long after the record',
      { approximateCreationTime: '2030-01-01T12:36:01.000Z' },
      /up to 120000 ms later/,
    ],
  ])('a line with %s', (_name, overrides, problem) => {
    it('is mismatched', () => {
      // Prepare: the key follows the line, so that only its content is at fault.
      const record = streamRecord(1);
      const object = objectOf([lineOf(record, overrides)]);

      // Act
      const report = checkAuditLog(input([record], [object]));

      // Assess
      expect(report).toMatchObject({ mismatched: 1, misfiled: 0, malformed: 0, ok: false });
      expect(report.problems[0]).toMatch(/differs from its stream record/);
      expect(report.problems[0]).toMatch(problem);
    });
  });

  it.each([
    ['the truncated minute itself', '2030-01-01T12:34:00.000Z'],
    ['a second before it (rounding)', '2030-01-01T12:33:59.000Z'],
    ['the end of the slack', '2030-01-01T12:36:00.000Z'],
  ])('accepts a line time at %s', (_name, time) => {
    // Prepare
    const record = streamRecord(1);

    // Act
    const report = checkAuditLog(
      input([record], [objectOf([lineOf(record, { approximateCreationTime: time })])]),
    );

    // Assess
    expect(report).toMatchObject({ mismatched: 0, ok: true });
  });

  it('compares images whatever their member order, and sets whatever their member order', () => {
    // Prepare: a MODIFY whose tags set is the same in another order; only the status changed.
    const record = streamRecord(1, {
      eventName: 'MODIFY',
      oldImage: { orderId: { S: 'o-1' }, status: { S: 'PLACED' }, tags: { SS: ['a', 'b'] } },
      newImage: { orderId: { S: 'o-1' }, status: { S: 'PAID' }, tags: { SS: ['b', 'a'] } },
    });
    const line = lineOf(record, {
      changedAttributes: ['status'],
      newImage: { tags: { SS: ['b', 'a'] }, status: { S: 'PAID' }, orderId: { S: 'o-1' } },
    });

    // Act
    const report = checkAuditLog(input([record], [objectOf([line])]));

    // Assess
    expect(report).toMatchObject({ mismatched: 0, ok: true });
  });

  it('counts a repeated eventID with other content as mismatched, on top of the duplicate', () => {
    // Prepare: the second copy has a field the first lacks.
    const record = streamRecord(1);
    const first = objectOf([lineOf(record)]);
    const second = objectOf([{ ...lineOf(record), note: 'again' }], `${keyOf([lineOf(record)])}x`);

    // Act
    const report = checkAuditLog(input([record], [first, second]));

    // Assess
    expect(report).toMatchObject({ duplicates: 1, mismatched: 1, ok: false });
    expect(report.problems).toContainEqual(expect.stringMatching(/eventID ev-1 has two contents/));
  });

  describe.each([
    [
      'overwritten',
      (object: StoredAuditObject) => [put(object, 'created'), put(object, 'overwritten')],
      /was overwritten/,
    ],
    [
      'created twice',
      (object: StoredAuditObject) => [put(object, 'created'), put(object, 'created')],
      /was created a second time/,
    ],
  ])('an object %s', (_name, journal, problem) => {
    it('counts an overwrite', () => {
      // Prepare
      const record = streamRecord(1);
      const object = objectOf([lineOf(record)]);

      // Act
      const report = checkAuditLog(input([record], [object], { journal: journal(object) }));

      // Assess
      expect(report).toMatchObject({ overwrites: 1, ok: false });
      expect(report.problems[0]).toMatch(problem);
    });
  });

  it.each([
    [
      'another body',
      (object: StoredAuditObject) => [
        put(object, 'created'),
        put(object, 'precondition-failed', { sha256: 'other' }),
      ],
      /not the stored one/,
    ],
    [
      'a key never created',
      (object: StoredAuditObject) => [put(object, 'precondition-failed')],
      /no object of that key was created/,
    ],
  ])('counts a 412 for %s as a key collision', (_name, journal, problem) => {
    // Prepare
    const record = streamRecord(1);
    const object = objectOf([lineOf(record)]);

    // Act
    const report = checkAuditLog(input([record], [object], { journal: journal(object) }));

    // Assess
    expect(report).toMatchObject({ keyCollisions: 1, preconditionFailed: 1, ok: false });
    expect(report.problems[0]).toMatch(problem);
  });

  it('counts a PutObject without If-None-Match', () => {
    // Prepare
    const record = streamRecord(1);
    const object = objectOf([lineOf(record)]);

    // Act
    const report = checkAuditLog(
      input([record], [object], { journal: [put(object, 'created', { ifNoneMatch: false })] }),
    );

    // Assess
    expect(report).toMatchObject({ unconditionalPuts: 1, overwrites: 0, ok: false });
    expect(report.problems[0]).toMatch(/had no If-None-Match/);
  });

  describe.each([
    ['another table', (lines: Record<string, unknown>[]) => keyOf(lines, 'sandbox-Votes')],
    ['another hour', (lines: Record<string, unknown>[]) => keyOf(lines).replace('hour=12', 'hour=13')],
    [
      'another day',
      (lines: Record<string, unknown>[]) => keyOf(lines).replace('dt=2030-01-01', 'dt=2030-01-02'),
    ],
    [
      'another first sequence number',
      (lines: Record<string, unknown>[]) => keyOf(lines).replace(String(lines[0]!.sequenceNumber), '1'),
    ],
    [
      'another last sequence number',
      (lines: Record<string, unknown>[]) => keyOf(lines.slice(0, 1)).replace('.jsonl.gz', '9.jsonl.gz'),
    ],
  ])('an object filed under %s', (_name, keyFor) => {
    it('is misfiled', () => {
      // Prepare
      const records = [1, 2].map((n) => streamRecord(n));
      const lines = records.map((record) => lineOf(record));
      const object = objectOf(lines, keyFor(lines));

      // Act
      const report = checkAuditLog(input(records, [object]));

      // Assess
      expect(report).toMatchObject({ misfiled: 1, mismatched: 0, ok: false });
      expect(report.problems[0]).toBe(`object ${object.key} should be ${keyOf(lines)} by its content`);
    });
  });

  it('counts lines that do not follow their predecessor in sequence order', () => {
    // Prepare: three lines, the last two swapped; the key names the first and last line as they stand.
    const records = [1, 2, 3].map((n) => streamRecord(n));
    const lines = [records[0]!, records[2]!, records[1]!].map((record) => lineOf(record));

    // Act
    const report = checkAuditLog(input(records, [objectOf(lines)]));

    // Assess
    expect(report).toMatchObject({ outOfOrder: 1, misfiled: 0, ok: false });
    expect(report.problems[0]).toMatch(
      /line of 400000000000000000002 comes after the line of 400000000000000000003/,
    );
  });

  it('compares sequence numbers as numbers, not as text', () => {
    // Prepare: 9… has fewer digits than 10…, so it is the earlier record though it sorts later as text.
    const early = streamRecord(1, { sequenceNumber: '900000000000000000000' });
    const late = streamRecord(2, { sequenceNumber: '1000000000000000000000' });

    // Act
    const report = checkAuditLog(input([early, late], [objectOf([lineOf(early), lineOf(late)])]));

    // Assess
    expect(report).toMatchObject({ outOfOrder: 0, ok: true });
  });

  it.each([
    ['not gzip', { key: 'k', body: Buffer.from('plain') }, /object k is not gzip/],
    ['empty', rawObject('k', ''), /object k is empty/],
    ['cut short of its last line feed', rawObject('k', '{}'), /does not end with a line feed/],
    ['holding a line that is not JSON', rawObject('k', '{"eventId":\n'), /line 1 is not JSON/],
    ['holding an empty line', rawObject('k', '\n'), /line 1 is not JSON/],
    [
      'holding a line without a sequence number',
      rawObject('k', `${JSON.stringify({ ...lineOf(streamRecord(1)), sequenceNumber: undefined })}\n`),
      /line 1 is not an audit line \(sequenceNumber/,
    ],
    [
      'holding a line with an unknown actor',
      rawObject('k', `${JSON.stringify(lineOf(streamRecord(1), { actor: 'admin' }))}\n`),
      /line 1 is not an audit line \(actor/,
    ],
  ])('counts an object %s as malformed', (_name, object, problem) => {
    // Act
    const report = checkAuditLog(input([], [object]));

    // Assess
    expect(report).toMatchObject({ malformed: 1, ok: false });
    expect(report.problems[0]).toMatch(problem);
  });

  it('keeps at most MAX_PROBLEMS examples while counting everything', () => {
    // Prepare
    const records = Array.from({ length: MAX_PROBLEMS + 5 }, (_unused, n) => streamRecord(n + 1));

    // Act
    const report = checkAuditLog(input(records, []));

    // Assess
    expect(report.missing).toBe(MAX_PROBLEMS + 5);
    expect(report.problems).toHaveLength(MAX_PROBLEMS);
  });

  it('reports the audit log DLQ figures it is given', () => {
    // Act
    const report = checkAuditLog(input([], [], { deadLetters: 2, onFailureRecords: 7 }));

    // Assess: for information; what they cost shows as missing lines.
    expect(report).toMatchObject({ deadLetters: 2, onFailureRecords: 7, ok: true });
  });
});
