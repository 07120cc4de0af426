import 'aws-sdk-client-mock-vitest/extend';
import { gunzipSync } from 'node:zlib';
import { PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, expectTypeOf, it } from 'vitest';
import {
  AuditPutConflictError,
  S3AuditStore,
  type S3PutClient,
} from '../../../../lambdas/audit-log/adapters/s3-audit-store.js';
import { encodeAuditObject, toAuditLine } from '../../../../lambdas/audit-log/audit-line.js';
import { classifyError, TransientError } from '../../../../lambdas/shared/errors.js';
import { changeRecord, ORDER_KEYS } from '../records.js';

const BUCKET = 'orders-audit-123456789012';
const KEY = 'table=Orders/dt=2024-05-01/hour=12/1-2.jsonl.gz';
const s3 = mockClient(S3Client);

function s3Error(name: string, status: number, fault: 'client' | 'server' = 'client'): S3ServiceException {
  return new S3ServiceException({
    name,
    $fault: fault,
    $metadata: { httpStatusCode: status },
    message: `${name} (${status})`,
  });
}

function body(): { lines: string[]; body: Buffer } {
  const lines = [
    toAuditLine(changeRecord({ eventName: 'INSERT', newImage: ORDER_KEYS, sequenceNumber: '1' })),
    toAuditLine(changeRecord({ eventName: 'REMOVE', oldImage: ORDER_KEYS, sequenceNumber: '2', ttl: true })),
  ];
  return { lines: lines.map((line) => JSON.stringify(line)), body: encodeAuditObject(lines) };
}

describe('S3AuditStore', () => {
  beforeEach(() => {
    s3.reset();
  });

  it('accepts the real S3Client as its client (type-level check)', () => {
    expectTypeOf<S3Client>().toExtend<S3PutClient>();
  });

  it.each([
    ['no prefix', undefined, KEY],
    ['a key prefix', 'audit/', `audit/${KEY}`],
  ])('creates the object with a conditional, checksummed PutObject (%s)', async (_name, keyPrefix, key) => {
    // Prepare
    s3.on(PutObjectCommand).resolves({ ETag: '"etag"' });
    const object = body();
    const store = new S3AuditStore(new S3Client({}), BUCKET, keyPrefix === undefined ? {} : { keyPrefix });

    // Act
    const result = await store.putIfAbsent(KEY, object.body);

    // Assess
    expect(result).toBe('created');
    expect(s3).toHaveReceivedCommandTimes(PutObjectCommand, 1);
    const input = s3.commandCalls(PutObjectCommand)[0]?.args[0].input;
    expect(input).toStrictEqual({
      Bucket: BUCKET,
      Key: key,
      Body: object.body,
      IfNoneMatch: '*',
      ContentType: 'application/x-ndjson',
      ContentEncoding: 'gzip',
      ChecksumAlgorithm: 'SHA256',
    });
    expect(gunzipSync(input?.Body as Buffer).toString('utf8')).toBe(`${object.lines.join('\n')}\n`);
  });

  it('answers exists when S3 reports 412 PreconditionFailed (the batch is stored already)', async () => {
    // Prepare
    s3.on(PutObjectCommand).rejects(s3Error('PreconditionFailed', 412));
    const store = new S3AuditStore(new S3Client({}), BUCKET);

    // Act
    const result = await store.putIfAbsent(KEY, body().body);

    // Assess
    expect(result).toBe('exists');
  });

  it('throws a TransientError on 409 ConditionalRequestConflict, and the retry finds the object', async () => {
    // Prepare
    s3.on(PutObjectCommand)
      .rejectsOnce(s3Error('ConditionalRequestConflict', 409))
      .rejectsOnce(s3Error('PreconditionFailed', 412));
    const store = new S3AuditStore(new S3Client({}), BUCKET);

    // Act
    const first = store.putIfAbsent(KEY, body().body);
    await expect(first).rejects.toBeInstanceOf(AuditPutConflictError);
    const retry = await store.putIfAbsent(KEY, body().body);

    // Assess
    const error = await first.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientError);
    expect(classifyError(error)).toBe('transient');
    expect((error as Error).message).toContain(KEY);
    expect(retry).toBe('exists');
  });

  it.each([
    ['a 5xx', s3Error('InternalError', 500, 'server')],
    ['throttling', s3Error('SlowDown', 503, 'server')],
    ['access denied', s3Error('AccessDenied', 403)],
    ['a missing bucket', s3Error('NoSuchBucket', 404)],
    ['a 400', s3Error('InvalidRequest', 400)],
    ['a network error', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })],
  ])('rethrows any other failure unchanged: %s', async (_name, failure) => {
    // Prepare
    s3.on(PutObjectCommand).rejects(failure);
    const store = new S3AuditStore(new S3Client({}), BUCKET);

    // Act
    const result = store.putIfAbsent(KEY, body().body);

    // Assess
    await expect(result).rejects.toBe(failure);
  });
});
