/** What a conditional create of an audit object found: a new object, or the same key already stored. */
export type PutIfAbsentResult = 'created' | 'exists';

/**
 * Port: the write-once store of audit objects (an S3 bucket with Object Lock in the Lambda).
 *
 * `putIfAbsent` stores `body` under `key` unless an object with that key exists already. The key is derived from the
 * batch's content, so an existing object is the same batch written by an earlier attempt: `'exists'` is a success.
 * Any other failure throws.
 */
export interface AuditStore {
  putIfAbsent(key: string, body: Buffer): Promise<PutIfAbsentResult>;
}
