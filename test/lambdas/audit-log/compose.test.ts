import 'aws-sdk-client-mock-vitest/extend';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { S3AuditStore } from '../../../lambdas/audit-log/adapters/s3-audit-store.js';
import { createAuditAdapters } from '../../../lambdas/audit-log/compose.js';
import { ENV, MissingEnvironmentError } from '../../../lambdas/shared/env.js';

const s3 = mockClient(S3Client);

describe('createAuditAdapters', () => {
  beforeEach(() => {
    s3.reset();
  });

  it('builds an S3AuditStore on AUDIT_BUCKET_NAME', async () => {
    // Prepare
    s3.on(PutObjectCommand).resolves({});
    const ports = createAuditAdapters(new S3Client({}), { [ENV.AUDIT_BUCKET_NAME]: 'audit-bucket' });

    // Act
    const result = await ports.store.putIfAbsent('k.jsonl.gz', Buffer.from('x'));

    // Assess
    expect(ports.store).toBeInstanceOf(S3AuditStore);
    expect(result).toBe('created');
    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, { Bucket: 'audit-bucket', Key: 'k.jsonl.gz' });
    expect(ports.tableName).toBeUndefined();
  });

  it.each([
    ['unset', {}],
    ['empty', { [ENV.AUDIT_BUCKET_NAME]: '' }],
  ])('fails at cold start when AUDIT_BUCKET_NAME is %s', (_name, env) => {
    expect(() => createAuditAdapters(new S3Client({}), env)).toThrow(MissingEnvironmentError);
  });

  it('takes ORDERS_TABLE_NAME, when set, as the table name of records without a stream ARN', () => {
    // Act
    const ports = createAuditAdapters(new S3Client({}), {
      [ENV.AUDIT_BUCKET_NAME]: 'audit-bucket',
      [ENV.ORDERS_TABLE_NAME]: 'Orders-dev',
    });

    // Assess
    expect(ports.tableName).toBe('Orders-dev');
  });
});
