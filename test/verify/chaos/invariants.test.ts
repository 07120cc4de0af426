import { describe, expect, it } from 'vitest';
import {
  changeKey,
  changesOf,
  checkInvariants,
  deadLetterChange,
  type InvariantInput,
  type OnFailureBatch,
  type OrderChange,
  type OrderTruth,
} from '../../../verify/chaos/invariants.js';
import type { ProbeEffect } from '../../../verify/chaos/probe-consumer.js';

function order(overrides: Partial<OrderTruth> = {}): OrderTruth {
  return { orderId: 'o-1', poison: false, finalVersion: 1, deleted: false, ...overrides };
}

/** Sequence numbers count up from here; each change of a history gets the next one. */
let nextSequenceNumber = 100_000_000_000_000_000_000n;

function effectOf(change: OrderChange, overrides: Partial<ProbeEffect> = {}): ProbeEffect {
  nextSequenceNumber += 1n;
  return {
    ...change,
    eventId: `ev-${changeKey(change)}`,
    sequenceNumber: String(nextSequenceNumber),
    at: '2024-05-01T12:00:00.000Z',
    ...overrides,
  };
}

/** The effects of a correct run: each change of each non-poison order once, in order. */
function effectsOf(truth: readonly OrderTruth[]): ProbeEffect[] {
  return truth.filter((o) => !o.poison).flatMap((o) => changesOf(o).map((change) => effectOf(change)));
}

/** A full dead letter as the runtime writes it for a change of an order. */
function deadLetterOf(change: OrderChange, options: { withImage?: boolean } = {}): unknown {
  const image = { orderId: { S: change.orderId }, version: { N: String(change.version) } };
  const withImage = options.withImage ?? true;
  return {
    truncated: false,
    consumerName: 'chaos-probe',
    reason: 'Poison order',
    errorName: 'PermanentError',
    eventId: `ev-${changeKey(change)}`,
    eventName: change.eventName,
    sequenceNumber: '1',
    keys: { orderId: { S: change.orderId } },
    eventSourceArn: null,
    failedAt: '2024-05-01T12:00:00.000Z',
    record: {
      eventID: `ev-${changeKey(change)}`,
      eventName: change.eventName,
      dynamodb: {
        Keys: { orderId: { S: change.orderId } },
        SequenceNumber: '1',
        ...(withImage ? { [change.eventName === 'REMOVE' ? 'OldImage' : 'NewImage']: image } : {}),
      },
    },
  };
}

function deadLettersOf(truth: readonly OrderTruth[]): unknown[] {
  return truth.filter((o) => o.poison).flatMap((o) => changesOf(o).map((change) => deadLetterOf(change)));
}

const SHIPPED = order({ orderId: 'o-shipped', finalVersion: 3 });
const DELETED = order({ orderId: 'o-deleted', finalVersion: 2, deleted: true });
const POISON = order({ orderId: 'o-poison', poison: true, finalVersion: 2 });
const TRUTH = [SHIPPED, DELETED, POISON];

function input(overrides: Partial<InvariantInput> = {}): InvariantInput {
  return {
    truth: TRUTH,
    effects: effectsOf(TRUTH),
    deadLetters: deadLettersOf(TRUTH),
    onFailure: [],
    drained: true,
    ...overrides,
  };
}

describe('changesOf', () => {
  it.each([
    [order({ finalVersion: 1 }), ['o-1@1:INSERT']],
    [order({ finalVersion: 3 }), ['o-1@1:INSERT', 'o-1@2:MODIFY', 'o-1@3:MODIFY']],
    [order({ finalVersion: 2, deleted: true }), ['o-1@1:INSERT', 'o-1@2:MODIFY', 'o-1@2:REMOVE']],
    [order({ finalVersion: 1, deleted: true }), ['o-1@1:INSERT', 'o-1@1:REMOVE']],
  ])('lists every stream record of %j', (truth, expected) => {
    expect(changesOf(truth).map(changeKey)).toEqual(expected);
  });
});

