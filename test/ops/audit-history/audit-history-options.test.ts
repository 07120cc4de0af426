import { describe, expect, it } from 'vitest';
import {
  AUDIT_HISTORY_USAGE,
  parseAuditHistoryArgs,
} from '../../../ops/audit-history/audit-history-options.js';
import { UsageError } from '../../../ops/cli/flags.js';
import { ORDER_ID } from './audit-lines.js';

/** The UsageError message a command line gets (fails the test when it parses). */
function usageError(argv: readonly string[]): string {
  try {
    parseAuditHistoryArgs(argv);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error(`${argv.join(' ')} parsed`);
}

describe('parseAuditHistoryArgs', () => {
  it("reads the sandbox's local store, every table and day, in text by default", () => {
    // Act
    const options = parseAuditHistoryArgs([ORDER_ID]);

    // Assess
    expect(options).toEqual({
      orderId: ORDER_ID,
      source: { kind: 'local', dir: undefined, bucket: undefined },
      table: undefined,
      since: undefined,
      until: undefined,
      json: false,
    });
  });

  it('reads a bucket in S3 with --bucket, and every narrowing flag', () => {
    // Act
    const options = parseAuditHistoryArgs([
      '--bucket',
      'orders-audit-123',
      '--region',
      'eu-west-1',
      ORDER_ID,
      '--table',
      'OrdersStreams-dev-Data-Orders1234',
      '--since',
      '2024-02-28',
      '--until',
      '2024-03-01',
      '--json',
    ]);

    // Assess
    expect(options).toEqual({
      orderId: ORDER_ID,
      source: { kind: 's3', bucket: 'orders-audit-123', region: 'eu-west-1' },
      table: 'OrdersStreams-dev-Data-Orders1234',
      since: '2024-02-28',
      until: '2024-03-01',
      json: true,
    });
  });

  it('reads a local directory with --local, --bucket naming the local bucket', () => {
    // Act
    const options = parseAuditHistoryArgs([ORDER_ID, '--local', '/tmp/out', '--bucket', 'audit-bucket']);

    // Assess
    expect(options).toMatchObject({ source: { kind: 'local', dir: '/tmp/out', bucket: 'audit-bucket' } });
  });

  it('accepts one day as both ends of the range', () => {
    // Act
    const options = parseAuditHistoryArgs([ORDER_ID, '--since', '2024-05-01', '--until', '2024-05-01']);

    // Assess
    expect(options).toMatchObject({ since: '2024-05-01', until: '2024-05-01' });
  });

  it('answers --help with "help", whatever else is there', () => {
    expect(parseAuditHistoryArgs(['--help'])).toBe('help');
    expect(parseAuditHistoryArgs([ORDER_ID, '--since', 'nonsense', '--help'])).toBe('help');
  });

  it.each<[string, string[], string]>([
    ['a missing orderId', [], '<orderId> is required'],
    ['a missing orderId with flags', ['--table', 'Orders'], '<orderId> is required'],
    ['an empty orderId', [''], '<orderId> is required'],
    ['two orderIds', [ORDER_ID, 'another'], 'expected one <orderId>, got 2 arguments'],
    ['an unknown flag', [ORDER_ID, '--tabel', 'Orders'], "Unknown option '--tabel'"],
    ['a flag without its value', [ORDER_ID, '--since'], "Option '--since <value>' argument missing"],
    [
      'a date that is not YYYY-MM-DD',
      [ORDER_ID, '--since', '2024-5-1'],
      '--since must be a UTC day as YYYY-MM-DD, got "2024-5-1"',
    ],
    [
      'a day that does not exist',
      [ORDER_ID, '--until', '2023-02-29'],
      '--until must be a UTC day as YYYY-MM-DD, got "2023-02-29"',
    ],
    ['a timestamp', [ORDER_ID, '--since', '2024-05-01T00:00:00Z'], '--since must be a UTC day'],
    [
      '--since after --until',
      [ORDER_ID, '--since', '2024-05-02', '--until', '2024-05-01'],
      '--since (2024-05-02) is after --until (2024-05-01)',
    ],
    ['a table name with a slash', [ORDER_ID, '--table', 'Orders/dt=2024'], '--table must be a table name'],
    ['an empty table', [ORDER_ID, '--table', ''], '--table must not be empty'],
    [
      'a bucket name with a slash',
      [ORDER_ID, '--bucket', 'a/b'],
      '--bucket must be a bucket name, got "a/b"',
    ],
    ['an empty --local', [ORDER_ID, '--local', ' '], '--local must not be empty'],
    [
      '--region without --bucket',
      [ORDER_ID, '--region', 'eu-west-1'],
      '--region applies to an S3 bucket only',
    ],
    [
      '--region with --local',
      [ORDER_ID, '--local', '/tmp', '--bucket', 'b-1', '--region', 'eu-west-1'],
      '--region applies to an S3 bucket only',
    ],
  ])('refuses %s, naming it', (_name, argv, message) => {
    expect(usageError(argv)).toContain(message);
  });

  it('documents every flag, the Athena alternative and the exit codes in the usage', () => {
    for (const flag of [
      '--bucket',
      '--region',
      '--local',
      '--table',
      '--since',
      '--until',
      '--json',
      '--help',
    ]) {
      expect(AUDIT_HISTORY_USAGE).toContain(flag);
    }
    expect(AUDIT_HISTORY_USAGE).toContain('reads every object in the range');
    expect(AUDIT_HISTORY_USAGE).toMatch(
      /SELECT \* FROM .*audit\s+WHERE dt BETWEEN .* AND orderid = '<orderId>'/,
    );
    expect(AUDIT_HISTORY_USAGE).toContain('ORDER BY length(sequencenumber), sequencenumber');
    expect(AUDIT_HISTORY_USAGE).toContain('Exit code: 0');
  });
});
