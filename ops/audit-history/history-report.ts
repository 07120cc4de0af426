import { type DiffEntry, renderAttributeValue, renderDiffEntry } from './attribute-diff.js';
import { describeProblem, type HistoryChange } from './history.js';
import type { AuditHistoryResult } from './history-run.js';

/** Whether a run found what it was asked for: at least one change, and an audit log without problems. */
export function historyOk(result: AuditHistoryResult): boolean {
  return result.changes.length > 0 && result.problems.length === 0;
}

function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : pluralForm}`;
}

/** Where the run looked, for the header and for "nothing found". */
export function describeScope(result: AuditHistoryResult): string {
  const tables =
    result.tables.length === 0
      ? 'no table=<name>/ prefix'
      : result.tables.map((table) => `table=${table}`).join(', ');
  const days =
    result.since === undefined && result.until === undefined
      ? 'every day'
      : `days ${result.since ?? '(first)'} to ${result.until ?? '(last)'}`;
  return `${result.location} (${tables}; ${days})`;
}

function describeActor(change: HistoryChange): string {
  return change.actor === 'ttl' ? 'TTL' : 'user';
}

function describeChange(change: HistoryChange, index: number, showTable: boolean): string[] {
  const lines = [
    `[${index + 1}] ${change.approximateCreationTime}  ${change.eventName}  by ${describeActor(change)}  ` +
      `seq ${change.sequenceNumber}  eventId ${change.eventId}` +
      (showTable ? `  table ${change.table ?? '(none)'}` : ''),
  ];
  if (change.eventName === 'REMOVE') {
    lines.push(
      change.actor === 'ttl'
        ? "  removed by DynamoDB's TTL process (the item had expired)"
        : '  removed by a user (DeleteItem)',
    );
  }
  if (change.note !== undefined) lines.push(`  note: ${change.note}`);
  if (change.diff.length === 0) lines.push('  (no attribute changed)');
  for (const entry of change.diff) lines.push(`  ${renderDiffEntry(entry)}`);
  return lines;
}

/** The final line: changes, duplicates dropped, objects read (and problems, when there are any). */
export function describeSummary(result: AuditHistoryResult): string {
  const parts = [
    plural(result.changes.length, 'change'),
    `${plural(result.duplicatesDropped, 'duplicate')} dropped`,
    `${plural(result.objectsRead, 'object')} read`,
  ];
  if (result.problems.length > 0) parts.push(plural(result.problems.length, 'problem'));
  return parts.join(', ');
}

/** The human-readable history: a header, each change with its diff, the problems, the summary line. */
export function describeHistory(result: AuditHistoryResult): string {
  const out: string[] = [];
  if (result.changes.length === 0) {
    out.push(`No changes of order ${result.orderId} in ${describeScope(result)}.`);
  } else {
    out.push(`History of order ${result.orderId} from ${describeScope(result)}, oldest first:`);
    // Only when the changes come from more than one table: sequence numbers order one stream, not several.
    const showTable = new Set(result.changes.map((change) => change.table)).size > 1;
    for (const [index, change] of result.changes.entries()) {
      out.push('', ...describeChange(change, index, showTable));
    }
  }
  if (result.problems.length > 0) {
    out.push('', `The audit log has ${plural(result.problems.length, 'problem')}:`);
    for (const problem of result.problems) out.push(`  ${describeProblem(problem)}`);
  }
  out.push('', describeSummary(result));
  return out.join('\n');
}

function diffJson(entry: DiffEntry): Record<string, unknown> {
  switch (entry.op) {
    case 'added':
      return {
        op: entry.op,
        path: entry.path,
        new: renderAttributeValue(entry.newValue),
        newValue: entry.newValue,
      };
    case 'removed':
      return {
        op: entry.op,
        path: entry.path,
        old: renderAttributeValue(entry.oldValue),
        oldValue: entry.oldValue,
      };
    default:
      return {
        op: entry.op,
        path: entry.path,
        old: renderAttributeValue(entry.oldValue),
        new: renderAttributeValue(entry.newValue),
        oldValue: entry.oldValue,
        newValue: entry.newValue,
      };
  }
}

/**
 * The `--json` report: one object. Diff values come both rendered (`old`/`new`, as the text shows them) and as their
 * AttributeValue JSON (`oldValue`/`newValue`, numbers as exact `N` texts).
 */
export function historyJson(result: AuditHistoryResult): Record<string, unknown> {
  return {
    orderId: result.orderId,
    location: result.location,
    tables: result.tables,
    since: result.since ?? null,
    until: result.until ?? null,
    changes: result.changes.map((change) => ({
      eventId: change.eventId,
      eventName: change.eventName,
      sequenceNumber: change.sequenceNumber,
      approximateCreationTime: change.approximateCreationTime,
      actor: change.actor,
      table: change.table ?? null,
      objectKey: change.source.objectKey,
      line: change.source.line,
      ...(change.note === undefined ? {} : { note: change.note }),
      diff: change.diff.map(diffJson),
    })),
    duplicatesDropped: result.duplicatesDropped,
    objectsRead: result.objectsRead,
    problems: result.problems.map((problem) => ({ ...problem, message: describeProblem(problem) })),
    ok: historyOk(result),
  };
}
