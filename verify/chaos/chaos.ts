import { UsageError } from '../../ops/cli/flags.js';
import { CHAOS_USAGE, type ChaosCliOptions, parseChaosArgs } from './chaos-options.js';
import { type ChaosResult, runChaos } from './chaos-run.js';
import { startCpuHog } from './cpu-hog.js';
import { formatShare } from './votes-invariants.js';

/**
 * `npm run chaos`: fault injection against the local system, then the stream-consumer invariants (chaos-run.ts).
 * Progress goes to stderr; the JSON result is the last line of stdout. Exit code 0 when every invariant holds, 1 when
 * one does not (or the run could not complete), 2 for a bad flag.
 */

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** The human-readable summary printed before the JSON line unless --json. */
function describe(result: ChaosResult): string {
  return [
    '',
    `Chaos run, seed ${result.seed}: ${result.ok ? 'every invariant holds' : 'INVARIANTS VIOLATED'}`,
    `  operations ${result.operations}, Orders stream records ${result.records}`,
    `  lost ${result.lost}, order violations ${result.orderViolations}, unexpected effects ${result.unexpected}`,
    `  duplicated effects ${result.duplicated} (re-deliveries: allowed by at-least-once, for information)`,
    `  poison records in the DLQ ${result.poisonInDlq} of ${result.poisonExpected}`,
    `  drained ${result.drained}, records to the on-failure destination ${result.onFailureRecords}`,
    `  faults injected: ${result.faults.transientErrors} transient, ${result.faults.crashes} crashes, ` +
      `${result.faults.timeouts} timeouts, ${result.faults.serviceCallFaults} SNS/SES/SQS calls, ` +
      `${result.faults.serviceEntryFaults} SNS/SES/SQS entries, ${result.faults.s3SlowDowns} S3 SlowDowns, ` +
      `${result.faults.s3LostResponses} S3 answers lost after storing, ${result.faults.searchRequestFaults} ` +
      `OpenSearch requests, ${result.faults.searchItemFaults} OpenSearch bulk items`,
    ...result.problems.map((problem) => `  - ${problem}`),
    ...describeFanout(result.fanout),
    ...describeSearch(result.search),
    ...describeAudit(result.audit),
    ...describeVotes(result.votes),
    '',
  ].join('\n');
}

/** The vote aggregator's lines of the summary. */
function describeVotes(votes: ChaosResult['votes']): string[] {
  if (votes === null) return ['  vote aggregator: not in the template, not checked'];
  return [
    `  vote aggregator: ${votes.ok ? 'every poll equals its recount' : 'THE POLL RESULTS DIFFER FROM THE VOTES'} ` +
      `(${votes.polls} polls, ${votes.votes} votes, ${votes.resultItems} PollResults items; ` +
      `${votes.markers} reconcile markers left out)`,
    `    hot poll ${votes.hotPollId}: ${votes.hotPollVotes} votes, ${formatShare(votes.hotPollShare)} of the votes, ` +
      `${formatShare(votes.hotPollWriteShare)} of the ${votes.voteWrites} vote writes`,
    `    ${votes.delivery.invocations} invocations (${votes.delivery.failedInvocations} failed), ` +
      `${votes.delivery.recordsRedelivered} records re-delivered`,
    `    missing ${votes.missing}, drifted ${votes.drifted}, orphaned ${votes.orphaned}, negative ${votes.negative}, ` +
      `bad watermarks ${votes.badWatermarks}, malformed ${votes.malformed}`,
    ...votes.problems.map((problem) => `    - ${problem}`),
  ];
}

