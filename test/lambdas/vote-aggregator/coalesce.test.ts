import { describe, expect, it } from 'vitest';
import {
  CoalesceInputError,
  clampDelta,
  coalesce,
  countOf,
  splitByOptions,
} from '../../../lambdas/vote-aggregator/coalesce.js';
import type { PollDelta, VoteChange } from '../../../lambdas/vote-aggregator/ports.js';
import { voteChange } from './records.js';

const cast = (seq: number, option: string): VoteChange => voteChange(seq, { after: option });
const move = (seq: number, from: string, to: string): VoteChange =>
  voteChange(seq, { before: from, after: to });
const retract = (seq: number, option: string): VoteChange => voteChange(seq, { before: option });
const marker = (seq: number, token: string): VoteChange =>
  voteChange(seq, { voterId: '#reconcile', markerToken: token });

/** Counts written as an object for brevity; the domain keeps them in Maps. */
function asMap(counts: Record<string, number>): Map<string, number> {
  return new Map(Object.entries(counts));
}

describe('coalesce', () => {
  it.each<{ name: string; changes: VoteChange[]; counts: Record<string, number>; total: number }>([
    { name: 'casts', changes: [cast(1, 'a'), cast(2, 'a'), cast(3, 'b')], counts: { a: 2, b: 1 }, total: 3 },
    { name: 'a moved vote', changes: [move(1, 'a', 'b')], counts: { a: -1, b: 1 }, total: 0 },
    { name: 'a retraction', changes: [retract(1, 'a')], counts: { a: -1 }, total: -1 },
    { name: 'an unchanged option', changes: [move(1, 'a', 'a')], counts: {}, total: 0 },
    { name: 'a cast then retracted', changes: [cast(1, 'a'), retract(2, 'a')], counts: {}, total: 0 },
    {
      name: 'a cast moved twice',
      changes: [cast(1, 'a'), move(2, 'a', 'b'), move(3, 'b', 'c')],
      counts: { c: 1 },
      total: 1,
    },
    { name: 'a marker alone', changes: [marker(1, 't')], counts: {}, total: 0 },
  ])('nets $name', ({ changes, counts, total }) => {
    // Act
    const delta = coalesce(changes);

    // Assess
    expect(delta?.counts).toStrictEqual(asMap(counts));
    expect(delta?.total).toBe(total);
    expect(delta?.records).toBe(changes.length);
  });

  it('spans the first to the last record, asOf the last record, with the last marker token', () => {
    // Prepare
    const changes = [cast(1, 'a'), marker(2, 'first'), move(3, 'a', 'b'), marker(4, 'second'), cast(5, 'c')];

    // Act
    const delta = coalesce(changes);

    // Assess
    expect(delta).toStrictEqual<PollDelta>({
      pollId: 'p-1',
      firstSequence: changes[0]?.sequence ?? '',
      lastSequence: changes[4]?.sequence ?? '',
      asOf: '2030-01-01T00:00:05.000Z',
      counts: asMap({ b: 1, c: 1 }),
      total: 2,
      records: 5,
      reconcileToken: 'second',
    });
  });

  it.each([
    { name: 'below every record: all kept', watermarkOf: 0, records: 4, first: 1, counts: { a: 1, b: 1 } },
    { name: 'inside the run: the rest kept', watermarkOf: 2, records: 2, first: 3, counts: { a: -1, b: 1 } },
    { name: 'at the last record: nothing left', watermarkOf: 4, records: undefined, first: undefined },
    { name: 'past the last record: nothing left', watermarkOf: 9, records: undefined, first: undefined },
  ])('drops the records at or below a stored watermark $name', ({ watermarkOf, records, first, counts }) => {
    // Prepare
    const changes = [cast(1, 'a'), cast(2, 'a'), move(3, 'a', 'b'), marker(4, 't')];
    const watermark = voteChange(watermarkOf).sequence;

    // Act
    const delta = coalesce(changes, watermark);

    // Assess
    expect(delta?.records).toBe(records);
    expect(delta?.firstSequence).toBe(first === undefined ? undefined : voteChange(first).sequence);
    if (counts !== undefined) expect(delta?.counts).toStrictEqual(asMap(counts));
  });

  it('returns undefined for no changes', () => {
    // Act
    const delta = coalesce([]);

    // Assess
    expect(delta).toBeUndefined();
  });

  it('keeps an option named like a prototype key as an own count', () => {
    // Act
    const delta = coalesce([cast(1, '__proto__'), cast(2, 'constructor')]);

    // Assess
    expect([...(delta?.counts ?? [])]).toStrictEqual([
      ['__proto__', 1],
      ['constructor', 1],
    ]);
  });

  it.each([
    { name: 'two polls', changes: [cast(1, 'a'), voteChange(2, { pollId: 'p-2', after: 'a' })] },
    { name: 'out of order', changes: [cast(2, 'a'), cast(1, 'a')] },
    { name: 'a duplicate', changes: [cast(1, 'a'), cast(1, 'a')] },
  ])('refuses changes of $name (a caller bug)', ({ changes }) => {
    // Act
    const act = (): unknown => coalesce(changes);

    // Assess
    expect(act).toThrow(CoalesceInputError);
  });
});

