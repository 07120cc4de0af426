import { isSafeId } from '../../lambdas/shared/identifiers.js';
import { RECONCILE_MARKER_VOTER_ID } from '../../lambdas/vote-aggregator/ports.js';

/**
 * The recount: votes of the Votes table, counted per poll and option. Pure (no I/O), fed page by page by the scan or
 * the query, so that a table far larger than memory's worth of items costs only one counter per poll and option.
 */

/** One Votes item as the recount reads it (ProjectionExpression pollId, voterId, option). */
export interface VoteRow {
  readonly pollId: string;
  readonly voterId: string;
  /** Undefined only for an item that is not a vote (a marker has none). */
  readonly option: string | undefined;
}

/** The recount of one poll. */
export interface PollCount {
  readonly counts: Readonly<Record<string, number>>;
  readonly total: number;
}

export const EMPTY_COUNT: PollCount = { counts: {}, total: 0 };

/** Counts votes per poll and option, leaving out the reconcile markers (which the aggregator counts as nothing). */
export class VoteTally {
  readonly #polls = new Map<string, Map<string, number>>();
  #markers = 0;
  #unreadable = 0;

  /** Adds a page of rows. */
  public add(rows: Iterable<VoteRow>): void {
    for (const row of rows) {
      if (row.voterId === RECONCILE_MARKER_VOTER_ID) {
        this.#markers += 1;
        continue;
      }
      if (row.option === undefined || !isSafeId(row.option)) {
        // Not a vote the aggregator could have counted either (its decoder refuses a missing or invalid option, see
        // lambdas/shared/identifiers.ts): left out, and reported.
        this.#unreadable += 1;
        continue;
      }
      let options = this.#polls.get(row.pollId);
      if (options === undefined) {
        options = new Map();
        this.#polls.set(row.pollId, options);
      }
      options.set(row.option, (options.get(row.option) ?? 0) + 1);
    }
  }

  /** Marker items seen (and not counted). */
  public get markers(): number {
    return this.#markers;
  }

  /** Items that are neither votes nor markers (no option, or one the aggregator refuses), not counted. */
  public get unreadable(): number {
    return this.#unreadable;
  }

  /** The polls with at least one vote. */
  public pollIds(): string[] {
    return [...this.#polls.keys()];
  }

  /** The recount of a poll; a poll with no vote counts nothing. */
  public count(pollId: string): PollCount {
    const options = this.#polls.get(pollId);
    if (options === undefined) return EMPTY_COUNT;
    // Null-prototype: a lookup of an option the poll lacks (`constructor`) finds nothing rather than Object's.
    const counts: Record<string, number> = Object.create(null);
    for (const [option, count] of [...options].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      counts[option] = count;
    }
    return { counts, total: [...options.values()].reduce((sum, n) => sum + n, 0) };
  }
}

/** The recount of the rows of one poll (a Query's result). */
export function countPoll(pollId: string, rows: Iterable<VoteRow>): PollCount {
  const tally = new VoteTally();
  tally.add(rows);
  return tally.count(pollId);
}
