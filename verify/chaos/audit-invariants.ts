import { isDeepStrictEqual } from 'node:util';
import { gunzipSync } from 'node:zlib';
import * as z from 'zod';
import type { AuditActor, AuditImage, AuditJson } from '../../lambdas/audit-log/audit-line.js';
import type { ChangeEventName } from '../../lambdas/shared/stream/change-record.js';
import type { LocalPutJournalEntry } from '../../sandbox/adapters/local-s3.js';
import { MAX_PROBLEMS } from './invariants.js';

/**
 * The audit log's check of a chaos run (docs/pipelines/audit-log.md): after the streams drained, the audit bucket must hold
 * every change of every order at least once, and exactly once after dropping duplicate eventIDs, and no object may
 * ever have been overwritten. Pure, for its own tests: the run reads the Orders stream from TRIM_HORIZON, the bucket's
 * objects and its PutObject journal, and hands them over.
 *
 * The truth is the stream itself, read independently of the consumer: every record of every shard. Checked:
 * - missing: a stream record with no line anywhere in the bucket. Must be 0.
 * - unexpected: a line whose eventID the stream never had. Must be 0.
 * - mismatched: a line whose content is not its record's (event name, sequence number, keys, images as AttributeValue
 *   JSON, changed attributes, orderId, actor, a creation time outside the allowed slack), or a repeated eventID whose
 *   content differs from its first line: "exactly once after dropping duplicate eventIDs" needs one content per
 *   eventID. Must be 0.
 * - duplicates: lines of an eventID after its first. A retry that the mapping forms differently from the first
 *   attempt (a bisected batch, a timed-out prefix, a batch that grew) writes an overlapping object under another key,
 *   so at-least-once allows them: reported, not failed.
 * - overwrites: PutObjects the stand-in journaled `overwritten`, and `created` entries beyond the first of one key.
 *   Must be 0.
 * - keyCollisions: 412 answers whose body differs from the object stored under the key (or for a key never created).
 *   The key is derived from the batch's content, so a 412 counts as "this batch is stored"; a different body means a
 *   batch's lines were dropped in favour of another's. Must be 0.
 * - unconditionalPuts: PutObjects without `If-None-Match: *`. On S3 such a put of an existing key silently adds a
 *   version; every audit write must be a conditional create. Must be 0.
 * - misfiled: an object whose key is not the one its content implies (`table=<table>/dt=YYYY-MM-DD/hour=HH/
 *   <first-seq>-<last-seq>.jsonl.gz`, UTC date and hour of the first line's time). Must be 0.
 * - outOfOrder: lines of one object that do not come after the line before them in sequence number order. Must be 0.
 * - malformed: an object that is not gzipped JSON Lines (each line ends with a line feed), and lines that are not
 *   audit lines. Must be 0.
 */

/** One record of the audited table's stream, read straight from DynamoDB Streams (the ground truth). */
export interface StreamRecordTruth {
  readonly shardId: string;
  readonly eventId: string;
  readonly eventName: ChangeEventName;
  readonly sequenceNumber: string;
  /**
   * ApproximateCreationDateTime in milliseconds since the epoch as the stream reports it. DynamoDB Local truncates it
   * to the minute, while the sandbox's consumers see the time their stream source first read the record: hence the
   * check's slack (AuditCheckInput.creationTimeSlackMs).
   */
  readonly approximateCreationTime: number;
  /** AttributeValue JSON, binary as base64 text (as a Lambda event carries it). */
  readonly keys: AuditImage;
  readonly oldImage?: AuditImage;
  readonly newImage?: AuditImage;
  readonly actor: AuditActor;
}

/** One object of the audit bucket, as stored. */
export interface StoredAuditObject {
  readonly key: string;
  readonly body: Uint8Array;
}

export interface AuditCheckInput {
  /** The audited table's name, the `table=` segment of every key. */
  readonly tableName: string;
  /** Every record of every shard of the table's stream. */
  readonly stream: readonly StreamRecordTruth[];
  /** Every object of the audit bucket. */
  readonly objects: readonly StoredAuditObject[];
  /** The bucket's PutObject journal (adapters/local-s3.ts), in call order. */
  readonly journal: readonly LocalPutJournalEntry[];
  /** PutObjects the stand-in stored and then lost the answer of (injected; serviceStats().s3.lostResponses). */
  readonly lostResponses: number;
  /**
   * How much later than the stream's ApproximateCreationDateTime a line's time may be. A line's time may also be up to
   * a second earlier: Lambda and the stream round to whole seconds, not always the same way.
   */
  readonly creationTimeSlackMs: number;
  /** Letters in the audit log's DLQ from its runtime (records it gave up on as permanent). */
  readonly deadLetters: number;
  /** Records the audit log's mapping sent to its on-failure destination. */
  readonly onFailureRecords: number;
}

