import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { AUDIT_LOG_CONSUMER_NAME } from '../../lambdas/audit-log/names.js';
import { ORDER_FANOUT_CONSUMER_NAME } from '../../lambdas/order-fanout/names.js';
import { SEARCH_SYNC_CONSUMER_NAME } from '../../lambdas/search-sync/names.js';
import { ENV } from '../../lambdas/shared/env.js';
import { ORDERS_INDEX } from '../../lambdas/shared/search/orders-index.js';
import { ensureOrdersIndex } from '../../lambdas/shared/search/orders-index-bootstrap.js';
import { VOTE_AGGREGATOR_CONSUMER_NAME } from '../../lambdas/vote-aggregator/names.js';
import { OPS_CONSUMERS, type OpsConsumerName } from '../../lib/stage-outputs.js';
import type { OpsAws } from '../../ops/aws/ports.js';
import { bufferedOpsIo, type OpsDeps } from '../../ops/cli/command.js';
import { runOpsCli } from '../../ops/ops-cli.js';
import { compareSequenceNumbers } from '../../ops/redrive/sequence-numbers.js';
import { readJsonLines } from '../../sandbox/adapters/json-lines-file.js';
import { LocalS3Client } from '../../sandbox/adapters/local-s3.js';
import { readOutbox } from '../../sandbox/adapters/local-ses.js';
import { readTopicMessages, topicNameFromArn } from '../../sandbox/adapters/local-sns.js';
import {
  DEAD_LETTER_SOURCE,
  localQueueUrl,
  ON_FAILURE_SOURCE,
  queueNameFromUrl,
  readQueueMessages,
} from '../../sandbox/adapters/local-sqs.js';
import { createLocalOpenSearchClient } from '../../sandbox/opensearch/local-client.js';
import { type SandboxSystem, type ServiceStats, startSandboxSystem } from '../../sandbox/system.js';
import { HOT_POLL_ID, runTraffic, TRAFFIC_SKUS, type TrafficSummary } from '../../sandbox/traffic.js';
import { type AuditReport, checkAuditLog, type StreamRecordTruth } from '../chaos/audit-invariants.js';
import { readAuditObjects } from '../chaos/audit-observations.js';
import { AUDIT_CREATION_TIME_SLACK_MS } from '../chaos/chaos-run.js';
import { checkFanoutInvariants, type FanoutReport } from '../chaos/fanout-invariants.js';
import type { ProbeEffect } from '../chaos/probe-consumer.js';
import {
  consumerVariable,
  observeAuditBucket,
  observeFanoutSinks,
  readTableStream,
  scanOrders,
  scanTable,
  tableName,
} from '../chaos/sandbox-observations.js';
import { checkSearchIndex, type DeletedOrderTruth, type SearchReport } from '../chaos/search-invariants.js';
import {
  checkVoteCounts,
  type ScannedItem,
  type VotesReport,
  voteWritesByPoll,
} from '../chaos/votes-invariants.js';
import { countingOpsAws, emptyOpsCallCounts, type OpsCallCounts } from './counting-ops-aws.js';
import { type OutageFaultCounts, OutageFaults } from './outage-faults.js';

/**
 * The outage drill (issue 15's end-to-end proof, docs/benchmarks.md `redrive`): in the sandbox, a downstream outage
 * longer than the maximum record age sends records to the DLQs, both kinds of letter; after the outage,
 * `npm run ops -- redrive <consumer>` (the real command, through runOpsCli over the sandbox's ops side) brings every
 * consumer's target back to equal the table, and a second redrive changes nothing; then `ops replay search-sync`
 * into an emptied index converges to the table again. It measures the redrive's and the replay's throughput and
 * calls per record on the way. Used by its test (correctness only) and by `npm run bench -- --only redrive`.
 *
 * 1. The sandbox starts with every mapping's maximum record age capped (`maxRecordAgeMs`), short batching windows,
 *    and the outage's faults wired but off (outage-faults.ts). Normal traffic (orders and votes) drains with no letter.
 * 2. The outage starts; traffic is written during it, and the outage lasts until every mapping has drained: every
 *    record written during it has left its stream for the DLQ, as a full record (the search sync's broken mapping:
 *    permanent) or in a range the mapping gave up on. Only then does it end, so that no later record of an item or a
 *    poll is applied before the redrive hands back the earlier ones (the vote aggregator's watermark would take them
 *    as applied, the fan-out would send out of order): the drill is of an outage, not of an outage with traffic after
 *    it.
 * 3. Each consumer is redriven; then the fan-out's effects are checked against the Orders stream (each change's
 *    effects once: fanout-invariants.ts with the history read from the stream), the index against the table, the
 *    votes against a recount, the audit bucket against the stream; every DLQ must be empty.
 * 4. Each consumer is redriven again: no letter, and no counter, file, table or index changes.
 * 5. The `orders` index is deleted and created empty by the bootstrap; `ops replay search-sync` over the run's window
 *    rebuilds it from the audit log, and it must equal the table again.
 */

