import { describe, expect, it } from 'vitest';
import { RECONCILE_MARKER_VOTER_ID } from '../../../lambdas/vote-aggregator/ports.js';
import type { TrafficKind, TrafficOperation } from '../../../sandbox/traffic.js';
import { MAX_PROBLEMS } from '../../../verify/chaos/invariants.js';
import {
  checkVoteCounts,
  formatShare,
  type ScannedItem,
  type VotesCheckInput,
  voteWritesByPoll,
} from '../../../verify/chaos/votes-invariants.js';

const HOT = 'poll-hot';
const WATERMARK = '0000000000000000000400000000000000000123';

/** A Votes table item: voter n of the poll holds the option. */
function vote(pollId: string, n: number, option: string): ScannedItem {
  return { pollId, voterId: `voter-${n}`, option, votedAt: '2030-01-01T00:00:00.000Z' };
}

/** The votes of a poll, `counts[option]` voters per option, voter numbers starting at `from`. */
function votesOf(pollId: string, counts: Readonly<Record<string, number>>, from = 1): ScannedItem[] {
  let n = from;
  return Object.entries(counts).flatMap(([option, count]) =>
    Array.from({ length: count }, () => {
      n += 1;
      return vote(pollId, n, option);
    }),
  );
}

/** A reconcile marker of the poll: counts nothing. */
function marker(pollId: string): ScannedItem {
  return { pollId, voterId: RECONCILE_MARKER_VOTER_ID, token: 'reconcile-1' };
}

/** A PollResults item holding these counts, their sum as total unless given. */
function results(
  pollId: string,
  counts: Readonly<Record<string, number>>,
  overrides: Record<string, unknown> = {},
): ScannedItem {
  return {
    pollId,
    counts,
    total: Object.values(counts).reduce((sum, count) => sum + count, 0),
    lastSeq: WATERMARK,
    asOf: '2030-01-01T00:00:05.000Z',
    records: 12,
    ...overrides,
  };
}

function input(
  votes: readonly ScannedItem[],
  items: readonly ScannedItem[],
  overrides: Partial<VotesCheckInput> = {},
): VotesCheckInput {
  return {
    votes,
    results: items,
    hotPollId: HOT,
    voteWrites: {},
    delivery: { invocations: 7, failedInvocations: 2, recordsRedelivered: 40 },
    ...overrides,
  };
}

/** A traffic operation of the kind on the poll, answered with the status. */
function operation(
  index: number,
  kind: TrafficKind,
  pollId: string | undefined,
  status: number,
): TrafficOperation {
  return {
    index,
    kind,
    method: kind === 'retractVote' ? 'DELETE' : 'PUT',
    path: `/polls/${pollId}/votes/voter-${index}`,
    headers: {},
    status,
    ok: status >= 200 && status < 300,
    ...(pollId === undefined ? {} : { pollId, voterId: `voter-${index}` }),
    sentAt: '2030-01-01T00:00:00.000Z',
    latencyMs: 3,
  };
}

