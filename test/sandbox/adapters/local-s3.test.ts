import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  NoSuchBucket,
  NoSuchKey,
  PutObjectCommand,
  type PutObjectCommandInput,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  InvalidBucketNameError,
  LocalS3Client,
  LocalS3ResponseLostError,
  localBucketDir,
  readBucketJournal,
} from '../../../sandbox/adapters/local-s3.js';
import { UnsupportedLocalCommandError } from '../../../sandbox/adapters/service-faults.js';
import { scriptedFaults } from '../support/scripted-faults.js';

const BUCKET = 'audit-bucket';
const NOW = Date.parse('2024-05-01T12:00:00.000Z');
const KEY = 'table=Orders/dt=2024-05-01/hour=12/1-2.jsonl.gz';

function put(overrides: Partial<PutObjectCommandInput> = {}): PutObjectCommand {
  return new PutObjectCommand({ Bucket: BUCKET, Key: KEY, Body: Buffer.from('body'), ...overrides });
}

/** The error a promise rejects with (fails the test when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('resolved');
}

function statusOf(error: unknown): number | undefined {
  return (error as S3ServiceException).$metadata?.httpStatusCode;
}

describe('LocalS3Client', () => {
  let outputDir: string;

  beforeEach(() => {
    outputDir = mkdtempSync(join(tmpdir(), 'local-s3-test-'));
  });
  afterEach(() => {
    rmSync(outputDir, { recursive: true, force: true });
  });

  function client(faults?: ReturnType<typeof scriptedFaults>): LocalS3Client {
    return new LocalS3Client({
      outputDir,
      buckets: [BUCKET, 'other-bucket'],
      clock: () => NOW,
      ...(faults === undefined ? {} : { faults }),
    });
  }

  describe('PutObject', () => {
    it('stores the object as a file with its metadata, answers its ETag and SHA-256, and journals it', async () => {
      // Prepare
      const s3 = client();
      const body = Buffer.from('{"a":1}\n');

      // Act
      const output = await s3.send(
        put({ Body: body, IfNoneMatch: '*', ContentType: 'application/x-ndjson', ContentEncoding: 'gzip' }),
      );
      await s3.flush();

      // Assess
      const sha256 = createHash('sha256').update(body).digest('base64');
      expect(output).toEqual({
        ETag: `"${createHash('md5').update(body).digest('hex')}"`,
        ChecksumSHA256: sha256,
        $metadata: { httpStatusCode: 200 },
      });
      expect(readFileSync(join(localBucketDir(outputDir, BUCKET), ...KEY.split('/')))).toEqual(body);
      expect(await readBucketJournal(outputDir, BUCKET)).toEqual([
        { at: '2024-05-01T12:00:00.000Z', key: KEY, result: 'created', ifNoneMatch: true, bytes: 8, sha256 },
      ]);
      expect(s3.stats()).toMatchObject({ objectsCreated: 1, bytesStored: 8, overwrites: 0, accepted: 1 });
    });

    it('answers a second conditional create of the key 412 PreconditionFailed and keeps the first body', async () => {
      // Prepare
      const s3 = client();
      await s3.send(put({ Body: Buffer.from('first'), IfNoneMatch: '*' }));

      // Act
      const error = await rejection(s3.send(put({ Body: Buffer.from('second'), IfNoneMatch: '*' })));
      await s3.flush();

      // Assess
      expect(error).toBeInstanceOf(S3ServiceException);
      expect((error as S3ServiceException).name).toBe('PreconditionFailed');
      expect(statusOf(error)).toBe(412);
      expect(readFileSync(join(localBucketDir(outputDir, BUCKET), ...KEY.split('/')), 'utf8')).toBe('first');
      expect((await readBucketJournal(outputDir, BUCKET)).map((entry) => entry.result)).toEqual([
        'created',
        'precondition-failed',
      ]);
      expect(s3.stats()).toMatchObject({ objectsCreated: 1, preconditionFailed: 1 });
    });

    it('settles concurrent conditional creates of one key one after the other, as S3 does', async () => {
      // Prepare: an invocation's put still under way when its retry puts the same key (a CPU-starved run). S3's
      // conditional create is atomic: the 412 can only follow the create, in the journal too.
      const s3 = client();

      // Act
      const results = await Promise.allSettled(
        ['first', 'second', 'third'].map((text) =>
          s3.send(put({ Body: Buffer.from(text), IfNoneMatch: '*' })),
        ),
      );
      await s3.flush();

      // Assess
      expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'rejected']);
      expect((await readBucketJournal(outputDir, BUCKET)).map((entry) => entry.result)).toEqual([
        'created',
        'precondition-failed',
        'precondition-failed',
      ]);
      expect(readFileSync(join(localBucketDir(outputDir, BUCKET), ...KEY.split('/')), 'utf8')).toBe('first');
    });

    it('overwrites on an unconditional put and journals it as overwritten', async () => {
      // Prepare
      const s3 = client();
      await s3.send(put({ Body: Buffer.from('first') }));

      // Act
      await s3.send(put({ Body: Buffer.from('second') }));
      await s3.flush();

      // Assess
      expect(readFileSync(join(localBucketDir(outputDir, BUCKET), ...KEY.split('/')), 'utf8')).toBe('second');
      expect(
        (await readBucketJournal(outputDir, BUCKET)).map((entry) => [entry.result, entry.ifNoneMatch]),
      ).toEqual([
        ['created', false],
        ['overwritten', false],
      ]);
      expect(s3.stats()).toMatchObject({ objectsCreated: 1, overwrites: 1 });
    });

    it('answers an injected call fault 503 SlowDown before writing anything', async () => {
      // Prepare
      const faults = scriptedFaults({ calls: [0] });
      const s3 = client(faults);

      // Act
      const error = await rejection(s3.send(put({ IfNoneMatch: '*' })));
      await s3.flush();

      // Assess
      expect((error as S3ServiceException).name).toBe('SlowDown');
      expect(statusOf(error)).toBe(503);
      expect(existsSync(join(localBucketDir(outputDir, BUCKET), ...KEY.split('/')))).toBe(false);
      expect(await readBucketJournal(outputDir, BUCKET)).toMatchObject([
        { key: KEY, result: 'failed', reason: 'SlowDown (injected)' },
      ]);
      expect(faults.seen.calls).toEqual([{ service: 's3', operation: 'PutObject', key: expect.any(String) }]);
      expect(faults.seen.entries).toEqual([]);
      expect(s3.stats()).toMatchObject({ injectedCallFaults: 1, objectsCreated: 0 });
    });

    it('stores the object and then loses the answer on an injected entry fault; the retry gets 412', async () => {
      // Prepare
      const faults = scriptedFaults({ entries: [0] });
      const s3 = client(faults);

      // Act
      const lost = await rejection(s3.send(put({ IfNoneMatch: '*' })));
      const retry = await rejection(s3.send(put({ IfNoneMatch: '*' })));
      await s3.flush();

      // Assess
      expect(lost).toBeInstanceOf(LocalS3ResponseLostError);
      expect((lost as Error).name).toBe('TimeoutError');
      expect(readFileSync(join(localBucketDir(outputDir, BUCKET), ...KEY.split('/')), 'utf8')).toBe('body');
      expect(statusOf(retry)).toBe(412);
      expect((await readBucketJournal(outputDir, BUCKET)).map((entry) => entry.result)).toEqual([
        'created',
        'precondition-failed',
      ]);
      // The same content gets the same fault key, so a decider can count attempts.
      expect(faults.seen.calls[0]?.key).toBe(faults.seen.calls[1]?.key);
      expect(s3.stats()).toMatchObject({ lostResponses: 1, objectsCreated: 1, preconditionFailed: 1 });
    });

    it('refuses If-None-Match other than "*" with 501', async () => {
      // Act
      const error = await rejection(client().send(put({ IfNoneMatch: '"etag"' })));

      // Assess
      expect(statusOf(error)).toBe(501);
    });

    it.each([
      ['an empty key', ''],
      ['an empty segment', 'a//b'],
      ['a dot segment', 'a/./b'],
      ['a parent segment', '../escape'],
      ['a trailing slash', 'a/'],
      ['a backslash', 'a\\b'],
      ['a NUL', 'a\0b'],
      ['more than 1024 bytes', 'k'.repeat(1025)],
    ])('refuses a key with %s as 400 InvalidArgument, writing nothing', async (_name, key) => {
      // Act
      const error = await rejection(client().send(put({ Key: key })));

      // Assess
      expect((error as S3ServiceException).name).toBe('InvalidArgument');
      expect(statusOf(error)).toBe(400);
      expect(existsSync(localBucketDir(outputDir, BUCKET))).toBe(false);
    });

    it('refuses a body that is neither a string nor bytes', async () => {
      // Act
      const error = await rejection(client().send(put({ Body: { not: 'bytes' } as never })));

      // Assess
      expect(statusOf(error)).toBe(400);
    });
  });

  describe('GetObject', () => {
    it('returns the bytes and the stored metadata', async () => {
      // Prepare
      const s3 = client();
      await s3.send(put({ Body: 'hello', ContentType: 'text/plain', ContentEncoding: 'identity' }));

      // Act
      const output = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: KEY }));

      // Assess
      expect(await output.Body?.transformToString()).toBe('hello');
      expect(output).toMatchObject({
        ContentLength: 5,
        ContentType: 'text/plain',
        ContentEncoding: 'identity',
        ETag: `"${createHash('md5').update('hello').digest('hex')}"`,
        LastModified: new Date(NOW),
      });
    });

    it('answers a key that does not exist with NoSuchKey (404)', async () => {
      // Act
      const error = await rejection(client().send(new GetObjectCommand({ Bucket: BUCKET, Key: 'missing' })));

      // Assess
      expect(error).toBeInstanceOf(NoSuchKey);
      expect(statusOf(error)).toBe(404);
    });
  });

  it.each([
    ['PutObject', () => put({ Bucket: 'no-such-bucket' })],
    ['GetObject', () => new GetObjectCommand({ Bucket: 'no-such-bucket', Key: KEY })],
    ['ListObjectsV2', () => new ListObjectsV2Command({ Bucket: 'no-such-bucket' })],
  ])('answers %s on a bucket that does not exist with NoSuchBucket (404)', async (_name, command) => {
    // Act
    const error = await rejection(client().send(command() as never));

    // Assess
    expect(error).toBeInstanceOf(NoSuchBucket);
    expect(statusOf(error)).toBe(404);
  });

  it('refuses a bucket name S3 would refuse', () => {
    expect(() => new LocalS3Client({ outputDir, buckets: ['Audit_Bucket'] })).toThrow(InvalidBucketNameError);
  });

  it('refuses a command it does not implement', async () => {
    // Act
    const error = await rejection(
      client().send(new DeleteObjectCommand({ Bucket: BUCKET, Key: KEY }) as never),
    );

    // Assess
    expect(error).toBeInstanceOf(UnsupportedLocalCommandError);
  });

  describe('ListObjectsV2', () => {
    const KEYS = [
      'table=Orders/dt=2024-05-01/hour=00/1-1.jsonl.gz',
      'table=Orders/dt=2024-05-01/hour=23/2-2.jsonl.gz',
      'table=Orders/dt=2024-05-02/hour=00/3-3.jsonl.gz',
      'table=Votes/dt=2024-05-01/hour=00/1-1.jsonl.gz',
      'top-level.txt',
    ];

    async function seeded(): Promise<LocalS3Client> {
      const s3 = client();
      // Stored out of order: the listing sorts.
      for (const key of [...KEYS].reverse()) await s3.send(put({ Key: key }));
      await s3.send(put({ Bucket: 'other-bucket', Key: 'table=Orders/elsewhere' }));
      return s3;
    }

    /** Every page of a listing, following the continuation tokens. */
    async function pages(
      s3: LocalS3Client,
      input: Omit<ConstructorParameters<typeof ListObjectsV2Command>[0], 'Bucket'>,
    ): Promise<ListObjectsV2CommandOutput[]> {
      const out: ListObjectsV2CommandOutput[] = [];
      let token: string | undefined;
      do {
        const page = await s3.send(
          new ListObjectsV2Command({
            Bucket: BUCKET,
            ...input,
            ...(token === undefined ? {} : { ContinuationToken: token }),
          }),
        );
        out.push(page);
        token = page.NextContinuationToken;
      } while (token !== undefined);
      return out;
    }

    it('lists the keys of the bucket in key order, with size and ETag', async () => {
      // Prepare
      const s3 = await seeded();

      // Act
      const [page] = await pages(s3, {});

      // Assess
      expect(page?.Contents?.map((object) => object.Key)).toEqual(KEYS);
      expect(page?.Contents?.[0]).toMatchObject({ Size: 4, ETag: expect.stringMatching(/^"[0-9a-f]{32}"$/) });
      expect(page).toMatchObject({ KeyCount: 5, IsTruncated: false, Prefix: '', MaxKeys: 1000 });
      expect(page?.NextContinuationToken).toBeUndefined();
      expect(page?.CommonPrefixes).toBeUndefined();
    });

    it('pages by MaxKeys with continuation tokens, never repeating or skipping a key', async () => {
      // Prepare
      const s3 = await seeded();

      // Act
      const all = await pages(s3, { Prefix: 'table=', MaxKeys: 2 });

      // Assess
      expect(all.map((page) => page.Contents?.map((object) => object.Key))).toEqual([
        KEYS.slice(0, 2),
        KEYS.slice(2, 4),
      ]);
      expect(all.map((page) => page.IsTruncated)).toEqual([true, false]);
    });

    it('starts after StartAfter, exclusive', async () => {
      // Prepare
      const s3 = await seeded();

      // Act
      const [page] = await pages(s3, {
        Prefix: 'table=Orders/',
        StartAfter: 'table=Orders/dt=2024-05-01/hour=23',
      });

      // Assess
      expect(page?.Contents?.map((object) => object.Key)).toEqual(KEYS.slice(1, 3));
    });

    it('rolls keys holding the delimiter after the prefix up into common prefixes', async () => {
      // Prepare
      const s3 = await seeded();

      // Act
      const [top] = await pages(s3, { Delimiter: '/' });
      const [orders] = await pages(s3, { Prefix: 'table=Orders/', Delimiter: '/' });

      // Assess
      expect(top?.Contents?.map((object) => object.Key)).toEqual(['top-level.txt']);
      expect(top?.CommonPrefixes).toEqual([{ Prefix: 'table=Orders/' }, { Prefix: 'table=Votes/' }]);
      expect(top).toMatchObject({ KeyCount: 3, Delimiter: '/' });
      expect(orders?.Contents).toEqual([]);
      expect(orders?.CommonPrefixes).toEqual([
        { Prefix: 'table=Orders/dt=2024-05-01/' },
        { Prefix: 'table=Orders/dt=2024-05-02/' },
      ]);
    });

    it('counts each common prefix once against MaxKeys and never repeats one on the next page', async () => {
      // Prepare
      const s3 = await seeded();

      // Act
      const all = await pages(s3, { Delimiter: '/', MaxKeys: 1 });

      // Assess
      expect(
        all.map((page) => [
          page.CommonPrefixes?.map((common) => common.Prefix),
          page.Contents?.map((o) => o.Key),
        ]),
      ).toEqual([
        [['table=Orders/'], []],
        [['table=Votes/'], []],
        [[], ['top-level.txt']],
      ]);
    });

    it('sorts keys in UTF-8 byte order, as S3 does, and pages consistently with it', async () => {
      // Prepare: U+FF5E sorts before U+1F600 in UTF-8 bytes, after it in UTF-16 code units.
      const s3 = client();
      const keys = ['a', 'x\u{ff5e}', 'x\u{1f600}', 'z'];
      for (const key of keys) await s3.send(put({ Key: key }));

      // Act
      const all = await pages(s3, { MaxKeys: 2 });

      // Assess
      expect(all.flatMap((page) => page.Contents?.map((object) => object.Key))).toEqual(keys);
    });

    it('lists nothing in a bucket nothing was put in', async () => {
      // Act
      const [page] = await pages(client(), {});

      // Assess
      expect(page).toMatchObject({ Contents: [], KeyCount: 0, IsTruncated: false });
    });
  });
});
