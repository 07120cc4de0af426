import { gunzipSync } from 'node:zlib';
import type { DynamoDBRecord } from 'aws-lambda';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AuditObjects } from '../../../ops/audit-history/audit-objects.js';
import {
  AUDIT_OBJECT_SPAN_MS,
  archivedRecordSlices,
  objectHourMs,
  readArchivedRange,
  readArchivedRecords,
} from '../../../ops/replay/audit-archive.js';
import { auditObjectOf } from '../../support/audit-objects.js';
import { createStreamRecordFactory, streamArn } from '../../support/stream-records.js';

const TABLE = 'Orders';
const OPTIONS = { streamArn: streamArn(TABLE), region: 'eu-west-1' } as const;
/** 2024-05-01T12:00:00Z in epoch seconds. */
const NOON = 1_714_564_800;

/** An in-memory audit bucket: key to object bytes (gzip or not, as S3AuditObjects reads both). */
class MemoryAuditObjects implements AuditObjects {
  public readonly location = 's3://memory';
  public readonly listed: string[] = [];
  public readonly reads: string[] = [];
  public constructor(public readonly objects: Map<string, Buffer>) {}
  public async *keys(prefix: string): AsyncGenerator<string> {
    this.listed.push(prefix);
    for (const key of [...this.objects.keys()].sort()) if (key.startsWith(prefix)) yield key;
  }
  public async commonPrefixes(): Promise<string[]> {
    return [];
  }
  public async read(key: string): Promise<Buffer> {
    this.reads.push(key);
    const object = this.objects.get(key);
    if (object === undefined) throw new Error(`NoSuchKey ${key}`);
    // As S3AuditObjects does: the audit log writes gzip.
    return object[0] === 0x1f && object[1] === 0x8b ? gunzipSync(object) : object;
  }
}

/** Writes records as the audit log does: one object per batch, keyed by its bounds, lines as serialized. */
function archiveOf(batches: readonly (readonly DynamoDBRecord[])[], table = TABLE): MemoryAuditObjects {
  const objects = new Map<string, Buffer>();
  for (const batch of batches) {
    const { key, bytes } = auditObjectOf(table, batch);
    objects.set(key, bytes);
  }
  return new MemoryAuditObjects(objects);
}

function window(fromSeconds: number, toSeconds: number): { from: Date; to: Date } {
  return { from: new Date(fromSeconds * 1000), to: new Date(toSeconds * 1000) };
}

/** What a consumer reads of a record: everything but SizeBytes, which the stream computes its own way. */
function essence(record: DynamoDBRecord): unknown {
  const { SizeBytes: _size, ...dynamodb } = record.dynamodb ?? {};
  return { ...record, dynamodb };
}

