import type { FullDeadLetter } from '../../lambdas/shared/stream/dead-letter.js';
import type { OnFailureMessage } from '../../sandbox/esm/types.js';
import type { ProbeEffect } from './probe-consumer.js';

/**
 * The invariants a chaos run checks (docs/architecture.md, "The stream-consumer contract"), as one pure function
 * of what the run observed. Truth is the Orders table: every API write increments an order's `version` by one and
 * yields exactly one stream record, so an order whose last version is V produced INSERT@1, MODIFY@2..V, and a
 * REMOVE (carrying V in its old image) if it was deleted.
 *
 * - lost: a non-poison change with no effect, or one that left the pipeline unprocessed: dead-lettered by the
 *   runtime (only poison may be), or inside a batch sent to the mapping's on-failure destination after exhausted
 *   retries or record age. With 10 retries and independent faults of a few percent such a batch should never
 *   happen, so one is a failure, not a tolerated loss.
 * - duplicated: raw effect lines whose eventID was seen before. At-least-once delivery allows them (re-delivery
 *   after a crash, a timeout or a partial batch failure applies records again), so they are counted for
 *   information and never fail the run; the checks below run on the effects with duplicate eventIDs dropped.
 * - unexpected: an effect (after dropping duplicate eventIDs) of no known change: a change the table never had, a
 *   poison order's change, or a second eventID for a change already applied. Any is a failure.
 * - orderViolations: per order, the first applications of its changes must come in version order (REMOVE last).
 *   Each first application that comes after a later change of the same order counts once.
 * - poisonInDlq / poisonExpected: every change of a poison order must be in the DLQ as a full dead letter carrying
 *   the record's payload (its image), so it can be replayed without the stream.
 * - drained: the streams drained in time, i.e. no shard stayed blocked past its bounded retries.
 */

/** What the Orders table says about one order at the end of the run. */
export interface OrderTruth {
  readonly orderId: string;
  /** The order's customer id starts with the poison prefix: the probe refuses every change of it. */
  readonly poison: boolean;
  /** The last version the order reached. */
  readonly finalVersion: number;
  /** The order was deleted: its stream has a REMOVE after MODIFY@finalVersion. */
  readonly deleted: boolean;
}

/** One change of an order, i.e. one stream record. */
export interface OrderChange {
  readonly orderId: string;
  readonly version: number;
  readonly eventName: ProbeEffect['eventName'];
}

/** The range of records of one on-failure message (its DDBStreamBatchInfo). */
export type OnFailureBatch = Pick<
  OnFailureMessage['DDBStreamBatchInfo'],
  'shardId' | 'startSequenceNumber' | 'endSequenceNumber' | 'batchSize'
>;

export interface InvariantInput {
  readonly truth: readonly OrderTruth[];
  /** The probe's effects, in the order they were applied (the effects file's line order). */
  readonly effects: readonly ProbeEffect[];
  /** Bodies of the runtime's dead letters in the probe's DLQ (truncated ones included). */
  readonly deadLetters: readonly unknown[];
  /** The batch info of every on-failure message in the probe's DLQ. */
  readonly onFailure: readonly OnFailureBatch[];
  /** Whether the streams drained before the deadline. */
  readonly drained: boolean;
}

export interface InvariantReport {
  /** Stream records the table's truth implies (poison included). */
  readonly records: number;
  /** Effect lines written, duplicates included. */
  readonly effects: number;
  readonly lost: number;
  readonly duplicated: number;
  readonly unexpected: number;
  readonly orderViolations: number;
  readonly poisonExpected: number;
  readonly poisonInDlq: number;
  /** Records (by batch size) the mapping sent to its on-failure destination; their non-poison ones are lost. */
  readonly onFailureRecords: number;
  readonly drained: boolean;
  readonly ok: boolean;
  /** Up to MAX_PROBLEMS human-readable examples of what failed, for the log. */
  readonly problems: readonly string[];
}

/** How many examples of failures the report keeps: enough to debug, small enough to print. */
export const MAX_PROBLEMS = 20;

/** The text that identifies a change across effects, dead letters and truth. */
export function changeKey(change: OrderChange): string {
  return `${change.orderId}@${change.version}:${change.eventName}`;
}

/**
 * The position of a change in its order's history: INSERT@1 < MODIFY@2 < ... < MODIFY@V < REMOVE@V. A REMOVE's old
 * image has the same version as the last MODIFY, so it ranks just after it.
 */
export function changeRank(change: OrderChange): number {
  return change.version * 2 + (change.eventName === 'REMOVE' ? 1 : 0);
}

/** Every change (stream record) an order's truth implies, in order. */
export function changesOf(order: OrderTruth): OrderChange[] {
  const changes: OrderChange[] = [{ orderId: order.orderId, version: 1, eventName: 'INSERT' }];
  for (let version = 2; version <= order.finalVersion; version += 1) {
    changes.push({ orderId: order.orderId, version, eventName: 'MODIFY' });
  }
  if (order.deleted) {
    changes.push({ orderId: order.orderId, version: order.finalVersion, eventName: 'REMOVE' });
  }
  return changes;
}

interface DeadLetterChange {
  readonly change: OrderChange | undefined;
  /** The letter carries the full record with the image of its change. */
  readonly withPayload: boolean;
}

