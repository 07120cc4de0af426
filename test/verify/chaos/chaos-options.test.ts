import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../ops/cli/flags.js';
import {
  CHAOS_DEFAULTS,
  CHAOS_USAGE,
  chaosStockPerSku,
  MAX_BATCHING_WINDOW_LIMIT_MS,
  parseChaosArgs,
} from '../../../verify/chaos/chaos-options.js';
import { DEFAULT_FAULT_RATES } from '../../../verify/chaos/faults.js';

const DEFAULTS = {
  seed: CHAOS_DEFAULTS.seed,
  operations: CHAOS_DEFAULTS.operations,
  json: false,
  poisonRate: CHAOS_DEFAULTS.poisonRate,
  faults: DEFAULT_FAULT_RATES,
  ratePerSecond: Number.POSITIVE_INFINITY,
  functionTimeoutMs: CHAOS_DEFAULTS.functionTimeoutMs,
  drainTimeoutMs: CHAOS_DEFAULTS.drainTimeoutSeconds * 1000,
  maxBatchingWindowMs: 2_000,
  outputDir: undefined,
  stockPerSku: undefined,
  cpuHog: 0,
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
    [['--max-batching-window-ms', '0'], { ...DEFAULTS, maxBatchingWindowMs: 0 }],
    [['--max-batching-window-ms', '60000'], { ...DEFAULTS, maxBatchingWindowMs: 60_000 }],
    [['--max-batching-window-ms=300000'], { ...DEFAULTS, maxBatchingWindowMs: MAX_BATCHING_WINDOW_LIMIT_MS }],
    [['--cpu-hog', '4'], { ...DEFAULTS, cpuHog: 4 }],
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
    [['--max-batching-window-ms=-1'], /--max-batching-window-ms must be an integer >= 0, got "-1"/],
    [['--max-batching-window-ms', '1.5'], /--max-batching-window-ms must be an integer/],
    [['--max-batching-window-ms', 'soon'], /--max-batching-window-ms must be an integer/],
    [['--cpu-hog', 'two'], /--cpu-hog must be an integer/],
    [['--cpu-hog=-1'], /--cpu-hog must be an integer >= 0, got "-1"/],
    [['--cpu-hog', '65'], /--cpu-hog must be at most 64, got "65"/],
    [
      ['--max-batching-window-ms', '300001'],
      /--max-batching-window-ms must be at most 300000 .*got "300001"/,
    ],
    [['--max-batching-window-ms'], /--max-batching-window-ms/],
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

describe('CHAOS_USAGE', () => {
  it('documents the batching window cap and why it exists', () => {
    // Assess
    expect(CHAOS_USAGE).toContain('--max-batching-window-ms <n>');
    expect(CHAOS_USAGE).toMatch(/audit log gathers records for 60 s/);
  });
});