/** The drill could not run as planned (the sandbox lacks a consumer, a phase did not drain, ...). */
export class OutageDrillError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = 'OutageDrillError';
  }
}

export interface OutageDrillOptions {
  readonly seed: number;
  /** API operations before the outage (orders and votes). */
  readonly normalOperations: number;
  /** API operations during the outage. */
  readonly outageOperations: number;
  /** Every mapping's maximum record age: the outage outlasts it. */
  readonly maxRecordAgeMs: number;
  /** Every mapping's function timeout: generous, since a redriven batch must succeed whatever the machine's load. */
  readonly functionTimeoutMs: number;
  readonly maxBatchingWindowMs: number;
  /** The sandbox's output directory (cleared at start); default the sandbox's own. */
  readonly outputDir?: string;
  /** The longest any wait for a condition (a drain) may take before the drill fails: only a hang reaches it. */
  readonly hangTimeoutMs: number;
  readonly log: (line: string) => void;
}

/** Letters by kind: the runtime's full records, the mapping's on-failure ranges. */
export interface LetterCounts {
  readonly runtime: number;
  readonly onFailure: number;
}

/** Calls of the local services (SNS, SES, SQS and S3 stand-ins, OpenSearch, DynamoDB of the consumers). */
export type DownstreamCalls = Readonly<
  Record<'sns' | 'ses' | 'sqs' | 's3' | 'opensearch' | 'dynamodb', number>
>;

/** One `ops redrive <consumer>` run and what it cost. */
export interface RedriveRun {
  readonly consumer: OpsConsumerName;
  readonly exitCode: number;
  /** The letters in the DLQ before the run, by kind. */
  readonly letters: LetterCounts;
  readonly lettersRead: number;
  readonly redriven: number;
  readonly recordsInvoked: number;
  readonly invocations: number;
  /** Why letters were kept (not done, unrecoverable, skipped), from the command's JSON: empty when all were done. */
  readonly kept: readonly string[];
  /** Wall time of the command. */
  readonly seconds: number;
  /** recordsInvoked / seconds (null when nothing was invoked). */
  readonly recordsPerSecond: number | null;
  readonly calls: OpsCallCounts;
  readonly downstreamCalls: DownstreamCalls;
  /** Invoke calls per record invoked. */
  readonly invokesPerRecord: number | null;
  /** ReceiveMessage and DeleteMessage calls per letter read. */
  readonly sqsCallsPerLetter: number | null;
  /** GetShardIterator and GetRecords calls per on-failure letter. */
  readonly streamCallsPerRange: number | null;
  /** The consumer's downstream calls per record invoked. */
  readonly downstreamCallsPerRecord: number | null;
}

export interface ReplayRun {
  readonly exitCode: number;
  readonly from: string;
  readonly to: string;
  /** The window's changes read back from the audit log (each eventId once). */
  readonly records: number;
  readonly recordsDone: number;
  readonly invocations: number;
  readonly seconds: number;
  readonly recordsPerSecond: number | null;
  readonly calls: OpsCallCounts;
  /** The replay's S3 reads (ListObjectsV2, GetObject) and the search sync's OpenSearch requests among them. */
  readonly downstreamCalls: DownstreamCalls;
  readonly invokesPerRecord: number | null;
  readonly downstreamCallsPerRecord: number | null;
  /** The index after the replay against the table. */
  readonly search: SearchReport;
}

