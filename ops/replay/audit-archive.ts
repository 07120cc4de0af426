import type { DynamoDBRecord } from 'aws-lambda';
import { tableNameFromStreamArn } from '../../lambdas/audit-log/audit-line.js';
import type { AuditObjects } from '../audit-history/audit-objects.js';
import {
  canonicalJson,
  compareSequenceNumbers,
  type HistoryProblem,
  type LocatedLine,
  parseAuditObject,
  type ReadAuditLine,
} from '../audit-history/history.js';
import { mapInOrder } from '../audit-history/history-run.js';

/**
 * The audit log as an archive of the Orders stream beyond its 24 hours (docs/pipelines/audit-log.md): the lines of a
 * time window read back, each eventId once, in stream order, and each turned back into the stream record it was
 * written from, in the shape of a Lambda event's record. `ops replay` invokes a consumer with them, and `ops redrive`
 * reads a range the stream no longer holds from here.
 */

/**
 * How much earlier than its first line's time an audit object may hold a line. An object is keyed by its first
 * record's creation time (`dt=<day>/hour=<hh>/`), and a batch the audit log reads holds records at most its mapping's
 * maximum record age (2 h) apart, plus its batching window (60 s): a line of the window can be in an object keyed up
 * to that much earlier. One more hour of margin costs a few listings and reads.
 */
export const AUDIT_OBJECT_SPAN_MS = 3 * 3_600_000;

/** A half-open window of change times: from (included) to (excluded). */
export interface ChangeWindow {
  readonly from: Date;
  readonly to: Date;
}

export interface ArchiveReadOptions {
  /** The Orders stream's ARN: each rebuilt record's eventSourceARN. */
  readonly streamArn: string;
  /** Each rebuilt record's awsRegion. */
  readonly region: string;
  /** GetObjects in flight at once. @default 8 */
  readonly concurrency?: number;
  /** Progress (stderr in the CLI). @default none */
  readonly log?: (line: string) => void;
}

export interface ArchivedRecords {
  /** The window's records, each eventId once, in stream order. */
  readonly records: readonly DynamoDBRecord[];
  readonly objectsListed: number;
  readonly objectsRead: number;
  /** Lines read in the objects, in the window or not. */
  readonly linesRead: number;
  /** Lines of the window dropped because the same eventId was read before (a bisected retry writes some twice). */
  readonly duplicatesDropped: number;
  /** Malformed lines, unreadable objects, conflicting duplicates: each a record the archive cannot give back. */
  readonly problems: readonly HistoryProblem[];
}

const OBJECT_TIME = /(?:^|\/)dt=(\d{4}-\d{2}-\d{2})\/hour=(\d{2})\//;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** The start of the hour an object key names (`dt=<day>/hour=<hh>/`), in ms; undefined for any other key. */
export function objectHourMs(key: string): number | undefined {
  const match = OBJECT_TIME.exec(key);
  if (match === null) return undefined;
  const time = Date.parse(`${match[1]}T${match[2]}:00:00.000Z`);
  return Number.isNaN(time) ? undefined : time;
}

/** The userIdentity DynamoDB puts on a record of a TTL deletion (what the consumers test for). */
const TTL_IDENTITY = { type: 'Service', principalId: 'dynamodb.amazonaws.com' } as const;

/** The stream record an audit line was written from, as a Lambda event carries it. */
export function recordOfAuditLine(line: ReadAuditLine, streamArn: string, region: string): DynamoDBRecord {
  const images = {
    Keys: line.keys,
    ...(line.oldImage === undefined ? {} : { OldImage: line.oldImage }),
    ...(line.newImage === undefined ? {} : { NewImage: line.newImage }),
  };
  return {
    eventID: line.eventId,
    eventName: line.eventName,
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: region,
    eventSourceARN: streamArn,
    ...(line.actor === 'ttl' ? { userIdentity: TTL_IDENTITY } : {}),
    dynamodb: {
      ApproximateCreationDateTime: Date.parse(line.approximateCreationTime) / 1000,
      SequenceNumber: line.sequenceNumber,
      // What the stream would say: the item's key and images as stored, in bytes of their JSON.
      SizeBytes: Buffer.byteLength(JSON.stringify(images), 'utf8'),
      StreamViewType: 'NEW_AND_OLD_IMAGES',
      ...(images as NonNullable<DynamoDBRecord['dynamodb']>),
    },
  } as DynamoDBRecord;
}

function timeOf(line: LocatedLine): number {
  return Date.parse(line.value.approximateCreationTime);
}

/**
 * How much earlier than its object's hour a line may be stamped: an object is keyed by its first record's time, and
 * the records after it were written after it, but their times are approximate (to the second in DynamoDB Streams).
 */
