import { isDeepStrictEqual } from 'node:util';
import { pollResultsItemSchema, SEQUENCE_NUMBER_WIDTH } from '../../lambdas/shared/poll-results.js';
import { countOf } from '../../lambdas/vote-aggregator/coalesce.js';
import { RECONCILE_MARKER_VOTER_ID } from '../../lambdas/vote-aggregator/ports.js';
import type { TrafficOperation } from '../../sandbox/traffic.js';
import { MAX_PROBLEMS } from './invariants.js';
/**
 * The vote aggregator's check of a chaos run (docs/pipelines/vote-aggregation.md): after the streams drained, every poll's
 * PollResults item must equal a recount of the Votes table, whatever the run's crashes and timeouts re-delivered.
 * The watermark (`lastSeq`) is what makes the counts exact under re-delivery, so a count that is off by the records
 * of one re-delivered batch shows here. Pure, for its own tests: the run scans both tables and hands the items over.
 *
 * The truth is the Votes table (reconcile markers, voterId RECONCILE_MARKER_VOTER_ID, count nothing and are left
 * out). Checked per poll that has votes or an item:
 * - missing: a poll with votes and no PollResults item. Must be 0.
 * - drifted: a poll with votes whose item's counts or total differ from the recount (an option counted 0 may be
 *   absent or 0). Must be 0.
 * - orphaned: an item of a poll without votes that counts something (every vote retracted leaves an item of zeros,
 *   which is fine). Must be 0.
 * - negative: an item with a negative count or total, whatever the recount (the aggregator must never store one: it
 *   clamps). Must be 0; such a poll is counted as drifted or orphaned as well.
 * - badWatermarks: an item whose `lastSeq` is not a 40-digit string (docs/pipelines/vote-aggregation.md: padded, so string order is stream
 *   order). Must be 0.
 * - malformed: an item that is not of the PollResults layout the API reads (lib: pollResultsItemSchema) apart from its
 *   watermark, or a vote item without a string option. Must be 0.
 *
 * It also measures the workload: the hot poll's share of the votes counted (and, from the traffic, of the vote
 * writes), because the check is meant for a run where one poll, one partition key of the Votes stream, takes most.
 */

/** An item as a document client scan returns it. */
export type ScannedItem = Readonly<Record<string, unknown>>;

export interface VotesCheckInput {
  /** Every item of the Votes table at the end of the run, reconcile markers included (the check leaves them out). */
  readonly votes: readonly ScannedItem[];
  /** Every item of the PollResults table at the end of the run. */
  readonly results: readonly ScannedItem[];
  /** The poll the traffic sends most votes to (traffic.ts, HOT_POLL_ID). */
  readonly hotPollId: string;
  /** Successful vote writes (cast, changed, retracted) per poll, from the traffic (voteWritesByPoll). */
  readonly voteWrites: Readonly<Record<string, number>>;
  /** How the aggregator's mapping delivered (the system's stats): reported, so a run shows the faults reached it. */
  readonly delivery: VoteDelivery;
}

/** The aggregator's mapping's counters (sandbox MappingStats), for the report. */
export interface VoteDelivery {
  readonly invocations: number;
  /** Invocations that failed as a whole (injected crashes and timeouts among them): their batches come again. */
  readonly failedInvocations: number;
  readonly recordsRedelivered: number;
}

/** The result, part of the chaos result as `votes`. */
export interface VotesReport {
  /** Polls checked: those with votes or a PollResults item. */
  readonly polls: number;
  /** Votes counted in the Votes table, markers left out. */
  readonly votes: number;
  /** Reconcile marker items left out of the count. */
  readonly markers: number;
  /** Items of the PollResults table. */
  readonly resultItems: number;
  readonly hotPollId: string;
  /** Votes of the hot poll. */
  readonly hotPollVotes: number;
  /** The hot poll's share of the votes counted, 0 to 1 (4 decimals); null when there are none. */
  readonly hotPollShare: number | null;
  /** Successful vote writes of the traffic, every poll. */
  readonly voteWrites: number;
  /** The hot poll's share of them, 0 to 1 (4 decimals); null when there are none. */
  readonly hotPollWriteShare: number | null;
  /** The aggregator's invocations, failed invocations and re-delivered records: the counts held under these. */
  readonly delivery: VoteDelivery;
  readonly missing: number;
  readonly drifted: number;
  readonly orphaned: number;
  readonly negative: number;
  readonly badWatermarks: number;
  readonly malformed: number;
  readonly ok: boolean;
  /** Up to MAX_PROBLEMS examples, for the log. */
  readonly problems: readonly string[];
}