export interface OutageDrillResult {
  /** Stream records the run wrote: Orders and Votes. */
  readonly streamRecords: { readonly orders: number; readonly votes: number };
  readonly outage: {
    readonly faults: OutageFaultCounts;
    /** The letters each consumer's DLQ held when the outage ended. */
    readonly letters: Readonly<Record<string, LetterCounts>>;
  };
  readonly redrive: readonly RedriveRun[];
  /** After the redrive. */
  readonly checks: {
    readonly fanout: FanoutReport;
    /** Every change's SNS, SES and SQS effects delivered exactly once: none missing, no extra copy, marked or not. */
    readonly effectsExactlyOnce: boolean;
    readonly search: SearchReport;
    readonly votes: VotesReport;
    readonly audit: AuditReport;
    /** Every DLQ empty: each letter deleted. */
    readonly dlqsEmpty: boolean;
  };
  readonly secondRedrive: {
    readonly runs: readonly RedriveRun[];
    /** Counters, sink files, tables and the index are the same before and after it. */
    readonly unchanged: boolean;
    readonly differences: readonly string[];
  };
  readonly replay: ReplayRun;
  readonly ok: boolean;
  /** Why not ok, for the log. */
  readonly problems: readonly string[];
}

/** Redrive order: the audit log first, so that the archive is whole before anything might read it. */
const REDRIVE_ORDER: readonly OpsConsumerName[] = [
  AUDIT_LOG_CONSUMER_NAME,
  ORDER_FANOUT_CONSUMER_NAME,
  SEARCH_SYNC_CONSUMER_NAME,
  VOTE_AGGREGATOR_CONSUMER_NAME,
] as OpsConsumerName[];

/** Stock for every SKU of the traffic: nothing is back-ordered by the fan-out, so only the traffic writes orders. */
const DRILL_STOCK_PER_SKU = 1_000_000;

function perRecord(count: number, records: number): number | null {
  return records === 0 ? null : Math.round((count / records) * 1000) / 1000;
}

function rate(records: number, seconds: number): number | null {
  return records === 0 || seconds <= 0 ? null : Math.round((records / seconds) * 10) / 10;
}

/** The local services' calls as one figure per service. */
export function downstreamCallsOf(stats: ServiceStats): DownstreamCalls {
  return {
    sns: stats.sns.totalCalls,
    ses: stats.ses.totalCalls,
    sqs: stats.sqs.totalCalls,
    s3: stats.s3.totalCalls,
    opensearch: stats.opensearch.requests,
    dynamodb: Object.values(stats.dynamodb).reduce((sum, counts) => sum + counts.total, 0),
  };
}

function callsBetween(before: DownstreamCalls, after: DownstreamCalls): DownstreamCalls {
  return {
    sns: after.sns - before.sns,
    ses: after.ses - before.ses,
    sqs: after.sqs - before.sqs,
    s3: after.s3 - before.s3,
    opensearch: after.opensearch - before.opensearch,
    dynamodb: after.dynamodb - before.dynamodb,
  };
}

function totalOf(calls: DownstreamCalls): number {
  return Object.values(calls).reduce((sum, count) => sum + count, 0);
}

/** An image's string or number attribute (`{ S }` or `{ N }`) as text; undefined for any other or none. */
function attributeText(image: StreamRecordTruth['newImage'], name: string): string | undefined {
  const value = image?.[name];
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const typed = value as { readonly S?: unknown; readonly N?: unknown };
  if (typeof typed.S === 'string') return typed.S;
  if (typeof typed.N === 'string') return typed.N;
  return undefined;
}

/**
 * Each order's history as the fan-out's checks take it (the chaos probe's effects), read from the Orders stream
 * itself: every record in stream order, with its version and statuses. The stream is the truth of what the fan-out
 * had to do; no probe consumer runs in the drill.
 */
