import { gzipSync } from 'node:zlib';
import { PermanentError } from '../shared/errors.js';
import type { ChangeEventName, ChangeRecord } from '../shared/stream/change-record.js';
import { normalizeDecimal } from '../shared/stream/lossless.js';

/** Who made a change (docs/architecture.md, contract 6): a user's write, or DynamoDB's TTL process deleting an expired item. */
export type AuditActor = 'user' | 'ttl';

/** A JSON value as it appears in an audit line. */
export type AuditJson =
  | null
  | boolean
  | number
  | string
  | readonly AuditJson[]
  | { readonly [key: string]: AuditJson };

/**
 * An item image or key map in DynamoDB's AttributeValue JSON, exactly as the stream record carries it (numbers are
 * their `N` texts, binary is base64 text): never unmarshalled, so nothing is rounded or retyped (contract 5).
 */
export type AuditImage = { readonly [attribute: string]: AuditJson };

/** One line of an audit object: one stream record. */
export interface AuditLine {
  readonly eventId: string;
  readonly eventName: ChangeEventName;
  readonly sequenceNumber: string;
  /** The record's ApproximateCreationDateTime, ISO-8601 UTC. */
  readonly approximateCreationTime: string;
  /**
   * The Orders table's key `orderId` as plain text, when the record has one: Athena's JSON SerDe maps only top-level
   * fields to columns, and `WHERE orderid = '...'` needs one. Absent for records of other tables.
   */
  readonly orderId?: string;
  readonly keys: AuditImage;
  /** Absent for INSERT and when the stream carries no old images. */
  readonly oldImage?: AuditImage;
  /** Absent for REMOVE and when the stream carries no new images. */
  readonly newImage?: AuditImage;
  /**
   * Sorted names of the top-level attributes whose value differs between the old and the new image, added and
   * removed ones included: every new attribute for INSERT, every old one for REMOVE. When the stream lacks one of
   * the images of a MODIFY, every attribute of the other is listed (nothing better can be said).
   */
  readonly changedAttributes: readonly string[];
  readonly actor: AuditActor;
}

/**
 * The AttributeValue JSON of a raw value as the line stores it. A Lambda event already is JSON (binary as base64);
 * a record read through the SDK (local runner) holds binary as Uint8Array, which is written as base64 so both give
 * the same line. Anything that JSON cannot hold exactly (a BigInt, a function, a non-finite number...) is not an
 * AttributeValue at all: PermanentError, naming where it was found.
 */
function toAuditJson(value: unknown, path: string): AuditJson {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') {
    return value;
  }
  if (typeof value === 'number' && Number.isFinite(value)) {
    return value;
  }
  if (value instanceof Uint8Array) {
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  }
  if (Array.isArray(value)) {
    return value.map((inner, index) => toAuditJson(inner, `${path}[${index}]`));
  }
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const entries: [string, AuditJson][] = [];
    for (const [name, inner] of Object.entries(value)) {
      // JSON.stringify drops undefined members; so does the line.
      if (inner !== undefined) entries.push([name, toAuditJson(inner, `${path}.${name}`)]);
    }
    return Object.fromEntries(entries);
  }
  throw new PermanentError(`${path} holds a ${typeof value} that JSON cannot represent`);
}

/**
 * True when `value` is JSON already, exactly as JSON.stringify writes it: plain objects and arrays, strings, finite
 * numbers, booleans and null, no undefined member. A Lambda event's images always are (they were parsed from JSON),
 * so the line can hold them as they are; only a record read through the SDK (binary as Uint8Array) needs converting.
 * It allocates nothing: it runs for every record.
 */
function isExactJson(value: unknown): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) {
    for (const inner of value) if (!isExactJson(inner)) return false;
    return true;
  }
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const key in value) {
      if (!Object.hasOwn(value, key)) continue;
      const inner = (value as Record<string, unknown>)[key];
      if (inner === undefined || !isExactJson(inner)) return false;
    }
    return true;
  }
  return false;
}

function toAuditImage(raw: unknown, path: string): AuditImage | undefined {
  if (raw === undefined) return undefined;
  // The line is serialized at once and the record is not changed meanwhile: sharing its images is safe.
  const json = isExactJson(raw) ? (raw as AuditJson) : toAuditJson(raw, path);
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new PermanentError(`${path} is not an attribute map`);
  }
  return json as AuditImage;
}

const SET_TYPES: ReadonlySet<string> = new Set(['SS', 'NS', 'BS']);

function normalizedNumber(value: AuditJson): AuditJson {
  if (typeof value !== 'string') return value;
  try {
    return normalizeDecimal(value);
  } catch {
    return value;
  }
}

/**
 * The canonical form of an AttributeValue for comparison: map keys sorted, set members sorted (sets are unordered),
 * numbers normalised ("1.50" and "1.5" are one DynamoDB number). Only used to compare; lines keep the raw form.
 */
