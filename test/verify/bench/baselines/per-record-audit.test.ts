import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBRecord } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalS3Client, localBucketDir, readBucketJournal } from '../../../../sandbox/adapters/local-s3.js';
import {
  createPerRecordAuditHandler,
  PER_RECORD_AUDIT_CONTENT_TYPE,
  PerRecordAuditKeyError,
  perRecordAuditKey,
} from '../../../../verify/bench/baselines/per-record-audit.js';
import { createStreamRecordFactory } from '../../../support/stream-records.js';

const BUCKET = 'audit-per-record-test';

/** Records of the Orders table: an INSERT and a MODIFY per order, a REMOVE of every third. */
function orderRecords(orders: number): DynamoDBRecord[] {
  const factory = createStreamRecordFactory({ tableName: 'Orders' });
  const records: DynamoDBRecord[] = [];
  for (let index = 0; index < orders; index += 1) {
    const placed = { orderId: `order-${index}`, status: 'PLACED', version: 1, totalCents: 1_500 + index };
    const paid = { ...placed, status: 'PAID', version: 2 };
    records.push(factory.insert(placed), factory.modify(placed, paid));
    if (index % 3 === 0) records.push(factory.remove(paid));
  }
  return records;
}

describe('the per-record audit baseline', () => {
  let outputDir: string;

  beforeEach(() => {
    outputDir = mkdtempSync(join(tmpdir(), 'per-record-audit-test-'));
  });

  afterEach(() => {
    rmSync(outputDir, { recursive: true, force: true });
  });

  it("stores every record's plain JSON as an object of its own under <table>/<eventID>.json, one PUT each", async () => {
    // Prepare
    const s3 = new LocalS3Client({ outputDir, buckets: [BUCKET] });
    const handler = createPerRecordAuditHandler({ client: s3, bucket: BUCKET });
    const records = orderRecords(10);

    // Act
    await handler({ Records: records.slice(0, 20) });
    await handler({ Records: records.slice(20) });
    await s3.flush();

    // Assess: one PutObject and one object per record, its body the record's JSON as Lambda delivered it.
    expect(records).toHaveLength(24);
    const stats = s3.stats();
    expect(stats.calls).toEqual({ PutObject: 24 });
    expect(stats.objectsCreated).toBe(24);
    for (const record of records) {
      const stored = readFileSync(
        join(localBucketDir(outputDir, BUCKET), 'Orders', `${record.eventID}.json`),
        'utf8',
      );
      expect(stored).toBe(JSON.stringify(record));
    }
    // Assess: the bytes counted are the bodies stored, unconditionally (no If-None-Match).
    const bodies = records.reduce((sum, record) => sum + Buffer.byteLength(JSON.stringify(record)), 0);
    expect(stats.bytesStored).toBe(bodies);
    const journal = await readBucketJournal(outputDir, BUCKET);
    expect(journal.map((entry) => [entry.result, entry.ifNoneMatch])).toEqual(
      records.map(() => ['created', false]),
    );
  });

  it('overwrites the object of a re-delivered record: no condition on the put', async () => {
    // Prepare
    const s3 = new LocalS3Client({ outputDir, buckets: [BUCKET] });
    const handler = createPerRecordAuditHandler({ client: s3, bucket: BUCKET });
    const records = orderRecords(1);

    // Act
    await handler({ Records: records });
    await handler({ Records: records });

    // Assess
    expect(s3.stats()).toMatchObject({ calls: { PutObject: 6 }, objectsCreated: 3, overwrites: 3 });
  });

  it('names the table from the stream ARN, else from its option, and refuses a record it cannot name', () => {
    // Prepare
    const [record] = orderRecords(1);
    const withoutArn = { ...record!, eventSourceARN: undefined };

    // Act and Assess
    expect(perRecordAuditKey(record!)).toBe(`Orders/${record!.eventID}.json`);
    expect(perRecordAuditKey(withoutArn, 'Fallback')).toBe(`Fallback/${record!.eventID}.json`);
    expect(() => perRecordAuditKey(withoutArn)).toThrow(PerRecordAuditKeyError);
    expect(() => perRecordAuditKey({ ...record!, eventID: undefined })).toThrow(/has no eventID/);
    expect(PER_RECORD_AUDIT_CONTENT_TYPE).toBe('application/json');
  });

  it('fails the whole invocation on the first failed put, as the seed pattern has no partial batch response', async () => {
    // Prepare: the second record cannot be named.
    const s3 = new LocalS3Client({ outputDir, buckets: [BUCKET] });
    const handler = createPerRecordAuditHandler({ client: s3, bucket: BUCKET });
    const [first, second, third] = orderRecords(2);

    // Act
    const outcome = handler({ Records: [first!, { ...second!, eventSourceARN: 'not-a-stream' }, third!] });

    // Assess: the first record was stored; Lambda would retry all three.
    await expect(outcome).rejects.toThrow(PerRecordAuditKeyError);
    expect(s3.stats().calls).toEqual({ PutObject: 1 });
  });
});