export function historyFromStream(records: readonly StreamRecordTruth[]): ProbeEffect[] {
  const history: ProbeEffect[] = [];
  for (const record of [...records].sort((a, b) =>
    compareSequenceNumbers(a.sequenceNumber, b.sequenceNumber),
  )) {
    const orderId = attributeText(record.keys, 'orderId');
    const image = record.eventName === 'REMOVE' ? record.oldImage : record.newImage;
    const version = Number(attributeText(image, 'version'));
    if (orderId === undefined || !Number.isSafeInteger(version)) continue;
    const status = attributeText(image, 'status');
    const previousStatus =
      record.eventName === 'MODIFY' ? attributeText(record.oldImage, 'status') : undefined;
    history.push({
      orderId,
      version,
      eventName: record.eventName,
      eventId: record.eventId,
      sequenceNumber: record.sequenceNumber,
      ...(status === undefined ? {} : { status }),
      ...(previousStatus === undefined ? {} : { previousStatus }),
      at: new Date(record.approximateCreationTime).toISOString(),
    });
  }
  return history;
}

/** The orders whose last change in the stream is a REMOVE, with the version they had then. */
export function deletedOrdersFromStream(history: readonly ProbeEffect[]): DeletedOrderTruth[] {
  const last = new Map<string, ProbeEffect>();
  for (const effect of history) last.set(effect.orderId, effect);
  return [...last.values()]
    .filter((effect) => effect.eventName === 'REMOVE')
    .map((effect) => ({ orderId: effect.orderId, lastVersion: effect.version }));
}

/**
 * The ops command's outside world for the drill: the sandbox's ports in this process (the drill counts their calls),
 * as `--stage <the sandbox's stage>`; `--local` is not used, so asking for it is a bug of the drill.
 */
function inProcessDeps(aws: () => OpsAws): OpsDeps {
  return {
    aws,
    local: () => Promise.reject(new Error('The drill runs the ops commands in process, never with --local')),
    now: () => new Date(),
  };
}

