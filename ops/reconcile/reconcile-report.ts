import type { FixOutcome } from './fix-protocol.js';
import type { PollReport, ReconcileSummary } from './reconcile-run.js';

/** The text report of `npm run reconcile:votes` (without --json). */

/** At most this many polls without drift are listed; --json has them all. Drifting polls are always listed. */
const LISTED_OK = 20;

export const IN_FLIGHT_NOTE =
  'Note: under live traffic a report can show drift that is only in flight (votes written but not yet applied by ' +
  'the vote aggregator); --fix tells the two apart: it waits for the aggregator to catch up before it decides.';

export const MARKER_NOTE =
  'Marker items (voterId "#reconcile", one per poll) stay in the Votes table; the next run replaces them.';

function signed(n: number): string {
  return n > 0 ? `+${n}` : String(n);
}

/** The watermark without its padding zeros. */
function watermark(lastSeq: string | undefined): string {
  return lastSeq === undefined ? 'none' : lastSeq.replace(/^0+(?=\d)/, '');
}

function describeFix(fix: FixOutcome): string {
  switch (fix.kind) {
    case 'fixed':
      return (
        `fixed (attempt ${fix.attempts}): counts and total set to the recount at lastSeq ${watermark(fix.lastSeq)} ` +
        `(total drift was ${signed(fix.drift.totalDrift)})`
      );
    case 'clean':
      return `no drift once the aggregator had caught up (attempt ${fix.attempts}): the drift was in flight; nothing written`;
    case 'busy':
      return `not fixed (busy) after ${fix.attempts} attempt(s): ${fix.reasons.join('; ')}; nothing written`;
    case 'notCaughtUp':
      return (
        `not fixed (aggregator not caught up): marker ${fix.marker} not applied within ${fix.waitedMs / 1000} s ` +
        `(attempt ${fix.attempts}); nothing written`
      );
  }
}

function describePoll(poll: PollReport): string[] {
  const where = `lastSeq ${watermark(poll.lastSeq)}, asOf ${poll.asOf ?? 'none'}`;
  if (poll.ok) return [`  ${poll.pollId}: ok, total ${poll.stored.total} (${where})`];
  return [
    `  ${poll.pollId}: DRIFT, total ${poll.stored.total} stored / ${poll.recounted.total} recounted ` +
      `(${signed(poll.totalDrift)})${poll.hasResults ? '' : ', no PollResults item'} (${where})`,
    ...poll.options.map(
      (entry) =>
        `      ${entry.option}: ${entry.stored} stored / ${entry.recounted} recounted` +
        (entry.drift === 0 ? '' : ` (${signed(entry.drift)})`),
    ),
    ...(poll.fix === undefined ? [] : [`    ${describeFix(poll.fix)}`]),
  ];
}

export function describeReconcile(
  summary: ReconcileSummary,
  tables: { votes: string; results: string },
): string {
  const scope =
    'poll' in summary.scope
      ? `poll ${summary.scope.poll}`
      : `every poll (${summary.scope.segments} segments)`;
  const ok = summary.polls.filter((poll) => poll.ok);
  const drifting = summary.polls.filter((poll) => !poll.ok);
  const lines = [
    '',
    `Reconcile of ${tables.votes} against ${tables.results}, ${scope}: ${summary.checked} poll(s) checked in ` +
      `${(summary.durationMs / 1000).toFixed(1)} s, ${ok.length} ok, ${summary.drifting} drifting`,
    ...drifting.flatMap(describePoll),
    ...ok.slice(0, LISTED_OK).flatMap(describePoll),
    ...(ok.length > LISTED_OK ? [`  ... and ${ok.length - LISTED_OK} more ok (--json lists them all)`] : []),
    ...(summary.unreadable === 0
      ? []
      : [`  ${summary.unreadable} Votes item(s) have no option and count nowhere`]),
  ];
  if (summary.fixRequested) {
    lines.push(
      `Fix: ${summary.fixed} fixed, ${summary.inFlight} in flight (nothing to write), ${summary.busy} busy, ` +
        `${summary.notCaughtUp} aggregator not caught up.`,
      MARKER_NOTE,
    );
  } else if (summary.drifting > 0) {
    lines.push(IN_FLIGHT_NOTE);
  }
  lines.push(summary.ok ? 'Result: no drift.' : 'Result: drift remains.');
  return lines.join('\n');
}
