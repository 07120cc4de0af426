import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPS_CONSUMERS } from '../../../lib/stage-outputs.js';
import { type OutageDrillResult, runOutageDrill } from '../../../verify/drill/outage-drill.js';
import { HANG_TIMEOUT_MS } from '../../support/hang.js';

/**
 * The outage drill end to end in the sandbox (verify/drill/outage-drill.ts): correctness only. Its figures
 * (throughput, calls per record) are the `redrive` benchmark's; no timing is asserted here.
 */
describe('the outage drill: DLQs filled by an outage, redriven, replayed', () => {
  let outputDir: string;
  let result: OutageDrillResult;
  const lines: string[] = [];

  beforeAll(async () => {
    outputDir = mkdtempSync(join(tmpdir(), 'outage-drill-'));
    result = await runOutageDrill({
      seed: 15,
      normalOperations: 120,
      outageOperations: 120,
      maxRecordAgeMs: 3_000,
      // Generous: a redriven batch must succeed on a busy machine, and the outage's failures are immediate anyway.
      functionTimeoutMs: 30_000,
      maxBatchingWindowMs: 200,
      outputDir,
      hangTimeoutMs: HANG_TIMEOUT_MS,
      log: (line) => lines.push(line),
    });
  }, HANG_TIMEOUT_MS);

  afterAll(() => {
    rmSync(outputDir, { recursive: true, force: true });
  });

  it('fills every consumer’s DLQ during the outage, with both kinds of letter', () => {
    // Assess
    for (const consumer of OPS_CONSUMERS) {
      const letters = result.outage.letters[consumer]!;
      expect(letters.runtime + letters.onFailure, consumer).toBeGreaterThan(0);
    }
    const letters = Object.values(result.outage.letters);
    expect(letters.some((counts) => counts.runtime > 0)).toBe(true);
    expect(letters.some((counts) => counts.onFailure > 0)).toBe(true);
    expect(result.outage.faults.searchItemsRefused).toBeGreaterThan(0);
  });

  it('redrives every consumer with exit code 0 and deletes every letter', () => {
    // Assess
    expect(result.redrive.map((run) => run.consumer).sort()).toEqual([...OPS_CONSUMERS].sort());
    for (const run of result.redrive) {
      expect(run.exitCode, run.consumer).toBe(0);
      expect(run.lettersRead, run.consumer).toBe(run.letters.runtime + run.letters.onFailure);
      expect(run.redriven, run.consumer).toBe(run.lettersRead);
      expect(run.calls.deleteMessage, run.consumer).toBe(run.lettersRead);
    }
    expect(result.checks.dlqsEmpty).toBe(true);
  });

  it('brings every target back to the table: fan-out effects exactly once, index, votes, audit log', () => {
    // Assess
    expect(result.checks.fanout.problems).toEqual([]);
    expect(result.checks.effectsExactlyOnce).toBe(true);
    expect(result.checks.search.problems).toEqual([]);
    expect(result.checks.search.ok).toBe(true);
    expect(result.checks.votes.problems).toEqual([]);
    expect(result.checks.votes.ok).toBe(true);
    expect(result.checks.audit.problems).toEqual([]);
    expect(result.checks.audit.ok).toBe(true);
  });

  it('changes nothing on a second redrive', () => {
    // Assess
    for (const run of result.secondRedrive.runs) {
      expect(run.exitCode, run.consumer).toBe(0);
      expect(run.lettersRead, run.consumer).toBe(0);
      expect(run.recordsInvoked, run.consumer).toBe(0);
    }
    expect(result.secondRedrive.differences).toEqual([]);
    expect(result.secondRedrive.unchanged).toBe(true);
  });

  it('replays search-sync into an emptied index until it equals the table', () => {
    // Assess
    expect(result.replay.exitCode).toBe(0);
    expect(result.replay.records).toBe(result.streamRecords.orders);
    expect(result.replay.recordsDone).toBe(result.replay.records);
    expect(result.replay.search.problems).toEqual([]);
    expect(result.replay.search.ok).toBe(true);
  });

  it('reports ok with no problem', () => {
    // Assess
    expect(result.problems).toEqual([]);
    expect(result.ok).toBe(true);
  });
});