/** The vote writes that produce a stream record: a cast, a change or a retraction the API answered with success. */
const VOTE_WRITE_KINDS: ReadonlySet<TrafficOperation['kind']> = new Set([
  'vote',
  'changeVote',
  'retractVote',
]);

/**
 * Successful vote writes per poll in a traffic log. The traffic only ever puts another option than the stored one
 * (an unchanged put writes nothing), so each of them is one record of the Votes stream.
 */
export function voteWritesByPoll(log: readonly TrafficOperation[]): Record<string, number> {
  const writes: Record<string, number> = {};
  for (const operation of log) {
    if (!operation.ok || operation.pollId === undefined || !VOTE_WRITE_KINDS.has(operation.kind)) continue;
    writes[operation.pollId] = (writes[operation.pollId] ?? 0) + 1;
  }
  return writes;
}

/** A stored watermark: a sequence number zero-padded to SEQUENCE_NUMBER_WIDTH digits. */
const PADDED_SEQUENCE = new RegExp(`^[0-9]{${SEQUENCE_NUMBER_WIDTH}}$`);

/** Plain text order (not the locale's), so that the examples come in the same order on every machine. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A ratio rounded to 4 decimals, for a report people read; null for 0 of 0. */
function share(part: number, whole: number): number | null {
  return whole === 0 ? null : Math.round((part / whole) * 10_000) / 10_000;
}

/** A share (0 to 1) as a percentage for logs and summaries; `n/a` when there was nothing to share. */
export function formatShare(value: number | null): string {
  return value === null ? 'n/a' : `${(value * 100).toFixed(1)}%`;
}

/** The counts of an item when they are a map of integers; undefined otherwise. */
function readCounts(value: unknown): Record<string, number> | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const entries = Object.entries(value as Record<string, unknown>);
  if (!entries.every(([, count]) => Number.isInteger(count))) return undefined;
  return Object.fromEntries(entries) as Record<string, number>;
}

/** Counts without their zero entries: an option counted 0 may be absent or 0, so both compare equal. */
function withoutZeros(counts: Readonly<Record<string, number>>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(counts)
      .filter(([, count]) => count !== 0)
      .sort(([a], [b]) => compareText(a, b)),
  );
}

/** `option stored → recount` for every option whose count differs. */
function countDifferences(
  stored: Readonly<Record<string, number>>,
  recount: Readonly<Record<string, number>>,
): string[] {
  const options = [...new Set([...Object.keys(stored), ...Object.keys(recount)])].sort(compareText);
  return options
    .filter((option) => countOf(stored, option) !== countOf(recount, option))
    .map((option) => `${option} ${countOf(stored, option)} → ${countOf(recount, option)}`);
}

/** Recount of one poll from the Votes table: a Map, so that any option text is a key like any other. */
interface PollTally {
  readonly counts: Map<string, number>;
  total: number;
}

