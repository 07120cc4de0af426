import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runAuditHistoryCli } from '../../ops/audit-history/audit-history-cli.js';
import { LocalS3Client } from '../../sandbox/adapters/local-s3.js';
import { openLocalAuditObjects } from '../../sandbox/local-audit-store.js';
import {
  AUDIT_BUCKET,
  auditLine,
  ORDER_ID,
  orderImage,
  putAuditObject,
  seq,
} from '../ops/audit-history/audit-lines.js';
import { type CliRun, runTsxCli } from '../support/cli.js';

/** Runs the CLI in this process; the sandbox's own directory is `sandboxDir`. */
async function cli(argv: readonly string[], sandboxDir: string): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await runAuditHistoryCli(argv, {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    openLocal: (source) => openLocalAuditObjects(source, sandboxDir),
  });
  return { code, stdout, stderr };
}

/** Runs `npm run audit:history -- <args>` in a child process. */
function childCli(args: readonly string[]): Promise<CliRun> {
  return runTsxCli('sandbox/audit-history.ts', args);
}

describe('npm run audit:history', () => {
  let dir: string;
  let client: LocalS3Client;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'audit-history-cli-'));
    client = new LocalS3Client({ outputDir: dir, buckets: [AUDIT_BUCKET, 'access-log-bucket'] });
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  /** The order placed, then shipped (stored twice by a retry), in the sandbox's audit bucket. */
  async function seedOrder(): Promise<void> {
    const placed = auditLine({
      sequenceNumber: seq(1),
      eventName: 'INSERT',
      newImage: orderImage({}, { totalCents: { N: '12345678901234567890123456789012345678' } }),
      time: '2024-05-01T10:00:00.000Z',
    });
    const shipped = auditLine({
      sequenceNumber: seq(2),
      oldImage: orderImage(),
      newImage: orderImage({ status: 'SHIPPED', version: 2 }),
      time: '2024-05-02T10:00:00.000Z',
    });
    await putAuditObject(client, [placed]);
    await putAuditObject(client, [shipped]);
    await putAuditObject(client, [shipped], { key: 'table=Orders/dt=2024-05-02/hour=10/retry.jsonl.gz' });
  }

  it("prints the history from the sandbox's own store by default, exit code 0", async () => {
    // Prepare
    await seedOrder();

    // Act
    const run = await cli([ORDER_ID], dir);

    // Assess
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`History of order ${ORDER_ID} from local bucket ${AUDIT_BUCKET} in ${dir}`);
    expect(run.stdout).toContain('+ totalCents: 12345678901234567890123456789012345678');
    expect(run.stdout).toContain('~ status: "PLACED" -> "SHIPPED"');
    expect(run.stdout.trimEnd().split('\n').at(-1)).toBe('2 changes, 1 duplicate dropped, 3 objects read');
    expect(run.stderr).toContain('Reading 3 audit object(s) of 1 table(s)');
  });

  it('prints one JSON object with --json', async () => {
    // Prepare
    await seedOrder();

    // Act
    const run = await cli(
      [ORDER_ID, '--local', dir, '--table', 'Orders', '--since', '2024-05-02', '--json'],
      dir,
    );

    // Assess
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({
      orderId: ORDER_ID,
      since: '2024-05-02',
      changes: [{ sequenceNumber: seq(2), eventName: 'MODIFY' }],
      duplicatesDropped: 1,
      objectsRead: 2,
      ok: true,
    });
  });

  it('exits 1 when the order has no change, saying where it looked', async () => {
    // Prepare
    await seedOrder();

    // Act
    const run = await cli(['no-such-order', '--local', dir, '--until', '2024-05-01'], dir);

    // Assess
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      `No changes of order no-such-order in local bucket ${AUDIT_BUCKET} in ${dir} (table=Orders; days (first) to 2024-05-01).`,
    );
  });

  it('exits 1 on a malformed line, after printing the history it could', async () => {
    // Prepare
    await seedOrder();
    await client.send(
      new PutObjectCommand({
        Bucket: AUDIT_BUCKET,
        Key: 'table=Orders/dt=2024-05-03/hour=00/bad.jsonl.gz',
        Body: '{"truncated":\n',
      }),
    );

    // Act
    const run = await cli([ORDER_ID, '--local', dir], dir);

    // Assess
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('~ status: "PLACED" -> "SHIPPED"');
    expect(run.stdout).toContain(
      'table=Orders/dt=2024-05-03/hour=00/bad.jsonl.gz line 1: malformed: not JSON',
    );
    expect(run.stdout.trimEnd().split('\n').at(-1)).toBe(
      '2 changes, 1 duplicate dropped, 4 objects read, 1 problem',
    );
  });

  it('exits 1 with "run npm start first" when the sandbox has written no audit object', async () => {
    // Act
    const run = await cli([ORDER_ID], join(dir, 'never-started'));

    // Assess
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`no audit objects in ${join(dir, 'never-started')}: run npm start first\n`);
    expect(run.stdout).toBe('');
  });

  it.each<[string, (dir: string) => string[], string]>([
    ['a missing orderId', () => [], '<orderId> is required'],
    ['a bad date', () => [ORDER_ID, '--since', '2024-13-01'], '--since must be a UTC day'],
    [
      '--since after --until',
      () => [ORDER_ID, '--since', '2024-05-02', '--until', '2024-05-01'],
      '--since (2024-05-02)',
    ],
    ['an unknown flag', () => [ORDER_ID, '--verbose'], "Unknown option '--verbose'"],
    ['a --local directory that does not exist', (d) => [ORDER_ID, '--local', join(d, 'nope')], '--local: '],
    [
      'a --bucket not in the --local directory',
      (d) => [ORDER_ID, '--local', d, '--bucket', 'other'],
      '--bucket: ',
    ],
  ])('exits 2 for %s, naming it, with the usage', async (_name, argv, message) => {
    // Prepare
    await seedOrder();

    // Act
    const run = await cli(argv(dir), dir);

    // Assess
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
    expect(run.stderr).toContain('Usage: npm run audit:history -- <orderId>');
    expect(run.stdout).toBe('');
  });

  it('prints the usage on stdout with --help, exit code 0', async () => {
    // Act
    const run = await cli(['--help'], dir);

    // Assess
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Usage: npm run audit:history -- <orderId> [options]');
  });

  it('runs end to end as a child process against a local store', async () => {
    // Prepare
    await seedOrder();

    // Act
    const [found, missing, bad] = await Promise.all([
      childCli([ORDER_ID, '--local', dir]),
      childCli(['no-such-order', '--local', dir, '--json']),
      childCli([ORDER_ID, '--local', dir, '--until', 'yesterday']),
    ]);

    // Assess
    expect(found.code).toBe(0);
    expect(found.stdout).toContain(`[2] 2024-05-02T10:00:00.000Z  MODIFY  by user  seq ${seq(2)}`);
    expect(found.stdout.trimEnd().split('\n').at(-1)).toBe('2 changes, 1 duplicate dropped, 3 objects read');
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stdout)).toMatchObject({ changes: [], objectsRead: 3, ok: false });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--until must be a UTC day as YYYY-MM-DD, got "yesterday"');
  });
});
