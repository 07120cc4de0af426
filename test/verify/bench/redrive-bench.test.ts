import { describe, expect, it } from 'vitest';
import { describeRedriveFigures, redriveFigures } from '../../../verify/bench/redrive-bench.js';
import type { OpsCallCounts } from '../../../verify/drill/counting-ops-aws.js';
import type { OutageDrillResult, RedriveRun } from '../../../verify/drill/outage-drill.js';

const NO_DOWNSTREAM = { sns: 0, ses: 0, sqs: 0, s3: 0, opensearch: 0, dynamodb: 0 };

function calls(overrides: Partial<OpsCallCounts>): OpsCallCounts {
  return { receiveMessage: 0, deleteMessage: 0, invoke: 0, getShardIterator: 0, getRecords: 0, ...overrides };
}

function run(overrides: Partial<RedriveRun> & Pick<RedriveRun, 'consumer'>): RedriveRun {
  return {
    exitCode: 0,
    letters: { runtime: 0, onFailure: 0 },
    lettersRead: 0,
    redriven: 0,
    recordsInvoked: 0,
    invocations: 0,
    kept: [],
    seconds: 0,
    recordsPerSecond: null,
    calls: calls({}),
    downstreamCalls: NO_DOWNSTREAM,
    invokesPerRecord: null,
    sqsCallsPerLetter: null,
    streamCallsPerRange: null,
    downstreamCallsPerRecord: null,
    ...overrides,
  };
}

/** A drill's result with two redrives; the checks are not read by the figures. */
function drillResult(): OutageDrillResult {
  return {
    streamRecords: { orders: 300, votes: 200 },
    outage: {
      faults: { serviceCalls: 50, searchItemsRefused: 10, searchItemsRejected: 12, functionErrors: 7 },
      letters: { 'search-sync': { runtime: 10, onFailure: 2 }, 'audit-log': { runtime: 0, onFailure: 3 } },
    },
    redrive: [
      run({
        consumer: 'search-sync',
        letters: { runtime: 10, onFailure: 2 },
        lettersRead: 12,
        recordsInvoked: 60,
        invocations: 12,
        seconds: 2,
        calls: calls({
          receiveMessage: 3,
          deleteMessage: 12,
          invoke: 12,
          getShardIterator: 2,
          getRecords: 4,
        }),
        downstreamCalls: { ...NO_DOWNSTREAM, opensearch: 12 },
      }),
      run({
        consumer: 'audit-log',
        letters: { runtime: 0, onFailure: 3 },
        lettersRead: 3,
        recordsInvoked: 140,
        invocations: 3,
        seconds: 2,
        calls: calls({ receiveMessage: 2, deleteMessage: 3, invoke: 3, getShardIterator: 3, getRecords: 6 }),
        downstreamCalls: { ...NO_DOWNSTREAM, s3: 3 },
      }),
    ],
    checks: {} as OutageDrillResult['checks'],
    secondRedrive: { runs: [], unchanged: true, differences: [] },
    replay: {
      exitCode: 0,
      from: '2026-01-01T00:00:00.000Z',
      to: '2026-01-01T00:05:00.000Z',
      records: 300,
      recordsDone: 300,
      invocations: 3,
      seconds: 1.5,
      recordsPerSecond: 200,
      calls: calls({ invoke: 3 }),
      downstreamCalls: { ...NO_DOWNSTREAM, s3: 4, opensearch: 3 },
      invokesPerRecord: 0.01,
      downstreamCallsPerRecord: 0.023,
      search: {} as OutageDrillResult['replay']['search'],
    },
    ok: true,
    problems: [],
  };
}

describe('redriveFigures', () => {
  it('sums the redrives: records per wall second, Invoke and downstream calls per record, SQS calls per letter', () => {
    // Prepare
    const result = drillResult();

    // Act
    const figures = redriveFigures(result, {
      maxRecordAgeMs: 3000,
      normalOperations: 20,
      outageOperations: 40,
    });

    // Assess
    expect(figures.letters).toEqual({ runtime: 10, onFailure: 5 });
    expect(figures.total).toEqual({
      recordsInvoked: 200,
      seconds: 4,
      recordsPerSecond: 50,
      invokesPerRecord: 0.075,
      sqsCallsPerLetter: 1.333,
      downstreamCallsPerRecord: 0.075,
    });
    expect(Object.keys(figures.consumers)).toEqual(['search-sync', 'audit-log']);
    expect(figures.replay).toMatchObject({
      records: 300,
      recordsPerSecond: 200,
      downstreamCallsPerRecord: 0.023,
    });
    expect(figures).toMatchObject({ maxRecordAgeMs: 3000, operations: { normal: 20, outage: 40 }, ok: true });
  });

  it('describes the figures and says when the drill failed', () => {
    // Prepare
    const failed = { ...drillResult(), ok: false, problems: ['redrive search-sync exited 1'] };

    // Act
    const text = describeRedriveFigures(
      redriveFigures(failed, { maxRecordAgeMs: 3000, normalOperations: 20, outageOperations: 40 }),
    );

    // Assess
    expect(text).toContain('search-sync');
    expect(text).toContain('200 records in 4 s (50/s)');
    expect(text).toContain('NOT OK: redrive search-sync exited 1');
  });
});
