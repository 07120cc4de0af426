import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../ops/cli/flags.js';
import {
  localBucketDirs,
  locateLocalAuditBucket,
  NoLocalAuditObjectsError,
} from '../../sandbox/local-audit-store.js';

describe('locateLocalAuditBucket', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'audit-history-store-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  /** A local bucket directory, with `table=` prefixes when given tables. */
  function bucket(name: string, ...tables: string[]): void {
    mkdirSync(join(dir, 's3', name), { recursive: true });
    for (const table of tables)
      mkdirSync(join(dir, 's3', name, `table=${table}`, 'dt=2024-05-01'), { recursive: true });
  }

  it('picks the one bucket holding table= prefixes, past metadata, journals and other buckets', async () => {
    // Prepare: what the sandbox writes: the audit bucket, the access-log bucket, their metadata and journals.
    bucket('audit-bucket', 'Orders');
    bucket('audit-bucket.meta', 'Orders');
    bucket('access-log-bucket');
    writeFileSync(join(dir, 's3', 'audit-bucket.journal.jsonl'), '');

    // Act
    const located = await locateLocalAuditBucket({ dir, explicit: true });

    // Assess
    expect(located).toEqual({ dir, bucket: 'audit-bucket' });
    expect(await localBucketDirs(dir)).toEqual(['access-log-bucket', 'audit-bucket']);
  });

  it.each([
    ['there is no s3 directory', (): void => {}],
    ['no bucket holds a table= prefix', (): void => bucket('access-log-bucket')],
  ])('fails with "run npm start first" when %s', async (_name, prepare) => {
    // Prepare
    prepare();

    // Act
    const located = locateLocalAuditBucket({ dir, explicit: false });

    // Assess
    await expect(located).rejects.toBeInstanceOf(NoLocalAuditObjectsError);
    await expect(located).rejects.toThrow(`no audit objects in ${dir}: run npm start first`);
  });

  it('takes the sandbox directory that does not exist yet as an empty sandbox, not a bad flag', async () => {
    // Act
    const located = locateLocalAuditBucket({ dir: join(dir, 'missing'), explicit: false });

    // Assess
    await expect(located).rejects.toBeInstanceOf(NoLocalAuditObjectsError);
  });

  it('refuses a --local directory that does not exist, naming --local', async () => {
    // Act
    const located = locateLocalAuditBucket({ dir: join(dir, 'missing'), explicit: true });

    // Assess
    await expect(located).rejects.toBeInstanceOf(UsageError);
    await expect(located).rejects.toThrow(/^--local: .*missing is not a directory$/);
  });

  it('requires --bucket when several buckets hold audit objects, and takes the one it names', async () => {
    // Prepare
    bucket('audit-a', 'Orders');
    bucket('audit-b', 'Orders');

    // Act
    // Settled before the next call: a rejection left unhandled while another call waits on the file system is an
    // unhandled rejection, which fails the run.
    const ambiguous = await locateLocalAuditBucket({ dir, explicit: true }).then(
      () => undefined,
      (error: unknown) => error,
    );
    const named = await locateLocalAuditBucket({ dir, explicit: true, bucket: 'audit-b' });

    // Assess
    expect(ambiguous).toBeInstanceOf(UsageError);
    expect((ambiguous as Error).message).toContain('--bucket is required: several local buckets');
    expect((ambiguous as Error).message).toContain('(audit-a, audit-b)');
    expect(named).toEqual({ dir, bucket: 'audit-b' });
  });

  it('refuses a --bucket that is not a local bucket of the directory, listing those that are', async () => {
    // Prepare
    bucket('audit-bucket', 'Orders');

    // Act
    const located = locateLocalAuditBucket({ dir, explicit: true, bucket: 'orders-audit' });

    // Assess
    await expect(located).rejects.toBeInstanceOf(UsageError);
    await expect(located).rejects.toThrow('--bucket: there is no local bucket "orders-audit"');
    await expect(located).rejects.toThrow('(buckets: audit-bucket)');
  });
});
