import type { StoredResults } from './drift.js';
import type { VoteRow } from './tally.js';

/**
 * The reconcile command's ports: the few DynamoDB calls it makes, so that the recount and the fix protocol run against
 * DynamoDB (dynamodb-ports.ts) or anything a test puts in between (a hook that writes a vote mid-protocol).
 */

export interface VotesReader {
  /** Every item of the Votes table: a parallel Scan with `segments` segments, each page handed to `onPage`. */
  scan(segments: number, onPage: (rows: readonly VoteRow[]) => void): Promise<void>;
  /** Every item of one poll: a strongly consistent Query. */
  queryPoll(pollId: string): Promise<VoteRow[]>;
}

export interface ResultsStore {
  /** Every PollResults item: a parallel Scan, so that polls with results but no votes are found too. */
  scan(segments: number): Promise<StoredResults[]>;
  /** One PollResults item, strongly consistent; undefined when there is none. */
  get(pollId: string): Promise<StoredResults | undefined>;
  /**
   * The fix: `SET counts = :counts, total = :total` on the condition `lastSeq = :expectedLastSeq`. `conditionFailed`
   * when the watermark moved (the aggregator applied a record since): nothing was written.
   */
  writeCounts(
    pollId: string,
    fix: {
      readonly counts: Readonly<Record<string, number>>;
      readonly total: number;
      readonly expectedLastSeq: string;
    },
  ): Promise<'written' | 'conditionFailed'>;
}

export interface MarkerWriter {
  /** Puts the poll's marker item (voterId RECONCILE_MARKER_VOTER_ID), replacing the previous one. */
  put(pollId: string, token: string, requestedAt: string): Promise<void>;
}

export interface ReconcilePorts {
  readonly votes: VotesReader;
  readonly results: ResultsStore;
  readonly markers: MarkerWriter;
}