const LINE_TIME_SLACK_MS = 60_000;

/** What reading the archive counted, filled in as it goes. */
export interface ArchiveReadStats {
  objectsListed: number;
  objectsRead: number;
  /** Lines read in the objects, in the window or not. */
  linesRead: number;
  /** Lines of the window dropped because the same eventId was read before (a bisected retry writes some twice). */
  duplicatesDropped: number;
  /** Malformed lines, unreadable objects, conflicting duplicates: each a record the archive cannot give back. */
  readonly problems: HistoryProblem[];
}

export function emptyArchiveReadStats(): ArchiveReadStats {
  return { objectsListed: 0, objectsRead: 0, linesRead: 0, duplicatesDropped: 0, problems: [] };
}

/**
 * Reads the table's audit lines of the window in time order, one slice at a time, so that a window of weeks never
 * sits in memory: the objects are listed one `dt=<day>/` prefix at a time (from the day of `from` minus
 * AUDIT_OBJECT_SPAN_MS) and read an hour of keys at a time. A line is never in an object keyed later than its own
 * time, so once every object keyed up to an hour's end is read, the window's lines before that end (less a minute of
 * slack) are complete: they are yielded, each eventId once (a later copy with the same content is dropped; one that
 * differs is a problem and the first is kept), in stream order, as the records they were written from. An item's
 * changes keep their order across slices too: a later change has a later time. A malformed line or an unreadable
 * object is a problem in `stats` and the rest is read; a listing that fails throws.
 */
export async function* archivedRecordSlices(
  objects: AuditObjects,
  table: string,
  window: ChangeWindow,
  options: ArchiveReadOptions,
  stats: ArchiveReadStats = emptyArchiveReadStats(),
): AsyncGenerator<DynamoDBRecord[]> {
  const earliest = window.from.getTime() - AUDIT_OBJECT_SPAN_MS;
  const end = window.to.getTime();
  const pending = new Map<string, LocatedLine>();
  const take = (before: number): DynamoDBRecord[] => {
    const ready = [...pending.values()].filter((line) => timeOf(line) < before);
    for (const line of ready) pending.delete(line.value.eventId);
    return ready
      .sort((a, b) => compareSequenceNumbers(a.value.sequenceNumber, b.value.sequenceNumber))
      .map((line) => recordOfAuditLine(line.value, options.streamArn, options.region));
  };
  for (let day = Math.floor(earliest / DAY_MS) * DAY_MS; day < end; day += DAY_MS) {
    const byHour = new Map<number, string[]>();
    for await (const key of objects.keys(`table=${table}/dt=${new Date(day).toISOString().slice(0, 10)}/`)) {
      const hour = objectHourMs(key);
      // The object's first line is in its hour or later: past the window's end, nothing of it is in the window.
      if (hour === undefined || hour + HOUR_MS <= earliest || hour >= end) continue;
      byHour.set(hour, [...(byHour.get(hour) ?? []), key]);
    }
    for (const hour of [...byHour.keys()].sort((a, b) => a - b)) {
      const keys = byHour.get(hour) ?? [];
      stats.objectsListed += keys.length;
      options.log?.(
        `Reading ${keys.length} audit object(s) of ${new Date(hour).toISOString().slice(0, 13)}h...`,
      );
      const read = await mapInOrder(keys, options.concurrency ?? 8, (key) =>
        readObjectLines(objects, key, stats),
      );
      for (const located of read.flat()) {
        const time = timeOf(located);
        if (time < window.from.getTime() || time >= end) continue;
        const first = pending.get(located.value.eventId);
        if (first === undefined) {
          pending.set(located.value.eventId, located);
        } else if (canonicalJson(first.value) === canonicalJson(located.value)) {
          stats.duplicatesDropped += 1;
        } else {
          stats.problems.push({
            kind: 'conflicting-duplicate',
            eventId: located.value.eventId,
            kept: { objectKey: first.objectKey, line: first.line },
            conflicting: { objectKey: located.objectKey, line: located.line },
          });
        }
      }
      const slice = take(hour + HOUR_MS - LINE_TIME_SLACK_MS);
      if (slice.length > 0) yield slice;
    }
  }
  const rest = take(Number.POSITIVE_INFINITY);
  if (rest.length > 0) yield rest;
}