/** The result, part of the chaos result as `audit`. */
export interface AuditReport {
  /** Records of the table's stream. */
  readonly streamRecords: number;
  /** Objects in the bucket. */
  readonly objects: number;
  /** Lines of every object, duplicates included. */
  readonly lines: number;
  /** Distinct eventIDs among the lines. */
  readonly eventIds: number;
  /** PutObject calls the bucket's journal holds, whatever their result. */
  readonly putCalls: number;
  /** Of them, objects created. */
  readonly created: number;
  /** Of them, 412 answers: conditional creates that met an object already there (a retry meeting its own object). */
  readonly preconditionFailed: number;
  /** Of them, 503 SlowDown answers (injected: nothing stored). */
  readonly slowDowns: number;
  /** PutObjects that stored the object and then lost the answer (injected): the retry gets 412. */
  readonly lostResponses: number;
  readonly missing: number;
  readonly unexpected: number;
  readonly mismatched: number;
  /** Lines of an eventID after its first: allowed by at-least-once, for information. */
  readonly duplicates: number;
  readonly overwrites: number;
  readonly keyCollisions: number;
  readonly unconditionalPuts: number;
  readonly misfiled: number;
  readonly outOfOrder: number;
  readonly malformed: number;
  /** Runtime dead letters in the audit log's DLQ (for information: their records count as missing if not stored). */
  readonly deadLetters: number;
  /** Records the mapping sent to its on-failure destination (likewise). */
  readonly onFailureRecords: number;
  readonly ok: boolean;
  /** Up to MAX_PROBLEMS examples, for the log. */
  readonly problems: readonly string[];
}

const attributeMapSchema = z.record(z.string(), z.json());

/** An audit line as the check reads it (audit-line.ts, AuditLine); fields added later are ignored. */
const auditLineSchema = z.object({
  eventId: z.string().min(1),
  eventName: z.enum(['INSERT', 'MODIFY', 'REMOVE']),
  sequenceNumber: z.string().regex(/^\d+$/),
  approximateCreationTime: z.iso.datetime(),
  orderId: z.string().optional(),
  keys: attributeMapSchema,
  oldImage: attributeMapSchema.optional(),
  newImage: attributeMapSchema.optional(),
  changedAttributes: z.array(z.string()),
  actor: z.enum(['user', 'ttl']),
});

type ParsedLine = z.infer<typeof auditLineSchema>;

/** A line and where it was found. */
interface PlacedLine {
  readonly key: string;
  /** 1-based line number in its object. */
  readonly lineNumber: number;
  readonly line: ParsedLine;
  /** The line's JSON with every member, those the check does not know included: duplicates must match in all. */
  readonly raw: unknown;
}

/** Sequence numbers are digit strings of 21 to 40 digits: compared as integers, never as text. */
function compareSequenceNumbers(a: string, b: string): number {
  const difference = BigInt(a) - BigInt(b);
  return difference === 0n ? 0 : difference < 0n ? -1 : 1;
}

const SET_TYPES: ReadonlySet<string> = new Set(['SS', 'NS', 'BS']);

/**
 * An AttributeValue in a form where equal values are equal text: map keys sorted, set members sorted (sets are
 * unordered). Numbers are compared as the stream spells them; DynamoDB always spells one number one way.
 */
function canonical(value: AuditJson | undefined, type?: string): unknown {
  if (Array.isArray(value)) {
    const members = value.map((member) => canonical(member));
    return type !== undefined && SET_TYPES.has(type)
      ? members.map((member) => JSON.stringify(member)).sort()
      : members;
  }
  if (value !== null && typeof value === 'object') {
    const record = value as { readonly [key: string]: AuditJson };
    return Object.keys(record)
      .sort()
      .map((key) => [key, canonical(record[key], key)]);
  }
  return value;
}

/** The top-level attributes whose values differ between the images: what a line's changedAttributes must say. */
function expectedChangedAttributes(record: StreamRecordTruth): string[] {
  const names = new Set([...Object.keys(record.oldImage ?? {}), ...Object.keys(record.newImage ?? {})]);
  return [...names]
    .filter(
      (name) =>
        JSON.stringify(canonical(record.oldImage?.[name])) !==
        JSON.stringify(canonical(record.newImage?.[name])),
    )
    .sort();
}

function describeJson(value: unknown): string {
  return value === undefined ? 'nothing' : JSON.stringify(value);
}

