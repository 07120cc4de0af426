import { S3Client } from '@aws-sdk/client-s3';
import { InvalidBucketNameError, LocalS3Client } from '../adapters/local-s3.js';
import { UsageError } from '../cli-flags.js';
import { DEFAULT_OUTPUT_DIR } from '../output-dir.js';
import {
  AUDIT_HISTORY_USAGE,
  type AuditHistoryOptions,
  parseAuditHistoryArgs,
} from './audit-history-options.js';
import { type AuditObjects, S3AuditObjects } from './audit-objects.js';
import { describeHistory, historyJson, historyOk } from './history-report.js';
import { readOrderHistory } from './history-run.js';
import { locateLocalAuditBucket, NoLocalAuditObjectsError } from './local-store.js';

/** Where the CLI writes, and what it would otherwise take from the process. */
export interface AuditHistoryIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** The sandbox's output directory, used when neither --bucket nor --local is given. */
  readonly defaultLocalDir?: string;
}

/** The objects to read, from the bucket in S3 or a local one, through the same reader; and how to let go of it. */
async function openSource(
  options: AuditHistoryOptions,
  io: AuditHistoryIo,
): Promise<{ objects: AuditObjects; close: () => void }> {
  const { source } = options;
  if (source.kind === 's3') {
    const client = new S3Client(source.region === undefined ? {} : { region: source.region });
    return { objects: new S3AuditObjects(client, source.bucket), close: () => client.destroy() };
  }
  const dir = source.dir ?? io.defaultLocalDir ?? DEFAULT_OUTPUT_DIR;
  const { bucket } = await locateLocalAuditBucket({
    dir,
    explicit: source.dir !== undefined,
    bucket: source.bucket,
  });
  let client: LocalS3Client;
  try {
    client = new LocalS3Client({ outputDir: dir, buckets: [bucket] });
  } catch (error) {
    if (error instanceof InvalidBucketNameError) throw new UsageError(`--bucket: ${error.message}`);
    throw error;
  }
  return {
    objects: new S3AuditObjects(client, bucket, { location: `local bucket ${bucket} in ${dir}` }),
    close: () => client.destroy(),
  };
}

function describeFailure(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/**
 * `npm run audit:history -- <orderId> [options]` (usage in audit-history-options.ts): resolves with the exit code, 0
 * when the order has at least one change and the log no problem, 1 when it has none (or a problem, or the run
 * failed), 2 for bad usage.
 */
export async function runAuditHistoryCli(argv: readonly string[], io: AuditHistoryIo): Promise<number> {
  const usageFailure = (error: UsageError): number => {
    io.stderr(`${error.message}\n\n${AUDIT_HISTORY_USAGE}\n`);
    return 2;
  };
  let options: AuditHistoryOptions | 'help';
  try {
    options = parseAuditHistoryArgs(argv);
  } catch (error) {
    if (error instanceof UsageError) return usageFailure(error);
    throw error;
  }
  if (options === 'help') {
    io.stdout(`${AUDIT_HISTORY_USAGE}\n`);
    return 0;
  }
  let source: { objects: AuditObjects; close: () => void };
  try {
    source = await openSource(options, io);
  } catch (error) {
    if (error instanceof UsageError) return usageFailure(error);
    if (error instanceof NoLocalAuditObjectsError) {
      io.stderr(`${error.message}\n`);
      return 1;
    }
    io.stderr(`audit:history failed: ${describeFailure(error)}\n`);
    return 1;
  }
  try {
    const result = await readOrderHistory(source.objects, options, { log: (line) => io.stderr(`${line}\n`) });
    io.stdout(`${options.json ? JSON.stringify(historyJson(result)) : describeHistory(result)}\n`);
    return historyOk(result) ? 0 : 1;
  } catch (error) {
    io.stderr(`audit:history failed: ${describeFailure(error)}\n`);
    return 1;
  } finally {
    source.close();
  }
}
