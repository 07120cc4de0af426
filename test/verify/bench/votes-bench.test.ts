import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BENCHMARKS } from '../../../verify/bench/benchmarks.js';
import {
  BENCH_VOTE_OPTIONS,
  contestantFigures,
  describeVotes,
  hotTargets,
  perSecondBuckets,
  planVotes,
  type Tallies,
  tallyDrift,
  type VotesContestantFigures,
  type VotesDeployedFigures,
  type VotesHotComparison,
  type VotesSpreadComparison,
  votesBenchmark,
} from '../../../verify/bench/votes-bench.js';
import { createTestTables, localDynamoDb, type TestTables } from '../../support/dynamodb.js';
import { testEsmConfig } from '../../support/esm-configs.js';

/** A contestant that wrote `writes` times for 10,000 votes in 100 batches, `first` of them in the first batch. */
function contestant(writes: number, first = writes / 100): VotesContestantFigures {
  const later = (writes - first) / 99;
  return contestantFigures({
    batchSize: 100,
    batches: Array.from({ length: 100 }, (_unused, index) => ({
      votes: 100,
      writes: index === 0 ? first : later,
    })),
    writesByTable: { results: writes, idempotency: 0 },
    calls: { byOperation: { UpdateItem: writes }, total: writes },
    exact: true,
    redelivery: { batch: 99, votes: 100, writes: 1, exact: true, drift: 0 },
    failedRecords: 0,
    deadLettered: 0,
    handlerMs: 2_000,
  });
}

function deployed(maxHotItemWritesPerSecond: number, achievedVotesPerSecond = 1_000): VotesDeployedFigures {
  return {
    mapping: { batchSize: 1_000, batchingWindowMs: 1_000, parallelizationFactor: 1, source: 'template' },
    feed: {
      how: 'memory',
      targetVotesPerSecond: 1_000,
      achievedVotesPerSecond,
      votesPerSecond: [1_000],
      seconds: 10,
    },
    votes: 10_000,
    invocations: 11,
    batchSizes: [],
    writes: 12,
    writesPer1000Votes: 1.2,
    invocationsPerSecond: [],
    maxInvocationsPerSecond: 2,
    hotItemWritesPerSecond: [],
    maxHotItemWritesPerSecond,
    exact: true,
    failedRecords: 0,
  };
}

describe('the votes benchmark workload', () => {
  it('plans casts, changes and retractions of held votes only, one record each, a voter at most once per tick', () => {
    // Act
    const plan = planVotes({ votes: 2_000, polls: 5, seed: 3, pollPrefix: 'p' });

    // Assess: replaying the plan, every change picks another option of a held vote, every retraction a held vote.
    const held = new Map<string, string>();
    const kinds = { cast: 0, change: 0, retract: 0 };
    for (const tick of plan) {
      const keys = tick.map((step) => `${step.pollId}/${step.voterId}`);
      expect(new Set(keys).size).toBe(keys.length);
      expect(tick.length).toBeLessThanOrEqual(50);
      for (const step of tick) {
        const key = `${step.pollId}/${step.voterId}`;
        kinds[step.kind] += 1;
        if (step.kind === 'cast') {
          expect(held.has(key)).toBe(false);
          expect(BENCH_VOTE_OPTIONS).toContain(step.option);
          held.set(key, step.option);
        } else if (step.kind === 'change') {
          expect(held.get(key)).toBeDefined();
          expect(held.get(key)).not.toBe(step.option);
          held.set(key, step.option);
        } else {
          expect(held.delete(key)).toBe(true);
        }
      }
    }
    expect(kinds.cast + kinds.change + kinds.retract).toBe(2_000);
    // Assess: roughly the default mix (80/15/5), polls p-0 to p-4, and the same plan for the same seed.
    expect(kinds.cast).toBeGreaterThan(1_500);
    expect(kinds.change).toBeGreaterThan(200);
    expect(kinds.retract).toBeGreaterThan(50);
    expect(new Set(plan.flat().map((step) => step.pollId))).toEqual(
      new Set(['p-0', 'p-1', 'p-2', 'p-3', 'p-4']),
    );
    expect(planVotes({ votes: 2_000, polls: 5, seed: 3, pollPrefix: 'p' })).toEqual(plan);
  });
});

