import 'aws-sdk-client-mock-vitest/extend';
import { Readable } from 'node:stream';
import {
  GetObjectCommand,
  type GetObjectCommandOutput,
  ListObjectsV2Command,
  NoSuchKey,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { encodeAuditObject } from '../../../lambdas/audit-log/audit-line.js';
import {
  ListingTokenMissingError,
  S3AuditObjects,
  UnreadableBodyError,
} from '../../../ops/audit-history/audit-objects.js';
import { readOrderHistory } from '../../../ops/audit-history/history-run.js';
import { auditLine, getObjectBody, ORDER_ID, objectText, seq } from './audit-lines.js';

const BUCKET = 'orders-audit-123456789012';
const s3 = mockClient(S3Client);

/** The inputs of every ListObjectsV2 call, in order. */
function listInputs(): unknown[] {
  return s3.commandCalls(ListObjectsV2Command).map((call) => call.args[0].input);
}

async function collect(iterable: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

describe('S3AuditObjects over S3Client', () => {
  beforeEach(() => {
    s3.reset();
  });

  it('follows ListObjectsV2 pages by ContinuationToken, sending exactly the prefix, page size and token', async () => {
    // Prepare
    s3.on(ListObjectsV2Command, { ContinuationToken: undefined })
      .resolves({
        Contents: [{ Key: 'table=Orders/a' }, { Key: 'table=Orders/b' }],
        IsTruncated: true,
        NextContinuationToken: 't1',
      })
      .on(ListObjectsV2Command, { ContinuationToken: 't1' })
      .resolves({ Contents: [{ Key: 'table=Orders/c' }], IsTruncated: true, NextContinuationToken: 't2' })
      .on(ListObjectsV2Command, { ContinuationToken: 't2' })
      .resolves({ Contents: [], IsTruncated: false });
    const objects = new S3AuditObjects(new S3Client({}), BUCKET, { pageSize: 2 });

    // Act
    const keys = await collect(objects.keys('table=Orders/'));

    // Assess
    expect(keys).toEqual(['table=Orders/a', 'table=Orders/b', 'table=Orders/c']);
    expect(listInputs()).toStrictEqual([
      { Bucket: BUCKET, Prefix: 'table=Orders/', MaxKeys: 2 },
      { Bucket: BUCKET, Prefix: 'table=Orders/', MaxKeys: 2, ContinuationToken: 't1' },
      { Bucket: BUCKET, Prefix: 'table=Orders/', MaxKeys: 2, ContinuationToken: 't2' },
    ]);
  });

  it('sends StartAfter, and stops listing when the consumer stops', async () => {
    // Prepare
    s3.on(ListObjectsV2Command).resolves({
      Contents: [{ Key: 'table=Orders/dt=2024-05-02/x' }],
      IsTruncated: true,
      NextContinuationToken: 't1',
    });
    const objects = new S3AuditObjects(new S3Client({}), BUCKET);

    // Act
    const first: string[] = [];
    for await (const key of objects.keys('table=Orders/', { startAfter: 'table=Orders/dt=2024-05-02' })) {
      first.push(key);
      break;
    }

    // Assess
    expect(first).toEqual(['table=Orders/dt=2024-05-02/x']);
    expect(listInputs()).toStrictEqual([
      { Bucket: BUCKET, Prefix: 'table=Orders/', StartAfter: 'table=Orders/dt=2024-05-02' },
    ]);
  });

  it('lists common prefixes with a Delimiter, across pages', async () => {
    // Prepare
    s3.on(ListObjectsV2Command, { ContinuationToken: undefined })
      .resolves({
        CommonPrefixes: [{ Prefix: 'table=Inventory/' }],
        IsTruncated: true,
        NextContinuationToken: 'n',
      })
      .on(ListObjectsV2Command, { ContinuationToken: 'n' })
      .resolves({ CommonPrefixes: [{ Prefix: 'table=Orders/' }], IsTruncated: false });
    const objects = new S3AuditObjects(new S3Client({}), BUCKET);

    // Act
    const prefixes = await objects.commonPrefixes('table=', '/');

    // Assess
    expect(prefixes).toEqual(['table=Inventory/', 'table=Orders/']);
    expect(listInputs()).toStrictEqual([
      { Bucket: BUCKET, Prefix: 'table=', Delimiter: '/' },
      { Bucket: BUCKET, Prefix: 'table=', Delimiter: '/', ContinuationToken: 'n' },
    ]);
  });

  it('refuses a truncated page without a continuation token instead of stopping silently', async () => {
    // Prepare
    s3.on(ListObjectsV2Command).resolves({ Contents: [{ Key: 'k' }], IsTruncated: true });
    const objects = new S3AuditObjects(new S3Client({}), BUCKET);

    // Act
    const listing = collect(objects.keys('table=Orders/'));

    // Assess
    await expect(listing).rejects.toBeInstanceOf(ListingTokenMissingError);
  });

  it.each<[string, () => GetObjectCommandOutput['Body'], string | undefined]>([
    [
      'gzip bytes with ContentEncoding gzip',
      () => getObjectBody(encodeAuditObject([auditLine({ sequenceNumber: seq(1) })])),
      'gzip',
    ],
    [
      'gzip bytes without the header',
      () => getObjectBody(encodeAuditObject([auditLine({ sequenceNumber: seq(1) })])),
      undefined,
    ],
    [
      'bytes an HTTP layer already decompressed, header still there',
      () => getObjectBody(Buffer.from(objectText([auditLine({ sequenceNumber: seq(1) })]))),
      'gzip',
    ],
    [
      'a stream of gzip chunks',
      () =>
        Readable.from([
          encodeAuditObject([auditLine({ sequenceNumber: seq(1) })]),
        ]) as unknown as GetObjectCommandOutput['Body'],
      'gzip',
    ],
  ])('reads %s as the object text, with one exact GetObject', async (_name, makeBody, encoding) => {
    // Prepare
    const key = 'table=Orders/dt=2024-05-01/hour=12/1-1.jsonl.gz';
    s3.on(GetObjectCommand).resolves({
      Body: makeBody(),
      ...(encoding === undefined ? {} : { ContentEncoding: encoding }),
    });
    const objects = new S3AuditObjects(new S3Client({}), BUCKET);

    // Act
    const bytes = await objects.read(key);

    // Assess
    expect(bytes.toString('utf8')).toBe(objectText([auditLine({ sequenceNumber: seq(1) })]));
    expect(s3).toHaveReceivedCommandTimes(GetObjectCommand, 1);
    expect(s3.commandCalls(GetObjectCommand)[0]?.args[0].input).toStrictEqual({ Bucket: BUCKET, Key: key });
  });

  it('refuses an answer without a body', async () => {
    // Prepare
    s3.on(GetObjectCommand).resolves({});
    const objects = new S3AuditObjects(new S3Client({}), BUCKET);

    // Act
    const read = objects.read('k');

    // Assess
    await expect(read).rejects.toBeInstanceOf(UnreadableBodyError);
  });
});

describe('readOrderHistory over S3Client', () => {
  beforeEach(() => {
    s3.reset();
    s3.on(ListObjectsV2Command).resolves({ Contents: [], IsTruncated: false });
  });

  it('lists one dt=<day>/ prefix per day of a short range of a known table', async () => {
    // Prepare
    const key = 'table=Orders/dt=2024-02-29/hour=23/1-1.jsonl.gz';
    s3.on(ListObjectsV2Command, { Prefix: 'table=Orders/dt=2024-02-29/' }).resolves({
      Contents: [{ Key: key }],
    });
    s3.on(GetObjectCommand, { Key: key }).resolves({
      Body: getObjectBody(
        encodeAuditObject([auditLine({ sequenceNumber: seq(1), time: '2024-02-29T23:59:59.000Z' })]),
      ),
    });

    // Act
    const result = await readOrderHistory(new S3AuditObjects(new S3Client({}), BUCKET), {
      orderId: ORDER_ID,
      table: 'Orders',
      since: '2024-02-28',
      until: '2024-03-01',
    });

    // Assess
    expect(listInputs()).toStrictEqual([
      { Bucket: BUCKET, Prefix: 'table=Orders/dt=2024-02-28/' },
      { Bucket: BUCKET, Prefix: 'table=Orders/dt=2024-02-29/' },
      { Bucket: BUCKET, Prefix: 'table=Orders/dt=2024-03-01/' },
    ]);
    expect(result.objectsRead).toBe(1);
    expect(result.changes).toHaveLength(1);
  });

  it('lists a long range as one listing from the first day, stopping at the first key past the last day', async () => {
    // Prepare
    const inRange = 'table=Orders/dt=2024-03-10/hour=00/1-1.jsonl.gz';
    s3.on(ListObjectsV2Command).resolves({
      Contents: [{ Key: inRange }, { Key: 'table=Orders/dt=2024-06-01/hour=00/2-2.jsonl.gz' }],
      IsTruncated: true,
      NextContinuationToken: 'more',
    });
    s3.on(GetObjectCommand).resolves({
      Body: getObjectBody(encodeAuditObject([auditLine({ sequenceNumber: seq(1) })])),
    });

    // Act
    const result = await readOrderHistory(new S3AuditObjects(new S3Client({}), BUCKET), {
      orderId: ORDER_ID,
      table: 'Orders',
      since: '2024-01-01',
      until: '2024-05-31',
    });

    // Assess: no second page is asked for, and only the object in range is read.
    expect(listInputs()).toStrictEqual([
      { Bucket: BUCKET, Prefix: 'table=Orders/', StartAfter: 'table=Orders/dt=2024-01-01' },
    ]);
    expect(s3.commandCalls(GetObjectCommand).map((call) => call.args[0].input.Key)).toEqual([inRange]);
    expect(result.objectsRead).toBe(1);
  });

  it('finds the tables with a delimited listing when none is given', async () => {
    // Prepare
    s3.on(ListObjectsV2Command, { Delimiter: '/' }).resolves({
      CommonPrefixes: [{ Prefix: 'table=Orders/' }, { Prefix: 'table=_unknown/' }],
    });

    // Act
    const result = await readOrderHistory(new S3AuditObjects(new S3Client({}), BUCKET), {
      orderId: ORDER_ID,
    });

    // Assess
    expect(result.tables).toEqual(['Orders', '_unknown']);
    expect(listInputs()).toStrictEqual([
      { Bucket: BUCKET, Prefix: 'table=', Delimiter: '/' },
      { Bucket: BUCKET, Prefix: 'table=Orders/' },
      { Bucket: BUCKET, Prefix: 'table=_unknown/' },
    ]);
    expect(result.changes).toEqual([]);
  });

  it('reports an object that vanished between listing and reading, and reads the others', async () => {
    // Prepare
    const gone = 'table=Orders/dt=2024-05-01/hour=01/1-1.jsonl.gz';
    const there = 'table=Orders/dt=2024-05-01/hour=02/2-2.jsonl.gz';
    s3.on(ListObjectsV2Command).resolves({ Contents: [{ Key: gone }, { Key: there }] });
    s3.on(GetObjectCommand, { Key: gone }).rejects(new NoSuchKey({ message: 'gone', $metadata: {} }));
    s3.on(GetObjectCommand, { Key: there }).resolves({
      Body: getObjectBody(encodeAuditObject([auditLine({ sequenceNumber: seq(2) })])),
    });

    // Act
    const result = await readOrderHistory(new S3AuditObjects(new S3Client({}), BUCKET), {
      orderId: ORDER_ID,
      table: 'Orders',
    });

    // Assess
    expect(result.changes.map((change) => change.sequenceNumber)).toEqual([seq(2)]);
    expect(result.objectsRead).toBe(1);
    expect(result.problems).toEqual([
      { kind: 'unreadable-object', objectKey: gone, reason: 'NoSuchKey: gone' },
    ]);
  });
});
