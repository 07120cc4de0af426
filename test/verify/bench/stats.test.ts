import { describe, expect, it } from 'vitest';
import { median, percentile, ratio, rounded } from '../../../verify/bench/stats.js';

describe('median', () => {
  it.each([
    [[], null],
    [[7], 7],
    [[3, 1, 2], 2],
    [[4, 1, 3, 2], 2.5],
    [[10, 10, 10, 1000], 10],
  ])('of %j is %j', (values, expected) => {
    expect(median(values)).toBe(expected);
  });
});

describe('percentile', () => {
  const ten = [10, 1, 9, 2, 8, 3, 7, 4, 6, 5];

  it.each([
    [ten, 90, 9],
    [ten, 50, 5],
    [ten, 100, 10],
    [[...ten, 100], 90, 10],
    [[42], 90, 42],
    [[], 90, null],
  ])('of %j at p%d is %j', (values, p, expected) => {
    expect(percentile(values, p)).toBe(expected);
  });
});

describe('ratio', () => {
  it.each([
    [300, 100, 3],
    [250, 100, 2.5],
    [1, 3, 0.33],
    [null, 100, null],
    [100, null, null],
    [100, 0, null],
  ])('%j / %j is %j', (numerator, denominator, expected) => {
    expect(ratio(numerator, denominator)).toBe(expected);
  });
});

describe('rounded', () => {
  it.each([
    [12.345, 1, 12.3],
    [12.35, 0, 12],
    [null, 1, null],
  ])('%j to %d decimals is %j', (value, decimals, expected) => {
    expect(rounded(value, decimals)).toBe(expected);
  });
});
