import type { EsmConfig } from '../../sandbox/esm/types.js';

/**
 * An event source mapping config for runner tests: an order-fanout-like consumer on the Orders stream with small
 * batches, ReportBatchItemFailures and two retries. Tests override what they exercise.
 */
export function testEsmConfig(overrides: Partial<EsmConfig> = {}): EsmConfig {
  return {
    stackName: 'OrdersStreams-test-Pipelines',
    logicalId: 'OrderFanoutMapping',
    functionStackName: 'OrdersStreams-test-Pipelines',
    functionLogicalId: 'OrderFanoutFunction',
    consumerName: 'order-fanout',
    tableConstructId: 'Orders',
    startingPosition: 'TRIM_HORIZON',
    batchSize: 10,
    maximumBatchingWindowMs: 0,
    parallelizationFactor: 1,
    maximumRetryAttempts: 2,
    maximumRecordAgeMs: Number.POSITIVE_INFINITY,
    bisectBatchOnFunctionError: false,
    reportBatchItemFailures: true,
    filterPatterns: [],
    // The StreamConsumer construct's default. The sandbox times an invocation out in real time, so a short value
    // would let a busy machine turn a slow invocation into a function error in tests that do not test timeouts.
    functionTimeoutMs: 60_000,
    ...overrides,
  };
}
