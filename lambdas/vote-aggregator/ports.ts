/**
 * The vote aggregator's ports and the shapes its domain and adapters share (docs/pipelines/vote-aggregation.md).
 *
 * Exactness rests on one rule: per poll, every record is applied exactly once, in stream order, by one conditional
 * UpdateItem per poll per batch that adds the batch's deltas and moves the poll's watermark (`lastSeq`, the padded
 * sequence number of the last applied record) on the condition that the stored watermark is below the first record
 * applied. A re-delivered record is at or below the watermark and is dropped before the write.
 */

/** The voter id of the reconcile command's marker items in the Votes table (the API's voter ids start with a letter or digit). */
export const RECONCILE_MARKER_VOTER_ID = '#reconcile';

/** One Votes stream record as the aggregator sees it. */
export interface VoteChange {
  readonly pollId: string;
  readonly voterId: string;
  /** The record's sequence number zero-padded to 40 digits (padSequenceNumber): string order is stream order. */
  readonly sequence: string;
  /** The record's raw sequence number, for outcomes (the runtime keys outcomes by it). */
  readonly sequenceNumber: string;
  /** ApproximateCreationDateTime of the record, ms since the epoch. */
  readonly time: number;
  /** The option the voter held before the change; undefined when the voter had no vote (INSERT). */
  readonly before?: string;
  /** The option the voter holds after the change; undefined when the vote was retracted (REMOVE). */
  readonly after?: string;
  /**
   * Set for a reconcile marker (voterId RECONCILE_MARKER_VOTER_ID): the token of its new image. A marker counts
   * nothing; applying it records the token (PollResults `reconcileToken`), which tells the reconcile command that
   * every record of the poll before the marker is applied.
   */
  readonly markerToken?: string;
}

/** What one conditional update of one poll applies: a run of consecutive records of the poll, coalesced. */
export interface PollDelta {
  readonly pollId: string;
  /** Padded sequence of the first record applied: the stored watermark must be below it. */
  readonly firstSequence: string;
  /** Padded sequence of the last record applied: the new watermark. */
  readonly lastSequence: string;
  /** ISO-8601 time of the last record applied (`asOf`). */
  readonly asOf: string;
  /**
   * Per option, the net change of its count (zero entries left out). A Map: an option is text a client chose, and
   * must never meet a plain object's prototype (`constructor`, `toString`) on its way to the table.
   */
  readonly counts: ReadonlyMap<string, number>;
  /** The net change of the total: always the sum of `counts`. */
  readonly total: number;
  /** Records applied (votes and markers): PollResults `records` grows by it. */
  readonly records: number;
  /** The token of the last marker among the records, if any. */
  readonly reconcileToken?: string;
}

/** The stored state of a poll as a failed condition returns it (ReturnValuesOnConditionCheckFailure: ALL_OLD). */
export interface StoredPollResults {
  readonly lastSequence: string;
  readonly counts: ReadonlyMap<string, number>;
  readonly total: number;
}

/**
 * What one conditional update found:
 * - `applied`: the delta is stored and the watermark moved.
 * - `behind`: the stored watermark is at or past `firstSequence` (some records were applied before): nothing was
 *   written; `stored` is the item, so the caller drops what is applied and tries again.
 * - `wouldGoNegative`: the watermark was fine, but a count or the total would drop below zero: nothing was written;
 *   `stored` is the item, so the caller can clamp (and log the drift for the reconcile command).
 */
export type ApplyResult =
  | { readonly kind: 'applied' }
  | { readonly kind: 'behind'; readonly stored: StoredPollResults }
  | { readonly kind: 'wouldGoNegative'; readonly stored: StoredPollResults };

/**
 * Port: the PollResults table. `apply` is one conditional write (two only for a poll's very first batch: the item
 * must exist before a nested `ADD counts.#option` can work). A first delta that would create a negative count or
 * total creates nothing and answers `wouldGoNegative` against an empty poll (all zero, watermark 0), so that the
 * caller clamps and logs it like any other drift. Throws for anything but the outcomes above.
 */
export interface PollResultsStore {
  apply(delta: PollDelta): Promise<ApplyResult>;
}
