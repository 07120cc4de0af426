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
 * Each names the stage (and the region it was resolved in), never a table or an endpoint: the command resolves them.
 * - order-fanout, audit-log: their effects follow from the changes themselves, kept by the audit log: replay the
 *   time range from it (`ops replay`, being built).
 */
const REPAIR_COMMANDS: Readonly<Record<OpsConsumerName, RepairBuilder>> = {
  // Keyed by the app's own consumer names (a closed set, checked complete by the type), never by a client's input.
  'search-sync': (names, region) =>
    `npm run ops -- backfill search --stage ${names.stage}${regionArgument(region)}`,
  'vote-aggregator': (names, region) =>
    `npm run ops -- reconcile votes --fix --stage ${names.stage}${regionArgument(region)}`,
  'order-fanout': (names, _region, range) => replayCommand('order-fanout', names, range),
  'audit-log': (names, _region, range) => replayCommand('audit-log', names, range),
};

function replayCommand(consumer: OpsConsumerName, names: StageNames, range: LostRange): string {
  return (
    `npm run ops -- replay ${consumer} --from ${range.approximateArrivalOfFirstRecord} ` +
    `--to ${range.approximateArrivalOfLastRecord} --stage ${names.stage}`
  );
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