/** Runs the drill; see the module comment. The sandbox is stopped at the end, its output files stay. */
export async function runOutageDrill(options: OutageDrillOptions): Promise<OutageDrillResult> {
  const { log } = options;
  const faults = new OutageFaults();
  const startedAt = Date.now();
  const system = await startSandboxSystem({
    port: 0,
    ...(options.outputDir === undefined ? {} : { outputDir: options.outputDir }),
    inventory: Object.fromEntries(TRAFFIC_SKUS.map((sku) => [sku, DRILL_STOCK_PER_SKU])),
    maxRecordAgeMs: options.maxRecordAgeMs,
    maxBatchingWindowMs: options.maxBatchingWindowMs,
    functionTimeoutMs: options.functionTimeoutMs,
    serviceFaults: faults.serviceFaults,
    searchFaults: faults.searchFaults,
    wrapFunction: faults.wrapFunction,
    log,
  });
  try {
    for (const consumer of OPS_CONSUMERS) {
      if (!system.consumers.includes(consumer) || system.deadLetterQueues[consumer] === undefined) {
        throw new OutageDrillError(`The sandbox runs no ${consumer} with a DLQ: the drill needs all four`);
      }
    }
    const drain = async (phase: string): Promise<void> => {
      if (!(await system.waitUntilDrained({ timeoutMs: options.hangTimeoutMs }))) {
        throw new OutageDrillError(`The streams did not drain ${phase} within ${options.hangTimeoutMs} ms`);
      }
    };

    log(`Drill: ${options.normalOperations} operations of normal traffic...`);
    const normal = await traffic(system, options.seed, options.normalOperations, 'normal');
    await drain('after the normal traffic');
    const before = await lettersByConsumer(system);
    const early = Object.entries(before).filter(([, counts]) => counts.runtime + counts.onFailure > 0);
    if (early.length > 0) {
      throw new OutageDrillError(
        `Letters before the outage (${early.map(([consumer]) => consumer).join(', ')}): the drill needs clean DLQs`,
      );
    }

    log(
      `Drill: outage on (SNS, SES, SQS, S3 throttled; the index mapping broken; the vote aggregator's DynamoDB ` +
        `down); ${options.outageOperations} operations during it, maximum record age ${options.maxRecordAgeMs} ms...`,
    );
    faults.start();
    const outage = await traffic(system, options.seed + 1, options.outageOperations, 'outage');
    // Every record of the outage has left its stream (given up, or dead-lettered as permanent) once they drained.
    await drain('during the outage');
    faults.end();
    const outageLetters = await lettersByConsumer(system);
    log(
      `Drill: outage off. Letters: ${JSON.stringify(outageLetters)}; faults: ${JSON.stringify(faults.counts())}`,
    );
    await drain('after the outage');

    const problems: string[] = [];
    for (const consumer of OPS_CONSUMERS) {
      const letters = outageLetters[consumer]!;
      if (letters.runtime + letters.onFailure === 0)
        problems.push(`${consumer}'s DLQ got no letter in the outage`);
    }
    const allLetters = Object.values(outageLetters);
    if (!allLetters.some((letters) => letters.runtime > 0))
      problems.push('no runtime letter (full record) at all');
    if (!allLetters.some((letters) => letters.onFailure > 0))
      problems.push('no on-failure letter (range) at all');

    const redriveRuns: RedriveRun[] = [];
    for (const consumer of REDRIVE_ORDER) {
      const run = await redriveConsumer(system, consumer, outageLetters[consumer]!);
      log(
        `Drill: redrive ${consumer}: exit ${run.exitCode}, ${run.lettersRead} letters, ${run.recordsInvoked} records in ` +
          `${run.invocations} invocations, ${run.seconds} s`,
      );
      if (run.exitCode !== 0) {
        problems.push(`redrive ${consumer} exited ${run.exitCode}: ${run.kept.slice(0, 3).join('; ')}`);
      }
      redriveRuns.push(run);
    }
    await drain('after the redrive');

    const ordersStream = await readOrdersStream(system);
    const history = historyFromStream(ordersStream);
    const fanout = await checkFanout(system, history);
    const effectsExactlyOnce =
      fanout.ok &&
      fanout.missing === 0 &&
      fanout.unexplainedDuplicates === 0 &&
      Object.values(fanout.accountedDuplicates).every((count) => count === 0);
    const search = await checkSearch(system, history);
    const votes = await checkVotes(system, [normal, outage]);
    const audit = await checkAudit(system, ordersStream);
    const dlqsEmpty = await everyDlqEmpty(system);
    for (const [name, report] of [
      ['fan-out', fanout],
      ['search', search],
      ['votes', votes],
      ['audit', audit],
    ] as const) {
      if (!report.ok)
        problems.push(`${name} check after the redrive: ${report.problems.slice(0, 3).join('; ')}`);
    }
    if (!effectsExactlyOnce) {
      problems.push(
        `fan-out effects not exactly once: ${JSON.stringify(fanout.accountedDuplicates)} extra copies`,
      );
    }
    if (!dlqsEmpty) problems.push('a DLQ still holds letters after the redrive');

    log('Drill: second redrive of every consumer...');
    const snapshotBefore = await snapshot(system);
    const secondRuns: RedriveRun[] = [];
    for (const consumer of REDRIVE_ORDER) {
      const run = await redriveConsumer(system, consumer, { runtime: 0, onFailure: 0 });
      if (run.exitCode !== 0 || run.lettersRead !== 0 || run.recordsInvoked !== 0) {
        problems.push(
          `second redrive ${consumer}: exit ${run.exitCode}, ${run.lettersRead} letters, ${run.recordsInvoked} records`,
        );
      }
      secondRuns.push(run);
    }
    await drain('after the second redrive');
    const snapshotAfter = await snapshot(system);
    const differences = Object.keys(snapshotBefore).filter(
      (part) => !isDeepStrictEqual(snapshotBefore[part], snapshotAfter[part]),
    );
    if (differences.length > 0) problems.push(`the second redrive changed ${differences.join(', ')}`);

    log('Drill: the index emptied, then ops replay search-sync over the run...');
    const replayRun = await replaySearch(system, startedAt, history);
    if (replayRun.exitCode !== 0) problems.push(`replay search-sync exited ${replayRun.exitCode}`);
    if (replayRun.records !== ordersStream.length) {
      problems.push(
        `replay read ${replayRun.records} changes, the Orders stream holds ${ordersStream.length}`,
      );
    }
    if (!replayRun.search.ok) {
      problems.push(`the index after the replay: ${replayRun.search.problems.slice(0, 3).join('; ')}`);
    }

    return {
      streamRecords: { orders: ordersStream.length, votes: await countVotesStream(system) },
      outage: { faults: faults.counts(), letters: outageLetters },
      redrive: redriveRuns,
      checks: { fanout, effectsExactlyOnce, search, votes, audit, dlqsEmpty },
      secondRedrive: { runs: secondRuns, unchanged: differences.length === 0, differences },
      replay: replayRun,
      ok: problems.length === 0,
      problems,
    };
  } finally {
    faults.end();
    await system.stop();
  }
}

