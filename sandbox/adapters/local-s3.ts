import { createHash } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import {
  GetObjectCommand,
  type GetObjectCommandOutput,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  NoSuchBucket,
  NoSuchKey,
  PutObjectCommand,
  type PutObjectCommandOutput,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { assertInvocationAlive } from '../invocation-deadline.js';
import { JsonLinesFile, readJsonLines } from './json-lines-file.js';
import {
  contentKey,
  type LocalServiceStats,
  NO_SERVICE_FAULTS,
  type ServiceFaultHook,
  ServiceStatsRecorder,
  UnsupportedLocalCommandError,
} from './service-faults.js';

/**
 * Local S3: a stand-in for the S3 client's `send` with PutObject (with S3's conditional create, `If-None-Match: *`),
 * GetObject and ListObjectsV2 (with StartAfter, continuation tokens and Delimiter/CommonPrefixes), on files: the
 * object `<key>` of bucket `<bucket>` is `<outputDir>/s3/<bucket>/<key>`, readable with `zcat` while the sandbox
 * runs, and its metadata is `<outputDir>/s3/<bucket>.meta/<key>.json`. Every PutObject is also appended to the
 * bucket's journal `<outputDir>/s3/<bucket>.journal.jsonl` with what became of it (created, precondition-failed,
 * overwritten, failed), which is how a chaos run proves that no object was ever overwritten.
 *
 * Faults (the chaos run's hook, service `s3`): `failCall` answers a PutObject 503 SlowDown before anything is
 * written; `failEntry` writes the object and then loses the answer (the caller gets a timeout, as when a response
 * never arrives), so the retry meets its own object: the case `If-None-Match` exists for.
 *
 * Not modelled: versions (a bucket with Object Lock keeps the overwritten version; the journal records the
 * overwrite instead), retention, encryption, ACLs, multipart uploads.
 */

/** A bucket name as S3 accepts it (general purpose buckets): 3-63 lowercase letters, digits, dots and hyphens. */
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** S3's limit on one ListObjectsV2 page. */
const MAX_KEYS = 1_000;

/** Thrown for a bucket name S3 would refuse. */
export class InvalidBucketNameError extends Error {
  public constructor(name: string) {
    super(`Invalid bucket name "${name}": S3 needs 3-63 lowercase letters, digits, dots or hyphens`);
    this.name = 'InvalidBucketNameError';
  }
}

/** Where a local bucket's objects live. */
export function localBucketDir(outputDir: string, bucket: string): string {
  return join(outputDir, 's3', bucket);
}

/** Where a local bucket's PutObject journal lives. */
export function localBucketJournalPath(outputDir: string, bucket: string): string {
  return join(outputDir, 's3', `${bucket}.journal.jsonl`);
}

/** What became of one PutObject. */
export type LocalPutResult = 'created' | 'precondition-failed' | 'overwritten' | 'failed';

/** One line of a bucket's journal: one PutObject call. */
export interface LocalPutJournalEntry {
  /** ISO-8601 time of the call. */
  readonly at: string;
  readonly key: string;
  readonly result: LocalPutResult;
  /** Whether the call asked for a conditional create (`If-None-Match: *`). */
  readonly ifNoneMatch: boolean;
  /** Bytes of the body sent. */
  readonly bytes: number;
  /** SHA-256 of the body sent, base64 (S3's `ChecksumSHA256`). */
  readonly sha256: string;
  /** Why the call failed, for `failed`. */
  readonly reason?: string;
}

/** The journal of a local bucket; empty when nothing was put. */
export function readBucketJournal(outputDir: string, bucket: string): Promise<LocalPutJournalEntry[]> {
  return readJsonLines<LocalPutJournalEntry>(localBucketJournalPath(outputDir, bucket));
}

/** What the stand-in counts, besides the calls. */
export interface LocalS3Stats extends LocalServiceStats {
  /** Objects created (PutObject answered 200 on a new key). */
  readonly objectsCreated: number;
  /** Conditional creates of a key that existed (answered 412 PreconditionFailed). */
  readonly preconditionFailed: number;
  /** Unconditional PutObjects of an existing key (a new version on a versioned bucket): none should ever happen. */
  readonly overwrites: number;
  /** Bytes of the bodies of every object created or overwritten. */
  readonly bytesStored: number;
  /** PutObjects that stored the object and then lost the answer (injected). */
  readonly lostResponses: number;
}

export interface LocalS3ClientOptions {
  /** Where the buckets go (`<outputDir>/s3/`). */
  readonly outputDir: string;
  /** The buckets that exist; any other name gets NoSuchBucket. */
  readonly buckets: Iterable<string>;
  /** @default no faults */
  readonly faults?: ServiceFaultHook;
  /** @default Date.now */
  readonly clock?: () => number;
}

/** The error of a lost response: the request reached S3, its answer never came back. */
export class LocalS3ResponseLostError extends Error {
  public readonly $metadata = {};

  public constructor(key: string) {
    super(
      `The response to PutObject ${key} was lost (injected by the sandbox); the object may have been stored`,
    );
    this.name = 'TimeoutError';
  }
}

interface StoredMetadata {
  readonly contentType?: string;
  readonly contentEncoding?: string;
  readonly etag: string;
  readonly sha256: string;
  readonly lastModified: string;
  readonly size: number;
}

function s3Error(name: string, status: number, message: string): S3ServiceException {
  return new S3ServiceException({
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
    message,
  });
}

/** A key as S3 would take it and as a file path can hold it: no `.`/`..` segments, no empty segment. */
function checkKey(key: string | undefined): string {
  if (key === undefined || key === '') throw s3Error('InvalidArgument', 400, 'The key is empty');
  const segments = key.split('/');
  if (
    Buffer.byteLength(key) > 1024 ||
    segments.some((segment) => segment === '' || segment === '.' || segment === '..') ||
    key.includes('\\') ||
    key.includes('\0')
  ) {
    throw s3Error('InvalidArgument', 400, `The sandbox cannot store the key "${key}"`);
  }
  return key;
}

async function bodyBytes(body: unknown): Promise<Buffer> {
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  throw s3Error('InvalidArgument', 400, 'The sandbox takes a string or a Uint8Array body only');
}

/** The stand-in client; see the module comment. */
export class LocalS3Client {
  readonly #outputDir: string;
  readonly #buckets: ReadonlySet<string>;
  readonly #faults: ServiceFaultHook;
  readonly #clock: () => number;
  readonly #stats = new ServiceStatsRecorder();
  readonly #journals = new Map<string, JsonLinesFile>();
  /** Per bucket and key, the put under way: see #exclusively. */
  readonly #puts = new Map<string, Promise<unknown>>();
  #objectsCreated = 0;
  #preconditionFailed = 0;
  #overwrites = 0;
  #bytesStored = 0;
  #lostResponses = 0;

  public constructor(options: LocalS3ClientOptions) {
    this.#outputDir = options.outputDir;
    const buckets = new Set(options.buckets);
    for (const bucket of buckets) {
      if (!BUCKET_NAME.test(bucket)) throw new InvalidBucketNameError(bucket);
    }
    this.#buckets = buckets;
    this.#faults = options.faults ?? NO_SERVICE_FAULTS;
    this.#clock = options.clock ?? Date.now;
  }

  public send(command: PutObjectCommand): Promise<PutObjectCommandOutput>;
  public send(command: GetObjectCommand): Promise<GetObjectCommandOutput>;
  public send(command: ListObjectsV2Command): Promise<ListObjectsV2CommandOutput>;
  public async send(
    command: PutObjectCommand | GetObjectCommand | ListObjectsV2Command,
  ): Promise<PutObjectCommandOutput | GetObjectCommandOutput | ListObjectsV2CommandOutput> {
    if (command instanceof PutObjectCommand) return this.#put(command);
    if (command instanceof GetObjectCommand) return this.#get(command);
    if (command instanceof ListObjectsV2Command) return this.#list(command);
    throw new UnsupportedLocalCommandError('S3', command);
  }

  /** Counters since creation. */
  public stats(): LocalS3Stats {
    return {
      ...this.#stats.snapshot(),
      objectsCreated: this.#objectsCreated,
      preconditionFailed: this.#preconditionFailed,
      overwrites: this.#overwrites,
      bytesStored: this.#bytesStored,
      lostResponses: this.#lostResponses,
    };
  }

  /** Resolves once every journal line so far is written. */
  public async flush(): Promise<void> {
    await Promise.all([...this.#journals.values()].map((journal) => journal.flush()));
  }

  /** For symmetry with the SDK clients, which the composition roots destroy. */
  public destroy(): void {}

  async #put(command: PutObjectCommand): Promise<PutObjectCommandOutput> {
    const operation = 'PutObject';
    this.#stats.call(operation);
    assertInvocationAlive(`S3 ${operation}`);
    this.#stats.entries(1);
    const { Bucket, IfNoneMatch } = command.input;
    const bucket = this.#bucket(Bucket);
    const key = checkKey(command.input.Key);
    if (IfNoneMatch !== undefined && IfNoneMatch !== '*') {
      throw s3Error('NotImplemented', 501, 'If-None-Match takes only "*" on PutObject');
    }
    const body = await bodyBytes(command.input.Body);
    const sha256 = createHash('sha256').update(body).digest('base64');
    const journal = (result: LocalPutResult, reason?: string): Promise<void> =>
      this.#journal(bucket).append({
        at: new Date(this.#clock()).toISOString(),
        key,
        result,
        ifNoneMatch: IfNoneMatch === '*',
        bytes: body.byteLength,
        sha256,
        ...(reason === undefined ? {} : { reason }),
      } satisfies LocalPutJournalEntry);

    const faultKey = contentKey(bucket, key, sha256);
    if (this.#faults.failCall({ service: 's3', operation, key: faultKey })) {
      this.#stats.injectedCallFault();
      await journal('failed', 'SlowDown (injected)');
      throw s3Error('SlowDown', 503, 'Please reduce your request rate (injected by the sandbox)');
    }

    const stored = await this.#exclusively(`${bucket}/${key}`, () =>
      this.#store(bucket, key, body, sha256, command.input, journal),
    );
    if (this.#faults.failEntry({ service: 's3', operation, key: faultKey })) {
      this.#lostResponses += 1;
      throw new LocalS3ResponseLostError(key);
    }
    return { ETag: stored.etag, ChecksumSHA256: sha256, $metadata: { httpStatusCode: 200 } };
  }

  /**
   * Runs the puts of one object one after the other. S3 decides a put (and a conditional create) atomically: an
   * object, its metadata and its journal line appear together, and a second put of the key sees all of them or
   * none. The files written here take several awaits, and a put of an abandoned invocation may still be under way
   * when its retry puts the same key (a CPU-starved run makes that common): without this, the retry's 412 could be
   * journaled before the create it met.
   */
  async #exclusively<T>(objectKey: string, work: () => Promise<T>): Promise<T> {
    const before = this.#puts.get(objectKey) ?? Promise.resolve();
    const mine = before.then(work, work);
    const settled = mine.catch(() => undefined);
    this.#puts.set(objectKey, settled);
    try {
      return await mine;
    } finally {
      if (this.#puts.get(objectKey) === settled) this.#puts.delete(objectKey);
    }
  }

  /** Writes the object, its metadata and its journal line; throws 412 for a conditional create of an existing key. */
  async #store(
    bucket: string,
    key: string,
    body: Buffer,
    sha256: string,
    input: PutObjectCommand['input'],
    journal: (result: LocalPutResult, reason?: string) => Promise<void>,
  ): Promise<{ etag: string }> {
    const { IfNoneMatch, ContentType, ContentEncoding } = input;
    const path = join(localBucketDir(this.#outputDir, bucket), ...key.split('/'));
    await mkdir(dirname(path), { recursive: true });
    let result: LocalPutResult;
    try {
      // `wx`: created only if absent, atomically, as S3 decides a conditional create.
      await writeFile(path, body, { flag: IfNoneMatch === '*' ? 'wx' : 'w' });
      result = 'created';
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      result = 'precondition-failed';
    }
    if (result === 'created' && IfNoneMatch !== '*') {
      // An unconditional put may have replaced an object: the metadata says whether one was there.
      const existed = await stat(this.#metaPath(bucket, key)).then(
        () => true,
        () => false,
      );
      if (existed) result = 'overwritten';
    }
    if (result === 'precondition-failed') {
      this.#preconditionFailed += 1;
      await journal(result);
      throw s3Error('PreconditionFailed', 412, `At least one of the preconditions failed: ${key} exists`);
    }
    if (result === 'overwritten') this.#overwrites += 1;
    else this.#objectsCreated += 1;
    this.#bytesStored += body.byteLength;
    const etag = `"${createHash('md5').update(body).digest('hex')}"`;
    const metadata: StoredMetadata = {
      ...(ContentType === undefined ? {} : { contentType: ContentType }),
      ...(ContentEncoding === undefined ? {} : { contentEncoding: ContentEncoding }),
      etag,
      sha256,
      lastModified: new Date(this.#clock()).toISOString(),
      size: body.byteLength,
    };
    const metaPath = this.#metaPath(bucket, key);
    await mkdir(dirname(metaPath), { recursive: true });
    await writeFile(metaPath, JSON.stringify(metadata));
    this.#stats.accepted();
    await journal(result);
    return { etag };
  }

  async #get(command: GetObjectCommand): Promise<GetObjectCommandOutput> {
    this.#stats.call('GetObject');
    const bucket = this.#bucket(command.input.Bucket);
    const key = checkKey(command.input.Key);
    let bytes: Buffer;
    let metadata: StoredMetadata;
    try {
      bytes = await readFile(join(localBucketDir(this.#outputDir, bucket), ...key.split('/')));
      metadata = JSON.parse(await readFile(this.#metaPath(bucket, key), 'utf8')) as StoredMetadata;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      throw new NoSuchKey({
        message: `The specified key does not exist: ${key}`,
        $metadata: { httpStatusCode: 404 },
      });
    }
    // What the SDK's stream mixin offers and readers use; the stand-in has the bytes at hand.
    const body = {
      transformToByteArray: async (): Promise<Uint8Array> => new Uint8Array(bytes),
      transformToString: async (encoding?: string): Promise<string> =>
        bytes.toString((encoding ?? 'utf8') as BufferEncoding),
    };
    return {
      Body: body as unknown as GetObjectCommandOutput['Body'],
      ContentLength: bytes.byteLength,
      ETag: metadata.etag,
      ChecksumSHA256: metadata.sha256,
      LastModified: new Date(metadata.lastModified),
      ...(metadata.contentType === undefined ? {} : { ContentType: metadata.contentType }),
      ...(metadata.contentEncoding === undefined ? {} : { ContentEncoding: metadata.contentEncoding }),
      $metadata: { httpStatusCode: 200 },
    };
  }

  async #list(command: ListObjectsV2Command): Promise<ListObjectsV2CommandOutput> {
    this.#stats.call('ListObjectsV2');
    const bucket = this.#bucket(command.input.Bucket);
    const prefix = command.input.Prefix ?? '';
    const delimiter = command.input.Delimiter === '' ? undefined : command.input.Delimiter;
    const maxKeys = Math.min(command.input.MaxKeys ?? MAX_KEYS, MAX_KEYS);
    const after = Buffer.from(
      command.input.ContinuationToken === undefined
        ? (command.input.StartAfter ?? '')
        : Buffer.from(command.input.ContinuationToken, 'base64url').toString('utf8'),
      'utf8',
    );
    const root = localBucketDir(this.#outputDir, bucket);
    // S3 lists keys in UTF-8 binary order; "after" is compared the same way (JS string order is UTF-16's, which
    // differs for characters beyond the BMP).
    const keys = (await listFiles(root))
      .map((path) => relative(root, path).split(sep).join('/'))
      .filter((key) => key.startsWith(prefix))
      .map((key) => ({ key, bytes: Buffer.from(key, 'utf8') }))
      .filter(({ bytes }) => Buffer.compare(bytes, after) > 0)
      .sort((a, b) => Buffer.compare(a.bytes, b.bytes))
      .map(({ key }) => key);
    // S3's Delimiter: a key holding the delimiter after the prefix is rolled up into the common prefix that ends at
    // its first delimiter; each common prefix is one result, counted against MaxKeys like a key. Keys sharing a
    // common prefix are adjacent in key order, so a page never splits one.
    const page: string[] = [];
    const commonPrefixes: string[] = [];
    let lastConsumed: string | undefined;
    let truncated = false;
    for (const key of keys) {
      const cut = delimiter === undefined ? -1 : key.indexOf(delimiter, prefix.length);
      const common = cut === -1 || delimiter === undefined ? undefined : key.slice(0, cut + delimiter.length);
      if (common !== undefined && common === commonPrefixes[commonPrefixes.length - 1]) {
        lastConsumed = key;
        continue;
      }
      if (page.length + commonPrefixes.length >= maxKeys) {
        truncated = true;
        break;
      }
      if (common === undefined) page.push(key);
      else commonPrefixes.push(common);
      lastConsumed = key;
    }
    const contents = await Promise.all(
      page.map(async (key) => {
        const metadata = JSON.parse(await readFile(this.#metaPath(bucket, key), 'utf8')) as StoredMetadata;
        return {
          Key: key,
          Size: metadata.size,
          ETag: metadata.etag,
          LastModified: new Date(metadata.lastModified),
        };
      }),
    );
    return {
      Contents: contents,
      ...(delimiter === undefined
        ? {}
        : { Delimiter: delimiter, CommonPrefixes: commonPrefixes.map((common) => ({ Prefix: common })) }),
      KeyCount: contents.length + commonPrefixes.length,
      IsTruncated: truncated,
      // The token is the last key this page consumed, those rolled up into its last common prefix included, so the
      // next page neither repeats that prefix nor skips a key.
      ...(truncated && lastConsumed !== undefined
        ? { NextContinuationToken: Buffer.from(lastConsumed, 'utf8').toString('base64url') }
        : {}),
      Prefix: prefix,
      MaxKeys: maxKeys,
      $metadata: { httpStatusCode: 200 },
    };
  }

  #bucket(name: string | undefined): string {
    if (name === undefined || !this.#buckets.has(name)) {
      throw new NoSuchBucket({
        message: `The specified bucket does not exist: ${String(name)}`,
        $metadata: { httpStatusCode: 404 },
      });
    }
    return name;
  }

  #metaPath(bucket: string, key: string): string {
    return `${join(this.#outputDir, 's3', `${bucket}.meta`, ...key.split('/'))}.json`;
  }

  #journal(bucket: string): JsonLinesFile {
    let journal = this.#journals.get(bucket);
    if (journal === undefined) {
      journal = new JsonLinesFile(localBucketJournalPath(this.#outputDir, bucket));
      this.#journals.set(bucket, journal);
    }
    return journal;
  }
}

/** Every file under `dir`, recursively; none when it does not exist. */
async function listFiles(dir: string): Promise<string[]> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const nested = await Promise.all(
    entries.map((entry) =>
      entry.isDirectory() ? listFiles(join(dir, entry.name)) : Promise.resolve([join(dir, entry.name)]),
    ),
  );
  return nested.flat();
}
