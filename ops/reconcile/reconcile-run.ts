import { type PollDrift, pollDrift, type StoredResults } from './drift.js';
import { type FixOptions, type FixOutcome, fixPoll, isResolved } from './fix-protocol.js';
import type { ReconcilePorts } from './ports.js';
import { VoteTally } from './tally.js';

/**
 * `npm run reconcile:votes`: the recount (a parallel Scan of the Votes table, or a Query of one poll), the drift
 * report against PollResults, and with `fix` the race-free fix of every drifting poll (fix-protocol.ts).
 */

export interface ReconcileRunOptions {
  readonly ports: ReconcilePorts;
  /** One poll (a Query and a GetItem), or every poll (parallel Scans of both tables). */
  readonly poll: string | undefined;
  readonly segments: number;
  /** Fix the drifting polls; undefined reports only. */
  readonly fix: Omit<FixOptions, 'log'> | undefined;
  readonly log?: (line: string) => void;
  /** @default Date.now */
  readonly now?: () => number;
}

/** One poll of the report; `fix` is there when the poll drifted and --fix was given. */
export interface PollReport extends PollDrift {
  readonly fix?: FixOutcome;
}

export interface ReconcileSummary {
  readonly scope: { readonly poll: string } | { readonly segments: number };
  readonly fixRequested: boolean;
  /** Polls checked: every poll with votes or results (or the one poll). */
  readonly checked: number;
  /** Polls whose recount differed from PollResults when reported. */
  readonly drifting: number;
  readonly fixed: number;
  /** Drifting when reported, without drift once the aggregator had caught up: the drift was in flight. */
  readonly inFlight: number;
  readonly busy: number;
  readonly notCaughtUp: number;
  /** Marker items seen by the recount (not counted as votes). */
  readonly markers: number;
  /** Votes items with no option: counted by nobody, reported. */
  readonly unreadable: number;
  /** Every poll checked, drifting ones first, then by id. */
  readonly polls: readonly PollReport[];
  readonly durationMs: number;
  /** No drift is left: every poll was ok, or was fixed, or its drift turned out to be in flight. */
  readonly ok: boolean;
}

async function reportAll(
  ports: ReconcilePorts,
  segments: number,
): Promise<{ drifts: PollDrift[]; tally: VoteTally }> {
  const tally = new VoteTally();
  const [, stored] = await Promise.all([
    ports.votes.scan(segments, (rows) => tally.add(rows)),
    ports.results.scan(segments),
  ]);
  const byPoll = new Map<string, StoredResults>(stored.map((item) => [item.pollId, item]));
  const pollIds = new Set([...tally.pollIds(), ...byPoll.keys()]);
  return {
    drifts: [...pollIds].map((pollId) => pollDrift(pollId, byPoll.get(pollId), tally.count(pollId))),
    tally,
  };
}

async function reportOne(
  ports: ReconcilePorts,
  pollId: string,
): Promise<{ drifts: PollDrift[]; tally: VoteTally }> {
  const tally = new VoteTally();
  const [rows, stored] = await Promise.all([ports.votes.queryPoll(pollId), ports.results.get(pollId)]);
  tally.add(rows);
  return { drifts: [pollDrift(pollId, stored, tally.count(pollId))], tally };
}

function byDriftThenId(a: PollReport, b: PollReport): number {
  if (a.ok !== b.ok) return a.ok ? 1 : -1;
  return a.pollId < b.pollId ? -1 : a.pollId > b.pollId ? 1 : 0;
}

export async function runReconcile(options: ReconcileRunOptions): Promise<ReconcileSummary> {
  const now = options.now ?? Date.now;
  const log = options.log ?? ((): void => undefined);
  const started = now();
  const { drifts, tally } =
    options.poll === undefined
      ? await reportAll(options.ports, options.segments)
      : await reportOne(options.ports, options.poll);
  const drifting = drifts.filter((drift) => !drift.ok);
  log(`${drifts.length} poll(s) checked, ${drifting.length} drifting`);

  const fixes = new Map<string, FixOutcome>();
  if (options.fix !== undefined) {
    // One poll after the other: each waits for the aggregator at most twice per attempt, and running polls at once
    // would only add markers to the stream the aggregator is already behind on.
    for (const drift of drifting) {
      log(`Fixing ${drift.pollId}...`);
      const outcome = await fixPoll(options.ports, drift.pollId, { ...options.fix, log });
      log(`  ${drift.pollId}: ${outcome.kind} after ${outcome.attempts} attempt(s)`);
      fixes.set(drift.pollId, outcome);
    }
  }
  const polls: PollReport[] = drifts
    .map((drift) => {
      const fix = fixes.get(drift.pollId);
      return fix === undefined ? drift : { ...drift, fix };
    })
    .sort(byDriftThenId);
  const outcomes = [...fixes.values()];
  const count = (kind: FixOutcome['kind']): number =>
    outcomes.filter((outcome) => outcome.kind === kind).length;
  return {
    scope: options.poll === undefined ? { segments: options.segments } : { poll: options.poll },
    fixRequested: options.fix !== undefined,
    checked: drifts.length,
    drifting: drifting.length,
    fixed: count('fixed'),
    inFlight: count('clean'),
    busy: count('busy'),
    notCaughtUp: count('notCaughtUp'),
    markers: tally.markers,
    unreadable: tally.unreadable,
    polls,
    durationMs: now() - started,
    ok: polls.every((poll) => poll.ok || (poll.fix !== undefined && isResolved(poll.fix))),
  };
}