/** Reads a dead letter's change and whether it carries the payload; tolerant of anything in the queue file. */
export function deadLetterChange(body: unknown): DeadLetterChange {
  const letter = body as Partial<FullDeadLetter> | null;
  if (letter === null || typeof letter !== 'object') {
    return { change: undefined, withPayload: false };
  }
  const record = letter.truncated === false ? letter.record : undefined;
  const keys = (record?.dynamodb?.Keys ?? letter.keys ?? undefined) as
    | Record<string, { S?: unknown }>
    | undefined;
  const orderId = keys?.orderId?.S;
  const eventName = record?.eventName;
  const image = eventName === 'REMOVE' ? record?.dynamodb?.OldImage : record?.dynamodb?.NewImage;
  const version = Number(image?.version?.N);
  if (typeof orderId !== 'string' || eventName === undefined || !Number.isSafeInteger(version)) {
    return { change: undefined, withPayload: false };
  }
  return { change: { orderId, version, eventName }, withPayload: image !== undefined };
}

function inBatch(sequenceNumber: string, batch: OnFailureBatch): boolean {
  try {
    const position = BigInt(sequenceNumber);
    return position >= BigInt(batch.startSequenceNumber) && position <= BigInt(batch.endSequenceNumber);
  } catch {
    return false;
  }
}

/** Checks a chaos run's observations against the table's truth; see the module comment for each invariant. */
export function checkInvariants(input: InvariantInput): InvariantReport {
  const problems: string[] = [];
  const problem = (text: string): void => {
    if (problems.length < MAX_PROBLEMS) problems.push(text);
  };

  const poisonOrders = new Set(input.truth.filter((order) => order.poison).map((order) => order.orderId));
  const expected = new Map<string, OrderChange>();
  const expectedPoison = new Map<string, OrderChange>();
  for (const order of input.truth) {
    for (const change of changesOf(order)) {
      (order.poison ? expectedPoison : expected).set(changeKey(change), change);
    }
  }

  // Effects, duplicates of an eventID dropped; the first application of each change in application order.
  const seenEventIds = new Set<string>();
  const applied = new Map<string, ProbeEffect>();
  const highestRankApplied = new Map<string, { rank: number; key: string }>();
  let duplicated = 0;
  let unexpected = 0;
  let orderViolations = 0;
  for (const effect of input.effects) {
    if (seenEventIds.has(effect.eventId)) {
      duplicated += 1;
      continue;
    }
    seenEventIds.add(effect.eventId);
    const key = changeKey(effect);
    if (!expected.has(key)) {
      unexpected += 1;
      problem(
        poisonOrders.has(effect.orderId)
          ? `unexpected: effect of poison change ${key} (eventID ${effect.eventId})`
          : `unexpected: effect of ${key} (eventID ${effect.eventId}), a change the table never had`,
      );
      continue;
    }
    if (applied.has(key)) {
      unexpected += 1;
      problem(`unexpected: ${key} applied under a second eventID ${effect.eventId}`);
      continue;
    }
    applied.set(key, effect);
    const rank = changeRank(effect);
    const highest = highestRankApplied.get(effect.orderId);
    if (highest !== undefined && rank < highest.rank) {
      orderViolations += 1;
      problem(`order: ${key} was first applied after ${highest.key}`);
    } else {
      highestRankApplied.set(effect.orderId, { rank, key });
    }
  }

  // Lost: never applied, dead-lettered though not poison, or in a batch the mapping gave up on.
  const lostKeys = new Set<string>();
  for (const key of expected.keys()) {
    if (!applied.has(key)) {
      lostKeys.add(key);
      problem(`lost: ${key} has no effect`);
    }
  }
  const poisonInDlq = new Set<string>();
  for (const body of input.deadLetters) {
    const { change, withPayload } = deadLetterChange(body);
    if (change === undefined) {
      problem('dead letter without an identifiable order change (truncated or malformed)');
      continue;
    }
    const key = changeKey(change);
    if (expectedPoison.has(key)) {
      if (withPayload) poisonInDlq.add(key);
      else problem(`poison: the dead letter of ${key} lacks the record's image`);
    } else if (expected.has(key) && !lostKeys.has(key)) {
      lostKeys.add(key);
      problem(`lost: ${key} was dead-lettered but is not poison`);
    }
  }
  for (const [key, effect] of applied) {
    const batch = input.onFailure.find((candidate) => inBatch(effect.sequenceNumber, candidate));
    if (batch !== undefined && !lostKeys.has(key)) {
      lostKeys.add(key);
      problem(`lost: ${key} is in an on-failure batch of shard ${batch.shardId}`);
    }
  }
  for (const key of expectedPoison.keys()) {
    if (!poisonInDlq.has(key)) problem(`poison: ${key} is not in the DLQ with its payload`);
  }
  if (!input.drained) problem('the streams did not drain: a shard stayed blocked');

  const onFailureRecords = input.onFailure.reduce((sum, batch) => sum + batch.batchSize, 0);
  if (onFailureRecords > 0) {
    // Their non-poison records are counted as lost above; this line says how they left.
    problem(`on-failure: ${onFailureRecords} records left the stream after exhausted retries or record age`);
  }

  const lost = lostKeys.size;
  const ok =
    lost === 0 &&
    unexpected === 0 &&
    orderViolations === 0 &&
    poisonInDlq.size === expectedPoison.size &&
    input.drained;
  return {
    records: expected.size + expectedPoison.size,
    effects: input.effects.length,
    lost,
    duplicated,
    unexpected,
    orderViolations,
    poisonExpected: expectedPoison.size,
    poisonInDlq: poisonInDlq.size,
    onFailureRecords,
    drained: input.drained,
    ok,
    problems,
  };
}