/** Checks the PollResults table against a recount of the Votes table; see the module comment. */
export function checkVoteCounts(input: VotesCheckInput): VotesReport {
  const problems: string[] = [];
  const problem = (text: string): void => {
    if (problems.length < MAX_PROBLEMS) problems.push(text);
  };
  let malformed = 0;
  let markers = 0;
  let votes = 0;

  // The recount: per poll and option, the votes of the Votes table.
  const tallies = new Map<string, PollTally>();
  for (const item of input.votes) {
    const { pollId, voterId, option } = item;
    if (voterId === RECONCILE_MARKER_VOTER_ID) {
      markers += 1;
      continue;
    }
    if (typeof pollId !== 'string' || typeof option !== 'string') {
      malformed += 1;
      problem(`the Votes table holds an item that is not a vote: ${JSON.stringify(item)}`);
      continue;
    }
    const tally = tallies.get(pollId) ?? { counts: new Map<string, number>(), total: 0 };
    tally.counts.set(option, (tally.counts.get(option) ?? 0) + 1);
    tally.total += 1;
    tallies.set(pollId, tally);
    votes += 1;
  }

  // The stored results, each against its poll's recount.
  let missing = 0;
  let drifted = 0;
  let orphaned = 0;
  let negative = 0;
  let badWatermarks = 0;
  const checked = new Set<string>();
  const sortedResults = [...input.results].sort((a, b) => compareText(String(a.pollId), String(b.pollId)));
  for (const item of sortedResults) {
    const pollId = item.pollId;
    if (typeof pollId !== 'string' || pollId === '' || checked.has(pollId)) {
      malformed += 1;
      problem(`the PollResults table holds an item without a poll id of its own: ${JSON.stringify(item)}`);
      continue;
    }
    checked.add(pollId);
    const { lastSeq } = item;
    if (typeof lastSeq !== 'string' || !PADDED_SEQUENCE.test(lastSeq)) {
      badWatermarks += 1;
      problem(
        `poll ${pollId}: lastSeq ${JSON.stringify(lastSeq)} is not a ${SEQUENCE_NUMBER_WIDTH}-digit string`,
      );
    }
    // The rest of the layout as the API parses it; the watermark was judged above.
    const layout = pollResultsItemSchema.safeParse({ ...item, lastSeq: '0'.repeat(SEQUENCE_NUMBER_WIDTH) });
    if (!layout.success) {
      malformed += 1;
      const issues = layout.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
      problem(`poll ${pollId}: the item is not what the API reads (${issues.join('; ')})`);
    }
    const counts = readCounts(item.counts);
    const total = item.total;
    if (counts === undefined || !Number.isInteger(total)) {
      // Malformed above; without integer counts and total there is nothing to compare.
      continue;
    }
    const storedTotal = total as number;
    const described = `counts ${JSON.stringify(counts)} total ${storedTotal}`;
    if (storedTotal < 0 || Object.values(counts).some((count) => count < 0)) {
      negative += 1;
      problem(`poll ${pollId}: the item holds a negative count: ${described}`);
    }
    const tally = tallies.get(pollId);
    if (tally === undefined) {
      if (storedTotal !== 0 || Object.keys(withoutZeros(counts)).length > 0) {
        orphaned += 1;
        problem(`poll ${pollId} has no votes, but its item holds ${described}`);
      }
      continue;
    }
    const recount = Object.fromEntries(tally.counts);
    const sameCounts = isDeepStrictEqual(withoutZeros(counts), withoutZeros(recount));
    if (!sameCounts || storedTotal !== tally.total) {
      drifted += 1;
      const differences = countDifferences(counts, recount);
      problem(
        `poll ${pollId}: stored ${described}, the Votes table counts ${JSON.stringify(withoutZeros(recount))} ` +
          `total ${tally.total} (stored → recount: ${[
            ...differences,
            ...(storedTotal === tally.total ? [] : [`total ${storedTotal} → ${tally.total}`]),
          ].join(', ')})`,
      );
    }
  }
  for (const [pollId, tally] of [...tallies].sort(([a], [b]) => compareText(a, b))) {
    if (checked.has(pollId)) continue;
    checked.add(pollId);
    missing += 1;
    problem(
      `poll ${pollId} has ${tally.total} votes (${JSON.stringify(Object.fromEntries(tally.counts))}) but no ` +
        'PollResults item',
    );
  }

  const hotPollVotes = tallies.get(input.hotPollId)?.total ?? 0;
  const voteWrites = Object.values(input.voteWrites).reduce((sum, count) => sum + count, 0);
  return {
    polls: checked.size,
    votes,
    markers,
    resultItems: input.results.length,
    hotPollId: input.hotPollId,
    hotPollVotes,
    hotPollShare: share(hotPollVotes, votes),
    voteWrites,
    hotPollWriteShare: share(input.voteWrites[input.hotPollId] ?? 0, voteWrites),
    delivery: input.delivery,
    missing,
    drifted,
    orphaned,
    negative,
    badWatermarks,
    malformed,
    ok:
      missing === 0 &&
      drifted === 0 &&
      orphaned === 0 &&
      negative === 0 &&
      badWatermarks === 0 &&
      malformed === 0,
    problems,
  };
}
