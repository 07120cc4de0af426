import { describe, expect, it } from 'vitest';
import { BENCHMARKS, runBenchmarks } from '../../../verify/bench/benchmarks.js';
import type { Benchmark, BenchmarkResult, BenchmarkSettings } from '../../../verify/bench/harness.js';
import { describeMachine } from '../../../verify/bench/machine.js';

function settings(overrides: Partial<BenchmarkSettings> = {}): BenchmarkSettings {
  return {
    ratePerSecond: 50,
    seconds: 60,
    seed: 1,
    outputDir: undefined,
    log: () => undefined,
    ...overrides,
  };
}

function fakeBenchmark(name: string, result: BenchmarkResult, ran: string[]): Benchmark {
  return {
    name,
    description: `fake ${name}`,
    run: async () => {
      ran.push(name);
      return result;
    },
  };
}

const FIGURES = { records: 10, p50Ms: 5, p95Ms: 9, p99Ms: 9 };

describe('runBenchmarks', () => {
  it('runs the benchmarks in order and merges their sections into one report', async () => {
    // Prepare
    const ran: string[] = [];
    const benchmarks = [
      fakeBenchmark('lag', { lag: { 'chaos-probe': FIGURES } }, ran),
      fakeBenchmark('batching', { comparisons: { batching: { perRecord: 1, perBatch: 2 } } }, ran),
      fakeBenchmark('more-lag', { lag: { 'order-fanout': FIGURES } }, ran),
    ];

    // Act
    const report = await runBenchmarks(benchmarks, settings({ ratePerSecond: 20, seconds: 5 }), 'a machine');

    // Assess
    expect(ran).toEqual(['lag', 'batching', 'more-lag']);
    expect(report).toEqual({
      machine: 'a machine',
      lag: { 'chaos-probe': FIGURES, 'order-fanout': FIGURES },
      comparisons: { batching: { perRecord: 1, perBatch: 2 } },
      settings: { ratePerSecond: 20, seconds: 5, seed: 1 },
    });
  });

  it('adds a redrive section only when a benchmark measured one', async () => {
    // Prepare
    const ran: string[] = [];
    const benchmarks = [
      fakeBenchmark('lag', { lag: { 'chaos-probe': FIGURES } }, ran),
      fakeBenchmark('redrive', { redrive: { ok: true } }, ran),
    ];

    // Act
    const withRedrive = await runBenchmarks(benchmarks, settings(), 'm');
    const without = await runBenchmarks(benchmarks.slice(0, 1), settings(), 'm');

    // Assess
    expect(withRedrive.redrive).toEqual({ ok: true });
    expect(Object.keys(without)).toEqual(['machine', 'lag', 'comparisons', 'settings']);
  });

  it('gives empty sections when nothing ran', async () => {
    expect(await runBenchmarks([], settings(), 'm')).toMatchObject({ lag: {}, comparisons: {} });
  });
});

describe('the registry', () => {
  it('has uniquely named benchmarks, lag among them', () => {
    const names = BENCHMARKS.map((b) => b.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toContain('lag');
    expect(names).toContain('redrive');
  });
});

describe('describeMachine', () => {
  it('names the cores, the memory and the Node.js version', () => {
    expect(describeMachine()).toMatch(new RegExp(`, \\d+ cores, \\d+\\.\\d GiB, node ${process.version}$`));
  });
});