describe('clampDelta', () => {
  const delta = (counts: Record<string, number>, total: number): PollDelta => ({
    pollId: 'p-1',
    firstSequence: voteChange(1).sequence,
    lastSequence: voteChange(3).sequence,
    asOf: '2030-01-01T00:00:03.000Z',
    counts: asMap(counts),
    total,
    records: 3,
  });

  interface ClampCase {
    readonly name: string;
    readonly counts: Record<string, number>;
    readonly total: number;
    readonly stored: { counts: Record<string, number>; total: number };
    readonly expected: { counts: Record<string, number>; total: number };
    readonly clamped: { counts: Record<string, number>; total: number } | undefined;
  }

  it.each<ClampCase>([
    {
      name: 'nothing when every count covers its decrement',
      counts: { a: -2, b: 1 },
      total: -1,
      stored: { counts: { a: 2 }, total: 2 },
      expected: { counts: { a: -2, b: 1 }, total: -1 },
      clamped: undefined,
    },
    {
      name: 'a decrement to what is stored, the total following the counts',
      counts: { a: -3, b: 1 },
      total: -2,
      stored: { counts: { a: 1 }, total: 5 },
      expected: { counts: { a: -1, b: 1 }, total: 0 },
      clamped: { counts: { a: 2 }, total: 2 },
    },
    {
      name: 'a decrement of a missing option away',
      counts: { a: -1 },
      total: -1,
      stored: { counts: {}, total: 0 },
      expected: { counts: {}, total: 0 },
      clamped: { counts: { a: 1 }, total: 1 },
    },
    {
      name: 'a retraction of an uncounted vote beside a cast, keeping total = sum(counts)',
      counts: { red: 1, blue: -1 },
      total: 0,
      stored: { counts: {}, total: 0 },
      expected: { counts: { red: 1 }, total: 1 },
      clamped: { counts: { blue: 1 }, total: 1 },
    },
    {
      name: 'a decrement of an already negative count away, never pushing it further down',
      counts: { a: -1, b: 1 },
      total: 0,
      stored: { counts: { a: -2 }, total: 3 },
      expected: { counts: { b: 1 }, total: 1 },
      clamped: { counts: { a: 1 }, total: 1 },
    },
    {
      name: 'a total that disagrees with its counts to their sum',
      counts: { a: -1 },
      total: -2,
      stored: { counts: { a: 4 }, total: 1 },
      expected: { counts: { a: -1 }, total: -1 },
      clamped: { counts: {}, total: 1 },
    },
    {
      name: 'the total at zero when the stored total is below the counts',
      counts: { a: -1 },
      total: -1,
      stored: { counts: { a: 4 }, total: 0 },
      expected: { counts: { a: -1 }, total: 0 },
      clamped: { counts: {}, total: 1 },
    },
  ])('clamps $name', ({ counts, total, stored, expected, clamped }) => {
    // Prepare
    const original = delta(counts, total);

    // Act
    const result = clampDelta(original, {
      lastSequence: '0'.repeat(40),
      counts: asMap(stored.counts),
      total: stored.total,
    });

    // Assess
    expect(result.delta).toStrictEqual({
      ...original,
      counts: asMap(expected.counts),
      total: expected.total,
    });
    expect(result.clamped).toStrictEqual(
      clamped === undefined ? undefined : { counts: asMap(clamped.counts), total: clamped.total },
    );
  });
});

describe('splitByOptions', () => {
  it('keeps a run whole while it stays within the option cap', () => {
    // Prepare
    const changes = [cast(1, 'a'), move(2, 'a', 'b'), retract(3, 'b'), marker(4, 't')];

    // Act
    const runs = splitByOptions(changes, 2);

    // Assess
    expect(runs).toStrictEqual([changes]);
  });

  it('starts a new run, in stream order, at the change that would exceed the cap', () => {
    // Prepare: the move touches b and c, so the second run holds {b, c} and the last cast of a needs a third.
    const changes = [cast(1, 'a'), cast(2, 'b'), move(3, 'b', 'c'), cast(4, 'c'), cast(5, 'a')];

    // Act
    const runs = splitByOptions(changes, 2);

    // Assess
    expect(runs.map((run) => run.map((change) => change.after))).toStrictEqual([
      ['a', 'b'],
      ['c', 'c'],
      ['a'],
    ]);
  });
});

describe('countOf', () => {
  it('reads own counts only', () => {
    // Act / Assess
    expect(countOf({ a: 2 }, 'a')).toBe(2);
    expect(countOf({ a: 2 }, 'toString')).toBe(0);
    expect(countOf(asMap({ a: 2 }), 'constructor')).toBe(0);
    expect(countOf(new Map([['constructor', 3]]), 'constructor')).toBe(3);
  });
});