describe('the audit log read back as stream records', () => {
  it('rebuilds each record as the stream gave it: id, event, keys, images, sequence number, time, TTL identity', async () => {
    // Prepare
    const factory = createStreamRecordFactory({ approximateCreationDateTime: NOON });
    const records = [
      factory.insert({ orderId: 'o-1', status: 'PLACED', totalCents: 1999 }),
      factory.modify(
        { orderId: 'o-1', status: 'PLACED' },
        { orderId: 'o-1', status: 'SHIPPED', note: 'x\u0001y' },
      ),
      factory.remove({ orderId: 'o-2', status: 'CANCELLED' }),
      factory.ttlRemove({ orderId: 'o-3', status: 'DELIVERED', expiresAt: 1_714_000_000 }),
    ];
    const archive = archiveOf([records]);

    // Act
    const read = await readArchivedRecords(archive, TABLE, window(NOON - 60, NOON + 60), OPTIONS);

    // Assess
    expect(read.records.map(essence)).toEqual(records.map(essence));
    expect(read.problems).toEqual([]);
    expect(read).toMatchObject({ objectsRead: 1, linesRead: 4, duplicatesDropped: 0 });
  });

  it('keeps the window only, in stream order, each eventId once, and reports a malformed line without stopping', async () => {
    // Prepare: three batches; the second repeats a record (a bisected retry) and holds one outside the window
    const factory = createStreamRecordFactory();
    const early = factory.insert({ orderId: 'o-0' }, { approximateCreationDateTime: NOON - 3_600 });
    const a = factory.insert({ orderId: 'o-1' }, { approximateCreationDateTime: NOON });
    const b = factory.insert({ orderId: 'o-2' }, { approximateCreationDateTime: NOON + 10 });
    const late = factory.insert({ orderId: 'o-3' }, { approximateCreationDateTime: NOON + 7_200 });
    const archive = archiveOf([[early, a], [a, b], [late]]);
    archive.objects.set(
      `table=${TABLE}/dt=2024-05-01/hour=12/9-9.jsonl.gz`,
      Buffer.from('{"eventId":"oops"}\n'),
    );

    // Act
    const read = await readArchivedRecords(archive, TABLE, window(NOON, NOON + 3_600), OPTIONS);

    // Assess
    expect(read.records.map((record) => record.dynamodb?.SequenceNumber)).toEqual([
      a.dynamodb?.SequenceNumber,
      b.dynamodb?.SequenceNumber,
    ]);
    expect(read.duplicatesDropped).toBe(1);
    expect(read.problems).toEqual([expect.objectContaining({ kind: 'malformed-line', line: 1 })]);
  });

  it('lists each day from the object span before the window to its end, and reads only objects of the hours that can hold it', async () => {
    // Prepare: a window 12:00-15:00; objects at 08:00, 09:00 (3 h before 12:00), 14:00, and 00:00 the next day
    const objects = new Map<string, Buffer>(
      [
        'dt=2024-05-01/hour=08/1-1',
        'dt=2024-05-01/hour=09/2-2',
        'dt=2024-05-01/hour=14/3-3',
        'dt=2024-05-02/hour=00/4-4',
      ].map((key) => [`table=${TABLE}/${key}.jsonl.gz`, Buffer.from('')]),
    );
    const archive = new MemoryAuditObjects(objects);

    // Act
    const read = await readArchivedRecords(archive, TABLE, window(NOON, NOON + 3 * 3_600), OPTIONS);

    // Assess
    expect(AUDIT_OBJECT_SPAN_MS).toBe(3 * 3_600_000);
    expect(archive.listed).toEqual([`table=${TABLE}/dt=2024-05-01/`]);
    expect(archive.reads).toEqual([
      `table=${TABLE}/dt=2024-05-01/hour=09/2-2.jsonl.gz`,
      `table=${TABLE}/dt=2024-05-01/hour=14/3-3.jsonl.gz`,
    ]);
    expect(read.objectsListed).toBe(2);
  });

  it('yields the window hour by hour, each slice complete once the objects up to its end are read', async () => {
    // Prepare: a batch keyed at 11:59 holds a change of 12:30 (a backlog); another at 12:10 one of 12:10;
    // one at 13:05 one of 13:05; the window is 12:00-14:00
    const factory = createStreamRecordFactory();
    const at = (seconds: number, orderId: string): DynamoDBRecord =>
      factory.insert({ orderId }, { approximateCreationDateTime: seconds });
    const early = at(NOON - 60, 'o-0');
    const late = at(NOON + 1_800, 'o-1');
    const ten = at(NOON + 600, 'o-2');
    const oneOhFive = at(NOON + 3_900, 'o-3');
    const archive = archiveOf([[early, late], [ten], [oneOhFive]]);

    // Act
    const slices: string[][] = [];
    for await (const slice of archivedRecordSlices(archive, TABLE, window(NOON, NOON + 7_200), OPTIONS)) {
      slices.push(slice.map((record) => String(record.dynamodb?.NewImage?.orderId?.S)));
    }

    // Assess: the 11:00 hour's object yields nothing of the window yet (12:30 may have later company); the 12:00
    // hour's completes 12:00-12:59 in stream order, the 13:00 hour's the rest
    expect(slices).toEqual([['o-1', 'o-2'], ['o-3']]);
  });

  it.each([
    ['table=Orders/dt=2024-05-01/hour=09/1-2.jsonl.gz', Date.parse('2024-05-01T09:00:00Z')],
    ['table=Orders/dt=2024-13-01/hour=09/1-2.jsonl.gz', undefined],
    ['table=Orders/other/1-2.jsonl.gz', undefined],
  ])('objectHourMs(%s) is %s', (key, expected) => {
    // Act / Assess
    expect(objectHourMs(key)).toBe(expected);
  });

  it('gives a range back only when exactly its records are found', async () => {
    // Prepare
    const factory = createStreamRecordFactory({ approximateCreationDateTime: NOON });
    const records = Array.from({ length: 5 }, (_, i) => factory.insert({ orderId: `o-${i}` }));
    const seq = (i: number): string => records[i]?.dynamodb?.SequenceNumber ?? '';
    const range = (start: number, end: number, batchSize: number) => ({
      startSequenceNumber: seq(start),
      endSequenceNumber: seq(end),
      approximateArrivalOfFirstRecord: '2024-05-01T12:00:00Z',
      approximateArrivalOfLastRecord: '2024-05-01T12:00:01Z',
      batchSize,
    });
    const complete = archiveOf([records]);
    const missingOne = archiveOf([[...records.slice(0, 2), ...records.slice(3)]]);

    // Act
    const found = await readArchivedRange(complete, TABLE, range(1, 3, 3), OPTIONS);
    const gap = await readArchivedRange(missingOne, TABLE, range(1, 3, 3), OPTIONS);

    // Assess
    expect(found.kind === 'records' && found.records.map((r) => r.dynamodb?.SequenceNumber)).toEqual([
      seq(1),
      seq(2),
      seq(3),
    ]);
    expect(gap).toEqual({ kind: 'missing', reason: "the audit log holds 2 of the range's 3 record(s)" });
  });

  it('round-trips any client-chosen attribute names and values exactly (property)', async () => {
    // Prepare: raw AttributeValue images (Object.fromEntries makes even `__proto__` an own attribute)
    const name = fc.oneof(
      fc.constantFrom('__proto__', 'constructor', 'toString', 'a.b', 'ü'),
      fc.string({ minLength: 1 }),
    );
    const value = fc.oneof(
      fc.string().map((text) => ({ S: text })),
      fc.bigInt({ min: -(10n ** 37n), max: 10n ** 37n }).map((n) => ({ N: n.toString() })),
      fc.boolean().map((flag) => ({ BOOL: flag })),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.tuple(name, value), { selector: ([key]) => key, maxLength: 6 }),
        async (entries) => {
          const image = Object.fromEntries([
            ...entries.filter(([key]) => key !== 'orderId'),
            ['orderId', { S: 'o-1' }],
          ]);
          const base = createStreamRecordFactory({ approximateCreationDateTime: NOON }).insert({
            orderId: 'o-1',
          });
          const record: DynamoDBRecord = { ...base, dynamodb: { ...base.dynamodb, NewImage: image } };

          // Act
          const read = await readArchivedRecords(
            archiveOf([[record]]),
            TABLE,
            window(NOON, NOON + 1),
            OPTIONS,
          );

          // Assess
          expect(read.records.map(essence)).toEqual([essence(record)]);
          expect(Object.keys(read.records[0]?.dynamodb?.NewImage ?? {}).sort()).toEqual(
            Object.keys(image).sort(),
          );
        },
      ),
      { numRuns: 60 },
    );
  });
});
