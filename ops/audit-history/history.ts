import * as z from 'zod';
import { type AttributeMapJson, attributeMapProblem, type DiffEntry, diffImages } from './attribute-diff.js';

/**
 * The change history of one order from the text of audit objects (lambdas/audit-log/audit-line.ts): lines parsed and
 * checked, the order's lines kept, duplicate eventIds dropped (a bisected retry writes some records twice), the rest
 * ordered by sequence number and each turned into a diff. Pure: the objects' text comes in, the history goes out.
 */

/** An audit line as the reader checks it: the fields the history uses; fields added later are let through. */
export interface ReadAuditLine {
  readonly eventId: string;
  readonly eventName: 'INSERT' | 'MODIFY' | 'REMOVE';
  readonly sequenceNumber: string;
  readonly approximateCreationTime: string;
  readonly orderId?: string | undefined;
  readonly keys: AttributeMapJson;
  readonly oldImage?: AttributeMapJson | undefined;
  readonly newImage?: AttributeMapJson | undefined;
  readonly actor: 'user' | 'ttl';
}

/** Where a line was read: the object's key and the line's number in it (1-based). */
export interface LineLocation {
  readonly objectKey: string;
  readonly line: number;
}

/** A line as read, with where it came from. */
export interface LocatedLine extends LineLocation {
  /** Every member of the line, those the reader does not know included (a duplicate must match in all of them). */
  readonly value: ReadAuditLine;
}

/** Something wrong with the audit log itself. Any problem fails the run, after what could be read was printed. */
export type HistoryProblem =
  | {
      readonly kind: 'malformed-line';
      readonly objectKey: string;
      readonly line: number;
      readonly reason: string;
    }
  | { readonly kind: 'unreadable-object'; readonly objectKey: string; readonly reason: string }
  | {
      readonly kind: 'conflicting-duplicate';
      readonly eventId: string;
      /** The line kept (the first read) and the line that differs from it. */
      readonly kept: LineLocation;
      readonly conflicting: LineLocation;
    };

/** One change of the order, oldest first in a history. */
export interface HistoryChange {
  readonly eventId: string;
  readonly eventName: 'INSERT' | 'MODIFY' | 'REMOVE';
  readonly sequenceNumber: string;
  readonly approximateCreationTime: string;
  readonly actor: 'user' | 'ttl';
  /** The table, from the object key's `table=<name>/` segment (an order's key may be in more than one table). */
  readonly table: string | undefined;
  /** Where the change was read (the first copy, when it was stored twice). */
  readonly source: LineLocation;
  readonly diff: readonly DiffEntry[];
  /** When the record lacked an image its diff needs (a stream without old or new images): what the diff misses. */
  readonly note?: string;
}

export interface OrderHistory {
  readonly orderId: string;
  readonly changes: readonly HistoryChange[];
  /** Lines of the order dropped because a line with the same eventId and the same content was read before. */
  readonly duplicatesDropped: number;
  readonly problems: readonly HistoryProblem[];
}

/** The sequence numbers of DynamoDB Streams: 21 to 40 decimal digits (fewer are accepted, as hand-built logs use). */
const SEQUENCE_NUMBER = /^\d{1,40}$/;

const lineSchema = z.looseObject({
  eventId: z.string().min(1),
  eventName: z.enum(['INSERT', 'MODIFY', 'REMOVE']),
  sequenceNumber: z.string().regex(SEQUENCE_NUMBER, 'must be 1 to 40 decimal digits'),
  approximateCreationTime: z.iso.datetime({ offset: true }),
  orderId: z.string().optional(),
  // Checked by attributeMapProblem, which names the AttributeValue at fault.
  keys: z.unknown(),
  oldImage: z.unknown().optional(),
  newImage: z.unknown().optional(),
  changedAttributes: z.array(z.string()),
  actor: z.enum(['user', 'ttl']),
});

/** JSON text with object keys sorted at every level: equal for equal values whatever the member order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    inner !== null && typeof inner === 'object' && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : inner,
  );
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.map(String).join('.');
      return path === '' ? issue.message : `${path}: ${issue.message}`;
    })
    .join('; ');
}

/** The lines of one object's text and the problems of the lines that are not audit lines. */
export interface ParsedAuditObject {
  readonly lines: readonly LocatedLine[];
  readonly problems: readonly HistoryProblem[];
}

/**
 * Parses the text of one audit object: one JSON audit line per `\n`-terminated line. The final newline ends the
 * last line; any other empty line, a line that is not JSON and a line that is not an audit line are problems with
 * the object's key and the line's number, never skipped silently.
 */
