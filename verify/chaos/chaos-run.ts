import { paginateScan } from '@aws-sdk/lib-dynamodb';
import { AUDIT_LOG_CONSUMER_NAME } from '../../lambdas/audit-log/names.js';
import { ORDER_FANOUT_CONSUMER_NAME } from '../../lambdas/order-fanout/names.js';
import { SEARCH_SYNC_CONSUMER_NAME } from '../../lambdas/search-sync/names.js';
import { ENV } from '../../lambdas/shared/env.js';
import { ORDERS_INDEX } from '../../lambdas/shared/search/orders-index.js';
import { VOTE_AGGREGATOR_CONSUMER_NAME } from '../../lambdas/vote-aggregator/names.js';
import { readJsonLines } from '../../sandbox/adapters/json-lines-file.js';
import {
  DEAD_LETTER_SOURCE,
  type LocalQueueMessage,
  ON_FAILURE_SOURCE,
  readQueueMessages,
} from '../../sandbox/adapters/local-sqs.js';
import type { OnFailureMessage } from '../../sandbox/esm/types.js';
import { type SandboxSystem, startSandboxSystem } from '../../sandbox/system.js';
import { HOT_POLL_ID, runTraffic, TRAFFIC_SKUS, type TrafficSummary } from '../../sandbox/traffic.js';
import { type AuditReport, checkAuditLog } from './audit-invariants.js';
import { chaosStockPerSku } from './chaos-options.js';
import { checkFanoutInvariants, type FanoutReport } from './fanout-invariants.js';
import {
  createFaultCounters,
  type FaultCounters,
  type FaultRates,
  seededSearchFaults,
  seededServiceFaults,
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
import {
  observeAuditBucket,
  observeFanoutSinks,
  readTableStream,
  scanOrders,
  scanTable,
} from './sandbox-observations.js';
import { checkSearchIndex, type SearchReport } from './search-invariants.js';
import { type DerivedTruth, deriveOrderTruth, type ScannedOrder } from './truth.js';
import { checkVoteCounts, formatShare, type VotesReport, voteWritesByPoll } from './votes-invariants.js';

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
  /**
   * Caps every mapping's batching window: the audit log gathers for 60 s, and the drain would wait for it
   * (chaos-options.ts, CHAOS_DEFAULTS.maxBatchingWindowMs).
   */
  readonly maxBatchingWindowMs: number;
  /** The sandbox's output directory (cleared at start); default the sandbox's own. */
  readonly outputDir?: string;
  /** Stock of each traffic SKU at start. @default chaosStockPerSku(operations) */
  readonly stockPerSku?: number;
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
  /**
   * The order fan-out's checks (fanout-invariants.ts), part of `ok`; null when the template has no fan-out. Poison
   * orders are excluded from its per-order checks (`poisonOrdersExcluded`): the probe refuses them, so their
   * history is incomplete.
   */
  readonly fanout: FanoutReport | null;
  /**
   * The search sync's check (search-invariants.ts), part of `ok`: after draining, the `orders` index of the local
   * OpenSearch equals the Orders table. null when the template has no search sync.
   */
  readonly search: SearchReport | null;
  /**
   * The audit log's check (audit-invariants.ts), part of `ok`: after draining, the audit bucket holds every record of
   * the Orders stream (read from TRIM_HORIZON at the end), exactly once after dropping duplicate eventIDs, in
   * objects filed under the keys their content implies, none ever overwritten. null when the template has no audit
   * log.
   */
  readonly audit: AuditReport | null;
  /**
   * The vote aggregator's check (votes-invariants.ts), part of `ok`: after draining, every poll's PollResults item
   * equals a recount of the Votes table (reconcile markers left out), with a 40-digit watermark; with the hot poll's
   * share of the votes the run measured. null when the template has no vote aggregator.
   */
  readonly votes: VotesReport | null;
}

/**
 * How much later than the stream's ApproximateCreationDateTime an audit line's time may be: DynamoDB Local truncates
 * the stream's time to the minute, and the sandbox stamps each record with the time its stream source first read it,
 * normally within a poll interval of the write; the second minute covers a first read delayed by every mapping of the
 * stream being busy with retries at once.
 */