async function traffic(
  system: SandboxSystem,
  seed: number,
  operations: number,
  phase: string,
): Promise<TrafficSummary> {
  const summary = await runTraffic({
    apiUrl: system.apiUrl,
    seed,
    operations,
    ratePerSecond: Number.POSITIVE_INFINITY,
    idempotencyKeyPrefix: `drill-${phase}-${seed}`,
  });
  if (summary.ok === 0) {
    throw new OutageDrillError(`No ${phase} operation succeeded (${JSON.stringify(summary.byStatus)})`);
  }
  return summary;
}

/** The letters each consumer's DLQ holds now (sent and not deleted), by kind. */
async function lettersByConsumer(system: SandboxSystem): Promise<Record<string, LetterCounts>> {
  const result: Record<string, LetterCounts> = {};
  for (const consumer of OPS_CONSUMERS) {
    const queueName = system.deadLetterQueues[consumer]!;
    // The local queue keeps its file whole and its deletions beside it (<queue>.deleted.jsonl).
    const deleted = new Set(
      (
        await readJsonLines<{ messageId: string }>(
          join(system.outputDir, 'sqs', `${queueName}.deleted.jsonl`),
        )
      ).map((line) => line.messageId),
    );
    const messages = (await readQueueMessages(system.outputDir, queueName)).filter(
      (message) => !deleted.has(message.messageId),
    );
    result[consumer] = {
      runtime: messages.filter((message) => message.source === DEAD_LETTER_SOURCE).length,
      onFailure: messages.filter((message) => message.source === ON_FAILURE_SOURCE).length,
    };
  }
  return result;
}

async function everyDlqEmpty(system: SandboxSystem): Promise<boolean> {
  const aws = system.opsAws();
  try {
    for (const consumer of OPS_CONSUMERS) {
      const depth = await aws.deadLetterQueues.depth(localQueueUrl(system.deadLetterQueues[consumer]!));
      if (depth.visible + depth.inFlight > 0) return false;
    }
    return true;
  } finally {
    aws.close();
  }
}

/** One `npm run ops -- redrive <consumer> --json` against the sandbox, timed, its calls and downstream calls counted. */
async function redriveConsumer(
  system: SandboxSystem,
  consumer: OpsConsumerName,
  letters: LetterCounts,
): Promise<RedriveRun> {
  const io = bufferedOpsIo();
  const calls = emptyOpsCallCounts();
  const downstreamBefore = downstreamCallsOf(system.serviceStats());
  const started = performance.now();
  const exitCode = await runOpsCli(
    ['redrive', consumer, '--stage', system.stageName, '--json'],
    io,
    inProcessDeps(() => countingOpsAws(system.opsAws(), system.dynamodbEndpoint, calls)),
  );
  const seconds = Math.round(performance.now() - started) / 1000;
  const downstreamCalls = callsBetween(downstreamBefore, downstreamCallsOf(system.serviceStats()));
  const summary = parseJsonResult(io.out(), io.err(), `redrive ${consumer}`) as {
    lettersRead: number;
    redriven: number;
    recordsInvoked: number;
    invocations: number;
    notDone: { kind: string; reason: string }[];
    unrecoverable: { kind: string; reason: string }[];
    skipped: { kind: string; reason: string }[];
  };
  const kept = [...summary.notDone, ...summary.unrecoverable, ...summary.skipped].map(
    (outcome) => `${outcome.kind}: ${outcome.reason}`,
  );
  return {
    consumer,
    exitCode,
    letters,
    lettersRead: summary.lettersRead,
    redriven: summary.redriven,
    recordsInvoked: summary.recordsInvoked,
    invocations: summary.invocations,
    kept,
    seconds,
    recordsPerSecond: rate(summary.recordsInvoked, seconds),
    calls: { ...calls },
    downstreamCalls,
    invokesPerRecord: perRecord(calls.invoke, summary.recordsInvoked),
    sqsCallsPerLetter: perRecord(calls.receiveMessage + calls.deleteMessage, summary.lettersRead),
    streamCallsPerRange: perRecord(calls.getShardIterator + calls.getRecords, letters.onFailure),
    downstreamCallsPerRecord: perRecord(totalOf(downstreamCalls), summary.recordsInvoked),
  };
}

