import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliRun, runTsxCli } from '../../support/cli.js';
import { createTestTables, localDynamoDb, type TestTables } from '../../support/dynamodb.js';

/** Runs `npm run reconcile:votes -- <args>`; no region in the environment, so only --endpoint reaches a table. */
function reconcile(args: readonly string[]): Promise<CliRun> {
  return runTsxCli('ops/reconcile/reconcile.ts', args, {
    env: { ...process.env, AWS_REGION: '', AWS_DEFAULT_REGION: '' },
  });
}

describe('npm run reconcile:votes', () => {
  let tables: TestTables;

  beforeAll(async () => {
    // Prepare: poll-1 agrees with its results, poll-2 has votes and no results (the aggregator never applied them).
    tables = await createTestTables();
    const { documentClient } = localDynamoDb();
    const votedAt = '2030-01-01T00:00:00.000Z';
    const votes = [
      { pollId: 'poll-1', voterId: 'v1', option: 'yes', votedAt },
      { pollId: 'poll-1', voterId: 'v2', option: 'no', votedAt },
      { pollId: 'poll-2', voterId: 'v1', option: 'a', votedAt },
    ];
    for (const Item of votes) await documentClient.send(new PutCommand({ TableName: tables.Votes, Item }));
    await documentClient.send(
      new PutCommand({
        TableName: tables.PollResults,
        Item: {
          pollId: 'poll-1',
          counts: { yes: 1, no: 1 },
          total: 2,
          lastSeq: '7'.padStart(40, '0'),
          asOf: votedAt,
          records: 2,
        },
      }),
    );
  });

  afterAll(async () => {
    await tables.drop();
  });

  const common = (): string[] => [
    '--votes-table',
    tables.Votes,
    '--results-table',
    tables.PollResults,
    '--endpoint',
    localDynamoDb().endpoint,
  ];

  it('answers a bad flag with exit code 2, naming the flag, and the usage', async () => {
    // Act
    const result = await reconcile(['--votes-table', 'Votes', '--results-table', 'R', '--attempts', '2']);

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--attempts applies only with --fix');
    expect(result.stderr).toContain('Usage: npm run reconcile:votes');
  });

  it('reports drift with exit code 1, per poll, and says drift may be in flight', async () => {
    // Act
    const text = await reconcile([...common(), '--segments', '2']);
    const json = await reconcile([...common(), '--json']);

    // Assess: the text report.
    expect(text.code).toBe(1);
    expect(text.stdout).toContain('2 poll(s) checked');
    expect(text.stdout).toContain('poll-2: DRIFT, total 0 stored / 1 recounted (-1), no PollResults item');
    expect(text.stdout).toContain('a: 0 stored / 1 recounted (-1)');
    expect(text.stdout).toContain('poll-1: ok, total 2 (lastSeq 7, asOf 2030-01-01T00:00:00.000Z)');
    expect(text.stdout).toContain('can show drift that is only in flight');
    expect(text.stdout).toContain('Result: drift remains.');

    // Assess: --json, one object as the last line.
    expect(json.code).toBe(1);
    const summary = JSON.parse(json.stdout.trim().split('\n').at(-1)!);
    expect(summary).toMatchObject({ checked: 2, drifting: 1, ok: false, polls: [{ pollId: 'poll-2' }, {}] });
  });

  it('reports one poll without drift with exit code 0', async () => {
    // Act
    const result = await reconcile([...common(), '--poll', 'poll-1']);

    // Assess
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('poll poll-1: 1 poll(s) checked');
    expect(result.stdout).toContain('Result: no drift.');
  });
});
