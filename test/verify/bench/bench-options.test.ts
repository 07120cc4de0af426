import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../ops/cli/flags.js';
import { BENCH_DEFAULTS, parseBenchArgs } from '../../../verify/bench/bench-options.js';

const REPO = fileURLToPath(new URL('../../..', import.meta.url));
const NAMES = ['lag', 'other'];

describe('parseBenchArgs', () => {
  it.each([
    [[], { json: false, only: undefined, ...BENCH_DEFAULTS, outputDir: undefined }],
    [
      [
        '--json',
        '--only',
        'lag',
        '--rate',
        '20',
        '--seconds',
        '1.5',
        '--seed',
        '9',
        '--output-dir',
        '/tmp/x',
      ],
      { json: true, only: 'lag', ratePerSecond: 20, seconds: 1.5, seed: 9, outputDir: '/tmp/x' },
    ],
    [['--help'], 'help'],
  ])('parses %j', (argv, expected) => {
    expect(parseBenchArgs(argv, NAMES)).toEqual(expected);
  });

  it.each([
    [['--only', 'nope'], /--only must name a benchmark \(lag, other\), got "nope"/],
    [['--rate', 'abc'], /--rate must be a number > 0, got "abc"/],
    [['--rate', '0'], /--rate must be a number > 0/],
    [['--rate', 'Infinity'], /--rate must be a number > 0/],
    [['--seconds=-1'], /--seconds must be a number > 0/],
    [['--seconds', '-1'], /--seconds/],
    [['--seconds', ''], /--seconds must be a number > 0/],
    [['--seed', '1.5'], /--seed must be an integer/],
    [['--output-dir', ''], /--output-dir must not be empty/],
    [['--rate'], /--rate/],
    [['--nope'], /--nope/],
    [['extra'], /extra/],
  ])('refuses %j naming the flag', (argv, message) => {
    expect(() => parseBenchArgs(argv, NAMES)).toThrow(UsageError);
    expect(() => parseBenchArgs(argv, NAMES)).toThrow(message);
  });
});

describe('npm run bench', () => {
  it('exits with code 2 and names the bad flag, before starting anything', () => {
    // Act
    const result = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'verify/bench/bench.ts', '--rate', 'fast'],
      {
        cwd: REPO,
        encoding: 'utf8',
      },
    );

    // Assess
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('--rate must be a number > 0, got "fast"');
    expect(result.stdout).toBe('');
  });
});
