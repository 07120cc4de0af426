import type { DynamoDBRecord } from 'aws-lambda';
import type { SettledRecords } from './esm/types.js';

/**
 * End-to-end lag: how long a change took from its write to the completion of the invocation that processed it. The
 * ESM runner says which records settled and when (its onSettled listener); the recorder only turns that into samples.
 */

/** A consumer's lag figures: records with a sample and the percentiles of their lag (ms); null before the first. */
export interface LagSummary {
  /** Records with a lag sample (each completed record once). */
  readonly lagSamples: number;
  readonly lagP50Ms: number | null;
  readonly lagP99Ms: number | null;
  readonly lagMaxMs: number | null;
}

/**
 * The time a record's change was written, in ms: the new image's `updatedAt` (orders: set by the API on every write,
 * exact to the millisecond) or `votedAt` (votes: the time of the last change of the choice); for a record without
 * either (a REMOVE) the record's ApproximateCreationDateTime (seconds). undefined when the record has none.
 */
export function writeTimeMs(record: DynamoDBRecord): number | undefined {
  const image = record.dynamodb?.NewImage;
  for (const attribute of ['updatedAt', 'votedAt']) {
    const text = image?.[attribute]?.S;
    if (text !== undefined) {
      const parsed = Date.parse(text);
      if (Number.isFinite(parsed)) return parsed;
    }
  }
  // Lambda's events carry epoch seconds; a record read straight through the SDK carries a Date.
  const approximate: unknown = record.dynamodb?.ApproximateCreationDateTime;
  if (typeof approximate === 'number') return approximate * 1000;
  return approximate instanceof Date ? approximate.getTime() : undefined;
}

/** Nearest-rank percentile of ascending `sorted`; null when empty. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

/**
 * Records one end-to-end lag sample per processed stream record, from what the runner reports as settled: the runner
 * settles a record once, when an invocation first completes it, so a re-delivered record (after a partial failure or
 * a retry) is sampled once and the samples show how long a change took to be processed, not how many times. Records
 * handed to on-failure were not processed and give no sample.
 */
export class LagRecorder {
  readonly #samples = new Map<string, number[]>();

  /** The runner's onSettled listener (EsmRunnerOptions.onSettled). */
  public readonly onSettled = (settled: SettledRecords): void => {
    if (settled.outcome !== 'processed') return;
    let samples = this.#samples.get(settled.consumerName);
    if (samples === undefined) {
      samples = [];
      this.#samples.set(settled.consumerName, samples);
    }
    for (const record of settled.records) {
      const written = writeTimeMs(record);
      if (written !== undefined) samples.push(Math.max(0, settled.atMs - written));
    }
  };

  /** A consumer's samples in ms, in completion order. */
  public samples(consumerName: string): number[] {
    return [...(this.#samples.get(consumerName) ?? [])];
  }

  /** p50, p99 and max of a consumer's samples. */
  public summary(consumerName: string): LagSummary {
    const sorted = (this.#samples.get(consumerName) ?? []).slice().sort((a, b) => a - b);
    return {
      lagSamples: sorted.length,
      lagP50Ms: percentile(sorted, 50),
      lagP99Ms: percentile(sorted, 99),
      lagMaxMs: percentile(sorted, 100),
    };
  }
}
