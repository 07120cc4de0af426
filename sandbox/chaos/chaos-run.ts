import { paginateScan } from '@aws-sdk/lib-dynamodb';
import { readJsonLines } from '../adapters/json-lines-file.js';
import { DEAD_LETTER_SOURCE, ON_FAILURE_SOURCE, readQueueMessages } from '../adapters/local-sqs.js';
import type { OnFailureMessage } from '../esm/types.js';
import { type SandboxSystem, startSandboxSystem } from '../system.js';
import { runTraffic, type TrafficSummary } from '../traffic.js';
import {
  createFaultCounters,
  type FaultCounters,
  type FaultRates,
  withEffectFaults,
  withFunctionFaults,
} from './faults.js';
import { checkInvariants, type InvariantReport, type OnFailureBatch } from './invariants.js';
import {
  addProbeConsumer,
  PROBE_CONSUMER_NAME,
  type ProbeEffect,
  probeConsumerFactory,
  probeEffectsPath,
} from './probe-consumer.js';
import { deriveOrderTruth, type ScannedOrder } from './truth.js';

/** Thrown when the sandbox system lacks what the chaos run checks against. */
export class ChaosWiringError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = 'ChaosWiringError';
  }
}

export interface ChaosOptions {
  readonly seed: number;
  /** API operations the traffic sends (orders and votes). */
  readonly operations: number;
  /** Share of created orders that are poison. */
  readonly poisonRate: number;
  readonly faults: FaultRates;
  /** Operations per second; Infinity = as fast as the API answers. */
  readonly ratePerSecond: number;
  /** Every mapping's function timeout, shortened so that injected timeouts cost little wall time. */
  readonly functionTimeoutMs: number;
  /** How long the streams get to drain after the traffic; past it, a shard counts as blocked. */
  readonly drainTimeoutMs: number;
  /** The sandbox's output directory (cleared at start); default the sandbox's own. */
  readonly outputDir?: string;
  readonly log: (line: string) => void;
}

/** The run's result: the one JSON object the CLI prints. */
export interface ChaosResult {
  readonly seed: number;
  readonly operations: number;
  /** Stream records of the Orders table the run produced (poison included). */
  readonly records: number;
  readonly lost: number;
  /** Raw duplicate effects (same eventID applied again): allowed by at-least-once, for information only. */
  readonly duplicated: number;
  readonly orderViolations: number;
  readonly poisonInDlq: number;
  readonly poisonExpected: number;
  readonly ok: boolean;
  /** Effects of no known change (phantoms, poison applied, one change under two eventIDs): must be 0. */
  readonly unexpected: number;
  readonly drained: boolean;
  /** Records the probe's mapping sent to its on-failure destination. */
  readonly onFailureRecords: number;
  readonly faults: FaultCounters;
  /** Examples of what failed, for the log; empty when ok. */
  readonly problems: readonly string[];
}

/**
 * Runs the whole system with the probe as the consumer under test, drives traffic through the API while injecting
 * faults, waits for the streams to drain, and checks the invariants (invariants.ts) against the Orders table.
 *
 * Function-level faults (crashes, timeouts) hit every consumer of the template, so product consumers added later
 * get their re-delivery exercised too; effect-level faults and the invariants are the probe's.
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const counters = createFaultCounters();
  const system = await startSandboxSystem({
    port: 0,
    outputDir: options.outputDir,
    extendApp: addProbeConsumer,
    consumers: {
      [PROBE_CONSUMER_NAME]: probeConsumerFactory({
        wrapEffects: (sink) =>
          withEffectFaults(sink, { seed: options.seed, rate: options.faults.transient, counters }),
      }),
    },
    wrapFunction: (consumerName, fn) =>
      withFunctionFaults(fn, { seed: options.seed, consumerName, rates: options.faults, counters }),
    functionTimeoutMs: options.functionTimeoutMs,
    log: options.log,
  });
  try {
    options.log(
      `Traffic: ${options.operations} operations, seed ${options.seed}, poison rate ${options.poisonRate}; ` +
        `faults: ${JSON.stringify(options.faults)}`,
    );
    const traffic = await runTraffic({
      apiUrl: system.apiUrl,
      seed: options.seed,
      operations: options.operations,
      ratePerSecond: options.ratePerSecond,
      poisonRate: options.poisonRate,
      onOperation: (operation) => {
        if ((operation.index + 1) % 500 === 0) options.log(`  ${operation.index + 1} operations sent`);
      },
    });
    options.log(
      `Traffic done: ${traffic.ok} ok, ${traffic.rejected} rejected, ${traffic.errors} without response, ` +
        `${traffic.poisonOrders} poison orders. Waiting for the streams to drain...`,
    );
    const drained = await system.waitUntilDrained({ timeoutMs: options.drainTimeoutMs });
    const stats = system.stats()[PROBE_CONSUMER_NAME];
    options.log(
      `${drained ? 'Drained' : 'NOT drained'}: ${stats?.invocations ?? 0} invocations of ${PROBE_CONSUMER_NAME} ` +
        `(${stats?.failedInvocations ?? 0} failed), ${stats?.recordsRedelivered ?? 0} records re-delivered; ` +
        `injected ${counters.transientErrors} transient errors, ${counters.crashes} crashes, ${counters.timeouts} timeouts`,
    );
    const report = await checkRun(system, traffic, drained);
    return {
      seed: options.seed,
      operations: traffic.operations,
      records: report.records,
      lost: report.lost,
      duplicated: report.duplicated,
      orderViolations: report.orderViolations,
      poisonInDlq: report.poisonInDlq,
      poisonExpected: report.poisonExpected,
      ok: report.ok,
      unexpected: report.unexpected,
      drained: report.drained,
      onFailureRecords: report.onFailureRecords,
      faults: { ...counters },
      problems: report.problems,
    };
  } finally {
    await system.stop();
  }
}

/** Gathers the observations (table, effects, DLQ) and checks them. */
async function checkRun(
  system: SandboxSystem,
  traffic: TrafficSummary,
  drained: boolean,
): Promise<InvariantReport> {
  const ordersTable = system.tables.Orders;
  if (ordersTable === undefined) {
    throw new ChaosWiringError('The sandbox system has no Orders table');
  }
  const scanned: ScannedOrder[] = [];
  for await (const page of paginateScan(
    { client: system.documentClient },
    { TableName: ordersTable, ConsistentRead: true, ProjectionExpression: 'orderId, customerId, version' },
  )) {
    for (const item of page.Items ?? []) {
      scanned.push({
        orderId: String(item.orderId),
        customerId: String(item.customerId),
        version: Number(item.version),
      });
    }
  }
  const truth = deriveOrderTruth(scanned, traffic.log);
  const effects = await readJsonLines<ProbeEffect>(probeEffectsPath(system.outputDir));
  const queueName = system.deadLetterQueues[PROBE_CONSUMER_NAME] ?? `${PROBE_CONSUMER_NAME}-dlq`;
  const messages = await readQueueMessages(system.outputDir, queueName);
  const onFailure: OnFailureBatch[] = messages
    .filter((message) => message.source === ON_FAILURE_SOURCE)
    .map((message) => (message.body as OnFailureMessage).DDBStreamBatchInfo);
  const report = checkInvariants({
    truth: truth.orders,
    effects,
    deadLetters: messages.filter((message) => message.source === DEAD_LETTER_SOURCE).map((m) => m.body),
    onFailure,
    drained,
  });
  if (truth.problems.length === 0) return report;
  return { ...report, ok: false, problems: [...truth.problems, ...report.problems] };
}
