import { parseArgs } from 'node:util';
import { UsageError } from '../cli/flags.js';

/** Where the audit objects are read. */
export type AuditHistorySource =
  | { readonly kind: 's3'; readonly bucket: string; readonly region: string | undefined }
  | {
      readonly kind: 'local';
      /** The sandbox output directory; undefined = the sandbox's own (`.sandbox`). */
      readonly dir: string | undefined;
      /** The local bucket, when given; else the one bucket of the directory that holds audit objects. */
      readonly bucket: string | undefined;
    };

/** What the command line decides of an `npm run audit:history` run. */
export interface AuditHistoryOptions {
  readonly orderId: string;
  readonly source: AuditHistorySource;
  /** The `table=<name>/` segment to read; undefined = every table of the bucket. */
  readonly table: string | undefined;
  /** First and last UTC day (YYYY-MM-DD) of the objects to read, both included; undefined = unbounded. */
  readonly since: string | undefined;
  readonly until: string | undefined;
  readonly json: boolean;
}

/** What a history run prints, for the usage of both command lines. */
export const AUDIT_HISTORY_DESCRIPTION = `Prints the change history of one order from the audit log, oldest first (by stream sequence number), with a diff
per change computed from the raw old and new images: "~ path: old -> new", "+ path: added", "- path: removed".
Duplicate lines (the same eventId, written twice by a retried batch) are dropped and counted.`;

/** What a run costs and when Athena is the better tool, naming the flags that narrow the range. */
export function auditHistoryCostNote(narrowingFlags: string): string {
  return `The command reads every object in the range (one GetObject each) and parses all of their lines, whatever order they
belong to: narrow it with ${narrowingFlags}. A long history over a large bucket is a job for Athena,
which reads the same objects with partition projection (database orders_audit_<stage>, tables audit and
audit_lines, the latter with the images):

  SELECT * FROM audit
  WHERE dt BETWEEN '2026-11-01' AND '2026-11-30' AND orderid = '<orderId>'
  ORDER BY length(sequencenumber), sequencenumber;

(ORDER BY sequencenumber alone compares the digit strings as text; the length first makes it numeric. Athena
keeps duplicate lines: drop them by eventid.)`;
}

/** The exit codes of a history run, for the usage of both command lines. */
export const AUDIT_HISTORY_EXIT_CODES = `Exit code: 0 when at least one change was found, 1 when none was (or the run failed, or the log has a malformed line
or two different lines with one eventId: reported after what could be printed), 2 for bad usage.`;

export const AUDIT_HISTORY_USAGE = `Usage: npm run audit:history -- <orderId> [options]

${AUDIT_HISTORY_DESCRIPTION}

Without --bucket it reads the sandbox's local store (.sandbox/s3/, written by npm start). For a deployed stage,
\`npm run ops -- history <orderId> --stage <stage>\` resolves the bucket itself.

  <orderId>             the order's id (the audit lines' top-level orderId)
  --bucket <name>       read the audit bucket <name> in S3 (credentials and region from the AWS SDK's chain); with
                        --local: the local bucket to read, when the directory has several
  --region <r>          the bucket's region (default: the SDK's, e.g. AWS_REGION); only with --bucket
  --local <dir>         read the sandbox output directory <dir> (buckets in <dir>/s3/<bucket>/) instead of .sandbox
  --table <name>        read only the objects of this table (the table=<name>/ segment; default: every table)
  --since YYYY-MM-DD    read only objects of this UTC day or later (the dt=<day>/ segment)
  --until YYYY-MM-DD    read only objects of this UTC day or earlier
  --json                print one JSON object (the order id, its changes with their diffs, duplicates dropped,
                        objects read, problems) instead of text
  --help                this text

${auditHistoryCostNote('--table, --since and --until')}

${AUDIT_HISTORY_EXIT_CODES}`;

const OPTIONS = {
  bucket: { type: 'string' },
  region: { type: 'string' },
  local: { type: 'string' },
  table: { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean' },
} as const;

/** A DynamoDB table name (what the audit log puts in `table=<name>/`), or the log's `_unknown`. */
const TABLE_NAME = /^[A-Za-z0-9_.-]{1,255}$/;

/**
 * A bucket name: S3's rules for new buckets are stricter (3-63 lowercase letters, digits, dots, hyphens), but old
 * buckets in us-east-1 may have capitals and underscores; anything else is surely a typo.
 */
const BUCKET_NAME = /^[A-Za-z0-9._-]{3,255}$/;

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** A `YYYY-MM-DD` flag that is a real calendar day; the error names the flag. */
function dayFlag(flag: string, raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const match = DAY.exec(raw);
  const date = match === null ? undefined : new Date(`${raw}T00:00:00.000Z`);
  if (date === undefined || Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== raw) {
    throw new UsageError(`--${flag} must be a UTC day as YYYY-MM-DD, got "${raw}"`);
  }
  return raw;
}

/** A string flag that must not be empty; the error names the flag. */
function nonEmptyFlag(flag: string, raw: string | undefined): string | undefined {
  if (raw !== undefined && raw.trim() === '') throw new UsageError(`--${flag} must not be empty`);
  return raw;
}

/** The days to read: --since and --until, each a real UTC day, the first not after the last. */
export function dayRangeFlags(
  rawSince: string | undefined,
  rawUntil: string | undefined,
): { readonly since: string | undefined; readonly until: string | undefined } {
  const since = dayFlag('since', rawSince);
  const until = dayFlag('until', rawUntil);
  if (since !== undefined && until !== undefined && since > until) {
    throw new UsageError(`--since (${since}) is after --until (${until})`);
  }
  return { since, until };
}

/** The <orderId> argument: one, not blank; the error names it. */
export function orderIdArgument(positionals: readonly string[]): string {
  const [orderId, ...extra] = positionals;
  if (orderId === undefined || orderId.trim() === '') {
    throw new UsageError('<orderId> is required: the id of the order whose history to print');
  }
  if (extra.length > 0) {
    throw new UsageError(
      `expected one <orderId>, got ${positionals.length} arguments: ${positionals.join(' ')}`,
    );
  }
  return orderId;
}

/** Parses the command line; every error is a UsageError naming the flag (or the argument) at fault. */
export function parseAuditHistoryArgs(argv: readonly string[]): AuditHistoryOptions | 'help' {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; strict: true }>>;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  const orderId = orderIdArgument(positionals);
  const bucket = nonEmptyFlag('bucket', values.bucket);
  if (bucket !== undefined && !BUCKET_NAME.test(bucket)) {
    throw new UsageError(`--bucket must be a bucket name, got "${bucket}"`);
  }
  const region = nonEmptyFlag('region', values.region);
  const local = nonEmptyFlag('local', values.local);
  if (region !== undefined && (bucket === undefined || local !== undefined)) {
    throw new UsageError('--region applies to an S3 bucket only (--bucket without --local)');
  }
  const table = nonEmptyFlag('table', values.table);
  if (table !== undefined && !TABLE_NAME.test(table)) {
    throw new UsageError(`--table must be a table name (letters, digits, "_", "-", "."), got "${table}"`);
  }
  const { since, until } = dayRangeFlags(values.since, values.until);
  const source: AuditHistorySource =
    bucket !== undefined && local === undefined
      ? { kind: 's3', bucket, region }
      : { kind: 'local', dir: local, bucket };
  return { orderId, source, table, since, until, json: values.json ?? false };
}
