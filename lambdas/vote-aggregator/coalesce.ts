import type { PollDelta, StoredPollResults, VoteChange } from './ports.js';

/** The changes handed to coalesce are not one poll's in stream order: a bug of the caller, never a record's fault. */
export class CoalesceInputError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = 'CoalesceInputError';
  }
}

/**
 * A poll's count of `option`: 0 when absent. Of a Map, or of a plain object by its own properties only, so that an
 * option named like a prototype key (`constructor`, `toString`) reads as any other.
 */
export function countOf(
  counts: ReadonlyMap<string, number> | Readonly<Record<string, number>>,
  option: string,
): number {
  if (counts instanceof Map) {
    return counts.get(option) ?? 0;
  }
  const record = counts as Readonly<Record<string, number>>;
  return Object.hasOwn(record, option) ? (record[option] ?? 0) : 0;
}

/** The sum of a delta's counts: what its total must be. */
export function sumOf(counts: ReadonlyMap<string, number>): number {
  let sum = 0;
  for (const amount of counts.values()) sum += amount;
  return sum;
}

function checkOnePollInOrder(changes: readonly VoteChange[]): void {
  const first = changes[0];
  changes.forEach((change, index) => {
    if (first !== undefined && change.pollId !== first.pollId) {
      throw new CoalesceInputError(`Changes of polls ${first.pollId} and ${change.pollId} in one delta`);
    }
    const previous = index === 0 ? undefined : changes[index - 1];
    if (previous !== undefined && change.sequence <= previous.sequence) {
      throw new CoalesceInputError(
        `Changes of poll ${change.pollId} not in stream order: ${change.sequence} after ${previous.sequence}`,
      );
    }
  });
}

/**
 * Coalesces one poll's changes, given in stream order, into the delta of one conditional update: per option the net
 * change of its count (a cast +1, a retraction -1, a changed option -1 for the old one and +1 for the new one, an
 * unchanged option nothing), the net change of the total, and the run's first and last padded sequence numbers.
 * Markers and unchanged MODIFYs count nothing but are records applied: they move the watermark and `records`.
 *
 * With `storedWatermark` (the poll's stored `lastSeq`), changes at or below it are already applied and are dropped
 * first. Returns undefined when nothing is left: the poll costs no write.
 */
export function coalesce(changes: readonly VoteChange[], storedWatermark?: string): PollDelta | undefined {
  checkOnePollInOrder(changes);
  const pending =
    storedWatermark === undefined ? changes : changes.filter((change) => change.sequence > storedWatermark);
  const first = pending[0];
  const last = pending.at(-1);
  if (first === undefined || last === undefined) {
    return undefined;
  }
  // A Map, not an object: an option is text a client chose and might be "constructor".
  const counts = new Map<string, number>();
  const add = (option: string, amount: number): void => {
    counts.set(option, (counts.get(option) ?? 0) + amount);
  };
  let total = 0;
  let reconcileToken: string | undefined;
  for (const change of pending) {
    if (change.markerToken !== undefined) {
      reconcileToken = change.markerToken;
    }
    if (change.before === change.after) {
      continue;
    }
    if (change.before !== undefined) {
      add(change.before, -1);
    }
    if (change.after !== undefined) {
      add(change.after, +1);
    }
    total += (change.after === undefined ? 0 : 1) - (change.before === undefined ? 0 : 1);
  }
  return {
    pollId: first.pollId,
    firstSequence: first.sequence,
    lastSequence: last.sequence,
    asOf: new Date(last.time).toISOString(),
    counts: new Map([...counts].filter(([, amount]) => amount !== 0)),
    total,
    records: pending.length,
    ...(reconcileToken === undefined ? {} : { reconcileToken }),
  };
}

/** The options a change touches. */
function optionsOf(change: VoteChange): string[] {
  return [change.before, change.after].filter((option): option is string => option !== undefined);
}

/**
 * Splits one poll's changes (stream order kept) into consecutive runs that each touch at most `maxOptions` distinct
 * options. Options are free-form, and every option of a delta costs a name, a value and, when it decreases, a
 * condition in the UpdateItem: DynamoDB caps an expression at 4 KB, so a batch touching hundreds of options of one
 * poll must be written in several updates, one after the other. Almost every batch is a single run.
 */
export function splitByOptions(changes: readonly VoteChange[], maxOptions: number): VoteChange[][] {
  const runs: VoteChange[][] = [];
  let run: VoteChange[] = [];
  let options = new Set<string>();
  for (const change of changes) {
    const touched = optionsOf(change);
    const grown = new Set([...options, ...touched]);
    if (run.length > 0 && grown.size > maxOptions) {
      runs.push(run);
      run = [];
      options = new Set(touched);
    } else {
      options = grown;
    }
    run.push(change);
  }
  if (run.length > 0) {
    runs.push(run);
  }
  return runs;
}

/**
 * What clampDelta took out of a delta: per option the decrements that were dropped, and `total`, their sum (the
 * total's delta is re-derived from the clamped counts, so `total = sum(counts)` holds after clamping).
 */
export interface Clamped {
  readonly counts: ReadonlyMap<string, number>;
  readonly total: number;
}

export interface ClampResult {
  /** The delta with every decrement limited to what is stored (zero entries left out). */
  readonly delta: PollDelta;
  /** Undefined when nothing needed clamping. */
  readonly clamped: Clamped | undefined;
}

/** A decrement limited so that `stored + delta` stays at or above zero (and never pushes a negative below itself). */
function clampOne(amount: number, stored: number): number {
  // `0 - x` rather than `-x`: a unary minus of 0 is -0, which would reach DynamoDB and the tests as such.
  return amount >= 0 ? amount : Math.max(amount, 0 - Math.max(stored, 0));
}

/**
 * Limits the delta's decrements so that no count drops below zero when added to `stored`, and derives the total's
 * delta from the clamped counts, so that a poll's `total` stays the sum of its `counts` (a count clamped at zero
 * would otherwise leave the total lower than the counts add up to). The total is then limited at zero too, for an
 * item whose total already disagrees with its counts.
 *
 * Why counts could go negative at all: the aggregator counts from the stream, so a retraction or a changed option of
 * a vote cast before the stream (or this consumer) existed, or whose record was dead-lettered, has no increment to
 * undo. The count cannot tell the truth either way; zero is the closest to it, and the drift is for the reconcile
 * command (which recounts from the Votes table) to report and repair. The caller logs what was clamped.
 */
export function clampDelta(delta: PollDelta, stored: StoredPollResults): ClampResult {
  const counts = new Map<string, number>();
  const clampedCounts = new Map<string, number>();
  for (const [option, amount] of delta.counts) {
    const limited = clampOne(amount, countOf(stored.counts, option));
    if (limited !== amount) {
      clampedCounts.set(option, limited - amount);
    }
    if (limited !== 0) {
      counts.set(option, limited);
    }
  }
  const total = clampOne(sumOf(counts), stored.total);
  if (clampedCounts.size === 0 && total === delta.total) {
    return { delta, clamped: undefined };
  }
  return {
    delta: { ...delta, counts, total },
    clamped: { counts: clampedCounts, total: total - delta.total },
  };
}