async function readObjectLines(
  objects: AuditObjects,
  key: string,
  stats: ArchiveReadStats,
): Promise<LocatedLine[]> {
  let text: string;
  try {
    text = UTF8.decode(await objects.read(key));
  } catch (error) {
    stats.problems.push({
      kind: 'unreadable-object',
      objectKey: key,
      reason: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });
    return [];
  }
  stats.objectsRead += 1;
  const object = parseAuditObject(key, text);
  stats.linesRead += object.lines.length + object.problems.length;
  stats.problems.push(...object.problems);
  return [...object.lines];
}

/** The window's records all at once (a short window: a range redrive reads back), with what reading them counted. */
export async function readArchivedRecords(
  objects: AuditObjects,
  table: string,
  window: ChangeWindow,
  options: ArchiveReadOptions,
): Promise<ArchivedRecords> {
  const stats = emptyArchiveReadStats();
  const records: DynamoDBRecord[] = [];
  for await (const slice of archivedRecordSlices(objects, table, window, options, stats))
    records.push(...slice);
  return { records, ...stats };
}

/** A range of one shard, as an on-failure record names it. */
export interface ShardRange {
  readonly startSequenceNumber: string;
  readonly endSequenceNumber: string;
  readonly approximateArrivalOfFirstRecord: string;
  readonly approximateArrivalOfLastRecord: string;
  readonly batchSize: number;
}

/** A range read back: exactly its records, or why not. */
export type ArchivedRange =
  | { readonly kind: 'records'; readonly records: readonly DynamoDBRecord[] }
  | { readonly kind: 'missing'; readonly reason: string };

/** Where a range the stream no longer holds is read back from (redrive). */
export interface RangeArchive {
  /** Where the archive is, for messages (e.g. `s3://bucket`). */
  readonly location: string;
  /** Whether the archive keeps the records of this stream. */
  holds(streamArn: string): boolean;
  readRange(range: ShardRange): Promise<ArchivedRange>;
}

/**
 * How far a record's creation time may lie from its arrival time in the on-failure record: both are stamped by
 * DynamoDB Streams as the change is written, to the second or better. A minute is plenty.
 */
const ARRIVAL_SLACK_MS = 60_000;

/**
 * The records of a range the stream no longer holds, read back from the audit log: those of the window of the
 * range's arrival times whose sequence numbers are in the range. Given back only when exactly the range's records
 * are found (as many as its batchSize, from its first sequence number to its last): an audit line holds no shard id,
 * so a count that differs means a record missing from the archive or one of another shard, and the range is then
 * not recovered rather than guessed.
 */
export async function readArchivedRange(
  objects: AuditObjects,
  table: string,
  range: ShardRange,
  options: ArchiveReadOptions,
): Promise<ArchivedRange> {
  const window: ChangeWindow = {
    from: new Date(Date.parse(range.approximateArrivalOfFirstRecord) - ARRIVAL_SLACK_MS),
    to: new Date(Date.parse(range.approximateArrivalOfLastRecord) + ARRIVAL_SLACK_MS),
  };
  if (Number.isNaN(window.from.getTime()) || Number.isNaN(window.to.getTime())) {
    return {
      kind: 'missing',
      reason: 'the range has no valid arrival times to look for it in the audit log',
    };
  }
  const archived = await readArchivedRecords(objects, table, window, options);
  const records = archived.records.filter((record) => {
    const sequenceNumber = record.dynamodb?.SequenceNumber ?? '';
    return (
      compareSequenceNumbers(sequenceNumber, range.startSequenceNumber) >= 0 &&
      compareSequenceNumbers(sequenceNumber, range.endSequenceNumber) <= 0
    );
  });
  const first = records[0]?.dynamodb?.SequenceNumber;
  const last = records.at(-1)?.dynamodb?.SequenceNumber;
  if (
    records.length !== range.batchSize ||
    first !== range.startSequenceNumber ||
    last !== range.endSequenceNumber
  ) {
    return {
      kind: 'missing',
      reason:
        `the audit log holds ${records.length} of the range's ${range.batchSize} record(s)` +
        (archived.problems.length === 0 ? '' : ` (${archived.problems.length} problem(s) reading it)`),
    };
  }
  return { kind: 'records', records };
}

/**
 * The audit log as the archive redrive reads a range from once the stream dropped it: it holds the Orders table's
 * stream (whatever its label: a stream turned off and on again is a new ARN of the same table).
 */
export function orderStreamArchive(
  objects: AuditObjects,
  stage: { readonly ordersTableName: string; readonly ordersStreamArn: string },
  region: string,
): RangeArchive {
  return {
    location: objects.location,
    holds: (streamArn) => tableNameFromStreamArn(streamArn) === stage.ordersTableName,
    readRange: (range) =>
      readArchivedRange(objects, stage.ordersTableName, range, {
        streamArn: stage.ordersStreamArn,
        region,
      }),
  };
}
