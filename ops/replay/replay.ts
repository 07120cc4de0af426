import type { OpsConsumerName } from '../../lib/stage-outputs.js';
import type { AuditObjects } from '../audit-history/audit-objects.js';
import { describeProblem, type HistoryProblem } from '../audit-history/history.js';
import type { FunctionInvokerPort } from '../aws/ports.js';
import { invokeInChunks, MAX_RECORDS_PER_INVOKE } from '../redrive/redrive.js';
import { archivedRecordSlices, type ChangeWindow, emptyArchiveReadStats } from './audit-archive.js';

/**
 * `ops replay`: rebuilds a consumer's effects from the audit log, beyond the stream's 24 hours: the Orders changes
 * of a time window read back (audit-archive.ts) and handed to the consumer's deployed function in stream order, in
 * chunks, each done before the next, as its mapping would have. The consumers are idempotent per record and ordered
 * per item (docs/architecture.md, contracts 2 and 3), so a replay over changes they already applied changes nothing
 * that is current: the search sync's external versions refuse an older change, and the fan-out's idempotency
 * records answer a change it already sent (for as long as they live; past that, it sends again: that is what a
 * replay of a sink that lost messages is for).
 */

/**
 * The consumers a replay can rebuild: those of the Orders table whose effects follow from its changes. The audit
 * log is the archive itself, and the vote aggregator reads the Votes table, which the audit log does not keep
 * (its counts are rebuilt by reconcile).
 */
export const REPLAYABLE_CONSUMERS: ReadonlySet<OpsConsumerName> = new Set(['order-fanout', 'search-sync']);

/** Why each other consumer cannot be replayed, and what repairs it instead. */
export const NOT_REPLAYABLE_REASONS: ReadonlyMap<OpsConsumerName, string> = new Map([
  [
    'audit-log',
    'the audit log is what a replay reads: a change it never stored cannot be read back from it. The table holds ' +
      "each item's current state; docs/runbook.md says what can be done",
  ],
  [
    'vote-aggregator',
    'the audit log keeps the Orders table only, not Votes: recount the results from the Votes table with ' +
      'reconcile (docs/runbook.md)',
  ],
]);

export interface ReplayPorts {
  readonly functions: FunctionInvokerPort;
  readonly objects: AuditObjects;
}

export interface ReplayTarget {
  readonly consumer: OpsConsumerName;
  readonly functionName: string;
  /** The Orders table: the audit objects are under `table=<name>/`. */
  readonly ordersTableName: string;
  readonly ordersStreamArn: string;
  readonly region: string;
}

export interface ReplayOptions {
  readonly window: ChangeWindow;
  /** Read and count; invoke nothing. */
  readonly dryRun: boolean;
  /** Progress lines. */
  progress(line: string): void;
}

/** Where a replay stopped: the first record of the chunk the function did not report done. */
export interface ReplayStop {
  readonly sequenceNumber: string;
  readonly approximateCreationTime: string;
  readonly reason: string;
}

export interface ReplaySummary {
  readonly consumer: OpsConsumerName;
  readonly from: string;
  readonly to: string;
  readonly dryRun: boolean;
  readonly objectsRead: number;
  readonly linesRead: number;
  /** The window's records read, each eventId once (up to where it stopped, when it stopped). */
  readonly records: number;
  readonly duplicatesDropped: number;
  /** Records of the chunks the function reported done. */
  readonly recordsDone: number;
  readonly invocations: number;
  /** What the archive could not give back (each a change the replay misses). */
  readonly problems: readonly HistoryProblem[];
  readonly stoppedAt: ReplayStop | undefined;
  /** Every record of the window done, and no problem in the archive (a dry run: no problem). */
  readonly ok: boolean;
}

/** Progress every this many records: a line per 10 chunks. */
const PROGRESS_EVERY_RECORDS = 10 * MAX_RECORDS_PER_INVOKE;

/**
 * Replays the window's changes into the consumer's function, slice after slice of the archive (an hour of objects at
 * a time: a window of weeks never sits in memory), and stops at the first chunk not done.
 */
