import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { LocalAuditSource, OpenAuditObjects } from '../ops/audit-history/audit-history-cli.js';
import { LocalAuditSourceError } from '../ops/audit-history/audit-history-cli.js';
import { S3AuditObjects } from '../ops/audit-history/audit-objects.js';
import { UsageError } from '../ops/cli/flags.js';
import { InvalidBucketNameError, LocalS3Client } from './adapters/local-s3.js';
import { DEFAULT_OUTPUT_DIR } from './output-dir.js';

/**
 * Finds the audit bucket in a sandbox output directory. The sandbox's S3 stand-in (adapters/local-s3.ts) keeps bucket
 * `<b>` in `<dir>/s3/<b>/`, next to its metadata `<dir>/s3/<b>.meta/` and journal `<dir>/s3/<b>.journal.jsonl`;
 * the app has more than one bucket (the audit bucket, its access-log bucket), and the audit bucket is the one whose
 * objects sit under `table=<name>/` prefixes.
 */

/** No bucket of the directory holds audit objects (the sandbox never ran, or wrote nothing yet). */
export class NoLocalAuditObjectsError extends LocalAuditSourceError {
  public constructor(dir: string) {
    super(`no audit objects in ${dir}: run npm start first`);
    this.name = 'NoLocalAuditObjectsError';
  }
}

/** The local bucket directories of `<dir>/s3/`, metadata and journals left out; none when there is no `s3/`. */
export async function localBucketDirs(dir: string): Promise<string[]> {
  let entries: Dirent[];
  try {
    entries = await readdir(join(dir, 's3'), { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return entries
    .filter((entry) => entry.isDirectory() && !entry.name.endsWith('.meta'))
    .map((entry) => entry.name)
    .sort();
}

/** Whether a local bucket directory holds at least one `table=<name>/` prefix. */
async function holdsAuditObjects(dir: string, bucket: string): Promise<boolean> {
  const entries = await readdir(join(dir, 's3', bucket), { withFileTypes: true });
  return entries.some((entry) => entry.isDirectory() && entry.name.startsWith('table='));
}

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then(
    (stats) => stats.isDirectory(),
    () => false,
  );
}

/** Where to read locally: the output directory and the bucket in it. */
export interface LocalAuditBucket {
  readonly dir: string;
  readonly bucket: string;
}

export interface LocateLocalBucketOptions {
  /** The output directory. */
  readonly dir: string;
  /** Whether the directory was given with `--local` (a missing one is then a bad flag, not an empty sandbox). */
  readonly explicit: boolean;
  /** `--bucket`: the local bucket to read, when the directory has several. */
  readonly bucket?: string | undefined;
}

/**
 * The audit bucket of a sandbox output directory: the bucket named by `--bucket`, else the single bucket holding
 * `table=` prefixes. Throws UsageError for a `--local` directory that does not exist, a `--bucket` that is not there,
 * or several candidates without `--bucket`; NoLocalAuditObjectsError when no bucket holds audit objects.
 */
export async function locateLocalAuditBucket(options: LocateLocalBucketOptions): Promise<LocalAuditBucket> {
  const { dir } = options;
  if (options.explicit && !(await isDirectory(dir))) {
    throw new UsageError(`--local: ${dir} is not a directory`);
  }
  const buckets = await localBucketDirs(dir);
  if (options.bucket !== undefined) {
    if (!buckets.includes(options.bucket)) {
      throw new UsageError(
        `--bucket: there is no local bucket "${options.bucket}" in ${join(dir, 's3')}` +
          (buckets.length === 0 ? '' : ` (buckets: ${buckets.join(', ')})`),
      );
    }
    return { dir, bucket: options.bucket };
  }
  const candidates: string[] = [];
  for (const bucket of buckets) {
    if (await holdsAuditObjects(dir, bucket)) candidates.push(bucket);
  }
  const [only, ...others] = candidates;
  if (only === undefined) throw new NoLocalAuditObjectsError(dir);
  if (others.length > 0) {
    throw new UsageError(
      `--bucket is required: several local buckets in ${join(dir, 's3')} hold audit objects (${candidates.join(', ')})`,
    );
  }
  return { dir, bucket: only };
}

/**
 * The audit objects of a sandbox's local store, for `npm run audit:history` (the local source the ops command is
 * given): `--local <dir>` or the sandbox's own output directory, and its audit bucket.
 */
export async function openLocalAuditObjects(
  source: LocalAuditSource,
  defaultDir: string = DEFAULT_OUTPUT_DIR,
): Promise<OpenAuditObjects> {
  const dir = source.dir ?? defaultDir;
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
