import { countOf } from '../../lambdas/vote-aggregator/coalesce.js';
import type { PollCount } from './tally.js';

/**
 * Drift between what PollResults says and what the Votes table holds, and the fix protocol's one decision, as pure
 * functions: everything here is a function of values read before, so it is tested without a table.
 */

/** A PollResults item as the reconcile command reads it (lambdas/shared/poll-results.ts, plus `records`). */
export interface StoredResults {
  readonly pollId: string;
  readonly counts: Readonly<Record<string, number>>;
  readonly total: number;
  /** Padded watermark of the last applied record; undefined only for an item the aggregator never wrote. */
  readonly lastSeq: string | undefined;
  readonly asOf: string | undefined;
  /** Records applied, votes and markers; undefined on an item written before the aggregator counted them. */
  readonly records: number | undefined;
  /** The token of the last marker applied. */
  readonly reconcileToken: string | undefined;
}

/** One option of a poll, stored vs recounted. */
export interface OptionDrift {
  readonly option: string;
  readonly stored: number;
  readonly recounted: number;
  /** stored - recounted: positive when PollResults counts more votes than there are. */
  readonly drift: number;
}

/** The report of one poll. */
export interface PollDrift {
  readonly pollId: string;
  /** False when the poll has no PollResults item (its votes were never applied, or the item is gone). */
  readonly hasResults: boolean;
  readonly stored: { readonly counts: Readonly<Record<string, number>>; readonly total: number };
  readonly recounted: PollCount;
  /** Every option either side knows of, by name; options that are 0 on both sides left out. */
  readonly options: readonly OptionDrift[];
  /** stored total - recounted total. */
  readonly totalDrift: number;
  readonly lastSeq: string | undefined;
  readonly asOf: string | undefined;
  /** No option and not the total drifts. */
  readonly ok: boolean;
}

/** Compares a poll's PollResults item (undefined: none) with its recount. */
export function pollDrift(
  pollId: string,
  stored: StoredResults | undefined,
  recounted: PollCount,
): PollDrift {
  const storedCounts = stored?.counts ?? {};
  const storedTotal = stored?.total ?? 0;
  const names = [...new Set([...Object.keys(storedCounts), ...Object.keys(recounted.counts)])].sort();
  const options = names
    .map((option) => {
      const storedCount = countOf(storedCounts, option);
      const recountedCount = countOf(recounted.counts, option);
      return { option, stored: storedCount, recounted: recountedCount, drift: storedCount - recountedCount };
    })
    // An option the aggregator brought back to 0 stays in the map with 0: that is not drift, and says nothing.
    .filter((entry) => entry.stored !== 0 || entry.recounted !== 0);
  const totalDrift = storedTotal - recounted.total;
  return {
    pollId,
    hasResults: stored !== undefined,
    stored: { counts: storedCounts, total: storedTotal },
    recounted,
    options,
    totalDrift,
    lastSeq: stored?.lastSeq,
    asOf: stored?.asOf,
    ok: totalDrift === 0 && options.every((entry) => entry.drift === 0),
  };
}

/** What the fix protocol reads: `records` after marker M1 was applied, and the item after M2 was applied. */
export interface FixObservation {
  /** PollResults `records` once `reconcileToken` was M1's token. */
  readonly recordsAtFirstMarker: number | undefined;
  /** The PollResults item once `reconcileToken` was M2's token. */
  readonly atSecondMarker: StoredResults;
  /** The recount, made between the two markers were applied (Query, ConsistentRead). */
  readonly recounted: PollCount;
}

/**
 * The protocol's decision:
 * - `busy`: records other than M2 were applied between the markers (votes were written between them), so the recount
 *   may hold any of them or not: it describes no state the item was ever in. Nothing may be written.
 * - `clean`: nothing but M2 was applied, and the item agrees with the recount: the drift seen before was in flight.
 * - `write`: nothing but M2 was applied, so the recount is exactly the state the item describes at watermark
 *   `expectedLastSeq`; write it on the condition that the watermark has not moved since.
 */
export type FixDecision =
  | { readonly kind: 'busy'; readonly recordsBetween: number | undefined }
  | { readonly kind: 'clean'; readonly drift: PollDrift }
  | {
      readonly kind: 'write';
      readonly drift: PollDrift;
      readonly counts: Readonly<Record<string, number>>;
      readonly total: number;
      readonly expectedLastSeq: string;
    };

export function decideFix(observation: FixObservation): FixDecision {
  const r1 = observation.recordsAtFirstMarker;
  const r2 = observation.atSecondMarker.records;
  const lastSeq = observation.atSecondMarker.lastSeq;
  // Unknown counters (an item from before `records`) or no watermark cannot prove the poll idle: never guess.
  if (r1 === undefined || r2 === undefined || lastSeq === undefined) {
    return { kind: 'busy', recordsBetween: undefined };
  }
  if (r2 !== r1 + 1) {
    // r2 < r1 + 1 would mean the counter went back (someone else wrote the item): not idle either.
    return { kind: 'busy', recordsBetween: r2 - r1 - 1 };
  }
  const drift = pollDrift(
    observation.atSecondMarker.pollId,
    observation.atSecondMarker,
    observation.recounted,
  );
  if (drift.ok) return { kind: 'clean', drift };
  return {
    kind: 'write',
    drift,
    counts: observation.recounted.counts,
    total: observation.recounted.total,
    expectedLastSeq: lastSeq,
  };
}