export function parseAuditObject(objectKey: string, text: string): ParsedAuditObject {
  const rows = text.split('\n');
  if (rows[rows.length - 1] === '') rows.pop();
  const lines: LocatedLine[] = [];
  const problems: HistoryProblem[] = [];
  for (const [index, row] of rows.entries()) {
    const line = index + 1;
    const malformed = (reason: string): void => {
      problems.push({ kind: 'malformed-line', objectKey, line, reason });
    };
    if (row.trim() === '') {
      malformed('empty line');
      continue;
    }
    let json: unknown;
    try {
      json = JSON.parse(row);
    } catch (error) {
      malformed(`not JSON: ${(error as Error).message}`);
      continue;
    }
    const parsed = lineSchema.safeParse(json);
    if (!parsed.success) {
      malformed(`not an audit line: ${describeIssues(parsed.error)}`);
      continue;
    }
    const images = ['keys', 'oldImage', 'newImage'] as const;
    const imageProblem = images
      .filter((name) => name === 'keys' || parsed.data[name] !== undefined)
      .map((name) => attributeMapProblem(parsed.data[name], name))
      .find((problem) => problem !== undefined);
    if (imageProblem !== undefined) {
      malformed(`not an audit line: ${imageProblem}`);
      continue;
    }
    lines.push({ objectKey, line, value: parsed.data as ReadAuditLine });
  }
  return { lines, problems };
}

/** Stream order: sequence numbers compared as the integers they are (BigInt: up to 40 digits). */
export function compareSequenceNumbers(a: string, b: string): number {
  const difference = BigInt(a) - BigInt(b);
  return difference === 0n ? 0 : difference < 0n ? -1 : 1;
}

const TABLE_SEGMENT = /^table=([^/]+)\//;

function toChange(located: LocatedLine): HistoryChange {
  const { value } = located;
  const missing =
    value.eventName === 'MODIFY' && value.oldImage === undefined
      ? 'old'
      : value.eventName === 'MODIFY' && value.newImage === undefined
        ? 'new'
        : value.eventName === 'INSERT' && value.newImage === undefined
          ? 'new'
          : value.eventName === 'REMOVE' && value.oldImage === undefined
            ? 'old'
            : undefined;
  return {
    eventId: value.eventId,
    eventName: value.eventName,
    sequenceNumber: value.sequenceNumber,
    approximateCreationTime: value.approximateCreationTime,
    actor: value.actor,
    table: TABLE_SEGMENT.exec(located.objectKey)?.[1],
    source: { objectKey: located.objectKey, line: located.line },
    // An INSERT has no old image and a REMOVE no new one by nature: every attribute is added, or removed.
    diff: diffImages(
      value.eventName === 'INSERT' ? undefined : value.oldImage,
      value.eventName === 'REMOVE' ? undefined : value.newImage,
    ),
    ...(missing === undefined
      ? {}
      : { note: `the record has no ${missing} image (stream view type), so the diff is against nothing` }),
  };
}

/**
 * The history of `orderId` from parsed objects (in the order they were read): the lines whose top-level `orderId`
 * is the order's, each eventId once (a later copy with the same content is counted in duplicatesDropped; one that
 * differs is a conflicting-duplicate problem and the first copy is kept), oldest first by sequence number (ties, which
 * a single stream never has, by time and eventId so the output is stable). Problems of the objects are carried over.
 */
export function assembleHistory(orderId: string, objects: readonly ParsedAuditObject[]): OrderHistory {
  const problems: HistoryProblem[] = objects.flatMap((object) => object.problems);
  const byEventId = new Map<string, LocatedLine>();
  let duplicatesDropped = 0;
  for (const object of objects) {
    for (const located of object.lines) {
      if (located.value.orderId !== orderId) continue;
      const first = byEventId.get(located.value.eventId);
      if (first === undefined) {
        byEventId.set(located.value.eventId, located);
      } else if (canonicalJson(first.value) === canonicalJson(located.value)) {
        duplicatesDropped += 1;
      } else {
        problems.push({
          kind: 'conflicting-duplicate',
          eventId: located.value.eventId,
          kept: { objectKey: first.objectKey, line: first.line },
          conflicting: { objectKey: located.objectKey, line: located.line },
        });
      }
    }
  }
  const ordered = [...byEventId.values()].sort(
    (a, b) =>
      compareSequenceNumbers(a.value.sequenceNumber, b.value.sequenceNumber) ||
      a.value.approximateCreationTime.localeCompare(b.value.approximateCreationTime) ||
      (a.value.eventId < b.value.eventId ? -1 : a.value.eventId > b.value.eventId ? 1 : 0),
  );
  return { orderId, changes: ordered.map(toChange), duplicatesDropped, problems };
}

/** One problem as a sentence naming where it is. */
export function describeProblem(problem: HistoryProblem): string {
  switch (problem.kind) {
    case 'malformed-line':
      return `${problem.objectKey} line ${problem.line}: malformed: ${problem.reason}`;
    case 'unreadable-object':
      return `${problem.objectKey}: unreadable: ${problem.reason}`;
    default:
      return (
        `eventId ${problem.eventId} appears twice with different content: ${problem.kept.objectKey} line ` +
        `${problem.kept.line} (kept) and ${problem.conflicting.objectKey} line ${problem.conflicting.line}`
      );
  }
}
