import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { ChaosResult } from '../../../verify/chaos/chaos-run.js';
import { type CliRun, runTsxCli } from '../../support/cli.js';
import { HANG_TIMEOUT_MS } from '../../support/hang.js';

const REPO = fileURLToPath(new URL('../../..', import.meta.url));

/** Runs the chaos CLI as `npm run chaos` does, collecting its output. */
function runCli(args: readonly string[]): Promise<CliRun> {
  return runTsxCli('verify/chaos/chaos.ts', args);
}

describe('npm run chaos', () => {
  let outputDir: string | undefined;
  afterAll(async () => {
    if (outputDir !== undefined) await rm(outputDir, { recursive: true, force: true });
  });

  it('holds every invariant under injected faults at CI size', async () => {
    // Prepare
    outputDir = await mkdtemp(join(tmpdir(), 'chaos-'));

    // Act: crashes and timeouts more often than by default, so that even a run this small re-delivers whole batches.
    // The drain waits until the streams are drained; its bound only has to catch a hang, never a slow machine.
    const run = await runCli([
      ...['--seed', '1', '--operations', '300', '--crash-rate', '0.2', '--timeout-rate', '0.05'],
      ...['--drain-timeout-seconds', String(HANG_TIMEOUT_MS / 1000)],
      ...['--json', '--output-dir', outputDir],
    ]);

    // Assess: one JSON line on stdout, the whole contract held.
    const lines = run.stdout.trim().split('\n');
    expect(lines, run.stderr).toHaveLength(1);
    const result = JSON.parse(lines[0]!) as ChaosResult;
    // On failure, say which check failed and how: the JSON's problem lists, then the run's log.
    const explanation = [
      `problems: ${JSON.stringify(result.problems)}`,
      `fan-out problems: ${JSON.stringify(result.fanout?.problems)}`,
      `search problems: ${JSON.stringify(result.search?.problems)}`,
      `audit problems: ${JSON.stringify(result.audit?.problems)}`,
      `votes problems: ${JSON.stringify(result.votes?.problems)}`,
      run.stderr,
    ].join('\n');
    expect(result, explanation).toMatchObject({
      seed: 1,
      operations: 300,
      lost: 0,
      orderViolations: 0,
      unexpected: 0,
      drained: true,
      ok: true,
    });
    expect(result.poisonInDlq).toBe(result.poisonExpected);
    expect(result.poisonExpected).toBeGreaterThan(0);
    expect(result.records).toBeGreaterThan(0);
    // The faults really happened, or the run proved nothing.
    expect(result.faults.transientErrors).toBeGreaterThan(0);
    expect(result.faults.crashes + result.faults.timeouts).toBeGreaterThan(0);
    expect(result.faults.searchItemFaults).toBeGreaterThan(0);
    // The search sync's index equals the table: every order indexed, every deleted one a tombstone or nothing.
    expect(result.search).toMatchObject({ missing: 0, stale: 0, extra: 0, resurrected: 0, ok: true });
    expect(result.search?.live).toBeGreaterThan(0);
    // The audit bucket holds every record of the Orders stream, exactly once after dropping duplicate eventIDs, and
    // no object was ever overwritten.
    expect(result.audit).toMatchObject({
      missing: 0,
      unexpected: 0,
      mismatched: 0,
      overwrites: 0,
      keyCollisions: 0,
      unconditionalPuts: 0,
      misfiled: 0,
      outOfOrder: 0,
      malformed: 0,
      ok: true,
    });
    expect(result.audit?.streamRecords).toBe(result.records);
    expect(result.audit?.eventIds).toBe(result.records);
    expect(result.audit?.objects).toBeGreaterThan(0);
    // Every poll's results equal a recount of the Votes table, the hot poll holding most of the votes.
    expect(result.votes).toMatchObject({
      missing: 0,
      drifted: 0,
      orphaned: 0,
      negative: 0,
      badWatermarks: 0,
      malformed: 0,
      ok: true,
    });
    expect(result.votes?.votes).toBeGreaterThan(0);
    expect(result.votes?.hotPollShare).toBeGreaterThan(0.5);
    // Re-delivery of the aggregator is not asserted here: its 1 s batching window gathers a run this small into a
    // handful of invocations, and whether one of them draws a fault depends on how the batches were cut (timing).
    // The default run (2,000 operations) reports its failed invocations and re-delivered records.
    expect(result.votes?.delivery.invocations).toBeGreaterThan(0);
    expect(run.code).toBe(0);
  });

  it('exits with code 2 and names the bad flag, before starting anything', () => {
    // Act
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'verify/chaos/chaos.ts', '--operations', 'many'],
      {
        cwd: REPO,
        encoding: 'utf8',
      },
    );

    // Assess
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('--operations must be an integer >= 1, got "many"');
    expect(run.stdout).toBe('');
  });
});
