/**
 * Names of the metrics the stream runtime emits, shared with the CDK dashboard and alarms. This module imports
 * nothing, so the CDK app can use it without pulling Lambda dependencies into synth.
 *
 * All are in the METRICS_NAMESPACE namespace (lambdas/shared/env.ts) with the dimensions of
 * streamMetricDimensions(consumerName).
 */
export const STREAM_METRICS = {
  /** Count, per batch: records whose processing succeeded. */
  recordsProcessed: 'RecordsProcessed',
  /** Count, per batch: records reported as batch item failures (transient, or blocked behind an earlier failure). */
  recordsFailed: 'RecordsFailed',
  /** Count, per batch: records that failed permanently and were sent to the DLQ. */
  recordsDeadLettered: 'RecordsDeadLettered',
  /**
   * Count, per batch: records that failed with an error of our own making (isInternalError: a bug, an item the code
   * cannot read). They are retried like transient failures; the consumer's InternalErrors alarm fires on the first.
   */
  internalErrors: 'InternalErrors',
  /**
   * Milliseconds, one value per successfully processed record: time of success minus the record's
   * ApproximateCreationDateTime. Chart p50/p99/max.
   */
  endToEndLag: 'EndToEndLag',
} as const;

export type StreamMetricName = (typeof STREAM_METRICS)[keyof typeof STREAM_METRICS];

/**
 * The dimensions of every stream runtime metric: Powertools' `service` dimension holds the consumer name, because
 * the runtime's default Metrics instance (createStreamMetrics) uses the consumer name as service name.
 */
export function streamMetricDimensions(consumerName: string): Record<'service', string> {
  return { service: consumerName };
}
