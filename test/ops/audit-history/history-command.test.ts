import 'aws-sdk-client-mock-vitest/extend';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { encodeAuditObject } from '../../../lambdas/audit-log/audit-line.js';
import { STAGE_OUTPUTS } from '../../../lib/stage-outputs.js';
import { runOpsCli } from '../../../ops/ops-cli.js';
import {
  captureIo,
  createFakeAws,
  createS3Client,
  createSqsClient,
  depsFor,
  outputValue,
  STAGE,
} from '../ops-fixtures.js';
import { auditLine, getObjectBody, ORDER_ID, OTHER_ORDER_ID, seq } from './audit-lines.js';

const BUCKET = outputValue(STAGE_OUTPUTS.stateful.auditBucketName);
const TABLE = outputValue(STAGE_OUTPUTS.stateful.ordersTableName);
const KEY = `table=${TABLE}/dt=2024-05-01/hour=12/${seq(1)}-${seq(3)}.jsonl.gz`;

describe('npm run ops -- history', () => {
  const s3Client = createS3Client();
  const s3 = mockClient(s3Client);

  beforeEach(() => {
    s3.reset();
    s3.on(ListObjectsV2Command, { Delimiter: '/' })
      .resolves({ CommonPrefixes: [{ Prefix: `table=${TABLE}/` }], IsTruncated: false })
      .on(ListObjectsV2Command, { Prefix: `table=${TABLE}/dt=2024-05-01/` })
      .resolves({ Contents: [{ Key: KEY }], IsTruncated: false })
      .on(GetObjectCommand, { Key: KEY })
      .callsFake(() => ({
        Body: getObjectBody(
          encodeAuditObject([
            auditLine({ sequenceNumber: seq(1), eventName: 'INSERT' }),
            auditLine({ sequenceNumber: seq(2), orderId: OTHER_ORDER_ID }),
            auditLine({ sequenceNumber: seq(3) }),
          ]),
        ),
      }));
  });

  it("reads the order's changes from the stage's audit bucket and prints them as JSON", async () => {
    // Prepare
    const fake = createFakeAws(createSqsClient(), { s3: s3Client });
    const io = captureIo();

    // Act
    const code = await runOpsCli(
      ['history', ORDER_ID, '--stage', STAGE, '--since', '2024-05-01', '--until', '2024-05-01', '--json'],
      io,
      depsFor(fake),
    );

    // Assess: the bucket of the stage's outputs, its table prefixes, the day's prefix, the one object.
    expect(code).toBe(0);
    expect(fake.auditBucketsAsked).toEqual([BUCKET]);
    expect(s3.commandCalls(ListObjectsV2Command).map((call) => call.args[0].input)).toStrictEqual([
      { Bucket: BUCKET, Prefix: 'table=', Delimiter: '/' },
      { Bucket: BUCKET, Prefix: `table=${TABLE}/dt=2024-05-01/` },
    ]);
    expect(s3.commandCalls(GetObjectCommand).map((call) => call.args[0].input)).toStrictEqual([
      { Bucket: BUCKET, Key: KEY },
    ]);
    const json = JSON.parse(io.out());
    expect(json).toMatchObject({
      stage: STAGE,
      orderId: ORDER_ID,
      location: `s3://${BUCKET}`,
      tables: [TABLE],
      since: '2024-05-01',
      until: '2024-05-01',
      duplicatesDropped: 0,
      objectsRead: 1,
      problems: [],
      ok: true,
    });
    expect(json.changes.map((change: { sequenceNumber: string }) => change.sequenceNumber)).toEqual([
      seq(1),
      seq(3),
    ]);
    expect(io.err()).toContain(`Reading 1 audit object(s) of 1 table(s) from s3://${BUCKET}...`);
  });

  it('exits 1 for an order without a change, saying where it looked', async () => {
    // Prepare
    const fake = createFakeAws(createSqsClient(), { s3: s3Client });
    const io = captureIo();

    // Act
    const code = await runOpsCli(
      ['history', 'no-such-order', '--stage', STAGE, '--since', '2024-05-01', '--until', '2024-05-01'],
      io,
      depsFor(fake),
    );

    // Assess
    expect(code).toBe(1);
    expect(io.out()).toContain(`s3://${BUCKET}`);
    expect(io.out()).not.toContain(ORDER_ID);
  });
});
