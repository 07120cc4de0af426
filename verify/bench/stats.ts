/**
 * The summary statistics the benchmarks that repeat a measurement report: the median and the 90th percentile of a
 * sample, and the ratio of two figures. Pure, so that the tests can pin them down.
 */

/** The median: the middle value, or the mean of the two middle ones; null for no values. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * The p-th percentile by nearest rank (the smallest value with at least p% of the sample at or below it): with 10
 * runs, p90 is the 9th smallest, so one outlier does not move it but two do. Null for no values.
 */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

/** `value` rounded to `decimals` (null stays null). */
export function rounded(value: number | null, decimals = 1): number | null {
  if (value === null) return null;
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
}

/** `numerator / denominator` to two decimals; null when either is missing or the denominator is not positive. */
export function ratio(numerator: number | null, denominator: number | null): number | null {
  if (numerator === null || denominator === null || denominator <= 0) return null;
  return Math.round((numerator / denominator) * 100) / 100;
}