function parseJsonResult(stdout: string, stderr: string, what: string): unknown {
  const last = stdout.trim().split('\n').at(-1) ?? '';
  try {
    return JSON.parse(last);
  } catch {
    throw new OutageDrillError(
      `${what} printed no JSON result: ${stdout.slice(0, 500)} ${stderr.slice(0, 1000)}`,
    );
  }
}

/**
 * Empties the `orders` index (deleted, then created by the bootstrap as the search sync's first write would) and
 * replays the search sync over the run's window from the audit log. The window starts at the run's start rounded down
 * to the minute: DynamoDB Local stamps stream records to the minute, and a record read back from the stream by the
 * redrive carries that stamp into its audit line.
 */
async function replaySearch(
  system: SandboxSystem,
  startedAt: number,
  history: readonly ProbeEffect[],
): Promise<ReplayRun> {
  const client = createLocalOpenSearchClient(system.search.url);
  try {
    await client.transport.request({ method: 'DELETE', path: `/${ORDERS_INDEX}` });
    const replicas = Number(
      system.environments[SEARCH_SYNC_CONSUMER_NAME]?.[ENV.SEARCH_INDEX_REPLICAS] ?? '0',
    );
    await ensureOrdersIndex(client, { replicas });
  } finally {
    await client.close();
  }
  const from = new Date(Math.floor(startedAt / 60_000) * 60_000).toISOString();
  const to = new Date().toISOString();
  const io = bufferedOpsIo();
  const calls = emptyOpsCallCounts();
  const downstreamBefore = downstreamCallsOf(system.serviceStats());
  const started = performance.now();
  const exitCode = await runOpsCli(
    ['replay', SEARCH_SYNC_CONSUMER_NAME, '--from', from, '--to', to, '--stage', system.stageName, '--json'],
    io,
    inProcessDeps(() => countingOpsAws(system.opsAws(), system.dynamodbEndpoint, calls)),
  );
  const seconds = Math.round(performance.now() - started) / 1000;
  const downstreamCalls = callsBetween(downstreamBefore, downstreamCallsOf(system.serviceStats()));
  const summary = parseJsonResult(io.out(), io.err(), 'replay search-sync') as {
    records: number;
    recordsDone: number;
    invocations: number;
  };
  return {
    exitCode,
    from,
    to,
    records: summary.records,
    recordsDone: summary.recordsDone,
    invocations: summary.invocations,
    seconds,
    recordsPerSecond: rate(summary.recordsDone, seconds),
    calls: { ...calls },
    downstreamCalls,
    invokesPerRecord: perRecord(calls.invoke, summary.recordsDone),
    downstreamCallsPerRecord: perRecord(totalOf(downstreamCalls), summary.recordsDone),
    search: await checkSearch(system, history),
  };
}

function readOrdersStream(system: SandboxSystem): Promise<StreamRecordTruth[]> {
  return readTableStream(system, tableName(system, 'Orders'));
}

async function countVotesStream(system: SandboxSystem): Promise<number> {
  return (await readTableStream(system, tableName(system, 'Votes'))).length;
}