export const AUDIT_CREATION_TIME_SLACK_MS = 120_000;

/**
 * Runs the whole system with the probe as the consumer under test, drives traffic through the API while injecting
 * faults, waits for the streams to drain, and checks the invariants (invariants.ts) against the Orders table.
 *
 * Function-level faults (crashes, timeouts) hit every consumer of the template, so the product consumers get their
 * re-delivery exercised too; effect-level faults are the probe's, and the SNS/SES/SQS stand-ins fail calls and
 * entries at the same transient rate, and so do the S3 stand-in (503 SlowDown; stored, then the answer lost) and the
 * local OpenSearch (503 bulk requests, 429 bulk items). The order fan-out, a product consumer from the registry, is
 * then checked against the histories the probe recorded (fanout-invariants.ts), the search sync's index against the
 * table (search-invariants.ts), and the audit log's bucket against the Orders stream (audit-invariants.ts).
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const counters = createFaultCounters();
  const stockPerSku = options.stockPerSku ?? chaosStockPerSku(options.operations);
  const system = await startSandboxSystem({
    inventory: Object.fromEntries(TRAFFIC_SKUS.map((sku) => [sku, stockPerSku])),
    serviceFaults: seededServiceFaults({ seed: options.seed, rate: options.faults.transient, counters }),
    searchFaults: seededSearchFaults({ seed: options.seed, rate: options.faults.transient, counters }),
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
    maxBatchingWindowMs: options.maxBatchingWindowMs,
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
        `injected ${counters.transientErrors} transient errors, ${counters.crashes} crashes, ${counters.timeouts} timeouts, ` +
        `${counters.serviceCallFaults} service call and ${counters.serviceEntryFaults} entry faults, ` +
        `${counters.s3SlowDowns} S3 SlowDowns and ${counters.s3LostResponses} lost S3 answers, ` +
        `${counters.searchRequestFaults} OpenSearch request and ${counters.searchItemFaults} bulk item faults`,
    );
    const { report, truth, effects } = await checkRun(system, traffic, drained);
    const fanout = system.consumers.includes(ORDER_FANOUT_CONSUMER_NAME)
      ? await checkFanout(system, truth, effects)
      : null;
    if (fanout !== null) {
      const fanoutStats = system.stats()[ORDER_FANOUT_CONSUMER_NAME];
      options.log(
        `${ORDER_FANOUT_CONSUMER_NAME}: ${fanoutStats?.invocations ?? 0} invocations ` +
          `(${fanoutStats?.failedInvocations ?? 0} failed), ${fanoutStats?.recordsRedelivered ?? 0} records re-delivered; ` +
          `${fanout.events} events, ${fanout.emails} e-mails, ${fanout.warehouseMessages} warehouse messages, ` +
          `${fanout.backorders} back-orders; duplicates after the services' deduplication: ` +
          `${fanout.unexplainedDuplicates} unexplained, accounted (marked) SNS ${fanout.accountedDuplicates.sns}, ` +
          `SES ${fanout.accountedDuplicates.ses}, SQS ${fanout.accountedDuplicates.sqs}; dropped by SNS ` +
          `${fanout.eventDuplicatesDropped}, by SQS ${fanout.warehouseDuplicatesDropped}; ` +
          `${fanout.ok ? 'every fan-out invariant holds' : 'FAN-OUT INVARIANTS VIOLATED'}`,
      );
    } else {
      options.log(`No ${ORDER_FANOUT_CONSUMER_NAME} in the template: the fan-out checks were skipped`);
    }
    const search = system.consumers.includes(SEARCH_SYNC_CONSUMER_NAME)
      ? await checkSearch(system, truth)
      : null;
    if (search !== null) {
      const searchStats = system.stats()[SEARCH_SYNC_CONSUMER_NAME];
      options.log(
        `${SEARCH_SYNC_CONSUMER_NAME}: ${searchStats?.invocations ?? 0} invocations ` +
          `(${searchStats?.failedInvocations ?? 0} failed), ${searchStats?.recordsRedelivered ?? 0} records re-delivered; ` +
          `index "${ORDERS_INDEX}": ${search.documents} documents (${search.live} live, ${search.tombstones} tombstones); ` +
          `${search.ok ? 'the index equals the table' : 'THE INDEX DIFFERS FROM THE TABLE'}`,
      );
    } else {
      options.log(`No ${SEARCH_SYNC_CONSUMER_NAME} in the template: the search checks were skipped`);
    }
    const audit = system.consumers.includes(AUDIT_LOG_CONSUMER_NAME) ? await checkAudit(system) : null;
    if (audit !== null) {
      const auditStats = system.stats()[AUDIT_LOG_CONSUMER_NAME];
      options.log(
        `${AUDIT_LOG_CONSUMER_NAME}: ${auditStats?.invocations ?? 0} invocations ` +
          `(${auditStats?.failedInvocations ?? 0} failed), ${auditStats?.recordsRedelivered ?? 0} records re-delivered; ` +
          `${audit.objects} objects, ${audit.lines} lines for ${audit.streamRecords} stream records ` +
          `(${audit.duplicates} duplicate lines), ${audit.putCalls} PUTs (${audit.preconditionFailed} answered 412); ` +
          `${audit.ok ? 'the audit log holds the stream' : 'THE AUDIT LOG DIFFERS FROM THE STREAM'}`,
      );
    } else {
      options.log(`No ${AUDIT_LOG_CONSUMER_NAME} in the template: the audit checks were skipped`);
    }
    const votes = system.consumers.includes(VOTE_AGGREGATOR_CONSUMER_NAME)
      ? await checkVotes(system, traffic)
      : null;
    if (votes !== null) {
      const { delivery } = votes;
      options.log(
        `${VOTE_AGGREGATOR_CONSUMER_NAME}: ${delivery.invocations} invocations ` +
          `(${delivery.failedInvocations} failed), ${delivery.recordsRedelivered} records re-delivered; ` +
          `${votes.polls} polls, ${votes.votes} votes (${votes.hotPollId}: ${formatShare(votes.hotPollShare)} of them); ` +
          `${votes.ok ? 'every poll equals its recount' : 'THE POLL RESULTS DIFFER FROM THE VOTES'}`,
      );
    } else {
      options.log(`No ${VOTE_AGGREGATOR_CONSUMER_NAME} in the template: the vote checks were skipped`);
    }
    return {
      seed: options.seed,
      operations: traffic.operations,
      records: report.records,
      lost: report.lost,
      duplicated: report.duplicated,
      orderViolations: report.orderViolations,
      poisonInDlq: report.poisonInDlq,
      poisonExpected: report.poisonExpected,
      ok:
        report.ok &&
        (fanout?.ok ?? true) &&
        (search?.ok ?? true) &&
        (audit?.ok ?? true) &&
        (votes?.ok ?? true),
      unexpected: report.unexpected,
      drained: report.drained,
      onFailureRecords: report.onFailureRecords,
      faults: { ...counters },
      problems: report.problems,
      fanout,
      search,
      audit,
      votes,
    };
  } finally {
    await system.stop();
  }
}

/** Gathers the observations (table, effects, DLQ) and checks them; returns the truth and effects for later checks. */
async function checkRun(
  system: SandboxSystem,
  traffic: TrafficSummary,
  drained: boolean,
): Promise<{ report: InvariantReport; truth: DerivedTruth; effects: ProbeEffect[] }> {
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
  if (truth.problems.length === 0) return { report, truth, effects };
  return {
    report: { ...report, ok: false, problems: [...truth.problems, ...report.problems] },
    truth,
    effects,
  };
}

