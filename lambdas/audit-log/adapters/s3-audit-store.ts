import { PutObjectCommand, type PutObjectCommandOutput } from '@aws-sdk/client-s3';
import { describeError, TransientError } from '../../shared/errors.js';
import type { AuditStore, PutIfAbsentResult } from '../ports.js';

/** The part of an S3 client the store uses. `S3Client` satisfies it; the local sandbox may pass a stand-in. */
export interface S3PutClient {
  send(command: PutObjectCommand): Promise<PutObjectCommandOutput>;
}

export interface S3AuditStoreOptions {
  /** Prepended to every key as is (give it its trailing `/`). Default: none. */
  readonly keyPrefix?: string;
}

/** The MIME type of JSON Lines. */
export const AUDIT_CONTENT_TYPE = 'application/x-ndjson';

/**
 * A conditional PutObject of the same key raced with another one (S3's `ConditionalRequestConflict`, HTTP 409):
 * transient. The retry finds the object the other request wrote and gets 412, i.e. 'exists'.
 */
export class AuditPutConflictError extends TransientError {
  public constructor(key: string, cause: unknown) {
    super(`Concurrent write of audit object ${key}: ${describeError(cause).reason}`, { cause });
    this.name = 'AuditPutConflictError';
  }
}

function errorFields(error: unknown): { name: string | undefined; status: number | undefined } {
  if (typeof error !== 'object' || error === null) return { name: undefined, status: undefined };
  const { name, $metadata } = error as { name?: unknown; $metadata?: { httpStatusCode?: unknown } };
  const status = $metadata?.httpStatusCode;
  return {
    name: typeof name === 'string' ? name : undefined,
    status: typeof status === 'number' ? status : undefined,
  };
}

/**
 * AuditStore on an S3 bucket: one PutObject per object, with `If-None-Match: *` so that S3 creates the key only if
 * it does not exist (the bucket's Object Lock would keep a second version anyway; the condition keeps it from being
 * written). The body is sent with a SHA-256 checksum (`ChecksumAlgorithm`): S3 verifies it on receipt and stores it
 * with the object, where an auditor can check it with standard tools (a CRC is not meant for that); Object Lock
 * buckets also require a checksum on PutObject. No SSE parameters: the bucket's default encryption (SSE-KMS) applies.
 *
 * - 412 `PreconditionFailed`: the key exists, i.e. this batch was stored before: 'exists'.
 * - 409 (`ConditionalRequestConflict`, or any other conflict of concurrent requests): AuditPutConflictError, transient.
 * - anything else propagates.
 */
export class S3AuditStore implements AuditStore {
  readonly #client: S3PutClient;
  readonly #bucket: string;
  readonly #keyPrefix: string;

  public constructor(client: S3PutClient, bucket: string, options: S3AuditStoreOptions = {}) {
    this.#client = client;
    this.#bucket = bucket;
    this.#keyPrefix = options.keyPrefix ?? '';
  }

  public async putIfAbsent(key: string, body: Buffer): Promise<PutIfAbsentResult> {
    const fullKey = `${this.#keyPrefix}${key}`;
    try {
      await this.#client.send(
        new PutObjectCommand({
          Bucket: this.#bucket,
          Key: fullKey,
          Body: body,
          IfNoneMatch: '*',
          ContentType: AUDIT_CONTENT_TYPE,
          ContentEncoding: 'gzip',
          ChecksumAlgorithm: 'SHA256',
        }),
      );
      return 'created';
    } catch (error) {
      const { name, status } = errorFields(error);
      if (name === 'PreconditionFailed' || status === 412) {
        return 'exists';
      }
      if (name === 'ConditionalRequestConflict' || status === 409) {
        throw new AuditPutConflictError(fullKey, error);
      }
      throw error;
    }
  }
}