/** The text of a string attribute (`{ "S": "..." }`) of an image; undefined for any other type or none. */
function stringAttribute(image: AuditImage, name: string): string | undefined {
  const value = image[name];
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const text = (value as { readonly [key: string]: AuditJson }).S;
  return typeof text === 'string' ? text : undefined;
}

/** How a line differs from its stream record; empty when it is the record's line. */
function lineDifferences(line: ParsedLine, record: StreamRecordTruth, slackMs: number): string[] {
  const differences: string[] = [];
  if (line.eventName !== record.eventName) {
    differences.push(`eventName ${line.eventName}, the stream says ${record.eventName}`);
  }
  if (line.sequenceNumber !== record.sequenceNumber) {
    differences.push(`sequenceNumber ${line.sequenceNumber}, the stream says ${record.sequenceNumber}`);
  }
  const images = [
    ['keys', line.keys, record.keys],
    ['oldImage', line.oldImage, record.oldImage],
    ['newImage', line.newImage, record.newImage],
  ] as const;
  for (const [name, stored, truth] of images) {
    if (!isDeepStrictEqual(stored, truth)) {
      differences.push(`${name} ${describeJson(stored)}, the stream says ${describeJson(truth)}`);
    }
  }
  const changed = expectedChangedAttributes(record);
  if (!isDeepStrictEqual(line.changedAttributes, changed)) {
    differences.push(
      `changedAttributes [${line.changedAttributes.join(', ')}], the images say [${changed.join(', ')}]`,
    );
  }
  const expectedOrderId = stringAttribute(record.keys, 'orderId');
  if (line.orderId !== expectedOrderId) {
    differences.push(`orderId ${describeJson(line.orderId)}, the keys say ${describeJson(expectedOrderId)}`);
  }
  if (line.actor !== record.actor) {
    differences.push(`actor ${line.actor}, the stream says ${record.actor}`);
  }
  const time = Date.parse(line.approximateCreationTime);
  if (time < record.approximateCreationTime - 1_000 || time > record.approximateCreationTime + slackMs) {
    differences.push(
      `approximateCreationTime ${line.approximateCreationTime}, the stream says ` +
        `${new Date(record.approximateCreationTime).toISOString()} (allowed: up to ${slackMs} ms later)`,
    );
  }
  return differences;
}

/** The key an object with these lines must have (audit-line.ts, auditObjectKey). */
function expectedObjectKey(tableName: string, lines: readonly ParsedLine[]): string | undefined {
  const first = lines[0];
  const last = lines[lines.length - 1];
  if (first === undefined || last === undefined) return undefined;
  const time = new Date(Date.parse(first.approximateCreationTime)).toISOString();
  return (
    `table=${tableName}/dt=${time.slice(0, 10)}/hour=${time.slice(11, 13)}/` +
    `${first.sequenceNumber}-${last.sequenceNumber}.jsonl.gz`
  );
}

/** The lines of an object, or why it is not gzipped JSON Lines at all. */
function splitObject(object: StoredAuditObject): { text: string[] } | { error: string } {
  let text: string;
  try {
    text = gunzipSync(object.body).toString('utf8');
  } catch (error) {
    return { error: `is not gzip (${(error as Error).message})` };
  }
  if (text === '') return { error: 'is empty' };
  if (!text.endsWith('\n')) return { error: 'does not end with a line feed' };
  return { text: text.slice(0, -1).split('\n') };
}