/** The fan-out's topic, outbox, warehouse queue and Inventory table against the Orders stream's history. */
async function checkFanout(system: SandboxSystem, history: readonly ProbeEffect[]): Promise<FanoutReport> {
  const remaining = (await lettersByConsumer(system))[ORDER_FANOUT_CONSUMER_NAME]!;
  return checkFanoutInvariants({
    ...(await observeFanoutSinks(system)),
    history,
    poisonOrderIds: new Set(),
    // What is still in the DLQ after the redrive: any letter left is a change whose effects are not all out.
    deadLetters: remaining.runtime,
    onFailureRecords: remaining.onFailure,
  });
}

/** The `orders` index against the table (every attribute) and the orders the stream saw deleted. */
async function checkSearch(system: SandboxSystem, history: readonly ProbeEffect[]): Promise<SearchReport> {
  const { orders, unreadable } = await scanOrders(system);
  const report = checkSearchIndex({
    table: orders,
    deleted: deletedOrdersFromStream(history),
    documents: system.search.documents(ORDERS_INDEX),
  });
  if (unreadable.length === 0) return report;
  return {
    ...report,
    ok: false,
    problems: [`items that are not orders: ${unreadable.join(', ')}`, ...report.problems],
  };
}

async function checkVotes(system: SandboxSystem, traffics: readonly TrafficSummary[]): Promise<VotesReport> {
  const stats = system.stats()[VOTE_AGGREGATOR_CONSUMER_NAME];
  return checkVoteCounts({
    votes: await scanTable(system, tableName(system, 'Votes')),
    results: await scanTable(system, tableName(system, 'PollResults')),
    hotPollId: HOT_POLL_ID,
    voteWrites: voteWritesByPoll(traffics.flatMap((summary) => summary.log)),
    delivery: {
      invocations: stats?.invocations ?? 0,
      failedInvocations: stats?.failedInvocations ?? 0,
      recordsRedelivered: stats?.recordsRedelivered ?? 0,
    },
  });
}

/** The audit bucket against the Orders stream (every record stored, none overwritten). */
async function checkAudit(system: SandboxSystem, stream: readonly StreamRecordTruth[]): Promise<AuditReport> {
  const remaining = (await lettersByConsumer(system))[AUDIT_LOG_CONSUMER_NAME]!;
  return checkAuditLog({
    ...(await observeAuditBucket(system)),
    stream,
    creationTimeSlackMs: AUDIT_CREATION_TIME_SLACK_MS,
    deadLetters: remaining.runtime,
    onFailureRecords: remaining.onFailure,
  });
}

/**
 * What a redrive could change, each part as plain data: the services' counters, the sinks' files, the tables the
 * consumers write, the index, the audit bucket's keys and the DLQs.
 */
async function snapshot(system: SandboxSystem): Promise<Record<string, unknown>> {
  const byKey = (items: readonly ScannedItem[], key: string): ScannedItem[] =>
    [...items].sort((a, b) => String(a[key]).localeCompare(String(b[key])));
  const topicName = topicNameFromArn(
    consumerVariable(system, ORDER_FANOUT_CONSUMER_NAME, ENV.ORDER_EVENTS_TOPIC_ARN),
  )!;
  const warehouse = queueNameFromUrl(
    consumerVariable(system, ORDER_FANOUT_CONSUMER_NAME, ENV.WAREHOUSE_QUEUE_URL),
  );
  const bucket = consumerVariable(system, AUDIT_LOG_CONSUMER_NAME, ENV.AUDIT_BUCKET_NAME);
  return {
    serviceStats: system.serviceStats(),
    topic: await readTopicMessages(system.outputDir, topicName),
    outbox: await readOutbox(system.outputDir),
    warehouse: await readQueueMessages(system.outputDir, warehouse),
    orders: byKey(await scanTable(system, tableName(system, 'Orders')), 'orderId'),
    inventory: byKey(await scanTable(system, tableName(system, 'Inventory')), 'sku'),
    pollResults: byKey(await scanTable(system, tableName(system, 'PollResults')), 'pollId'),
    index: [...system.search.documents(ORDERS_INDEX)].sort(([a], [b]) => a.localeCompare(b)),
    auditObjects: (
      await readAuditObjects(new LocalS3Client({ outputDir: system.outputDir, buckets: [bucket] }), bucket)
    ).map((object) => object.key),
    letters: await lettersByConsumer(system),
  };
}
