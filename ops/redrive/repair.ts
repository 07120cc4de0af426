import type { OpsConsumerName } from '../../lib/stage-outputs.js';
import type { StageNames } from '../stage.js';

/** Where the records of a range the stream no longer holds were: their approximate arrival times (ISO-8601). */
export interface LostRange {
  readonly approximateArrivalOfFirstRecord: string;
  readonly approximateArrivalOfLastRecord: string;
}

type RepairBuilder = (names: StageNames, region: string | undefined, range: LostRange) => string;

const regionArgument = (region: string | undefined): string =>
  region === undefined ? '' : ` --region ${region}`;

/**
 * The command that repairs a consumer's effects once records left the stream unprocessed (past its 24 h): the one
 * place that says which source each consumer is repaired from.
 * - search-sync: the index is a projection of the Orders table: backfill it from the table (`ops backfill search`).
 * - vote-aggregator: PollResults are counts of the Votes table: recount and fix them (`ops reconcile votes --fix`).
 * - order-fanout: its effects follow from the changes themselves, kept by the audit log: replay the time range from
 *   it (`ops replay`). Redrive has read the audit log already when this is reported, so the replay is for once the
 *   audit log holds the range (its own letters redriven).
 * - audit-log: nothing rebuilds a change the audit log never stored once the stream dropped it; the table holds each
 *   item's current state, and the gap is what the operator records.
 * Each command names the stage (and the region it was resolved in), never a table or an endpoint: it resolves them.
 */
const REPAIR_COMMANDS: Readonly<Record<OpsConsumerName, RepairBuilder>> = {
  // Keyed by the app's own consumer names (a closed set, checked complete by the type), never by a client's input.
  'search-sync': (names, region) =>
    `npm run ops -- backfill search --stage ${names.stage}${regionArgument(region)}`,
  'vote-aggregator': (names, region) => recountVotesCommand(names, region),
  'order-fanout': (names, region, range) => replayCommand('order-fanout', names, region, range),
  'audit-log': (_names, _region, range) =>
    `none: the changes from ${range.approximateArrivalOfFirstRecord} to ${range.approximateArrivalOfLastRecord} are ` +
    'lost from the audit log (the table keeps current items only); record the gap (docs/runbook.md)',
};

/** A minute either side of the arrival times: a change's creation time is within that of its arrival. */
const REPLAY_SLACK_MS = 60_000;

function replayCommand(
  consumer: OpsConsumerName,
  names: StageNames,
  region: string | undefined,
  range: LostRange,
): string {
  const shifted = (time: string, by: number): string => new Date(Date.parse(time) + by).toISOString();
  return (
    `npm run ops -- replay ${consumer} --from ${shifted(range.approximateArrivalOfFirstRecord, -REPLAY_SLACK_MS)} ` +
    `--to ${shifted(range.approximateArrivalOfLastRecord, REPLAY_SLACK_MS)} --stage ${names.stage}${regionArgument(region)}`
  );
}

/** The command that recounts every poll from the Votes table and repairs PollResults. */
export function recountVotesCommand(names: StageNames, region: string | undefined): string {
  return `npm run ops -- reconcile votes --fix --stage ${names.stage}${regionArgument(region)}`;
}

/** The command an operator runs to repair what `consumer` missed of `range`. */
export function repairCommand(
  consumer: OpsConsumerName,
  names: StageNames,
  region: string | undefined,
  range: LostRange,
): string {
  return REPAIR_COMMANDS[consumer](names, region, range);
}