/** Checks the audit bucket against the stream; see the module comment. */
export function checkAuditLog(input: AuditCheckInput): AuditReport {
  const problems: string[] = [];
  const problem = (text: string): void => {
    if (problems.length < MAX_PROBLEMS) problems.push(text);
  };
  let mismatched = 0;
  let misfiled = 0;
  let outOfOrder = 0;
  let malformed = 0;

  // The objects: each one read, its lines parsed, its key and line order checked.
  const placed: PlacedLine[] = [];
  for (const object of input.objects) {
    const split = splitObject(object);
    if ('error' in split) {
      malformed += 1;
      problem(`object ${object.key} ${split.error}`);
      continue;
    }
    const lines: ParsedLine[] = [];
    split.text.forEach((text, index) => {
      const lineNumber = index + 1;
      let raw: unknown;
      try {
        raw = JSON.parse(text);
      } catch (error) {
        malformed += 1;
        problem(`object ${object.key} line ${lineNumber} is not JSON (${(error as Error).message})`);
        return;
      }
      const parsed = auditLineSchema.safeParse(raw);
      if (!parsed.success) {
        malformed += 1;
        const issues = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
        problem(`object ${object.key} line ${lineNumber} is not an audit line (${issues.join('; ')})`);
        return;
      }
      lines.push(parsed.data);
      placed.push({ key: object.key, lineNumber, line: parsed.data, raw });
    });
    lines.forEach((line, index) => {
      const previous = lines[index - 1];
      if (
        previous !== undefined &&
        compareSequenceNumbers(line.sequenceNumber, previous.sequenceNumber) <= 0
      ) {
        outOfOrder += 1;
        problem(
          `object ${object.key}: line of ${line.sequenceNumber} comes after the line of ${previous.sequenceNumber}`,
        );
      }
    });
    const expectedKey = expectedObjectKey(input.tableName, lines);
    if (expectedKey !== undefined && expectedKey !== object.key) {
      misfiled += 1;
      problem(`object ${object.key} should be ${expectedKey} by its content`);
    }
  }

  // The lines against the stream, and the lines of one eventID against each other.
  const stream = new Map(input.stream.map((record) => [record.eventId, record]));
  const firstLineOf = new Map<string, PlacedLine>();
  let unexpected = 0;
  let duplicates = 0;
  for (const entry of placed) {
    const { line } = entry;
    const where = `${entry.key} line ${entry.lineNumber}`;
    const first = firstLineOf.get(line.eventId);
    if (first !== undefined) {
      duplicates += 1;
      if (!isDeepStrictEqual(entry.raw, first.raw)) {
        mismatched += 1;
        problem(
          `eventID ${line.eventId} has two contents: ${where} differs from ${first.key} line ${first.lineNumber}`,
        );
      }
      continue;
    }
    firstLineOf.set(line.eventId, entry);
    const record = stream.get(line.eventId);
    if (record === undefined) {
      unexpected += 1;
      problem(`${where}: eventID ${line.eventId} (${line.sequenceNumber}) is not a record of the stream`);
      continue;
    }
    const differences = lineDifferences(line, record, input.creationTimeSlackMs);
    if (differences.length > 0) {
      mismatched += 1;
      problem(`${where}: eventID ${line.eventId} differs from its stream record: ${differences.join('; ')}`);
    }
  }
  let missing = 0;
  for (const record of stream.values()) {
    if (firstLineOf.has(record.eventId)) continue;
    missing += 1;
    problem(
      `stream record ${record.eventId} (${record.eventName} ${record.sequenceNumber} of ${record.shardId}, ` +
        `keys ${JSON.stringify(record.keys)}) has no line in the audit bucket`,
    );
  }

  // The journal: every PutObject a conditional create, no key written twice, every 412 met the same body.
  let overwrites = 0;
  let keyCollisions = 0;
  let unconditionalPuts = 0;
  const createdBody = new Map<string, string>();
  const counts = { created: 0, preconditionFailed: 0, slowDowns: 0 };
  for (const entry of input.journal) {
    if (!entry.ifNoneMatch) {
      unconditionalPuts += 1;
      problem(`PutObject of ${entry.key} at ${entry.at} had no If-None-Match: *`);
    }
    switch (entry.result) {
      case 'created':
        counts.created += 1;
        if (createdBody.has(entry.key)) {
          overwrites += 1;
          problem(`object ${entry.key} was created a second time at ${entry.at}`);
        } else {
          createdBody.set(entry.key, entry.sha256);
        }
        break;
      case 'overwritten':
        overwrites += 1;
        problem(`object ${entry.key} was overwritten at ${entry.at}`);
        break;
      case 'precondition-failed': {
        counts.preconditionFailed += 1;
        const stored = createdBody.get(entry.key);
        if (stored !== entry.sha256) {
          keyCollisions += 1;
          problem(
            stored === undefined
              ? `PutObject of ${entry.key} at ${entry.at} got 412, but no object of that key was created before`
              : `PutObject of ${entry.key} at ${entry.at} got 412 for a body (sha256 ${entry.sha256}) that is not ` +
                  `the stored one (${stored}): its lines were not stored under that key`,
          );
        }
        break;
      }
      case 'failed':
        counts.slowDowns += 1;
        break;
    }
  }

  return {
    streamRecords: stream.size,
    objects: input.objects.length,
    lines: placed.length,
    eventIds: firstLineOf.size,
    putCalls: input.journal.length,
    ...counts,
    lostResponses: input.lostResponses,
    missing,
    unexpected,
    mismatched,
    duplicates,
    overwrites,
    keyCollisions,
    unconditionalPuts,
    misfiled,
    outOfOrder,
    malformed,
    deadLetters: input.deadLetters,
    onFailureRecords: input.onFailureRecords,
    ok:
      missing === 0 &&
      unexpected === 0 &&
      mismatched === 0 &&
      overwrites === 0 &&
      keyCollisions === 0 &&
      unconditionalPuts === 0 &&
      misfiled === 0 &&
      outOfOrder === 0 &&
      malformed === 0,
    problems,
  };
}
