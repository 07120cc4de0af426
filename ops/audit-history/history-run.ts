import type { AuditObjects } from './audit-objects.js';
import {
  assembleHistory,
  type HistoryProblem,
  type OrderHistory,
  type ParsedAuditObject,
  parseAuditObject,
} from './history.js';

/** What to read: one order, optionally one table and a range of UTC days (both ends included). */
export interface HistoryQuery {
  readonly orderId: string;
  readonly table?: string | undefined;
  readonly since?: string | undefined;
  readonly until?: string | undefined;
}

/** The history and where it was looked for. */
export interface AuditHistoryResult extends OrderHistory {
  readonly location: string;
  /** The tables whose objects were listed. */
  readonly tables: readonly string[];
  readonly since: string | undefined;
  readonly until: string | undefined;
  /** Objects read (GetObject) and parsed, whatever orders their lines belong to. */
  readonly objectsRead: number;
}

export interface ReadHistoryOptions {
  /** GetObjects in flight at once. @default 8 */
  readonly concurrency?: number;
  /**
   * The longest range, in days, listed one `dt=<day>/` prefix at a time. A longer one is listed as the table's
   * prefix from the first day on (StartAfter), stopping past the last day: one listing instead of a call per day,
   * most of them empty. @default 62
   */
  readonly maxDayPrefixes?: number;
  /** Progress (stderr in the CLI). @default none */
  readonly log?: (line: string) => void;
}

const DAY_SEGMENT = /(?:^|\/)dt=(\d{4}-\d{2}-\d{2})\//;
const DAY_MS = 86_400_000;

/** The UTC day of a key's `dt=` segment, if it has one. */
export function keyDay(key: string): string | undefined {
  return DAY_SEGMENT.exec(key)?.[1];
}

/** Every UTC day from `since` to `until`, both included, as YYYY-MM-DD. */
export function daysBetween(since: string, until: string): string[] {
  const days: string[] = [];
  for (
    let time = Date.parse(`${since}T00:00:00.000Z`);
    time <= Date.parse(`${until}T00:00:00.000Z`);
    time += DAY_MS
  ) {
    days.push(new Date(time).toISOString().slice(0, 10));
  }
  return days;
}

function inRange(day: string | undefined, since: string | undefined, until: string | undefined): boolean {
  if (since === undefined && until === undefined) return true;
  // A key without a dt segment is not an audit object of any day: outside every range.
  if (day === undefined) return false;
  return (since === undefined || day >= since) && (until === undefined || day <= until);
}

/**
 * The keys of one table's objects in the range, in key order (which is day order: `dt=YYYY-MM-DD` sorts by date).
 * A known range of at most `maxDayPrefixes` days is listed day by day; otherwise the table's prefix, starting
 * after the first day's segment and stopping at the first key past the last day.
 */
async function tableKeys(
  objects: AuditObjects,
  table: string,
  query: HistoryQuery,
  maxDayPrefixes: number,
): Promise<string[]> {
  const { since, until } = query;
  const tablePrefix = `table=${table}/`;
  const keys: string[] = [];
  if (since !== undefined && until !== undefined) {
    const days = daysBetween(since, until);
    if (days.length <= maxDayPrefixes) {
      for (const day of days) {
        for await (const key of objects.keys(`${tablePrefix}dt=${day}/`)) keys.push(key);
      }
      return keys;
    }
  }
  // `table=<t>/dt=<since>` sorts before every key of that day (they continue with "/"), after every earlier day's.
  const listing = objects.keys(
    tablePrefix,
    since === undefined ? {} : { startAfter: `${tablePrefix}dt=${since}` },
  );
  for await (const key of listing) {
    const day = keyDay(key);
    if (until !== undefined && day !== undefined && day > until) break;
    if (inRange(day, since, until)) keys.push(key);
  }
  return keys;
}

/** The tables of the bucket: its `table=<name>/` prefixes. */
async function bucketTables(objects: AuditObjects): Promise<string[]> {
  const prefixes = await objects.commonPrefixes('table=', '/');
  return prefixes.map((prefix) => prefix.slice('table='.length, -1)).filter((table) => table !== '');
}

/** Runs `work` on every item with at most `concurrency` in flight; results in the items' order. */
export async function mapInOrder<T, R>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next;
      next += 1;
      results[index] = await work(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, () => worker()));
  return results;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads the history of one order: lists the objects of the range (every table's, or one table's), reads each of
 * them, parses every line (a malformed line is a problem, whoever's order it is) and assembles the order's history
 * (history.ts). An object that cannot be read or decoded is a problem and the run goes on; a listing that fails
 * (no such bucket, access denied) throws.
 */
export async function readOrderHistory(
  objects: AuditObjects,
  query: HistoryQuery,
  options: ReadHistoryOptions = {},
): Promise<AuditHistoryResult> {
  const log = options.log ?? ((): void => {});
  const tables = query.table === undefined ? await bucketTables(objects) : [query.table];
  const keys: string[] = [];
  for (const table of tables) {
    keys.push(...(await tableKeys(objects, table, query, options.maxDayPrefixes ?? 62)));
  }
  log(`Reading ${keys.length} audit object(s) of ${tables.length} table(s) from ${objects.location}...`);
  let objectsRead = 0;
  const parsed = await mapInOrder(keys, options.concurrency ?? 8, async (key): Promise<ParsedAuditObject> => {
    let text: string;
    try {
      text = UTF8.decode(await objects.read(key));
    } catch (error) {
      const problem: HistoryProblem = {
        kind: 'unreadable-object',
        objectKey: key,
        reason: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      };
      return { lines: [], problems: [problem] };
    }
    objectsRead += 1;
    const object = parseAuditObject(key, text);
    // Only the order's lines are kept: a range can hold millions of other orders' lines.
    return { ...object, lines: object.lines.filter((line) => line.value.orderId === query.orderId) };
  });
  const history = assembleHistory(query.orderId, parsed);
  return {
    ...history,
    location: objects.location,
    tables,
    since: query.since,
    until: query.until,
    objectsRead,
  };
}