/**
 * Scans the Orders table (every attribute) and checks the local OpenSearch's `orders` index against it and against
 * the deletes the truth knows. An item that is not an order fails the check: the sync could not have indexed it.
 */
async function checkSearch(system: SandboxSystem, truth: DerivedTruth): Promise<SearchReport> {
  const { orders, unreadable } = await scanOrders(system);
  const report = checkSearchIndex({
    table: orders,
    deleted: truth.orders
      .filter((order) => order.deleted)
      .map((order) => ({ orderId: order.orderId, lastVersion: order.finalVersion })),
    documents: system.search.documents(ORDERS_INDEX),
  });
  if (unreadable.length === 0) return report;
  return {
    ...report,
    ok: false,
    problems: [
      `${unreadable.length} items of the Orders table are not orders (${unreadable.slice(0, 5).join(', ')})`,
      ...report.problems,
    ],
  };
}

/**
 * Gathers what the fan-out left behind (sandbox-observations.ts) and its DLQ, and checks it against the probe's
 * histories.
 */
async function checkFanout(
  system: SandboxSystem,
  truth: DerivedTruth,
  effects: readonly ProbeEffect[],
): Promise<FanoutReport> {
  const dlq = await deadLetterQueueOf(system, ORDER_FANOUT_CONSUMER_NAME);
  return checkFanoutInvariants({
    ...(await observeFanoutSinks(system)),
    history: effects,
    poisonOrderIds: new Set(truth.orders.filter((order) => order.poison).map((order) => order.orderId)),
    ...letterCounts(dlq),
  });
}