describe('checkVoteCounts', () => {
  it('is ok when every poll equals its recount, zero counts absent or 0, markers left out', () => {
    // Prepare: the hot poll with 6 of the 8 votes; poll-colour stores blue 0 from a changed vote; poll-editor had
    // every vote retracted and keeps an item of zeros.
    const votes = [
      ...votesOf(HOT, { margherita: 4, funghi: 2 }),
      ...votesOf('poll-colour', { red: 2 }, 100),
      marker(HOT),
      marker('poll-editor'),
    ];
    const items = [
      results(HOT, { margherita: 4, funghi: 2 }),
      results('poll-colour', { red: 2, blue: 0 }),
      results('poll-editor', { vim: 0 }),
    ];

    // Act
    const report = checkVoteCounts(input(votes, items, { voteWrites: { [HOT]: 9, 'poll-colour': 3 } }));

    // Assess
    expect(report).toEqual({
      polls: 3,
      votes: 8,
      markers: 2,
      resultItems: 3,
      hotPollId: HOT,
      hotPollVotes: 6,
      hotPollShare: 0.75,
      voteWrites: 12,
      hotPollWriteShare: 0.75,
      delivery: { invocations: 7, failedInvocations: 2, recordsRedelivered: 40 },
      missing: 0,
      drifted: 0,
      orphaned: 0,
      negative: 0,
      badWatermarks: 0,
      malformed: 0,
      ok: true,
      problems: [],
    });
  });

  it('is ok and reports no share when nobody voted', () => {
    // Act
    const report = checkVoteCounts(input([], []));

    // Assess
    expect(report).toMatchObject({
      polls: 0,
      votes: 0,
      hotPollShare: null,
      hotPollWriteShare: null,
      ok: true,
    });
  });

  it.each([
    [
      'a count one short (a re-delivered record dropped twice)',
      { margherita: 2, funghi: 2 },
      {},
      /stored counts .* total 4, the Votes table counts .* total 5 \(stored → recount: margherita 2 → 3, total 4 → 5\)/,
    ],
    [
      'a count one over (a re-delivered record applied twice)',
      { margherita: 4, funghi: 2 },
      {},
      /margherita 4 → 3, total 6 → 5/,
    ],
    [
      'an option the poll has no vote for',
      { margherita: 3, funghi: 2, diavola: 1 },
      { total: 5 },
      /\(stored → recount: diavola 1 → 0\)/,
    ],
    [
      'a total that is not the recount',
      { margherita: 3, funghi: 2 },
      { total: 7 },
      /\(stored → recount: total 7 → 5\)/,
    ],
  ])('counts %s as drifted', (_name, counts, overrides, expected) => {
    // Prepare
    const votes = votesOf(HOT, { margherita: 3, funghi: 2 });

    // Act
    const report = checkVoteCounts(input(votes, [results(HOT, counts, overrides)]));

    // Assess
    expect(report).toMatchObject({ drifted: 1, missing: 0, orphaned: 0, ok: false });
    expect(report.problems).toHaveLength(1);
    expect(report.problems[0]).toMatch(new RegExp(`^poll ${HOT}: `));
    expect(report.problems[0]).toMatch(expected);
  });

  it.each([
    ['equal', { constructor: 2 }, 0],
    ['short', { toString: 1 }, 1],
  ])('compares options named like object members by their counts only (%s)', (_name, stored, drifted) => {
    // Prepare: option names are free text to the API.
    const votes = votesOf('poll-js', { constructor: 2 });

    // Act
    const report = checkVoteCounts(input(votes, [results('poll-js', stored, { total: 2 })]));

    // Assess
    expect(report).toMatchObject({ drifted, malformed: 0 });
    if (drifted > 0) expect(report.problems[0]).toMatch(/constructor 0 → 2, toString 1 → 0/);
  });

  it('counts a negative count as negative as well as drifted', () => {
    // Prepare: a retraction applied twice took funghi below zero.
    const votes = votesOf(HOT, { margherita: 3 });

    // Act
    const report = checkVoteCounts(input(votes, [results(HOT, { margherita: 3, funghi: -1 })]));

    // Assess
    expect(report).toMatchObject({ negative: 1, drifted: 1, ok: false });
    expect(report.problems[0]).toMatch(/negative count/);
  });

  it('counts a poll with votes and no item as missing', () => {
    // Act
    const report = checkVoteCounts(input(votesOf('poll-weekday', { mon: 2 }), []));

    // Assess
    expect(report).toMatchObject({ missing: 1, polls: 1, ok: false });
    expect(report.problems).toEqual(['poll poll-weekday has 2 votes ({"mon":2}) but no PollResults item']);
  });

  it.each([
    ['a count', results('poll-editor', { vim: 1 })],
    ['only a total', results('poll-editor', { vim: 0 }, { total: 2 })],
    ['a negative count', results('poll-editor', { vim: -1 }, { total: 0 })],
  ])('counts an item of a poll without votes holding %s as orphaned', (_name, item) => {
    // Act: only a marker in the Votes table, which counts nothing.
    const report = checkVoteCounts(input([marker('poll-editor')], [item]));

    // Assess
    expect(report).toMatchObject({ orphaned: 1, drifted: 0, ok: false });
    expect(
      report.problems.some((text) => /poll poll-editor has no votes, but its item holds/.test(text)),
    ).toBe(true);
  });

  it.each([
    ['the raw sequence number', '400000000000000000123'],
    ['41 digits', `0${WATERMARK}`],
    ['a number', 123],
    ['nothing', undefined],
  ])('counts a watermark that is %s as bad', (_name, lastSeq) => {
    // Act
    const report = checkVoteCounts(
      input(votesOf(HOT, { funghi: 1 }), [results(HOT, { funghi: 1 }, { lastSeq })]),
    );

    // Assess: the counts are right; the watermark alone fails the poll.
    expect(report).toMatchObject({ badWatermarks: 1, drifted: 0, malformed: 0, ok: false });
    expect(report.problems[0]).toMatch(/lastSeq .* is not a 40-digit string/);
  });

  it.each([
    ['counts that are not integers', { counts: { funghi: 1.5 } }, /counts/],
    ['a total that is not a number', { total: '1' }, /total/],
    ['an asOf that is not a time', { asOf: 'yesterday' }, /asOf/],
  ])('counts an item with %s as malformed', (_name, overrides, field) => {
    // Act
    const report = checkVoteCounts(
      input(votesOf(HOT, { funghi: 1 }), [results(HOT, { funghi: 1 }, overrides)]),
    );

    // Assess
    expect(report).toMatchObject({ malformed: 1, ok: false });
    expect(report.problems[0]).toMatch(/is not what the API reads/);
    expect(report.problems[0]).toMatch(field);
  });

  it('counts a Votes item without an option as malformed rather than a vote', () => {
    // Act
    const report = checkVoteCounts(input([{ pollId: HOT, voterId: 'voter-1' }], []));

    // Assess
    expect(report).toMatchObject({ malformed: 1, votes: 0, missing: 0, ok: false });
  });

  it('keeps at most MAX_PROBLEMS examples however many polls drifted', () => {
    // Prepare
    const polls = Array.from({ length: 30 }, (_, i) => `poll-${String(i).padStart(2, '0')}`);

    // Act
    const report = checkVoteCounts(
      input(
        polls.flatMap((pollId) => votesOf(pollId, { red: 2 })),
        polls.map((pollId) => results(pollId, { red: 1 })),
      ),
    );

    // Assess: the examples come in poll order.
    expect(report.drifted).toBe(30);
    expect(report.problems).toHaveLength(MAX_PROBLEMS);
    expect(report.problems[0]).toMatch(/^poll poll-00:/);
  });
});

describe('voteWritesByPoll', () => {
  it('counts the successful casts, changes and retractions per poll, and nothing else', () => {
    // Prepare
    const log = [
      operation(0, 'vote', HOT, 201),
      operation(1, 'changeVote', HOT, 200),
      operation(2, 'retractVote', 'poll-colour', 204),
      operation(3, 'retractVote', HOT, 404),
      operation(4, 'vote', HOT, 0),
      operation(5, 'createOrder', undefined, 201),
    ];

    // Act
    const writes = voteWritesByPoll(log);

    // Assess
    expect(writes).toEqual({ [HOT]: 2, 'poll-colour': 1 });
  });
});

describe('formatShare', () => {
  it.each([
    [0.6123, '61.2%'],
    [1, '100.0%'],
    [null, 'n/a'],
  ])('shows %s as %s', (value, text) => {
    // Act & Assess
    expect(formatShare(value)).toBe(text);
  });
});