describe('checkInvariants', () => {
  it('passes a correct history', () => {
    // Prepare / Act
    const report = checkInvariants(input());

    // Assess
    expect(report).toMatchObject({
      records: 8,
      lost: 0,
      duplicated: 0,
      unexpected: 0,
      orderViolations: 0,
      poisonExpected: 2,
      poisonInDlq: 2,
      onFailureRecords: 0,
      ok: true,
    });
    expect(report.problems).toEqual([]);
  });

  it('counts a re-delivered effect as a duplicate without failing (at-least-once)', () => {
    // Prepare: the crash-after-apply case, every effect of a batch applied twice.
    const effects = effectsOf(TRUTH);
    const redelivered = [...effects, ...effects.slice(0, 2)];

    // Act
    const report = checkInvariants(input({ effects: redelivered }));

    // Assess
    expect(report).toMatchObject({ duplicated: 2, lost: 0, orderViolations: 0, ok: true });
  });

  it('reports a change with no effect as lost', () => {
    // Prepare
    const effects = effectsOf(TRUTH).filter((e) => changeKey(e) !== 'o-shipped@2:MODIFY');

    // Act
    const report = checkInvariants(input({ effects }));

    // Assess
    expect(report).toMatchObject({ lost: 1, ok: false });
    expect(report.problems).toContain('lost: o-shipped@2:MODIFY has no effect');
  });

  it('reports a later change applied before an earlier one of the same order', () => {
    // Prepare: MODIFY@3 first applied before MODIFY@2, then a retry applies both again.
    const [insert, modify2, modify3, ...rest] = effectsOf(TRUTH);
    const effects = [insert!, modify3!, modify2!, modify3!, ...rest];

    // Act
    const report = checkInvariants(input({ effects }));

    // Assess
    expect(report).toMatchObject({ orderViolations: 1, duplicated: 1, lost: 0, ok: false });
    expect(report.problems).toContain('order: o-shipped@2:MODIFY was first applied after o-shipped@3:MODIFY');
  });

  it('allows the changes of different orders to interleave in any order', () => {
    // Prepare
    const shipped = changesOf(SHIPPED).map((c) => effectOf(c));
    const deleted = changesOf(DELETED).map((c) => effectOf(c));
    const effects = [deleted[0]!, shipped[0]!, deleted[1]!, shipped[1]!, shipped[2]!, deleted[2]!];

    // Act
    const report = checkInvariants(input({ effects }));

    // Assess
    expect(report).toMatchObject({ orderViolations: 0, ok: true });
  });

  it.each([
    ['missing', (letters: unknown[]) => letters.slice(1)],
    [
      'without its image',
      (letters: unknown[]) => [
        deadLetterOf(changesOf(POISON)[0]!, { withImage: false }),
        ...letters.slice(1),
      ],
    ],
    [
      'truncated',
      (letters: unknown[]) => [
        { truncated: true, sequenceNumber: '1', keys: null, reason: 'x' },
        ...letters.slice(1),
      ],
    ],
  ])('reports a poison record whose dead letter is %s', (_case, alter) => {
    // Prepare
    const deadLetters = alter(deadLettersOf(TRUTH));

    // Act
    const report = checkInvariants(input({ deadLetters }));

    // Assess
    expect(report).toMatchObject({ poisonExpected: 2, poisonInDlq: 1, ok: false });
    expect(report.problems).toContain('poison: o-poison@1:INSERT is not in the DLQ with its payload');
  });

  it('counts the same poison record dead-lettered twice once', () => {
    // Prepare: a poison record re-delivered after a crash is dead-lettered again.
    const letters = deadLettersOf(TRUTH);

    // Act
    const report = checkInvariants(input({ deadLetters: [...letters, letters[0]] }));

    // Assess
    expect(report).toMatchObject({ poisonInDlq: 2, ok: true });
  });

  it.each([
    ['an effect of a poison order', effectOf({ orderId: 'o-poison', version: 1, eventName: 'INSERT' })],
    [
      'an effect of a change the table never had',
      effectOf({ orderId: 'o-shipped', version: 4, eventName: 'MODIFY' }),
    ],
    [
      'a second eventID for one change',
      effectOf({ orderId: 'o-shipped', version: 1, eventName: 'INSERT' }, { eventId: 'ev-other' }),
    ],
  ])('reports %s as unexpected', (_case, extra) => {
    // Act
    const report = checkInvariants(input({ effects: [...effectsOf(TRUTH), extra] }));

    // Assess
    expect(report).toMatchObject({ unexpected: 1, lost: 0, ok: false });
  });

  it('reports a non-poison record dead-lettered by the runtime as lost, even if applied before', () => {
    // Act
    const report = checkInvariants(
      input({ deadLetters: [...deadLettersOf(TRUTH), deadLetterOf(changesOf(SHIPPED)[1]!)] }),
    );

    // Assess
    expect(report).toMatchObject({ lost: 1, ok: false });
    expect(report.problems).toContain('lost: o-shipped@2:MODIFY was dead-lettered but is not poison');
  });

  it('reports the applied records of an on-failure batch as lost', () => {
    // Prepare: a crash after applying, then exhausted retries sent the batch to the on-failure destination.
    const effects = effectsOf(TRUTH);
    const batch: OnFailureBatch = {
      shardId: 'shard-1',
      startSequenceNumber: effects[1]!.sequenceNumber,
      endSequenceNumber: effects[2]!.sequenceNumber,
      batchSize: 2,
    };

    // Act
    const report = checkInvariants(input({ effects, onFailure: [batch] }));

    // Assess
    expect(report).toMatchObject({ lost: 2, onFailureRecords: 2, ok: false });
  });

  it('fails a run whose streams did not drain', () => {
    // Act
    const report = checkInvariants(input({ drained: false }));

    // Assess
    expect(report).toMatchObject({ drained: false, ok: false });
  });

  it('keeps at most 20 problems', () => {
    // Act
    const report = checkInvariants(
      input({ effects: [], truth: Array.from({ length: 30 }, (_, i) => order({ orderId: `o-${i}` })) }),
    );

    // Assess
    expect(report.lost).toBe(30);
    expect(report.problems).toHaveLength(20);
  });
});

describe('deadLetterChange', () => {
  it.each([
    [null],
    ['text'],
    [{ truncated: true, sequenceNumber: '1', keys: { orderId: { S: 'o-1' } }, reason: 'big' }],
    [{ truncated: false, record: { eventName: 'INSERT', dynamodb: { Keys: { orderId: { N: '1' } } } } }],
  ])('finds no change with its payload in %j', (body) => {
    expect(deadLetterChange(body).withPayload).toBe(false);
  });

  it('reads a REMOVE from its old image', () => {
    const change: OrderChange = { orderId: 'o-9', version: 4, eventName: 'REMOVE' };
    expect(deadLetterChange(deadLetterOf(change))).toEqual({ change, withPayload: true });
  });
});