/** The messages of a consumer's DLQ file; none when it has no DLQ. */
async function deadLetterQueueOf(system: SandboxSystem, consumer: string): Promise<LocalQueueMessage[]> {
  const dlqName = system.deadLetterQueues[consumer];
  return dlqName === undefined ? [] : readQueueMessages(system.outputDir, dlqName);
}

/** A DLQ's runtime letters and the records of its on-failure messages (by batch size). */
function letterCounts(dlq: readonly LocalQueueMessage[]): { deadLetters: number; onFailureRecords: number } {
  return {
    deadLetters: dlq.filter((message) => message.source === DEAD_LETTER_SOURCE).length,
    onFailureRecords: dlq
      .filter((message) => message.source === ON_FAILURE_SOURCE)
      .reduce((sum, message) => sum + (message.body as OnFailureMessage).DDBStreamBatchInfo.batchSize, 0),
  };
}

/** Reads the Orders stream from TRIM_HORIZON, the audit bucket and the audit log's DLQ, and checks the bucket. */
async function checkAudit(system: SandboxSystem): Promise<AuditReport> {
  const bucket = await observeAuditBucket(system);
  return checkAuditLog({
    ...bucket,
    stream: await readTableStream(system, bucket.tableName),
    creationTimeSlackMs: AUDIT_CREATION_TIME_SLACK_MS,
    ...letterCounts(await deadLetterQueueOf(system, AUDIT_LOG_CONSUMER_NAME)),
  });
}

/**
 * Scans the Votes table (the truth) and the PollResults table the API serves results from, and checks every poll's
 * item against a recount. The aggregator must write the table the API reads: when its POLL_RESULTS_TABLE_NAME names
 * another, every poll would look missing, so the check says why instead.
 */
async function checkVotes(system: SandboxSystem, traffic: TrafficSummary): Promise<VotesReport> {
  const votesTable = system.tables.Votes;
  const resultsTable = system.tables.PollResults;
  if (votesTable === undefined || resultsTable === undefined) {
    throw new ChaosWiringError('The sandbox system has no Votes or no PollResults table');
  }
  const stats = system.stats()[VOTE_AGGREGATOR_CONSUMER_NAME];
  const report = checkVoteCounts({
    votes: await scanTable(system, votesTable),
    results: await scanTable(system, resultsTable),
    hotPollId: HOT_POLL_ID,
    voteWrites: voteWritesByPoll(traffic.log),
    delivery: {
      invocations: stats?.invocations ?? 0,
      failedInvocations: stats?.failedInvocations ?? 0,
      recordsRedelivered: stats?.recordsRedelivered ?? 0,
    },
  });
  const written = system.environments[VOTE_AGGREGATOR_CONSUMER_NAME]?.[ENV.POLL_RESULTS_TABLE_NAME];
  if (written === undefined || written === resultsTable) return report;
  return {
    ...report,
    ok: false,
    problems: [
      `${VOTE_AGGREGATOR_CONSUMER_NAME} writes ${written}, but the API reads poll results from ${resultsTable}`,
      ...report.problems,
    ],
  };
}
