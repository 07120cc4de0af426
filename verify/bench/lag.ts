import { percentile } from '../../sandbox/lag.js';
import { startSandboxSystem } from '../../sandbox/system.js';
import { runTraffic } from '../../sandbox/traffic.js';
import { addProbeConsumer, PROBE_CONSUMER_NAME, probeConsumerFactory } from '../chaos/probe-consumer.js';
import type { Benchmark, BenchmarkResult, BenchmarkSettings, LagFigures } from './harness.js';

/** Nearest-rank percentiles of lag samples (ms), in any order. */
export function summarizeLag(samples: readonly number[]): LagFigures {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    records: sorted.length,
    p50Ms: percentile(sorted, 50),
    p95Ms: percentile(sorted, 95),
    p99Ms: percentile(sorted, 99),
  };
}

/**
 * Requests in flight at once. One request at a time cannot hold 50 writes/s when a write takes over 20 ms on a
 * loaded machine; a few workers keep the rate while the traffic model still never works on one key twice at once.
 */
const TRAFFIC_CONCURRENCY = 4;

/** After the load, how long the streams get to catch up; the lag of records still pending is not sampled. */
const DRAIN_TIMEOUT_MS = 120_000;

/**
 * `lag`: the sandbox system at a fixed write rate for a fixed time, with the probe (no faults) and every product
 * consumer of the template, reporting each consumer's end-to-end lag (write time to completed invocation, as the
 * sandbox's lag recorder samples it) after the streams drained.
 */
export const lagBenchmark: Benchmark = {
  name: 'lag',
  description: 'end-to-end lag per consumer at a fixed write rate',
  async run(settings: BenchmarkSettings): Promise<BenchmarkResult> {
    const system = await startSandboxSystem({
      port: 0,
      outputDir: settings.outputDir,
      extendApp: addProbeConsumer,
      consumers: { [PROBE_CONSUMER_NAME]: probeConsumerFactory() },
      log: settings.log,
    });
    try {
      settings.log(
        `  ${settings.ratePerSecond} writes/s for ${settings.seconds} s; consumers: ${system.consumers.join(', ')}`,
      );
      const traffic = await runTraffic({
        apiUrl: system.apiUrl,
        seed: settings.seed,
        durationMs: settings.seconds * 1000,
        ratePerSecond: settings.ratePerSecond,
        concurrency: TRAFFIC_CONCURRENCY,
        recordLog: false,
      });
      const achieved = traffic.operations / Math.max(traffic.durationMs / 1000, 0.001);
      settings.log(
        `  sent ${traffic.operations} operations (${achieved.toFixed(1)}/s achieved; ${traffic.ok} ok, ` +
          `${traffic.rejected} rejected, ${traffic.errors} without response); draining...`,
      );
      const drained = await system.waitUntilDrained({ timeoutMs: DRAIN_TIMEOUT_MS });
      if (!drained) {
        settings.log(
          `  the streams did not drain within ${DRAIN_TIMEOUT_MS / 1000} s; pending records are not sampled`,
        );
      }
      const lag = Object.fromEntries(
        system.consumers.map((consumer) => [consumer, summarizeLag(system.lagSamples(consumer))] as const),
      );
      return { lag };
    } finally {
      await system.stop();
    }
  },
};
