import { describe, expect, it } from 'vitest';
import { summarizeLag } from '../../../verify/bench/lag.js';

const oneToHundred = Array.from({ length: 100 }, (_, i) => i + 1);

describe('summarizeLag', () => {
  it.each([
    ['no samples', [], { records: 0, p50Ms: null, p95Ms: null, p99Ms: null }],
    ['one sample', [42], { records: 1, p50Ms: 42, p95Ms: 42, p99Ms: 42 }],
    ['1..100', oneToHundred, { records: 100, p50Ms: 50, p95Ms: 95, p99Ms: 99 }],
    ['1..100 shuffled', [...oneToHundred].reverse(), { records: 100, p50Ms: 50, p95Ms: 95, p99Ms: 99 }],
    [
      'ten samples',
      [10, 20, 30, 40, 50, 60, 70, 80, 90, 1000],
      { records: 10, p50Ms: 50, p95Ms: 1000, p99Ms: 1000 },
    ],
    ['two samples', [7, 3], { records: 2, p50Ms: 3, p95Ms: 7, p99Ms: 7 }],
  ])('gives nearest-rank percentiles of %s', (_case, samples, expected) => {
    expect(summarizeLag(samples)).toEqual(expected);
  });

  it('leaves the samples it is given untouched', () => {
    // Prepare
    const samples = [3, 1, 2];

    // Act
    summarizeLag(samples);

    // Assess
    expect(samples).toEqual([3, 1, 2]);
  });
});
