import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { decideFix, type PollDrift, type StoredResults } from './drift.js';
import type { ReconcilePorts } from './ports.js';
import { countPoll } from './tally.js';

/**
 * The fix of one drifting poll, which cannot race the vote aggregator.
 *
 * The aggregator is the only writer of PollResults and applies a poll's records in stream order, one conditional
 * UpdateItem per poll per batch that ADDs deltas to `counts`, `total` and `records` and moves the watermark
 * `lastSeq`. A recount read from the Votes table is only worth writing if it describes exactly the state the item's
 * counts describe, and the write must not undo an update the aggregator made after the recount. So, per poll:
 *
 * a. Put marker M1 (the Votes item `{pollId, voterId: '#reconcile', token, requestedAt}`, a fresh token) and poll
 *    PollResults (GetItem, ConsistentRead) until `reconcileToken` = M1's token: every record of the poll before M1
 *    is applied. Read `records` r1. (A poll with no PollResults item gets one when the aggregator applies M1.)
 * b. Recount the poll: a Query with ConsistentRead, V.
 * c. Put marker M2 and wait the same way; read `records` r2, the watermark L2, counts and total.
 * d. r2 = r1 + 1 means the only record applied between the markers is M2 itself. The records of one poll share a
 *    partition key, so the stream holds them in write order: no vote was written between M1 and M2, hence none
 *    between M1 and the recount, and V is exactly the state the item describes at L2. If it differs, write it with
 *    one UpdateItem `SET counts = :V, total = :n` on the condition `lastSeq = :L2`: the condition fails if the
 *    aggregator applied anything since, whose delta the write would otherwise erase. r2 > r1 + 1 (votes arrived in
 *    between) or a failed condition means the poll is busy: the protocol starts over, up to `attempts` times, and
 *    then the poll is reported busy, never written with a guess.
 * e. Nothing is deleted: the marker item stays, one per poll, replaced by the next run's marker.
 *
 * A wait that times out (the aggregator is not running, or lags by more than the wait) ends the poll's fix: "not
 * caught up".
 */

export interface FixOptions {
  /** How long to wait for the aggregator to apply one marker. */
  readonly waitMs: number;
  /** How many times the protocol runs for a busy poll. */
  readonly attempts: number;
  /** How often PollResults is read while waiting. @default 500 */
  readonly pollIntervalMs?: number;
  /** @default randomUUID */
  readonly newToken?: () => string;
  /** @default Date.now */
  readonly now?: () => number;
  /** @default node:timers/promises setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Progress lines. */
  readonly log?: (line: string) => void;
}

export const DEFAULT_MARKER_POLL_INTERVAL_MS = 500;

/** What the fix of one poll came to. */
export type FixOutcome =
  /** The recount was written at watermark `lastSeq`; `drift` is what it corrected. */
  | {
      readonly kind: 'fixed';
      readonly attempts: number;
      readonly drift: PollDrift;
      readonly lastSeq: string;
    }
  /** Once the aggregator had caught up, nothing drifted: what the report showed was in flight. */
  | { readonly kind: 'clean'; readonly attempts: number }
  /** Every attempt saw records applied between the markers, or lost the write to the aggregator. Nothing written. */
  | {
      readonly kind: 'busy';
      readonly attempts: number;
      /** Per attempt: why it gave up. */
      readonly reasons: readonly string[];
    }
  /** A marker was not applied within the wait. Nothing written. */
  | {
      readonly kind: 'notCaughtUp';
      readonly attempts: number;
      readonly marker: 'M1' | 'M2';
      readonly waitedMs: number;
    };

/** Whether an outcome leaves the poll without drift. */
export function isResolved(outcome: FixOutcome): boolean {
  return outcome.kind === 'fixed' || outcome.kind === 'clean';
}

/** Puts a marker and waits until the aggregator applied it; the item then, or undefined after the wait. */
async function markAndWait(
  ports: ReconcilePorts,
  pollId: string,
  options: Required<Omit<FixOptions, 'log'>>,
): Promise<StoredResults | undefined> {
  const token = options.newToken();
  await ports.markers.put(pollId, token, new Date(options.now()).toISOString());
  const deadline = options.now() + options.waitMs;
  for (;;) {
    const item = await ports.results.get(pollId);
    if (item?.reconcileToken === token) return item;
    if (options.now() >= deadline) return undefined;
    await options.sleep(Math.min(options.pollIntervalMs, Math.max(0, deadline - options.now())));
  }
}

/** Runs the protocol above for one poll. */
export async function fixPoll(
  ports: ReconcilePorts,
  pollId: string,
  fixOptions: FixOptions,
): Promise<FixOutcome> {
  const options = {
    waitMs: fixOptions.waitMs,
    attempts: fixOptions.attempts,
    pollIntervalMs: fixOptions.pollIntervalMs ?? DEFAULT_MARKER_POLL_INTERVAL_MS,
    newToken: fixOptions.newToken ?? randomUUID,
    now: fixOptions.now ?? Date.now,
    sleep: fixOptions.sleep ?? ((ms: number): Promise<void> => sleep(ms)),
  };
  const log = fixOptions.log ?? ((): void => undefined);
  const reasons: string[] = [];
  for (let attempt = 1; attempt <= options.attempts; attempt += 1) {
    // a. M1: everything of the poll before it is applied.
    const first = await markAndWait(ports, pollId, options);
    if (first === undefined) {
      return { kind: 'notCaughtUp', attempts: attempt, marker: 'M1', waitedMs: options.waitMs };
    }
    // b. The recount, after M1 was applied.
    const recounted = countPoll(pollId, await ports.votes.queryPoll(pollId));
    // c. M2.
    const second = await markAndWait(ports, pollId, options);
    if (second === undefined) {
      return { kind: 'notCaughtUp', attempts: attempt, marker: 'M2', waitedMs: options.waitMs };
    }
    // d. The decision, and the conditional write.
    const decision = decideFix({ recordsAtFirstMarker: first.records, atSecondMarker: second, recounted });
    if (decision.kind === 'clean') return { kind: 'clean', attempts: attempt };
    if (decision.kind === 'busy') {
      reasons.push(
        decision.recordsBetween === undefined
          ? 'PollResults has no records counter or watermark, so the poll cannot be shown idle'
          : `${decision.recordsBetween} record(s) applied between the markers`,
      );
      log(`  ${pollId}: attempt ${attempt} busy (${reasons.at(-1)})`);
      continue;
    }
    const written = await ports.results.writeCounts(pollId, {
      counts: decision.counts,
      total: decision.total,
      expectedLastSeq: decision.expectedLastSeq,
    });
    if (written === 'written') {
      return { kind: 'fixed', attempts: attempt, drift: decision.drift, lastSeq: decision.expectedLastSeq };
    }
    reasons.push('the aggregator applied a record before the fix was written (lastSeq moved)');
    log(`  ${pollId}: attempt ${attempt} busy (${reasons.at(-1)})`);
  }
  return { kind: 'busy', attempts: options.attempts, reasons };
}
