import { describe, expect, it } from 'vitest';
import { BACKFILL_DEFAULTS, parseBackfillArgs } from '../../../ops/backfill/backfill-options.js';
import { UsageError } from '../../../ops/cli/flags.js';

const LOCAL = ['--table', 'Orders', '--endpoint', 'http://127.0.0.1:9200', '--no-sign'];

/** The UsageError message a command line gets (fails the test when it parses). */
function usageError(argv: readonly string[], env: Record<string, string> = {}): string {
  try {
    parseBackfillArgs(argv, env);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error(`${argv.join(' ')} parsed`);
}

describe('parseBackfillArgs', () => {
  it('writes by default, with 4 segments, signed, in the region of AWS_REGION', () => {
    // Act
    const options = parseBackfillArgs(['--table', 'Orders', '--endpoint', 'https://search.example.com'], {
      AWS_REGION: 'eu-west-1',
    });

    // Assess
    expect(options).toEqual({
      mode: 'write',
      table: 'Orders',
      endpoint: 'https://search.example.com',
      region: 'eu-west-1',
      sign: true,
      dynamodbEndpoint: undefined,
      replicas: BACKFILL_DEFAULTS.replicas,
      segments: 4,
      json: false,
    });
  });

  it('reads every flag', () => {
    // Act
    const options = parseBackfillArgs([
      ...LOCAL,
      '--region',
      'us-east-1',
      '--dynamodb-endpoint',
      'http://127.0.0.1:8000',
      '--segments',
      '8',
      '--replicas',
      '2',
      '--verify',
      '--json',
    ]);

    // Assess
    expect(options).toEqual({
      mode: 'verify',
      table: 'Orders',
      endpoint: 'http://127.0.0.1:9200',
      region: 'us-east-1',
      sign: false,
      dynamodbEndpoint: 'http://127.0.0.1:8000',
      replicas: 2,
      segments: 8,
      json: true,
    });
    expect(parseBackfillArgs([...LOCAL, '--dry-run'])).toMatchObject({ mode: 'dry-run' });
    expect(parseBackfillArgs(['--help'])).toBe('help');
  });

  it.each([
    [['--endpoint', 'http://127.0.0.1:9200', '--no-sign'], '--table is required'],
    [['--table', 'Orders', '--no-sign'], '--endpoint is required'],
    [['--table', 'Orders', '--endpoint', 'search.example.com', '--no-sign'], '--endpoint must be a URL'],
    [
      ['--table', 'Orders', '--endpoint', 'ftp://search.example.com', '--no-sign'],
      '--endpoint must be an http',
    ],
    [
      ['--table', 'Orders', '--endpoint', 'https://search.example.com/orders', '--no-sign'],
      '--endpoint must be a scheme',
    ],
    [
      ['--table', 'Orders', '--endpoint', 'http://127.0.0.1:9200', '--region', 'eu-west-1'],
      '--endpoint must be https',
    ],
    [['--table', 'Orders', '--endpoint', 'https://search.example.com'], '--region is required'],
    [[...LOCAL, '--region', ' '], '--region must not be empty'],
    [[...LOCAL, '--segments', '0'], '--segments must be an integer >= 1'],
    [[...LOCAL, '--segments', 'four'], '--segments must be an integer >= 1'],
    [[...LOCAL, '--segments', '1001'], '--segments must be at most 1000'],
    [[...LOCAL, '--replicas=-1'], '--replicas must be an integer >= 0'],
    [[...LOCAL, '--dynamodb-endpoint', 'localhost:8000'], '--dynamodb-endpoint must be'],
    [[...LOCAL, '--dry-run', '--verify'], '--dry-run and --verify cannot be combined'],
    [[...LOCAL, '--segment', '2'], "'--segment'"],
    [[...LOCAL, '--table'], "'--table"],
  ])('refuses %j naming the flag', (argv, message) => {
    expect(usageError(argv)).toContain(message);
  });
});