/** The audit log's lines of the summary. */
function describeAudit(audit: ChaosResult['audit']): string[] {
  if (audit === null) return ['  audit log: not in the template, not checked'];
  return [
    `  audit log: ${audit.ok ? 'the bucket holds the stream' : 'THE BUCKET DIFFERS FROM THE STREAM'} ` +
      `(${audit.streamRecords} stream records; ${audit.objects} objects, ${audit.lines} lines, ` +
      `${audit.eventIds} distinct eventIDs)`,
    `    PUTs ${audit.putCalls}: ${audit.created} created, ${audit.preconditionFailed} answered 412 (a retry meeting ` +
      `its own object), ${audit.slowDowns} SlowDowns; ${audit.lostResponses} answers lost after storing`,
    `    missing ${audit.missing}, unexpected ${audit.unexpected}, mismatched ${audit.mismatched}, ` +
      `overwrites ${audit.overwrites}, key collisions ${audit.keyCollisions}, unconditional PUTs ` +
      `${audit.unconditionalPuts}, misfiled ${audit.misfiled}, out of order ${audit.outOfOrder}, malformed ` +
      `${audit.malformed}; duplicate lines ${audit.duplicates} (allowed, for information)`,
    `    dead letters ${audit.deadLetters}, on-failure records ${audit.onFailureRecords}`,
    ...audit.problems.map((problem) => `    - ${problem}`),
  ];
}

/** The search sync's lines of the summary. */
function describeSearch(search: ChaosResult['search']): string[] {
  if (search === null) return ['  search sync: not in the template, not checked'];
  return [
    `  search sync: ${search.ok ? 'the index equals the table' : 'THE INDEX DIFFERS FROM THE TABLE'} ` +
      `(${search.documents} documents: ${search.live} live, ${search.tombstones} tombstones)`,
    `    missing ${search.missing}, stale ${search.stale}, extra ${search.extra}, resurrected ${search.resurrected}`,
    ...search.problems.map((problem) => `    - ${problem}`),
  ];
}

/** The fan-out's lines of the summary. */
function describeFanout(fanout: ChaosResult['fanout']): string[] {
  if (fanout === null) return ['  order fan-out: not in the template, not checked'];
  const { RESERVED, RELEASED, BACKORDERED } = fanout.reservations;
  return [
    `  order fan-out: ${fanout.ok ? 'every invariant holds' : 'INVARIANTS VIOLATED'} ` +
      `(${fanout.orders} orders, ${fanout.changes} changes; ${fanout.poisonOrdersExcluded} poison orders excluded)`,
    `    sent ${fanout.events} events, ${fanout.emails} e-mails, ${fanout.warehouseMessages} warehouse messages ` +
      `(${fanout.warehouseDuplicatesDropped} duplicates dropped by SQS); reservations ${RESERVED} reserved, ` +
      `${RELEASED} released, ${BACKORDERED} back-ordered; ${fanout.backorders} OrderBackordered`,
    `    duplicates ${fanout.duplicates}, missing ${fanout.missing}, unexpected ${fanout.unexpected}, ` +
      `order violations ${fanout.orderViolations}, malformed ${fanout.malformed}, ` +
      `reservation problems ${fanout.reservationProblems}, stock mismatches ${fanout.stockMismatches}, ` +
      `dead letters ${fanout.deadLetters}, on-failure records ${fanout.onFailureRecords}`,
    ...fanout.problems.map((problem) => `    - ${problem}`),
  ];
}

async function main(): Promise<void> {
  let options: ChaosCliOptions | 'help';
  try {
    options = parseChaosArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${error.message}\n\n${CHAOS_USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  if (options === 'help') {
    process.stdout.write(`${CHAOS_USAGE}\n`);
    return;
  }
  const hog = startCpuHog(options.cpuHog);
  if (hog.threads > 0) log(`CPU hog: ${hog.threads} busy threads beside the system until the run ends`);
  try {
    const result = await runChaos({ ...options, log });
    if (!options.json) process.stdout.write(`${describe(result)}\n`);
    process.stdout.write(`${JSON.stringify({ ...result, cpuHog: hog.threads })}\n`);
    process.exitCode = result.ok ? 0 : 1;
  } catch (error) {
    log(`Chaos run failed: ${(error as Error).stack ?? String(error)}`);
    process.exitCode = 1;
  } finally {
    await hog.stop();
  }
}

await main();
