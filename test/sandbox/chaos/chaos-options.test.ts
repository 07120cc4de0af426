import { describe, expect, it } from 'vitest';
import { CHAOS_DEFAULTS, chaosStockPerSku, parseChaosArgs } from '../../../sandbox/chaos/chaos-options.js';
import { DEFAULT_FAULT_RATES } from '../../../sandbox/chaos/faults.js';
import { UsageError } from '../../../sandbox/cli-flags.js';

const DEFAULTS = {
  seed: CHAOS_DEFAULTS.seed,
  operations: CHAOS_DEFAULTS.operations,
  json: false,
  poisonRate: CHAOS_DEFAULTS.poisonRate,
  faults: DEFAULT_FAULT_RATES,
  ratePerSecond: Number.POSITIVE_INFINITY,
  functionTimeoutMs: CHAOS_DEFAULTS.functionTimeoutMs,
  drainTimeoutMs: CHAOS_DEFAULTS.drainTimeoutSeconds * 1000,
  outputDir: undefined,
  stockPerSku: undefined,
};

describe('parseChaosArgs', () => {
  it.each([
    [[], DEFAULTS],
    [['--seed', '7', '--operations', '300', '--json'], { ...DEFAULTS, seed: 7, operations: 300, json: true }],
    [['--seed=-3'], { ...DEFAULTS, seed: -3 }],
    [
      ['--transient-rate', '0', '--crash-rate', '0.5', '--timeout-rate', '0.5', '--poison-rate', '1'],
      { ...DEFAULTS, poisonRate: 1, faults: { transient: 0, crash: 0.5, timeout: 0.5 } },
    ],
    [
      [
        '--rate',
        '25',
        '--function-timeout-ms',
        '500',
        '--drain-timeout-seconds',
        '30',
        '--output-dir',
        'out',
      ],
      { ...DEFAULTS, ratePerSecond: 25, functionTimeoutMs: 500, drainTimeoutMs: 30_000, outputDir: 'out' },
    ],
    [['--stock', '0'], { ...DEFAULTS, stockPerSku: 0 }],
    [['--stock', '450'], { ...DEFAULTS, stockPerSku: 450 }],
    [['--help'], 'help'],
  ])('parses %j', (argv, expected) => {
    expect(parseChaosArgs(argv)).toEqual(expected);
  });

  it.each([
    [['--seed', 'x'], /--seed must be an integer/],
    [['--operations', '0'], /--operations must be an integer >= 1, got "0"/],
    [['--operations', '1e3'], /--operations must be an integer/],
    [['--poison-rate', '1.5'], /--poison-rate must be a probability from 0 to 1, got "1.5"/],
    [['--transient-rate=-0.1'], /--transient-rate must be a probability/],
    [['--transient-rate', '-0.1'], /--transient-rate/],
    [['--crash-rate', 'lots'], /--crash-rate must be a probability/],
    [
      ['--crash-rate', '0.6', '--timeout-rate', '0.6'],
      /--crash-rate and --timeout-rate must add up to at most 1/,
    ],
    [['--rate', '0'], /--rate must be a number > 0/],
    [['--function-timeout-ms', '50'], /--function-timeout-ms must be an integer >= 100/],
    [['--drain-timeout-seconds', '0'], /--drain-timeout-seconds must be an integer >= 1/],
    [['--output-dir', ''], /--output-dir must not be empty/],
    [['--stock=-1'], /--stock must be an integer >= 0, got "-1"/],
    [['--json=yes'], /--json/],
    [['--nope'], /--nope/],
    [['extra'], /extra/],
  ])('refuses %j naming the flag', (argv, message) => {
    expect(() => parseChaosArgs(argv)).toThrow(UsageError);
    expect(() => parseChaosArgs(argv)).toThrow(message);
  });
});

describe('chaosStockPerSku', () => {
  it.each([
    [1, 1],
    [300, 15],
    [2_000, 100],
    [10_000, 500],
  ])('stocks a run of %i operations with %i per SKU', (operations, stock) => {
    expect(chaosStockPerSku(operations)).toBe(stock);
  });
});