describe('the votes benchmark figures', () => {
  it('measures drift as votes miscounted, zero counts equal to absent ones', () => {
    // Prepare
    const recount: Tallies = new Map([['p', { counts: { yes: 2, no: 1 }, total: 3 }]]);

    // Act and Assess
    expect(tallyDrift(new Map([['p', { counts: { yes: 2, no: 1, maybe: 0 }, total: 3 }]]), recount)).toBe(0);
    expect(tallyDrift(new Map([['p', { counts: { yes: 3, no: 1 }, total: 4 }]]), recount)).toBe(2);
    expect(tallyDrift(new Map([['q', { counts: { yes: 0 }, total: 0 }]]), recount)).toBe(6);
    expect(tallyDrift(new Map(), new Map())).toBe(0);
  });

  it('counts per 1-second bucket from the start, empty seconds included', () => {
    expect(perSecondBuckets([1_000, 1_999, 3_500, 500], 1_000, 4)).toEqual([3, 0, 1, 0]);
    expect(perSecondBuckets([], 0)).toEqual([]);
  });

  it('adds up a contestant: writes per 1,000 votes, per batch, and after the first batch', () => {
    // Act: the hot poll at batch size 100: 2 writes in the first batch (its item created), then 1 per batch.
    const figures = contestant(101, 2);

    // Assess
    expect(figures).toMatchObject({
      votes: 10_000,
      batches: 100,
      writes: 101,
      writesPer1000Votes: 10.1,
      writesPerBatch: { min: 1, max: 2 },
      afterFirstBatch: { votes: 9_900, writes: 99, writesPer1000Votes: 10 },
      votesPerSecond: 5_000,
    });
  });

  it('checks the hot targets: 10 writes per 1,000 votes once the item exists, 100x fewer than (b), 5 writes/s', () => {
    // Prepare
    const base = {
      unit: 'aggregate writes per 1,000 votes' as const,
      baseline: 'perRecordIdempotent' as const,
      workload: {
        votes: 10_000,
        polls: 1,
        mix: { cast: 0.8, change: 0.15, retract: 0.05 },
        records: 10_000,
        inserts: 8_000,
        modifies: 1_500,
        removes: 500,
        failedWrites: 0,
        batches: 100,
        writeSeconds: 10,
      },
      batchSize: 100,
      ours: contestant(101, 2),
      perRecord: contestant(10_002),
      perRecordIdempotent: contestant(30_002),
      timesFewerThanIdempotent: 297.1,
      timesFewerThanPerRecord: 99,
      notes: [],
    };

    // Act
    const met = hotTargets({ ...base, deployed: deployed(2) });
    const missed = hotTargets({
      ...base,
      ours: contestant(400, 4),
      perRecordIdempotent: contestant(30_000),
      deployed: deployed(6),
    });
    const slowFeed = hotTargets({ ...base, deployed: deployed(1, 500) });

    // Assess
    expect(met).toEqual({
      atMost10WritesPer1000Votes: true,
      hundredTimesFewerThanIdempotent: true,
      hotItemAtMost5WritesPerSecond: true,
      exactUnderRedelivery: true,
    });
    expect(missed).toMatchObject({
      atMost10WritesPer1000Votes: false,
      hundredTimesFewerThanIdempotent: false,
      hotItemAtMost5WritesPerSecond: false,
    });
    expect(slowFeed.hotItemAtMost5WritesPerSecond).toBe(false);
    expect(hotTargets({ ...base, deployed: undefined }).hotItemAtMost5WritesPerSecond).toBe(false);

    // Act: the text output.
    const hot: VotesHotComparison = { ...base, deployed: deployed(2), meetsTarget: met };
    const lines = describeVotes('votes-hot', hot).split('\n');

    // Assess
    expect(lines).toHaveLength(9);
    expect(lines[0]).toMatch(
      /^Votes \(votes-hot\), 10000 votes on 1 poll\(s\).*297\.1x fewer aggregate writes/,
    );
    expect(lines[1]).toMatch(/^ {2}ours +10\.1 writes per 1,000 votes \(101 writes/);
    expect(lines[3]).toMatch(/^ {2}per record \+ idem\. \(b\) +3000\.2 writes per 1,000 votes/);
    expect(lines[4]).toContain('max 2 writes/s on the hot item');
    expect(lines[5]).toMatch(/^ {2}target met: at most 10 writes per 1,000 votes at batch size 100/);
  });

  it('is in the registry, after audit', () => {
    const names = BENCHMARKS.map((benchmark) => benchmark.name);
    expect(names.indexOf('votes')).toBe(names.indexOf('audit') + 1);
  });
});

describe('the votes benchmark, end to end on a small workload', () => {
  let tables: TestTables;
  let outputDir: string;

  beforeAll(async () => {
    tables = await createTestTables();
    outputDir = mkdtempSync(join(tmpdir(), 'bench-votes-test-'));
  });

  afterAll(async () => {
    await tables.drop();
    rmSync(outputDir, { recursive: true, force: true });
  });

  it('feeds every contestant the same batches and counts their aggregate writes exactly', async () => {
    // Prepare: 300 votes on one poll and on 4 polls, batches of 100, the deployed mapping at 1,000 votes/s.
    const benchmark = votesBenchmark({
      votes: 300,
      spreadPolls: 4,
      deployed: {
        votesPerSecond: 1_000,
        config: testEsmConfig({
          consumerName: 'vote-aggregator',
          tableConstructId: 'Votes',
          batchSize: 1_000,
          maximumBatchingWindowMs: 1_000,
        }),
      },
      dynamodb: {
        endpoint: localDynamoDb().endpoint,
        votesTable: tables.Votes,
        pollResultsTable: tables.PollResults,
        idempotencyTable: tables.Idempotency,
      },
    });

    // Act
    const result = await benchmark.run({
      ratePerSecond: 50,
      seconds: 60,
      seed: 5,
      outputDir,
      log: () => undefined,
    });

    // Assess: every planned write is one record, in 3 batches of 100.
    const hot = result.comparisons?.['votes-hot'] as VotesHotComparison;
    const spread = result.comparisons?.['votes-spread'] as VotesSpreadComparison;
    for (const comparison of [hot, spread]) {
      expect(comparison.unit).toBe('aggregate writes per 1,000 votes');
      const { workload } = comparison;
      expect(workload.records).toBe(300);
      expect(workload.inserts + workload.modifies + workload.removes).toBe(300);
      expect(workload.failedWrites).toBe(0);
      expect(workload.batches).toBe(3);
    }
    // Assess, hot: ours one write per batch, plus the update that found no item before the create; (a) one per
    // record plus the refused ADD and the map's creation; (b) that plus two idempotency writes per record.
    expect(hot.ours).toMatchObject({
      votes: 300,
      writes: 4,
      writesByTable: { results: 4, idempotency: 0 },
      writesPerBatch: { min: 1, max: 2 },
      afterFirstBatch: { votes: 200, writes: 2, writesPer1000Votes: 10 },
      exact: true,
      redelivery: { batch: 2, votes: 100, writes: 1, exact: true, drift: 0 },
    });
    expect(hot.perRecord).toMatchObject({
      writes: 302,
      exact: true,
      redelivery: { writes: 100, exact: false },
    });
    expect(hot.perRecord.redelivery.drift).toBeGreaterThan(0);
    expect(hot.perRecordIdempotent).toMatchObject({
      writes: 902,
      writesByTable: { results: 302, idempotency: 600 },
      exact: true,
      redelivery: { writes: 100, exact: true },
    });
    expect(hot.timesFewerThanIdempotent).toBe(225.5);
    expect(hot.meetsTarget).toMatchObject({
      atMost10WritesPer1000Votes: true,
      hundredTimesFewerThanIdempotent: true,
      exactUnderRedelivery: true,
    });
    // Assess, hot deployed: one write per invocation (one poll), plus the first one's update that found no item.
    const live = hot.deployed!;
    expect(live.mapping).toEqual({
      batchSize: 1_000,
      batchingWindowMs: 1_000,
      parallelizationFactor: 1,
      source: 'options',
    });
    expect(live.votes).toBe(300);
    expect(live.batchSizes.reduce((sum, size) => sum + size, 0)).toBe(300);
    expect(live.writes).toBe(live.invocations + 1);
    expect(live.hotItemWritesPerSecond.reduce((sum, n) => sum + n, 0)).toBe(live.writes);
    expect(live.invocationsPerSecond.reduce((sum, n) => sum + n, 0)).toBe(live.invocations);
    expect(live.exact).toBe(true);
    expect(live.failedRecords).toBe(0);
    // Assess, spread: with 100 records over 4 polls every batch holds all 4: ours 4 per batch plus 4 creations.
    expect(spread.workload.polls).toBe(4);
    expect(spread.ours).toMatchObject({
      writes: 16,
      exact: true,
      redelivery: { writes: 4, exact: true },
    });
    expect(spread.perRecord).toMatchObject({ writes: 308, redelivery: { writes: 100, exact: false } });
    expect(spread.perRecordIdempotent).toMatchObject({
      writes: 908,
      writesByTable: { results: 308, idempotency: 600 },
      redelivery: { writes: 100, exact: true },
    });
    expect(spread.meetsTarget).toEqual({ exactUnderRedelivery: true });
    expect('deployed' in spread).toBe(false);
  });
});
