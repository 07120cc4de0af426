import { describe, expect, it } from 'vitest';
import { RECONCILE_MARKER_VOTER_ID } from '../../../lambdas/vote-aggregator/ports.js';
import { decideFix, pollDrift, type StoredResults } from '../../../ops/reconcile/drift.js';
import { countPoll, type PollCount, type VoteRow, VoteTally } from '../../../ops/reconcile/tally.js';

/** `n` votes of `pollId` for `option`, voters numbered from `from`. */
function votes(pollId: string, option: string, n: number, from = 0): VoteRow[] {
  return Array.from({ length: n }, (_unused, i) => ({
    pollId,
    voterId: `voter-${option}-${from + i}`,
    option,
  }));
}

function marker(pollId: string): VoteRow {
  return { pollId, voterId: RECONCILE_MARKER_VOTER_ID, option: undefined };
}

/** A PollResults item of poll-1 at watermark 42 with 10 records applied. */
function stored(overrides: Partial<StoredResults> = {}): StoredResults {
  return {
    pollId: 'poll-1',
    counts: { yes: 3, no: 2 },
    total: 5,
    lastSeq: '42'.padStart(40, '0'),
    asOf: '2030-01-01T00:00:00.000Z',
    records: 10,
    reconcileToken: 'token-2',
    ...overrides,
  };
}

function count(counts: Record<string, number>): PollCount {
  return { counts, total: Object.values(counts).reduce((sum, n) => sum + n, 0) };
}

describe('VoteTally', () => {
  it('counts votes per poll and option across pages, leaving out markers and items with no option', () => {
    // Prepare
    const tally = new VoteTally();

    // Act
    tally.add([...votes('poll-1', 'yes', 3), marker('poll-1'), ...votes('poll-2', 'a', 1)]);
    tally.add([...votes('poll-1', 'no', 2), { pollId: 'poll-2', voterId: 'v', option: undefined }]);

    // Assess
    expect(tally.pollIds().sort()).toEqual(['poll-1', 'poll-2']);
    expect(tally.count('poll-1')).toEqual({ counts: { no: 2, yes: 3 }, total: 5 });
    expect(tally.count('poll-2')).toEqual({ counts: { a: 1 }, total: 1 });
    expect(tally.count('poll-3')).toEqual({ counts: {}, total: 0 });
    expect(tally.markers).toBe(1);
    expect(tally.unreadable).toBe(1);
  });

  it('counts a poll of which only the marker is left as no votes', () => {
    expect(countPoll('poll-1', [marker('poll-1')])).toEqual({ counts: {}, total: 0 });
  });
});

describe('pollDrift', () => {
  describe.each([
    { name: 'agreeing', item: stored(), recount: count({ yes: 3, no: 2 }), ok: true, totalDrift: 0 },
    {
      name: 'an option at 0 in the item and absent in the recount',
      item: stored({ counts: { yes: 3, no: 2, maybe: 0 } }),
      recount: count({ yes: 3, no: 2 }),
      ok: true,
      totalDrift: 0,
    },
    {
      name: 'an overcounted option',
      item: stored({ counts: { yes: 5, no: 2 }, total: 7 }),
      recount: count({ yes: 3, no: 2 }),
      ok: false,
      totalDrift: 2,
    },
    {
      name: 'counts right but a wrong total',
      item: stored({ total: 4 }),
      recount: count({ yes: 3, no: 2 }),
      ok: false,
      totalDrift: -1,
    },
    {
      name: 'no PollResults item for a poll with votes',
      item: undefined,
      recount: count({ yes: 1 }),
      ok: false,
      totalDrift: -1,
    },
    {
      name: 'results for a poll with no votes',
      item: stored({ counts: { yes: 1 }, total: 1 }),
      recount: count({}),
      ok: false,
      totalDrift: 1,
    },
  ])('$name', ({ item, recount, ok, totalDrift }) => {
    it(`is ${ok ? 'ok' : 'drift'} with total drift ${totalDrift}`, () => {
      // Act
      const drift = pollDrift('poll-1', item, recount);

      // Assess
      expect(drift.ok).toBe(ok);
      expect(drift.totalDrift).toBe(totalDrift);
      expect(drift.hasResults).toBe(item !== undefined);
      expect(drift.lastSeq).toBe(item?.lastSeq);
    });
  });

  it('reports every option either side knows of, stored - recounted', () => {
    // Act
    const drift = pollDrift(
      'poll-1',
      stored({ counts: { yes: 5, no: 0 }, total: 5 }),
      count({ no: 1, maybe: 2 }),
    );

    // Assess
    expect(drift.options).toEqual([
      { option: 'maybe', stored: 0, recounted: 2, drift: -2 },
      { option: 'no', stored: 0, recounted: 1, drift: -1 },
      { option: 'yes', stored: 5, recounted: 0, drift: 5 },
    ]);
  });
});

describe('decideFix', () => {
  it('writes the recount at the second marker watermark when only M2 was applied between the markers', () => {
    // Act
    const decision = decideFix({
      recordsAtFirstMarker: 9,
      atSecondMarker: stored({ counts: { yes: 5, no: 2 }, total: 7, records: 10 }),
      recounted: count({ yes: 3, no: 2 }),
    });

    // Assess
    expect(decision).toMatchObject({
      kind: 'write',
      counts: { yes: 3, no: 2 },
      total: 5,
      expectedLastSeq: '42'.padStart(40, '0'),
      drift: { totalDrift: 2 },
    });
  });

  it('writes nothing when the item agrees once caught up (the drift was in flight)', () => {
    expect(
      decideFix({ recordsAtFirstMarker: 9, atSecondMarker: stored(), recounted: count({ yes: 3, no: 2 }) }),
    ).toMatchObject({ kind: 'clean' });
  });

  it.each([
    { r1: 8, r2: 10, between: 1, why: 'a vote applied between the markers' },
    { r1: 5, r2: 10, between: 4, why: 'four votes applied between the markers' },
    { r1: 10, r2: 10, between: -1, why: 'the counter did not move (someone else wrote the item)' },
    { r1: undefined, r2: 10, between: undefined, why: 'no records counter at M1' },
    { r1: 9, r2: undefined, between: undefined, why: 'no records counter at M2' },
  ])('is busy when $why', ({ r1, r2, between }) => {
    // Act
    const decision = decideFix({
      recordsAtFirstMarker: r1,
      atSecondMarker: stored({ counts: { yes: 5 }, total: 5, records: r2 }),
      recounted: count({ yes: 3, no: 2 }),
    });

    // Assess: never a guess, whatever the drift.
    expect(decision).toEqual({ kind: 'busy', recordsBetween: between });
  });

  it('is busy when the item has no watermark', () => {
    expect(
      decideFix({
        recordsAtFirstMarker: 9,
        atSecondMarker: stored({ lastSeq: undefined }),
        recounted: count({ yes: 1 }),
      }),
    ).toEqual({ kind: 'busy', recordsBetween: undefined });
  });
});
