import { S3Client } from '@aws-sdk/client-s3';
import { UsageError } from '../cli/flags.js';
import {
  AUDIT_HISTORY_USAGE,
  type AuditHistoryOptions,
  parseAuditHistoryArgs,
} from './audit-history-options.js';
import { type AuditObjects, S3AuditObjects } from './audit-objects.js';
import { describeHistory, historyJson, historyOk } from './history-report.js';
import { readOrderHistory } from './history-run.js';

/** Audit objects to read, and how to let go of what reads them. */
export interface OpenAuditObjects {
  readonly objects: AuditObjects;
  readonly close: () => void;
}

/** What the local source of a run asks for: `--local <dir>` (or none) and `--bucket`. */
export interface LocalAuditSource {
  /** The directory given with --local; undefined when the run takes the default one. */
  readonly dir: string | undefined;
  /** The bucket given with --bucket, when there is one. */
  readonly bucket: string | undefined;
}

/**
 * A failure of the local source that the user should read as it is, with exit code 1 (the sandbox never ran, for
 * example); other errors are reported as failures of the run.
 */
export class LocalAuditSourceError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = 'LocalAuditSourceError';
  }
}

/** Where the CLI writes, and what it would otherwise take from the process. */
export interface AuditHistoryIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /**
   * Opens the local store of a sandbox. The sandbox injects it (sandbox/audit-history.ts): this module reads S3 alone
   * and knows nothing of where or how a sandbox keeps its objects. Without it, a local read is a usage error.
   */
  readonly openLocal?: (source: LocalAuditSource) => Promise<OpenAuditObjects>;
}

/** The objects to read, from the bucket in S3 or the injected local store, through the same reader. */
async function openSource(options: AuditHistoryOptions, io: AuditHistoryIo): Promise<OpenAuditObjects> {
  const { source } = options;
  if (source.kind === 's3') {
    const client = new S3Client(source.region === undefined ? {} : { region: source.region });
    return { objects: new S3AuditObjects(client, source.bucket), close: () => client.destroy() };
  }
  if (io.openLocal === undefined) {
    throw new UsageError(
      'a local store is read only through the sandbox (npm run audit:history): give --bucket',
    );
  }
  return io.openLocal({ dir: source.dir, bucket: source.bucket });
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
  let source: OpenAuditObjects;
  try {
    source = await openSource(options, io);
  } catch (error) {
    if (error instanceof UsageError) return usageFailure(error);
    if (error instanceof LocalAuditSourceError) {
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