function canonical(value: AuditJson, type?: string): AuditJson {
  if (Array.isArray(value)) {
    const members = value.map((inner) => (type === 'NS' ? normalizedNumber(inner) : canonical(inner)));
    return type !== undefined && SET_TYPES.has(type)
      ? [...members].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1))
      : members;
  }
  if (value !== null && typeof value === 'object') {
    const record = value as { readonly [key: string]: AuditJson };
    return Object.fromEntries(
      Object.keys(record)
        .sort()
        .map((key) => {
          const inner = record[key] ?? null;
          return [key, key === 'N' ? normalizedNumber(inner) : canonical(inner, key)];
        }),
    );
  }
  return value;
}

function canonicalText(value: AuditJson | undefined): string | undefined {
  return value === undefined ? undefined : JSON.stringify(canonical(value));
}

/** Sorted names of the top-level attributes that differ between two images (see AuditLine.changedAttributes). */
export function changedAttributes(
  oldImage: AuditImage | undefined,
  newImage: AuditImage | undefined,
): string[] {
  // Own properties only: an attribute named `constructor` or `toString` that one image lacks is absent there, not
  // Object's member of that name.
  const attribute = (image: AuditImage | undefined, name: string): AuditJson | undefined =>
    image !== undefined && Object.hasOwn(image, name) ? image[name] : undefined;
  const names = new Set([...Object.keys(oldImage ?? {}), ...Object.keys(newImage ?? {})]);
  return [...names]
    .filter((name) => {
      const before = attribute(oldImage, name);
      const after = attribute(newImage, name);
      // Most attributes of a MODIFY are unchanged, byte for byte: no need to build their canonical forms.
      if (before !== undefined && after !== undefined && JSON.stringify(before) === JSON.stringify(after)) {
        return false;
      }
      return canonicalText(before) !== canonicalText(after);
    })
    .sort();
}

/**
 * The audit line of a stream record, from its raw images (`record.raw.dynamodb`), never from the decoded ones.
 * Throws PermanentError only for a record holding a value that JSON cannot represent, which no DynamoDB stream
 * record does.
 */
export function toAuditLine(record: ChangeRecord): AuditLine {
  const raw = record.raw.dynamodb ?? {};
  const keys = toAuditImage(raw.Keys, 'Keys') ?? {};
  const oldImage = toAuditImage(raw.OldImage, 'OldImage');
  const newImage = toAuditImage(raw.NewImage, 'NewImage');
  return {
    eventId: record.eventId,
    eventName: record.eventName,
    sequenceNumber: record.sequenceNumber,
    approximateCreationTime: new Date(record.approximateCreationTime).toISOString(),
    ...(typeof raw.Keys?.orderId?.S === 'string' ? { orderId: raw.Keys.orderId.S } : {}),
    keys,
    ...(oldImage === undefined ? {} : { oldImage }),
    ...(newImage === undefined ? {} : { newImage }),
    changedAttributes: changedAttributes(oldImage, newImage),
    actor: record.removedByTtl ? 'ttl' : 'user',
  };
}

/** The JSON text of one line (no newline). */
export function serializeAuditLine(line: AuditLine): string {
  return JSON.stringify(line);
}

/** The stream position and time of the records of one audit object, for its key. */
export interface AuditBatchBounds {
  readonly sequenceNumber: string;
  /** Milliseconds since the epoch. */
  readonly approximateCreationTime: number;
}

/**
 * The key of a batch's audit object: `table=<name>/dt=YYYY-MM-DD/hour=HH/<first-seq>-<last-seq>.jsonl.gz`, the date
 * and hour (UTC) of the first record. Derived from the content only, so a retry of the same batch gets the same key.
 */
export function auditObjectKey(tableName: string, records: readonly AuditBatchBounds[]): string {
  const first = records[0];
  const last = records[records.length - 1];
  if (first === undefined || last === undefined) {
    throw new Error('An audit object needs at least one record');
  }
  const time = new Date(first.approximateCreationTime).toISOString();
  return (
    `table=${tableName}/dt=${time.slice(0, 10)}/hour=${time.slice(11, 13)}/` +
    `${first.sequenceNumber}-${last.sequenceNumber}.jsonl.gz`
  );
}

/** The gzipped JSON Lines body of an audit object: one line per record, each terminated by `\n`. */
export function encodeAuditObject(lines: readonly AuditLine[]): Buffer {
  return encodeSerializedLines(lines.map(serializeAuditLine));
}

/** encodeAuditObject for lines already serialized with serializeAuditLine. */
export function encodeSerializedLines(lines: readonly string[]): Buffer {
  return gzipSync(lines.map((line) => `${line}\n`).join(''));
}

const TABLE_STREAM_ARN = /^arn:aws[a-z-]*:dynamodb:[^:]*:[^:]*:table\/([^/]+)\/stream\/[^/]+$/;

/** The table name of a stream ARN (`arn:aws:dynamodb:<region>:<acct>:table/<name>/stream/<label>`), if it is one. */
export function tableNameFromStreamArn(arn: string | undefined): string | undefined {
  return arn === undefined ? undefined : TABLE_STREAM_ARN.exec(arn)?.[1];
}
