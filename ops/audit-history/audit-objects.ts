import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import {
  GetObjectCommand,
  type GetObjectCommandOutput,
  ListObjectsV2Command,
  type ListObjectsV2CommandInput,
  type ListObjectsV2CommandOutput,
} from '@aws-sdk/client-s3';

const gunzipAsync = promisify(gunzip);

/**
 * Port: reads the objects of an audit bucket. The history needs no more than listing keys and common prefixes and
 * reading one object's (decompressed) bytes.
 */
export interface AuditObjects {
  /** For messages: where the objects are read, e.g. `s3://bucket`. */
  readonly location: string;
  /**
   * The keys under `prefix` in key order, one ListObjectsV2 page at a time: a consumer that stops iterating stops
   * the listing. `startAfter` starts the listing after that key (exclusive).
   */
  keys(prefix: string, options?: { readonly startAfter?: string }): AsyncIterable<string>;
  /** The common prefixes under `prefix` up to and including the next `delimiter` (the "folders"), in key order. */
  commonPrefixes(prefix: string, delimiter: string): Promise<string[]>;
  /** The object's content, gunzipped when it is gzip. */
  read(key: string): Promise<Buffer>;
}

/**
 * The part of an S3 client the reader uses. `S3Client` satisfies it, and so does the sandbox's LocalS3Client, so the
 * bucket and the local store are read by the same code.
 */
export interface S3ReadClient {
  send(command: ListObjectsV2Command): Promise<ListObjectsV2CommandOutput>;
  send(command: GetObjectCommand): Promise<GetObjectCommandOutput>;
}

/** A listing that says it has more but gives no token to get it: following it would loop or stop silently. */
export class ListingTokenMissingError extends Error {
  public constructor(location: string, prefix: string) {
    super(`ListObjectsV2 of ${location} under "${prefix}" is truncated but has no NextContinuationToken`);
    this.name = 'ListingTokenMissingError';
  }
}

/** A GetObject answer with no body the reader can consume. */
export class UnreadableBodyError extends Error {
  public constructor(location: string, key: string) {
    super(`GetObject ${location}/${key} returned no readable body`);
    this.name = 'UnreadableBodyError';
  }
}

export interface S3AuditObjectsOptions {
  /** MaxKeys of each ListObjectsV2 page; S3's own default (1,000) when unset. */
  readonly pageSize?: number;
  /** How `location` names the bucket. @default `s3://<bucket>` */
  readonly location?: string;
}

/** gzip's magic number: every gzip member starts with these two bytes. */
function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * The bytes of a GetObject body: the SDK's stream mixin (`transformToByteArray`, what S3Client returns in Node and
 * what LocalS3Client offers), or a plain byte array or async iterable of chunks.
 */
async function bodyBytes(body: unknown): Promise<Buffer | undefined> {
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (body !== null && typeof body === 'object') {
    const { transformToByteArray } = body as { transformToByteArray?: () => Promise<Uint8Array> };
    if (typeof transformToByteArray === 'function') {
      const bytes = await transformToByteArray.call(body);
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    }
    if (Symbol.asyncIterator in body) {
      const chunks: Buffer[] = [];
      for await (const chunk of body as AsyncIterable<Uint8Array | string>) {
        chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk));
      }
      return Buffer.concat(chunks);
    }
  }
  return undefined;
}

/**
 * AuditObjects over an S3 client's `send`: paginated ListObjectsV2 (continuation tokens), GetObject.
 *
 * Objects are gunzipped when their bytes are gzip, decided by the magic number rather than by ContentEncoding alone:
 * the audit log writes `ContentEncoding: gzip`, but an HTTP layer that honours that header hands over the bytes
 * already decompressed, and an object copied without its metadata keeps gzip bytes with no header.
 */
export class S3AuditObjects implements AuditObjects {
  public readonly location: string;
  readonly #client: S3ReadClient;
  readonly #bucket: string;
  readonly #pageSize: number | undefined;

  public constructor(client: S3ReadClient, bucket: string, options: S3AuditObjectsOptions = {}) {
    this.#client = client;
    this.#bucket = bucket;
    this.#pageSize = options.pageSize;
    this.location = options.location ?? `s3://${bucket}`;
  }

  public async *keys(prefix: string, options: { readonly startAfter?: string } = {}): AsyncGenerator<string> {
    for await (const page of this.#pages({
      Prefix: prefix,
      ...(options.startAfter === undefined ? {} : { StartAfter: options.startAfter }),
    })) {
      for (const object of page.Contents ?? []) {
        if (object.Key !== undefined) yield object.Key;
      }
    }
  }

  public async commonPrefixes(prefix: string, delimiter: string): Promise<string[]> {
    const prefixes: string[] = [];
    for await (const page of this.#pages({ Prefix: prefix, Delimiter: delimiter })) {
      for (const common of page.CommonPrefixes ?? []) {
        if (common.Prefix !== undefined) prefixes.push(common.Prefix);
      }
    }
    return prefixes;
  }

  public async read(key: string): Promise<Buffer> {
    const bytes = await this.bytes(key);
    return isGzip(bytes) ? gunzipAsync(bytes) : bytes;
  }

  /** The object's bytes as stored, never decompressed: for a check of what was written (chaos). */
  public async bytes(key: string): Promise<Buffer> {
    const output = await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: key }));
    const bytes = await bodyBytes(output.Body);
    if (bytes === undefined) throw new UnreadableBodyError(this.location, key);
    return bytes;
  }

  async *#pages(
    input: Omit<ListObjectsV2CommandInput, 'Bucket' | 'ContinuationToken'>,
  ): AsyncGenerator<ListObjectsV2CommandOutput> {
    let token: string | undefined;
    do {
      const page = await this.#client.send(
        new ListObjectsV2Command({
          Bucket: this.#bucket,
          ...input,
          ...(this.#pageSize === undefined ? {} : { MaxKeys: this.#pageSize }),
          ...(token === undefined ? {} : { ContinuationToken: token }),
        }),
      );
      yield page;
      if (page.IsTruncated === true && page.NextContinuationToken === undefined) {
        throw new ListingTokenMissingError(this.location, input.Prefix ?? '');
      }
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }
}