export async function replay(
  ports: ReplayPorts,
  target: ReplayTarget,
  options: ReplayOptions,
): Promise<ReplaySummary> {
  const stats = emptyArchiveReadStats();
  let records = 0;
  let recordsDone = 0;
  let invocations = 0;
  let reported = 0;
  let stoppedAt: ReplayStop | undefined;
  const slices = archivedRecordSlices(
    ports.objects,
    target.ordersTableName,
    options.window,
    { streamArn: target.ordersStreamArn, region: target.region, log: options.progress },
    stats,
  );
  for await (const slice of slices) {
    records += slice.length;
    if (options.dryRun) continue;
    const doneBefore = recordsDone;
    const invoked = await invokeInChunks(ports.functions, target.functionName, slice, (done) => {
      if (doneBefore + done - reported >= PROGRESS_EVERY_RECORDS) {
        reported = doneBefore + done;
        options.progress(`  ${reported} change(s) done`);
      }
    });
    recordsDone += invoked.recordsDone;
    invocations += invoked.invocations;
    if (invoked.reason !== undefined) {
      const first = slice[invoked.recordsDone]?.dynamodb;
      stoppedAt = {
        sequenceNumber: first?.SequenceNumber ?? '',
        approximateCreationTime: new Date((first?.ApproximateCreationDateTime ?? 0) * 1000).toISOString(),
        reason: invoked.reason,
      };
      break;
    }
  }
  options.progress(
    `${records} change(s) ${options.dryRun ? 'in the window' : 'read'} from ${stats.objectsRead} object(s)` +
      (options.dryRun ? '' : `, ${recordsDone} done`) +
      (stats.problems.length === 0 ? '' : `, ${stats.problems.length} problem(s) in the archive`),
  );
  return {
    consumer: target.consumer,
    from: options.window.from.toISOString(),
    to: options.window.to.toISOString(),
    dryRun: options.dryRun,
    objectsRead: stats.objectsRead,
    linesRead: stats.linesRead,
    records,
    duplicatesDropped: stats.duplicatesDropped,
    recordsDone,
    invocations,
    problems: stats.problems,
    stoppedAt,
    ok: stats.problems.length === 0 && stoppedAt === undefined,
  };
}

/** The summary as text, for stdout; `resume` is the command that goes on from where a replay stopped. */
export function describeReplay(summary: ReplaySummary, resume: (from: string) => string): string {
  const head = summary.dryRun
    ? `Dry run of replay ${summary.consumer} ${summary.from}..${summary.to}: ${summary.records} change(s) to replay ` +
      `from ${summary.objectsRead} audit object(s); nothing invoked.`
    : `Replay ${summary.consumer} ${summary.from}..${summary.to}: ${summary.recordsDone} of ${summary.records} ` +
      `change(s) done in ${summary.invocations} invocation(s), from ${summary.objectsRead} audit object(s).`;
  const lines = [head];
  if (summary.duplicatesDropped > 0) {
    lines.push(
      `${summary.duplicatesDropped} duplicate line(s) dropped (a change stored twice is replayed once).`,
    );
  }
  if (summary.stoppedAt !== undefined) {
    lines.push(
      `Stopped at seq ${summary.stoppedAt.sequenceNumber} (${summary.stoppedAt.approximateCreationTime}): ` +
        `${summary.stoppedAt.reason}`,
      `Once the cause is fixed, go on with: ${resume(summary.stoppedAt.approximateCreationTime)}`,
    );
  }
  if (summary.problems.length > 0) {
    lines.push(`Problems in the audit log (${summary.problems.length}; these changes were not replayed):`);
    for (const problem of summary.problems) lines.push(`  ${describeProblem(problem)}`);
  }
  return lines.join('\n');
}

/** The summary as one JSON object (`--json`). */
export function replayJson(summary: ReplaySummary): object {
  return { ...summary, stoppedAt: summary.stoppedAt ?? null };
}
