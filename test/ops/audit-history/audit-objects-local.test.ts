import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterEach, beforeEach, describe, expect, expectTypeOf, it } from 'vitest';
import { toAuditLine } from '../../../lambdas/audit-log/audit-line.js';
import { renderDiffEntry } from '../../../ops/audit-history/attribute-diff.js';
import { S3AuditObjects, type S3ReadClient } from '../../../ops/audit-history/audit-objects.js';
import { readOrderHistory } from '../../../ops/audit-history/history-run.js';
import { LocalS3Client } from '../../../sandbox/adapters/local-s3.js';
import { changeRecord } from '../../lambdas/audit-log/records.js';
import {
  AUDIT_BUCKET,
  auditLine,
  ORDER_ID,
  OTHER_ORDER_ID,
  objectText,
  orderImage,
  putAuditObject,
  seq,
} from './audit-lines.js';

/** The ISO time of a UTC day and hour. */
function at(day: string, hour: number): string {
  return `${day}T${String(hour).padStart(2, '0')}:00:00.000Z`;
}

async function collect(iterable: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

describe('S3AuditObjects over LocalS3Client', () => {
  let outputDir: string;
  let client: LocalS3Client;

  beforeEach(() => {
    outputDir = mkdtempSync(join(tmpdir(), 'audit-history-local-'));
    client = new LocalS3Client({ outputDir, buckets: [AUDIT_BUCKET, 'access-logs'] });
  });
  afterEach(() => {
    rmSync(outputDir, { recursive: true, force: true });
  });

  it('accepts the real S3Client and the sandbox stand-in as its client (type-level check)', () => {
    expectTypeOf<S3Client>().toExtend<S3ReadClient>();
    expectTypeOf<LocalS3Client>().toExtend<S3ReadClient>();
  });

  it('lists the keys under a prefix in key order, page after page, and after a given key', async () => {
    // Prepare
    const keys = [];
    for (const [n, day] of [
      [1, '2024-05-01'],
      [2, '2024-05-02'],
      [3, '2024-05-02'],
      [4, '2024-05-03'],
      [5, '2024-05-04'],
    ] as const) {
      keys.push(await putAuditObject(client, [auditLine({ sequenceNumber: seq(n), time: at(day, 9) })]));
    }
    const objects = new S3AuditObjects(client, AUDIT_BUCKET, { pageSize: 2 });

    // Act
    const all = await collect(objects.keys('table=Orders/'));
    const fromSecondDay = await collect(
      objects.keys('table=Orders/', { startAfter: 'table=Orders/dt=2024-05-02' }),
    );
    const oneDay = await collect(objects.keys('table=Orders/dt=2024-05-02/'));

    // Assess
    expect(all).toEqual(keys);
    expect(fromSecondDay).toEqual(keys.slice(1));
    expect(oneDay).toEqual(keys.slice(1, 3));
    expect(client.stats().calls.ListObjectsV2).toBe(3 + 2 + 1);
  });

  it('lists the table prefixes with a delimiter, across pages', async () => {
    // Prepare
    for (const table of ['Votes', 'Orders', 'Inventory']) {
      await putAuditObject(client, [auditLine({ sequenceNumber: seq(1) })], { table });
      await putAuditObject(client, [auditLine({ sequenceNumber: seq(2) })], { table });
    }
    const objects = new S3AuditObjects(client, AUDIT_BUCKET, { pageSize: 1 });

    // Act
    const prefixes = await objects.commonPrefixes('table=', '/');

    // Assess
    expect(prefixes).toEqual(['table=Inventory/', 'table=Orders/', 'table=Votes/']);
  });

  it('reads an object written by the audit log back as its JSON Lines text', async () => {
    // Prepare: lines made by the audit log's own toAuditLine from stream records.
    const lines = [
      toAuditLine(
        changeRecord({ eventName: 'INSERT', newImage: { orderId: { S: 'o-1' } }, sequenceNumber: '1' }),
      ),
      toAuditLine(
        changeRecord({
          eventName: 'REMOVE',
          oldImage: { orderId: { S: 'o-1' } },
          sequenceNumber: '2',
          ttl: true,
        }),
      ),
    ];
    const key = await putAuditObject(client, lines);
    const objects = new S3AuditObjects(client, AUDIT_BUCKET);

    // Act
    const bytes = await objects.read(key);

    // Assess
    expect(bytes.toString('utf8')).toBe(objectText(lines));
  });

  it.each([
    ['gzip bytes stored without ContentEncoding are gunzipped', gzipSync('{"a":1}\n'), undefined],
    ['plain bytes stored with ContentEncoding gzip are taken as they are', Buffer.from('{"a":1}\n'), 'gzip'],
  ])('decides by the magic number: %s', async (_name, body, contentEncoding) => {
    // Prepare
    await client.send(
      new PutObjectCommand({
        Bucket: AUDIT_BUCKET,
        Key: 'table=Orders/dt=2024-05-01/hour=00/1-1.jsonl.gz',
        Body: body,
        ...(contentEncoding === undefined ? {} : { ContentEncoding: contentEncoding }),
      }),
    );
    const objects = new S3AuditObjects(client, AUDIT_BUCKET);

    // Act
    const bytes = await objects.read('table=Orders/dt=2024-05-01/hour=00/1-1.jsonl.gz');

    // Assess
    expect(bytes.toString('utf8')).toBe('{"a":1}\n');
  });

  it('hands out the bytes as stored, gzip and all, to a check of what was written', async () => {
    // Prepare
    const stored = gzipSync('{"a":1}\n');
    const key = 'table=Orders/dt=2024-05-01/hour=00/1-1.jsonl.gz';
    await client.send(new PutObjectCommand({ Bucket: AUDIT_BUCKET, Key: key, Body: stored }));
    const objects = new S3AuditObjects(client, AUDIT_BUCKET);

    // Act
    const bytes = await objects.bytes(key);

    // Assess
    expect(bytes.equals(stored)).toBe(true);
  });

  describe('readOrderHistory', () => {
    /** Three days of one order's history in the Orders table, other orders and another table in between. */
    async function seedHistory(): Promise<void> {
      await putAuditObject(client, [
        auditLine({
          sequenceNumber: seq(1),
          eventName: 'INSERT',
          newImage: orderImage(),
          time: at('2024-05-01', 10),
        }),
        auditLine({
          sequenceNumber: seq(2),
          eventName: 'INSERT',
          orderId: OTHER_ORDER_ID,
          time: at('2024-05-01', 10),
        }),
      ]);
      const paid = auditLine({
        sequenceNumber: seq(3),
        oldImage: orderImage(),
        newImage: orderImage({ status: 'PAID', version: 2 }),
        time: at('2024-05-02', 8),
      });
      const shipped = auditLine({
        sequenceNumber: seq(4),
        oldImage: orderImage({ status: 'PAID', version: 2 }),
        newImage: orderImage({ status: 'SHIPPED', version: 3 }),
        time: at('2024-05-02', 9),
      });
      await putAuditObject(client, [paid, shipped]);
      // A bisected retry stored the second change again, in an object of its own.
      await putAuditObject(client, [shipped]);
      await putAuditObject(client, [
        auditLine({
          sequenceNumber: seq(5),
          eventName: 'REMOVE',
          oldImage: orderImage({ status: 'SHIPPED', version: 3 }),
          actor: 'ttl',
          time: at('2024-05-03', 23),
        }),
      ]);
      await putAuditObject(client, [auditLine({ sequenceNumber: seq(9), time: at('2024-05-02', 0) })], {
        table: 'Archive',
      });
    }

    it('reads every table and day: the whole history, oldest first, the duplicate dropped', async () => {
      // Prepare
      await seedHistory();
      const objects = new S3AuditObjects(client, AUDIT_BUCKET, { location: 'local' });

      // Act
      const result = await readOrderHistory(objects, { orderId: ORDER_ID });

      // Assess
      expect(result.tables).toEqual(['Archive', 'Orders']);
      expect(result.objectsRead).toBe(5);
      expect(result.duplicatesDropped).toBe(1);
      expect(result.problems).toEqual([]);
      expect(
        result.changes.map((change) => [change.sequenceNumber, change.source.objectKey.split('/')[0]]),
      ).toEqual([
        [seq(1), 'table=Orders'],
        [seq(3), 'table=Orders'],
        [seq(4), 'table=Orders'],
        [seq(5), 'table=Orders'],
        [seq(9), 'table=Archive'],
      ]);
      expect(result.changes[2]?.diff.map(renderDiffEntry)).toEqual([
        '~ status: "PAID" -> "SHIPPED"',
        '~ version: 2 -> 3',
      ]);
    });

    it.each<[string, { since?: string; until?: string }, string[], number]>([
      ['one day', { since: '2024-05-02', until: '2024-05-02' }, [seq(3), seq(4)], 2],
      ['from a day on', { since: '2024-05-02' }, [seq(3), seq(4), seq(5)], 3],
      ['up to a day', { until: '2024-05-01' }, [seq(1)], 1],
      ['a range with no object', { since: '2024-06-01', until: '2024-06-30' }, [], 0],
    ])('reads only the days asked for with --table: %s', async (_name, range, expected, objectsRead) => {
      // Prepare
      await seedHistory();
      const objects = new S3AuditObjects(client, AUDIT_BUCKET);

      // Act
      const result = await readOrderHistory(objects, { orderId: ORDER_ID, table: 'Orders', ...range });

      // Assess
      expect(result.changes.map((change) => change.sequenceNumber)).toEqual(expected);
      expect(result.objectsRead).toBe(objectsRead);
      expect(result.tables).toEqual(['Orders']);
    });

    it('reports an object that is not gzip nor UTF-8 text, and goes on', async () => {
      // Prepare
      await seedHistory();
      await client.send(
        new PutObjectCommand({
          Bucket: AUDIT_BUCKET,
          Key: 'table=Orders/dt=2024-05-01/hour=11/9-9.jsonl.gz',
          Body: Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0xde, 0xad]),
        }),
      );
      const objects = new S3AuditObjects(client, AUDIT_BUCKET);

      // Act
      const result = await readOrderHistory(objects, { orderId: ORDER_ID, table: 'Orders' });

      // Assess
      expect(result.changes).toHaveLength(4);
      expect(result.problems).toEqual([
        {
          kind: 'unreadable-object',
          objectKey: 'table=Orders/dt=2024-05-01/hour=11/9-9.jsonl.gz',
          reason: expect.stringContaining('Error'),
        },
      ]);
    });
  });
});
