import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../ops/cli/flags.js';
import { parseReconcileArgs, RECONCILE_DEFAULTS } from '../../../ops/reconcile/reconcile-options.js';

const TABLES = ['--votes-table', 'Votes', '--results-table', 'PollResults'];

/** The UsageError message a command line gets (fails the test when it parses). */
function usageError(argv: readonly string[]): string {
  try {
    parseReconcileArgs(argv);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error(`${argv.join(' ')} parsed`);
}

describe('parseReconcileArgs', () => {
  it('reports every poll by default, with 4 segments', () => {
    expect(parseReconcileArgs(TABLES)).toEqual({
      votesTable: 'Votes',
      resultsTable: 'PollResults',
      region: undefined,
      endpoint: undefined,
      poll: undefined,
      fix: false,
      segments: RECONCILE_DEFAULTS.segments,
      waitSeconds: RECONCILE_DEFAULTS.waitSeconds,
      attempts: RECONCILE_DEFAULTS.attempts,
      json: false,
    });
  });

  it('reads every flag', () => {
    // Act
    const options = parseReconcileArgs([
      ...TABLES,
      '--region',
      'us-east-1',
      '--endpoint',
      'http://127.0.0.1:8000',
      '--poll',
      'poll-1',
      '--fix',
      '--wait-seconds',
      '2.5',
      '--attempts',
      '5',
      '--json',
    ]);

    // Assess
    expect(options).toEqual({
      votesTable: 'Votes',
      resultsTable: 'PollResults',
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:8000',
      poll: 'poll-1',
      fix: true,
      segments: RECONCILE_DEFAULTS.segments,
      waitSeconds: 2.5,
      attempts: 5,
      json: true,
    });
    expect(parseReconcileArgs([...TABLES, '--segments', '16'])).toMatchObject({ segments: 16 });
    expect(parseReconcileArgs(['--help'])).toBe('help');
  });

  it.each([
    [['--results-table', 'PollResults'], '--votes-table is required'],
    [['--votes-table', 'Votes'], '--results-table is required'],
    [['--votes-table', ' ', '--results-table', 'PollResults'], '--votes-table is required'],
    [[...TABLES, '--region', ''], '--region must not be empty'],
    [[...TABLES, '--endpoint', 'localhost:8000'], '--endpoint must be'],
    [[...TABLES, '--endpoint', 'ftp://127.0.0.1'], '--endpoint must be an http'],
    [[...TABLES, '--endpoint', 'http://127.0.0.1:8000/x'], '--endpoint must be a scheme and host'],
    [[...TABLES, '--poll', ''], '--poll must not be empty'],
    [[...TABLES, '--poll', 'p', '--segments', '2'], '--segments applies to the scan'],
    [[...TABLES, '--segments', '0'], '--segments must be an integer >= 1'],
    [[...TABLES, '--segments', 'four'], '--segments must be an integer >= 1'],
    [[...TABLES, '--segments', '1001'], '--segments must be at most 1000'],
    [[...TABLES, '--wait-seconds', '5'], '--wait-seconds applies only with --fix'],
    [[...TABLES, '--attempts', '5'], '--attempts applies only with --fix'],
    [[...TABLES, '--fix', '--wait-seconds', '0'], '--wait-seconds must be a number > 0'],
    [[...TABLES, '--fix', '--wait-seconds', 'soon'], '--wait-seconds must be a number > 0'],
    [[...TABLES, '--fix', '--attempts', '0'], '--attempts must be an integer >= 1'],
    [[...TABLES, '--fix', '--attempts', '101'], '--attempts must be at most 100'],
    [[...TABLES, '--polls', 'p'], "'--polls'"],
    [[...TABLES, '--poll'], "'--poll"],
  ])('refuses %j naming the flag', (argv, message) => {
    expect(usageError(argv)).toContain(message);
  });
});
