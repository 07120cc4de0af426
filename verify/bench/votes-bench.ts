import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceNotFoundException,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, paginateScan } from '@aws-sdk/lib-dynamodb';
import type { Context, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { DynamoDbVotesRepository } from '../../lambdas/orders-api/adapters/dynamodb-votes-repository.js';
import { POLL_RESULTS_ATTRIBUTES } from '../../lambdas/shared/poll-results.js';
import type { DeadLetter } from '../../lambdas/shared/stream/dead-letter.js';
import type { StreamHandler } from '../../lambdas/shared/stream/stream-handler.js';
import { DynamoDbPollResultsStore } from '../../lambdas/vote-aggregator/adapters/dynamodb-poll-results-store.js';
import { createVoteAggregatorHandler } from '../../lambdas/vote-aggregator/aggregator.js';
import { VOTE_AGGREGATOR_CONSUMER_NAME } from '../../lambdas/vote-aggregator/names.js';
import { VOTE_AGGREGATOR_MAPPING } from '../../lib/constructs/vote-aggregator.js';
import { VoteTally } from '../../ops/reconcile/tally.js';
import {
  createCountingDynamoDb,
  type DynamoDbCall,
  type DynamoDbCallCounts,
} from '../../sandbox/adapters/counting-dynamodb.js';
import { flushJsonLinesWrites } from '../../sandbox/adapters/json-lines-file.js';
import { LocalLogger, LocalMetrics } from '../../sandbox/adapters/local-observability.js';
import { localClientConfig, startDynamoDbLocal } from '../../sandbox/dynamodb-local/server.js';
import {
  createTables,
  tableDefinitionsFromTemplate,
  tableNameOf,
} from '../../sandbox/dynamodb-local/tables.js';
import { esmConfigsFromApp } from '../../sandbox/esm/esm-config.js';
import { MemoryStreamSource } from '../../sandbox/esm/memory-stream-source.js';
import { EsmRunner } from '../../sandbox/esm/runner.js';
import type { EsmConfig, StreamFunction } from '../../sandbox/esm/types.js';
import { localLambdaContext } from '../../sandbox/lambda-context.js';
import { synthesizeApp } from '../../sandbox/synth.js';
import { DEFAULT_OUTPUT_DIR } from '../../sandbox/system.js';
import { createPerRecordVotesHandler } from './baselines/per-record-votes.js';
import type { Benchmark, BenchmarkResult, BenchmarkSettings } from './harness.js';
import { inParallel } from './in-parallel.js';
import {
  BENCH_VOTE_OPTIONS,
  DEFAULT_VOTE_MIX,
  per1000Records,
  planVotes,
  readStreamBatches,
  type VoteMix,
  type VotePlanOptions,
  type VoteStep,
} from './workload.js';

/**
 * `votes` (`npm run bench -- --only votes`): aggregate writes (write calls on the PollResults-like table, and for
 * baseline (b) on the Idempotency table too) per 1,000 votes of the vote aggregator, against two per-record
 * baselines (per-record-votes.ts), on the same records, in one run. It contributes two comparisons:
 *
 * - `votes-hot`: `votes` vote writes on one poll;
 * - `votes-spread`: `votes` vote writes over `polls` polls (each vote's poll drawn uniformly).
 *
 * The workload of each is a seeded history of vote writes through the orders API's own repository
 * (DynamoDbVotesRepository: conditional puts and deletes) into a fresh Votes table on DynamoDB Local: by default 80%
 * new votes (a new voter casts one of four options), 15% changes (a voter who holds a vote picks another option) and
 * 5% retractions (a voter who holds a vote deletes it), so every write is exactly one stream record. Writes run a
 * tick at a time, a voter at most once per tick, several in flight. The table's stream is then read into batches of
 * `batchSize` (100) per shard (readStreamBatches), as a mapping of that batch size delivers a backlog, and the same
 * batches are fed, one at a time, to three contestants, each against a fresh PollResults-like table of its own (same
 * key schema, cloned from the app's table) and a counting DynamoDB client of its own (createCountingDynamoDb, with its
 * call log of each write's table, key and time):
 *
 * - ours: the vote aggregator's handler (createVoteAggregatorHandler: the stream runtime in per-batch mode around
 *   createVoteBatchHandler) on DynamoDbPollResultsStore: one conditional UpdateItem per poll per batch (two for a
 *   poll's first batch: the update finds no item, then one creates it);
 * - perRecord, baseline (a): one UpdateItem per record, not exact under re-delivery;
 * - perRecordIdempotent, baseline (b), the comparison's baseline: the same inside Powertools idempotency keyed by the
 *   eventID (its writes on the Idempotency table count: that is its price), under a fresh key prefix.
 *
 * Every write call counts, the ones that fail a condition included (a conditional write that fails still costs a
 * write unit, and it is a request). Then the last batch is delivered to each contestant once more (a re-delivery: the
 * mapping retries a batch whose response was lost), and each contestant's table is compared with a recount of the
 * Votes table before and after it: ours stays exact (its watermark drops the records), (a) counts the batch twice, (b)
 * stays exact in this replay, but its guard is not atomic with the update (see per-record-votes.ts).
 *
 * For the hot poll it also measures the deployed mapping (the vote aggregator's mapping of the synthesized template,
 * or VOTE_AGGREGATOR_MAPPING when the template has none yet: batch size 1,000, a 1 s window, parallelization factor
 * 1): the local event source mapping runner (sandbox/esm EsmRunner, Lambda's poll interval of 250 ms) reads an
 * in-memory stream (MemoryStreamSource) fed with the hot workload's records at `votesPerSecond` (1,000) per second,
 * each stamped with the time it was appended, and invokes the same handler on a fresh table. It reports writes per
 * 1,000 votes, invocations and writes on the hot item per 1-second bucket of the feed, and the maximum of each. A
 * memory stream rather than the sandbox system: DynamoDB Local and the local API would have to take 1,000 writes a
 * second for the figure to mean the mapping and not the machine; the records are the real stream's all the same.
 *
 * Write counts of the replays are exact and repeatable for a given seed (the batches depend only on the records); the
 * deployed figures depend on timing (how the records fall into windows), and the rates on the machine.
 */

// The vote workload (VoteMix, DEFAULT_VOTE_MIX, BENCH_VOTE_OPTIONS, VoteStep, planVotes) lives in workload.ts, shared
// with the cpu-per-record benchmark; re-exported here for the callers that know it from this module.
export { BENCH_VOTE_OPTIONS, DEFAULT_VOTE_MIX, planVotes, type VoteMix, type VotePlanOptions, type VoteStep };

/** The batch size of the replayed contestants: the issue's "at batch size 100". */
export const VOTES_REPLAY_BATCH_SIZE = 100;

/** The issue's targets. */
export const VOTES_TARGETS = {
  /** Hot poll at batch size 100: at most this many aggregate writes per 1,000 votes. */
  hotWritesPer1000Votes: 10,
  /** At least this many times fewer writes than baseline (b). */
  timesFewerThanIdempotent: 100,
  /** The hot item's writes in any 1-second bucket at 1,000 votes per second ("a few"). */
  hotItemWritesPerSecond: 5,
  /** The arrival rate the hot item's target is stated for. */
  votesPerSecond: 1_000,
} as const;

/** DynamoDB operations that write. */
const WRITE_OPERATIONS = new Set([
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'BatchWriteItem',
  'TransactWriteItems',
]);

/** Thrown when the run cannot be measured as designed: records missing, a contestant failing records. */
export class VotesBenchError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = 'VotesBenchError';
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The workload
// ---------------------------------------------------------------------------------------------------------------

/** One vote write of the workload. */

/** What writing a workload did. */
export interface VoteWrites {
  readonly inserts: number;
  readonly modifies: number;
  readonly removes: number;
  /** Writes the repository did not make as planned (none expected): the records are then fewer. */
  readonly failedWrites: number;
}

/** Writes the planned votes through the orders API's repository, tick after tick. */
export async function writeVotes(options: {
  readonly documentClient: DynamoDBDocumentClient;
  readonly votesTable: string;
  readonly plan: readonly (readonly VoteStep[])[];
  readonly concurrency: number;
}): Promise<VoteWrites> {
  const repository = new DynamoDbVotesRepository(options.documentClient, options.votesTable);
  const writes = { inserts: 0, modifies: 0, removes: 0, failedWrites: 0 };
  const apply = async (step: VoteStep): Promise<void> => {
    if (step.kind === 'retract') {
      if (await repository.delete(step)) writes.removes += 1;
      else writes.failedWrites += 1;
      return;
    }
    const outcome = await repository.put({ ...step, votedAt: new Date().toISOString() });
    if (outcome.kind === 'created' && step.kind === 'cast') writes.inserts += 1;
    else if (outcome.kind === 'changed' && step.kind === 'change') writes.modifies += 1;
    else writes.failedWrites += 1;
  };
  for (const steps of options.plan) await inParallel(steps, options.concurrency, apply);
  return writes;
}

// ---------------------------------------------------------------------------------------------------------------
// Tallies: what a results table says, what the Votes table says
// ---------------------------------------------------------------------------------------------------------------

/** Per poll: the count of each option and the total. */
export type Tallies = ReadonlyMap<
  string,
  { readonly counts: Readonly<Record<string, number>>; readonly total: number }
>;

function asNumber(value: unknown): number {
  return typeof value === 'number' ? value : Number(value ?? 0);
}

/** Recounts the Votes table (strongly consistent scan): per poll, its current votes by option, as reconcile does. */
export async function recountVotes(
  documentClient: DynamoDBDocumentClient,
  votesTable: string,
): Promise<Tallies> {
  const tally = new VoteTally();
  for await (const page of paginateScan(
    { client: documentClient },
    { TableName: votesTable, ConsistentRead: true },
  )) {
    tally.add(
      (page.Items ?? []).map((item) => ({
        pollId: String(item.pollId),
        voterId: String(item.voterId),
        option: typeof item.option === 'string' ? item.option : undefined,
      })),
    );
  }
  return new Map(tally.pollIds().map((pollId) => [pollId, tally.count(pollId)]));
}

/** Reads a PollResults-like table: per poll, its `counts` and `total` as stored. */
export async function readTallies(
  documentClient: DynamoDBDocumentClient,
  resultsTable: string,
): Promise<Tallies> {
  const tallies = new Map<string, { counts: Record<string, number>; total: number }>();
  const { pollId, counts, total } = POLL_RESULTS_ATTRIBUTES;
  for await (const page of paginateScan(
    { client: documentClient },
    { TableName: resultsTable, ConsistentRead: true },
  )) {
    for (const item of page.Items ?? []) {
      const stored = (item[counts] ?? {}) as Record<string, unknown>;
      tallies.set(String(item[pollId]), {
        counts: Object.fromEntries(Object.entries(stored).map(([option, n]) => [option, asNumber(n)])),
        total: asNumber(item[total]),
      });
    }
  }
  return tallies;
}

/**
 * Votes miscounted: over every poll and option, |stored - recounted|, plus the totals' differences. 0 when the table
 * equals the recount (an option stored at 0 equals one that is absent; a poll with no votes left may have an item
 * of zeros or none).
 */
export function tallyDrift(stored: Tallies, recount: Tallies): number {
  let drift = 0;
  for (const pollId of new Set([...stored.keys(), ...recount.keys()])) {
    const a = stored.get(pollId);
    const b = recount.get(pollId);
    for (const option of new Set([...Object.keys(a?.counts ?? {}), ...Object.keys(b?.counts ?? {})])) {
      drift += Math.abs((a?.counts[option] ?? 0) - (b?.counts[option] ?? 0));
    }
    drift += Math.abs((a?.total ?? 0) - (b?.total ?? 0));
  }
  return drift;
}

// ---------------------------------------------------------------------------------------------------------------
// Counting writes
// ---------------------------------------------------------------------------------------------------------------

/** A string key attribute, marshalled (`{ S }`) or not, depending on where in the stack the input is read. */
function keyText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && typeof (value as { S?: unknown }).S === 'string') {
    return (value as { S: string }).S;
  }
  return undefined;
}

/** The `pollId` of a call's key, when it has one: the hot item's writes per second are counted by it. */
function pollIdOf(call: DynamoDbCall): string | undefined {
  const key = call.input.Key as Record<string, unknown> | undefined;
  return keyText(key?.[POLL_RESULTS_ATTRIBUTES.pollId]);
}

/**
 * The write calls among `calls` (a counting client's call log, createCountingDynamoDb with keepCalls) on any of the
 * tables: the figures need writes per table and per second of the hot item, not only the counts per operation.
 */
function writesOn(calls: readonly DynamoDbCall[], tables: readonly string[]): DynamoDbCall[] {
  return calls.filter(
    (call) => WRITE_OPERATIONS.has(call.operation) && call.tables.some((table) => tables.includes(table)),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// The figures
// ---------------------------------------------------------------------------------------------------------------

/** One contestant's figures on the batches of 100. */
export interface VotesContestantFigures {
  readonly batchSize: number;
  /** Records delivered in the main pass. */
  readonly votes: number;
  readonly batches: number;
  /** Write calls on its results table and (baseline (b)) the Idempotency table, failed conditions included. */
  readonly writes: number;
  readonly writesByTable: { readonly results: number; readonly idempotency: number };
  /** Every DynamoDB call of its client by operation (reads included), main pass and re-delivery. */
  readonly callsByOperation: Readonly<Record<string, number>>;
  readonly writesPer1000Votes: number;
  /** Writes per batch: the fewest and the most. */
  readonly writesPerBatch: { readonly min: number; readonly max: number };
  /**
   * The batches after the first one: for a hot poll, its cost once its item exists (the first batch pays the item's
   * creation: the update that finds no item, then the create).
   */
  readonly afterFirstBatch: {
    readonly votes: number;
    readonly writes: number;
    readonly writesPer1000Votes: number;
  };
  /** Whether its table equals the recount of the Votes table after the main pass. */
  readonly exact: boolean;
  /** The last batch delivered once more. */
  readonly redelivery: {
    readonly batch: number;
    readonly votes: number;
    readonly writes: number;
    /** Whether its table still equals the recount afterwards. */
    readonly exact: boolean;
    /** Votes miscounted afterwards (tallyDrift). */
    readonly drift: number;
  };
  /** Records the handler reported failed, or sent to its DLQ (none expected). */
  readonly failedRecords: number;
  readonly deadLettered: number;
  /** Time in the handler, ms, and votes over it (machine-dependent). */
  readonly handlerMs: number;
  readonly votesPerSecond: number;
}

export type MappingSource = 'template' | 'VOTE_AGGREGATOR_MAPPING' | 'options';

/** The deployed mapping on the hot poll, fed at a steady rate. */
export interface VotesDeployedFigures {
  readonly mapping: {
    readonly batchSize: number;
    readonly batchingWindowMs: number;
    readonly parallelizationFactor: number;
    /**
     * Where the settings came from: the synthesized template, the construct's constant (when the template has no
     * vote aggregator yet), or the benchmark's options (tests).
     */
    readonly source: MappingSource;
  };
  readonly feed: {
    readonly how: string;
    readonly targetVotesPerSecond: number;
    /** Votes over the time from the first append to the last. */
    readonly achievedVotesPerSecond: number;
    /** Votes appended per 1-second bucket of the feed. */
    readonly votesPerSecond: readonly number[];
    readonly seconds: number;
  };
  readonly votes: number;
  readonly invocations: number;
  /** Records per invocation, in delivery order. */
  readonly batchSizes: readonly number[];
  readonly writes: number;
  readonly writesPer1000Votes: number;
  /** Invocations started per 1-second bucket of the feed (from the first append), and their maximum. */
  readonly invocationsPerSecond: readonly number[];
  readonly maxInvocationsPerSecond: number;
  /** Write calls on the hot poll's item per 1-second bucket, and their maximum. */
  readonly hotItemWritesPerSecond: readonly number[];
  readonly maxHotItemWritesPerSecond: number;
  readonly exact: boolean;
  readonly failedRecords: number;
}

export interface VotesWorkloadFigures {
  readonly votes: number;
  readonly polls: number;
  readonly mix: VoteMix;
  readonly records: number;
  readonly inserts: number;
  readonly modifies: number;
  readonly removes: number;
  readonly failedWrites: number;
  readonly batches: number;
  /** Wall clock of writing the workload (machine-dependent). */
  readonly writeSeconds: number;
}

export interface VotesComparison {
  readonly unit: 'aggregate writes per 1,000 votes';
  readonly baseline: 'perRecordIdempotent';
  readonly workload: VotesWorkloadFigures;
  readonly batchSize: number;
  readonly ours: VotesContestantFigures;
  /** Baseline (a): one UpdateItem per record. */
  readonly perRecord: VotesContestantFigures;
  /** Baseline (b): (a) inside Powertools idempotency. */
  readonly perRecordIdempotent: VotesContestantFigures;
  /** How many times fewer writes per 1,000 votes ours makes than (b), and than (a). */
  readonly timesFewerThanIdempotent: number;
  readonly timesFewerThanPerRecord: number;
  /** What each contestant's exactness under re-delivery rests on. */
  readonly notes: readonly string[];
}

export interface VotesHotComparison extends VotesComparison {
  readonly deployed: VotesDeployedFigures | undefined;
  /** The issue's targets, checked and reported, never failed. */
  readonly meetsTarget: {
    /**
     * At batch size 100, at most 10 writes per 1,000 votes: one write per batch of the hot poll. Judged once the
     * poll's item exists (afterFirstBatch): its first batch costs one more call, the update that finds no item,
     * a one-time cost that `ours.writesPer1000Votes` shows (10.1 for 10,000 votes).
     */
    readonly atMost10WritesPer1000Votes: boolean;
    /** At least 100 times fewer writes than baseline (b), over the whole run. */
    readonly hundredTimesFewerThanIdempotent: boolean;
    /**
     * At most 5 writes per second on the hot item with votes arriving at 1,000 per second, at the deployed mapping
     * (false when the feed fell below 95% of that rate or the deployed run was skipped).
     */
    readonly hotItemAtMost5WritesPerSecond: boolean;
    /** Ours equals the recount after the re-delivery. */
    readonly exactUnderRedelivery: boolean;
  };
}

export interface VotesSpreadComparison extends VotesComparison {
  readonly meetsTarget: { readonly exactUnderRedelivery: boolean };
}

/**
 * How many times more writes per vote `baseline` made than `ours`, to one decimal, from the exact counts (not the
 * rounded per-1,000 figures); 0 when either has none.
 */
export function timesFewer(baseline: VotesContestantFigures, ours: VotesContestantFigures): number {
  if (baseline.votes === 0 || ours.votes === 0 || ours.writes === 0) return 0;
  return Math.round(((baseline.writes * ours.votes) / (ours.writes * baseline.votes)) * 10) / 10;
}

/** A contestant's figures from its per-batch write counts and what else was measured. */
export function contestantFigures(measured: {
  readonly batchSize: number;
  /** Per batch of the main pass: its records and its writes. */
  readonly batches: readonly { readonly votes: number; readonly writes: number }[];
  readonly writesByTable: { readonly results: number; readonly idempotency: number };
  readonly calls: DynamoDbCallCounts;
  readonly exact: boolean;
  readonly redelivery: VotesContestantFigures['redelivery'];
  readonly failedRecords: number;
  readonly deadLettered: number;
  readonly handlerMs: number;
}): VotesContestantFigures {
  const sum = (items: readonly { votes: number; writes: number }[], key: 'votes' | 'writes'): number =>
    items.reduce((total, item) => total + item[key], 0);
  const votes = sum(measured.batches, 'votes');
  const writes = sum(measured.batches, 'writes');
  const later = measured.batches.slice(1);
  const perBatch = measured.batches.map((batch) => batch.writes);
  return {
    batchSize: measured.batchSize,
    votes,
    batches: measured.batches.length,
    writes,
    writesByTable: measured.writesByTable,
    callsByOperation: measured.calls.byOperation,
    writesPer1000Votes: per1000Records(writes, votes),
    writesPerBatch: {
      min: perBatch.length === 0 ? 0 : Math.min(...perBatch),
      max: perBatch.length === 0 ? 0 : Math.max(...perBatch),
    },
    afterFirstBatch: {
      votes: sum(later, 'votes'),
      writes: sum(later, 'writes'),
      writesPer1000Votes: per1000Records(sum(later, 'writes'), sum(later, 'votes')),
    },
    exact: measured.exact,
    redelivery: measured.redelivery,
    failedRecords: measured.failedRecords,
    deadLettered: measured.deadLettered,
    handlerMs: Math.round(measured.handlerMs),
    votesPerSecond: measured.handlerMs <= 0 ? 0 : Math.round((votes / measured.handlerMs) * 1000 * 10) / 10,
  };
}

/** Counts per 1-second bucket from `startMs`; `seconds` buckets at least. */
export function perSecondBuckets(timesMs: readonly number[], startMs: number, seconds = 0): number[] {
  const buckets: number[] = Array.from({ length: seconds }, () => 0);
  for (const at of timesMs) {
    const index = Math.max(0, Math.floor((at - startMs) / 1000));
    while (buckets.length <= index) buckets.push(0);
    buckets[index]! += 1;
  }
  return buckets;
}

/** The hot comparison's targets from its figures. */
export function hotTargets(
  comparison: Omit<VotesHotComparison, 'meetsTarget'>,
): VotesHotComparison['meetsTarget'] {
  const { ours, perRecordIdempotent, deployed } = comparison;
  return {
    atMost10WritesPer1000Votes:
      ours.batchSize === VOTES_REPLAY_BATCH_SIZE &&
      ours.afterFirstBatch.votes > 0 &&
      ours.afterFirstBatch.writesPer1000Votes <= VOTES_TARGETS.hotWritesPer1000Votes,
    hundredTimesFewerThanIdempotent:
      ours.writes > 0 &&
      perRecordIdempotent.writes * ours.votes >=
        VOTES_TARGETS.timesFewerThanIdempotent * ours.writes * perRecordIdempotent.votes,
    hotItemAtMost5WritesPerSecond:
      deployed !== undefined &&
      deployed.votes > 0 &&
      deployed.feed.achievedVotesPerSecond >= 0.95 * VOTES_TARGETS.votesPerSecond &&
      deployed.maxHotItemWritesPerSecond <= VOTES_TARGETS.hotItemWritesPerSecond,
    exactUnderRedelivery: ours.exact && ours.redelivery.exact,
  };
}

const NOTES = [
  'ours: exact under re-delivery: one conditional UpdateItem per poll per batch moves a per-poll watermark (lastSeq) ' +
    'with the counts, in the same write; a re-delivered record is at or below it and is dropped',
  'perRecord (a): not exact: a re-delivered record is counted again',
  'perRecordIdempotent (b): exact in this replay (the idempotency record drops a re-delivered eventID), but the guard ' +
    'is not atomic with the update: a crash or a failed completion write after the update lets the in-progress ' +
    'record expire and the re-delivery count the vote again',
];

// ---------------------------------------------------------------------------------------------------------------
// Tables
// ---------------------------------------------------------------------------------------------------------------

/** Creates `name` with the key schema (and stream) of `source`, on demand capacity, and waits until it exists. */
export async function cloneTable(client: DynamoDBClient, source: string, name: string): Promise<string> {
  const { Table } = await client.send(new DescribeTableCommand({ TableName: source }));
  const keySchema = Table?.KeySchema ?? [];
  const keyNames = new Set(keySchema.map((key) => key.AttributeName));
  const stream = Table?.StreamSpecification;
  await client.send(
    new CreateTableCommand({
      TableName: name,
      KeySchema: keySchema,
      AttributeDefinitions: (Table?.AttributeDefinitions ?? []).filter((a) => keyNames.has(a.AttributeName)),
      BillingMode: 'PAY_PER_REQUEST',
      ...(stream?.StreamEnabled === true ? { StreamSpecification: stream } : {}),
    }),
  );
  await waitUntilTableExists({ client, maxWaitTime: 60, minDelay: 0.1, maxDelay: 1 }, { TableName: name });
  return name;
}

async function dropTables(client: DynamoDBClient, names: readonly string[]): Promise<void> {
  await Promise.all(
    names.map(async (name) => {
      try {
        await client.send(new DeleteTableCommand({ TableName: name }));
      } catch (error) {
        if (!(error instanceof ResourceNotFoundException)) throw error;
      }
    }),
  );
}

/** The prototypes the bench clones its tables from: the app's Votes, PollResults and Idempotency tables. */
export interface VotesBenchTables {
  readonly endpoint: string;
  readonly votesTable: string;
  readonly pollResultsTable: string;
  /** Shared by the (b) runs, each under a key prefix of its own. */
  readonly idempotencyTable: string;
}

/** DynamoDB Local and the app's tables: the caller's (tests) or started here from the template. */
async function benchTables(
  options: VotesBenchOptions,
  log: (line: string) => void,
): Promise<VotesBenchTables & { stop(): Promise<void> }> {
  if (options.dynamodb !== undefined) return { ...options.dynamodb, stop: async () => {} };
  log('  synthesizing the app for the table definitions...');
  const definitions = synthesizeApp({})
    .stacks.flatMap((stack) => tableDefinitionsFromTemplate(stack.template))
    .filter((definition) => ['Votes', 'PollResults', 'Idempotency'].includes(definition.constructId));
  log('  starting DynamoDB Local...');
  const ddb = await startDynamoDbLocal();
  const client = new DynamoDBClient(localClientConfig(ddb.endpoint));
  try {
    const names = await createTables(client, definitions, { prefix: 'bench-votes' });
    return {
      endpoint: ddb.endpoint,
      votesTable: tableNameOf(names, 'Votes'),
      pollResultsTable: tableNameOf(names, 'PollResults'),
      idempotencyTable: tableNameOf(names, 'Idempotency'),
      stop: () => ddb.stop(),
    };
  } catch (error) {
    await ddb.stop();
    throw error;
  } finally {
    client.destroy();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The contestants
// ---------------------------------------------------------------------------------------------------------------

/** What builds a contestant's handler: its own counting client, its own results table. */
interface ContestantBuild {
  readonly documentClient: DynamoDBDocumentClient;
  readonly resultsTable: string;
  readonly letters: DeadLetter[];
  readonly logger: LocalLogger;
  readonly metrics: LocalMetrics;
}

interface Contestant {
  /** Consumer and function name. */
  readonly name: string;
  build(build: ContestantBuild): StreamHandler;
}

function invocationContext(name: string, index: number): Context {
  return localLambdaContext({
    functionName: name,
    requestId: `${name}-${index}`,
    deadlineMs: Date.now() + 60_000,
    memoryLimitInMB: '512',
    logStreamName: name,
    callbackWaitsForEmptyEventLoop: false,
  });
}

/**
 * Feeds the batches, in order and one at a time, to a contestant on a fresh results table, then the last batch once
 * more, and measures it.
 */
async function runContestant(options: {
  readonly contestant: Contestant;
  readonly tables: VotesBenchTables;
  readonly resultsTable: string;
  readonly batches: readonly DynamoDBRecord[][];
  readonly batchSize: number;
  readonly recount: Tallies;
  readonly reader: DynamoDBDocumentClient;
  readonly outputDir: string;
}): Promise<VotesContestantFigures> {
  const { contestant, tables, resultsTable, batches } = options;
  const counting = createCountingDynamoDb(localClientConfig(tables.endpoint), { keepCalls: true });
  const letters: DeadLetter[] = [];
  const handler = contestant.build({
    documentClient: counting.documentClient,
    resultsTable,
    letters,
    logger: new LocalLogger(options.outputDir, contestant.name),
    metrics: new LocalMetrics(options.outputDir, contestant.name),
  });
  const counted = [resultsTable, tables.idempotencyTable];
  let failedRecords = 0;
  let handlerMs = 0;
  const deliver = async (batch: readonly DynamoDBRecord[], index: number): Promise<number> => {
    const from = counting.counter.calls().length;
    const started = performance.now();
    const response = await handler(
      { Records: structuredClone(batch) as DynamoDBRecord[] },
      invocationContext(contestant.name, index),
    );
    handlerMs += performance.now() - started;
    failedRecords += response.batchItemFailures.length;
    return writesOn(counting.counter.calls().slice(from), counted).length;
  };
  try {
    const perBatch: { votes: number; writes: number }[] = [];
    for (const [index, batch] of batches.entries()) {
      perBatch.push({ votes: batch.length, writes: await deliver(batch, index) });
    }
    const mainWrites = writesOn(counting.counter.calls(), counted);
    const writesByTable = {
      results: mainWrites.filter((call) => call.tables.includes(resultsTable)).length,
      idempotency: mainWrites.filter((call) => call.tables.includes(tables.idempotencyTable)).length,
    };
    const exact = tallyDrift(await readTallies(options.reader, resultsTable), options.recount) === 0;
    const last = batches.length - 1;
    const handlerMsBefore = handlerMs;
    const redeliveryWrites = last < 0 ? 0 : await deliver(batches[last]!, batches.length);
    handlerMs = handlerMsBefore;
    const drift = tallyDrift(await readTallies(options.reader, resultsTable), options.recount);
    return contestantFigures({
      batchSize: options.batchSize,
      batches: perBatch,
      writesByTable,
      calls: counting.counter.snapshot(),
      exact,
      redelivery: {
        batch: last,
        votes: batches[last]?.length ?? 0,
        writes: redeliveryWrites,
        exact: drift === 0,
        drift,
      },
      failedRecords,
      deadLettered: letters.length,
      handlerMs,
    });
  } finally {
    await flushJsonLinesWrites();
    counting.destroy();
  }
}

/** The three contestants of a workload. */
function contestants(
  tables: VotesBenchTables,
  runId: string,
): {
  readonly ours: Contestant;
  readonly perRecord: Contestant;
  readonly perRecordIdempotent: Contestant;
} {
  const deadLetterQueue = (letters: DeadLetter[]) => ({
    send: async (letter: DeadLetter) => void letters.push(letter),
  });
  return {
    ours: {
      name: `${VOTE_AGGREGATOR_CONSUMER_NAME}-batch-${VOTES_REPLAY_BATCH_SIZE}`,
      build: (build) =>
        createVoteAggregatorHandler({
          consumerName: `${VOTE_AGGREGATOR_CONSUMER_NAME}-batch-${VOTES_REPLAY_BATCH_SIZE}`,
          deadLetterQueue: deadLetterQueue(build.letters),
          logger: build.logger,
          metrics: build.metrics,
          store: new DynamoDbPollResultsStore(build.documentClient, build.resultsTable),
        }),
    },
    perRecord: {
      name: `${VOTE_AGGREGATOR_CONSUMER_NAME}-per-record`,
      build: (build) =>
        createPerRecordVotesHandler({
          documentClient: build.documentClient,
          pollResultsTable: build.resultsTable,
          consumerName: `${VOTE_AGGREGATOR_CONSUMER_NAME}-per-record`,
          deadLetterQueue: deadLetterQueue(build.letters),
          logger: build.logger,
          metrics: build.metrics,
        }),
    },
    perRecordIdempotent: {
      name: `${VOTE_AGGREGATOR_CONSUMER_NAME}-per-record-idempotent`,
      build: (build) =>
        createPerRecordVotesHandler({
          documentClient: build.documentClient,
          pollResultsTable: build.resultsTable,
          consumerName: `${VOTE_AGGREGATOR_CONSUMER_NAME}-per-record-idempotent`,
          deadLetterQueue: deadLetterQueue(build.letters),
          logger: build.logger,
          metrics: build.metrics,
          // A key prefix of this run's own: a clean ledger whatever the table holds.
          idempotency: { tableName: tables.idempotencyTable, keyPrefix: `votes-per-record-${runId}` },
        }),
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The deployed mapping
// ---------------------------------------------------------------------------------------------------------------

/** The vote aggregator's mapping from the synthesized template, or from the construct's constant. */
export function deployedVoteMapping(): {
  readonly config: EsmConfig;
  readonly source: MappingSource;
} {
  const fromTemplate = esmConfigsFromApp(synthesizeApp({})).find(
    (config) => config.consumerName === VOTE_AGGREGATOR_CONSUMER_NAME,
  );
  if (fromTemplate !== undefined) return { config: fromTemplate, source: 'template' };
  const mapping = VOTE_AGGREGATOR_MAPPING;
  return {
    source: 'VOTE_AGGREGATOR_MAPPING',
    config: {
      stackName: '(not in the template)',
      logicalId: 'VoteAggregatorMapping',
      functionStackName: '(not in the template)',
      functionLogicalId: 'VoteAggregatorFunction',
      consumerName: VOTE_AGGREGATOR_CONSUMER_NAME,
      tableConstructId: 'Votes',
      startingPosition: 'TRIM_HORIZON',
      batchSize: mapping.batchSize,
      maximumBatchingWindowMs: mapping.maxBatchingWindow.toMilliseconds(),
      parallelizationFactor: mapping.parallelizationFactor,
      maximumRetryAttempts: mapping.retryAttempts,
      maximumRecordAgeMs: mapping.maxRecordAge.toMilliseconds(),
      bisectBatchOnFunctionError: true,
      reportBatchItemFailures: true,
      filterPatterns: [],
      // The StreamConsumer construct's default.
      functionTimeoutMs: 60_000,
    },
  };
}

/** Appends records to a memory stream, opening a child shard whenever a sequence number does not follow. */
class ShardChain {
  readonly source = new MemoryStreamSource();
  #shard = 0;
  #last: bigint | undefined;

  public constructor() {
    this.source.addShard(this.#name());
  }

  public append(records: readonly DynamoDBRecord[], stampSeconds: number): void {
    for (const record of records) {
      const sequence = BigInt(record.dynamodb?.SequenceNumber ?? '0');
      if (this.#last !== undefined && sequence <= this.#last) {
        const parent = this.#name();
        this.#shard += 1;
        this.source.createChildShard(parent, this.#name());
      }
      this.#last = sequence;
      // Stamped with the time it is appended, as a record's creation time: the runner's record age and the
      // runtime's lag then describe this feed, not the time the workload was written.
      const stamped = structuredClone(record);
      stamped.dynamodb = { ...stamped.dynamodb, ApproximateCreationDateTime: stampSeconds };
      this.source.append(this.#name(), stamped);
    }
  }

  #name(): string {
    return `shard-${String(this.#shard).padStart(4, '0')}`;
  }
}

/**
 * Runs the deployed mapping's settings on the local runner over a memory stream fed with `records` at
 * `votesPerSecond`, invoking `build`'s handler on a fresh results table, and measures the hot item's writes per
 * second.
 */
async function runDeployed(options: {
  readonly records: readonly DynamoDBRecord[];
  readonly hotPollId: string;
  readonly votesPerSecond: number;
  readonly mapping: { readonly config: EsmConfig; readonly source: MappingSource };
  readonly tables: VotesBenchTables;
  readonly resultsTable: string;
  readonly recount: Tallies;
  readonly reader: DynamoDBDocumentClient;
  readonly outputDir: string;
}): Promise<VotesDeployedFigures> {
  const { config } = options.mapping;
  const counting = createCountingDynamoDb(localClientConfig(options.tables.endpoint), { keepCalls: true });
  const letters: DeadLetter[] = [];
  const name = `${VOTE_AGGREGATOR_CONSUMER_NAME}-deployed`;
  const handler = createVoteAggregatorHandler({
    consumerName: name,
    deadLetterQueue: { send: async (letter) => void letters.push(letter) },
    logger: new LocalLogger(options.outputDir, name),
    metrics: new LocalMetrics(options.outputDir, name),
    store: new DynamoDbPollResultsStore(counting.documentClient, options.resultsTable),
  });
  const invocations: { startMs: number; records: number }[] = [];
  let failedRecords = 0;
  const fn: StreamFunction = async (event: DynamoDBStreamEvent, context: Context) => {
    invocations.push({ startMs: Date.now(), records: event.Records.length });
    const response = await handler(event, context);
    failedRecords += response.batchItemFailures.length;
    return response;
  };
  const chain = new ShardChain();
  const runner = new EsmRunner({
    mappings: [
      {
        config,
        streamArn: 'arn:aws:dynamodb:local:000000000000:table/bench-votes-hot/stream/memory',
        functionArn: `arn:aws:lambda:local:000000000000:function:${name}`,
        source: chain.source,
        fn,
        // A batch given up on is records the counts miss: they count as failed.
        onFailure: async (message) => {
          failedRecords += message.DDBStreamBatchInfo.batchSize;
        },
      },
    ],
  });
  const appended: number[] = [];
  let startMs = 0;
  let lastAppendMs = 0;
  try {
    runner.start();
    startMs = Date.now();
    // Whatever is due at each tick: the rate holds over time even when a tick comes late.
    let next = 0;
    while (next < options.records.length) {
      const now = Date.now();
      const due = Math.min(
        options.records.length,
        Math.floor(((now - startMs) * options.votesPerSecond) / 1000) + 1,
      );
      if (due > next) {
        chain.append(options.records.slice(next, due), Math.floor(now / 1000));
        for (let index = next; index < due; index += 1) appended.push(now);
        next = due;
        lastAppendMs = now;
      }
      await sleep(10);
    }
    const windowMs = config.maximumBatchingWindowMs;
    if (!(await runner.waitUntilDrained({ timeoutMs: 120_000, quietMs: Math.max(1_500, windowMs + 500) }))) {
      throw new VotesBenchError('The deployed mapping did not drain within 120 s');
    }
  } finally {
    await runner.stop();
    await flushJsonLinesWrites();
    counting.destroy();
  }
  const feedSeconds = Math.max((lastAppendMs - startMs) / 1000, 0.001);
  const seconds = Math.ceil(feedSeconds);
  const writes = writesOn(counting.counter.calls(), [options.resultsTable]);
  const hotWrites = writes.filter((call) => pollIdOf(call) === options.hotPollId);
  const invocationsPerSecond = perSecondBuckets(
    invocations.map((invocation) => invocation.startMs),
    startMs,
    seconds,
  );
  const hotItemWritesPerSecond = perSecondBuckets(
    hotWrites.map((call) => call.atMs),
    startMs,
    seconds,
  );
  const votes = invocations.reduce((sum, invocation) => sum + invocation.records, 0);
  const exact = tallyDrift(await readTallies(options.reader, options.resultsTable), options.recount) === 0;
  return {
    mapping: {
      batchSize: config.batchSize,
      batchingWindowMs: config.maximumBatchingWindowMs,
      parallelizationFactor: config.parallelizationFactor,
      source: options.mapping.source,
    },
    feed: {
      how:
        'the local event source mapping runner (sandbox/esm EsmRunner, 250 ms poll interval) on an in-memory stream ' +
        "(MemoryStreamSource) of the hot workload's stream records, appended at the target rate",
      targetVotesPerSecond: options.votesPerSecond,
      achievedVotesPerSecond: Math.round((options.records.length / feedSeconds) * 10) / 10,
      votesPerSecond: perSecondBuckets(appended, startMs, seconds),
      seconds: Math.round(feedSeconds * 10) / 10,
    },
    votes,
    invocations: invocations.length,
    batchSizes: invocations.map((invocation) => invocation.records),
    writes: writes.length,
    writesPer1000Votes: per1000Records(writes.length, votes),
    invocationsPerSecond,
    maxInvocationsPerSecond: Math.max(0, ...invocationsPerSecond),
    hotItemWritesPerSecond,
    maxHotItemWritesPerSecond: Math.max(0, ...hotItemWritesPerSecond),
    exact,
    failedRecords: failedRecords + letters.length,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The benchmark
// ---------------------------------------------------------------------------------------------------------------

export interface VotesBenchOptions {
  /** Vote writes per workload. @default 10,000 */
  readonly votes?: number;
  /** Polls of the spread workload. @default 100 */
  readonly spreadPolls?: number;
  /** @default DEFAULT_VOTE_MIX */
  readonly mix?: VoteMix;
  /** Records per replayed batch. @default VOTES_REPLAY_BATCH_SIZE */
  readonly batchSize?: number;
  /** Writes in flight at once. @default 8 */
  readonly concurrency?: number;
  /**
   * The deployed-mapping run of the hot workload: its arrival rate and, for tests, the mapping to run instead of the
   * template's; `false` skips it. @default { votesPerSecond: 1,000 }, the template's mapping
   */
  readonly deployed?: { readonly votesPerSecond?: number; readonly config?: EsmConfig } | false;
  /**
   * An existing DynamoDB Local and the app's Votes, PollResults and Idempotency tables to clone from (tests); by
   * default the benchmark starts its own DynamoDB Local and creates them from the synthesized template.
   */
  readonly dynamodb?: VotesBenchTables;
}

/** Runs one workload: writes it, reads its stream, runs the contestants (and, for the hot one, the deployed run). */
async function runWorkload(options: {
  readonly kind: 'hot' | 'spread';
  readonly polls: number;
  readonly votes: number;
  readonly mix: VoteMix;
  readonly batchSize: number;
  readonly concurrency: number;
  readonly seed: number;
  readonly runId: string;
  readonly tables: VotesBenchTables;
  readonly client: DynamoDBClient;
  readonly reader: DynamoDBDocumentClient;
  readonly created: string[];
  readonly outputDir: string;
  readonly deployed: { readonly votesPerSecond: number; readonly config: EsmConfig | undefined } | undefined;
  readonly log: (line: string) => void;
}): Promise<VotesHotComparison | VotesSpreadComparison> {
  const { kind, tables, client, created } = options;
  const clone = async (source: string, suffix: string): Promise<string> => {
    const name = `bench-votes-${options.runId}-${kind}-${suffix}`;
    created.push(name);
    return cloneTable(client, source, name);
  };
  const votesTable = await clone(tables.votesTable, 'Votes');
  const pollPrefix = `${kind}-poll`;
  const plan = planVotes({
    votes: options.votes,
    polls: options.polls,
    seed: options.seed,
    mix: options.mix,
    pollPrefix,
  });
  options.log(
    `  ${kind}: writing ${options.votes} votes on ${options.polls} poll(s) (${plan.length} ticks)...`,
  );
  const writeStarted = performance.now();
  const writes = await writeVotes({
    documentClient: options.reader,
    votesTable,
    plan,
    concurrency: options.concurrency,
  });
  const writeSeconds = Math.round((performance.now() - writeStarted) / 100) / 10;
  const records = writes.inserts + writes.modifies + writes.removes;
  options.log(`  ${kind}: ${records} records written in ${writeSeconds} s; reading the stream...`);
  const batches = await readStreamBatches({
    endpoint: tables.endpoint,
    tableName: votesTable,
    expectedRecords: records,
    batchSize: options.batchSize,
  });
  const read = batches.reduce((sum, batch) => sum + batch.length, 0);
  if (read !== records) {
    throw new VotesBenchError(`${kind}: the stream holds ${read} records, ${records} were written`);
  }
  const recount = await recountVotes(options.reader, votesTable);
  const all = contestants(tables, `${options.runId}-${kind}`);
  const run = async (name: 'ours' | 'perRecord' | 'perRecordIdempotent'): Promise<VotesContestantFigures> => {
    options.log(`  ${kind}: ${name} on ${batches.length} batches of up to ${options.batchSize}...`);
    const figures = await runContestant({
      contestant: all[name],
      tables,
      resultsTable: await clone(tables.pollResultsTable, `results-${name}`),
      batches,
      batchSize: options.batchSize,
      recount,
      reader: options.reader,
      outputDir: options.outputDir,
    });
    if (figures.failedRecords > 0 || figures.deadLettered > 0) {
      throw new VotesBenchError(
        `${kind}: ${name} failed ${figures.failedRecords} records and dead-lettered ${figures.deadLettered}`,
      );
    }
    return figures;
  };
  const ours = await run('ours');
  const perRecord = await run('perRecord');
  const perRecordIdempotent = await run('perRecordIdempotent');
  const base: VotesComparison = {
    unit: 'aggregate writes per 1,000 votes',
    baseline: 'perRecordIdempotent',
    workload: {
      votes: options.votes,
      polls: options.polls,
      mix: options.mix,
      records,
      inserts: writes.inserts,
      modifies: writes.modifies,
      removes: writes.removes,
      failedWrites: writes.failedWrites,
      batches: batches.length,
      writeSeconds,
    },
    batchSize: options.batchSize,
    ours,
    perRecord,
    perRecordIdempotent,
    timesFewerThanIdempotent: timesFewer(perRecordIdempotent, ours),
    timesFewerThanPerRecord: timesFewer(perRecord, ours),
    notes: NOTES,
  };
  if (kind === 'spread') {
    return { ...base, meetsTarget: { exactUnderRedelivery: ours.exact && ours.redelivery.exact } };
  }
  let deployed: VotesDeployedFigures | undefined;
  if (options.deployed !== undefined) {
    const mapping =
      options.deployed.config === undefined
        ? deployedVoteMapping()
        : { config: options.deployed.config, source: 'options' as const };
    options.log(
      `  hot: the deployed mapping (batch size ${mapping.config.batchSize}, ` +
        `${mapping.config.maximumBatchingWindowMs / 1000} s window, from ${mapping.source}) fed at ` +
        `${options.deployed.votesPerSecond} votes/s...`,
    );
    deployed = await runDeployed({
      records: batches.flat(),
      hotPollId: `${pollPrefix}-0`,
      votesPerSecond: options.deployed.votesPerSecond,
      mapping,
      tables,
      resultsTable: await clone(tables.pollResultsTable, 'results-deployed'),
      recount,
      reader: options.reader,
      outputDir: options.outputDir,
    });
  }
  const hot = { ...base, deployed };
  return { ...hot, meetsTarget: hotTargets(hot) };
}

/** The `votes` benchmark with the given workload (the registry's uses the defaults). */
export function votesBenchmark(options: VotesBenchOptions = {}): Benchmark {
  const votes = options.votes ?? 10_000;
  const spreadPolls = options.spreadPolls ?? 100;
  const mix = options.mix ?? DEFAULT_VOTE_MIX;
  const batchSize = options.batchSize ?? VOTES_REPLAY_BATCH_SIZE;
  const concurrency = options.concurrency ?? 8;
  const deployed =
    options.deployed === false
      ? undefined
      : {
          votesPerSecond: options.deployed?.votesPerSecond ?? VOTES_TARGETS.votesPerSecond,
          config: options.deployed?.config,
        };
  return {
    name: 'votes',
    description:
      `vote aggregator writes per 1,000 votes: one conditional update per poll per batch vs one UpdateItem per ` +
      `record, bare and with Powertools idempotency (${votes} votes on 1 poll and on ${spreadPolls} polls, batches ` +
      `of ${batchSize}; the deployed mapping at ${deployed?.votesPerSecond ?? 0} votes/s)`,
    async run(settings: BenchmarkSettings): Promise<BenchmarkResult> {
      const outputDir = join(settings.outputDir ?? DEFAULT_OUTPUT_DIR, 'bench-votes');
      // This benchmark's own logs only: the rest of the output directory belongs to the sandbox runs.
      await rm(outputDir, { recursive: true, force: true });
      const tables = await benchTables(options, settings.log);
      const client = new DynamoDBClient(localClientConfig(tables.endpoint));
      const reader = DynamoDBDocumentClient.from(client, {
        marshallOptions: { removeUndefinedValues: true },
      });
      const created: string[] = [];
      const runId = `${settings.seed}-${Date.now().toString(36)}`;
      try {
        const common = {
          votes,
          mix,
          batchSize,
          concurrency,
          seed: settings.seed,
          runId,
          tables,
          client,
          reader,
          created,
          outputDir,
          log: settings.log,
        };
        const hot = await runWorkload({ ...common, kind: 'hot', polls: 1, deployed });
        const spread = await runWorkload({
          ...common,
          kind: 'spread',
          polls: spreadPolls,
          deployed: undefined,
        });
        return { comparisons: { 'votes-hot': hot, 'votes-spread': spread } };
      } finally {
        await dropTables(client, created).catch(() => undefined);
        client.destroy();
        await tables.stop();
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Text
// ---------------------------------------------------------------------------------------------------------------

/** A votes comparison for bench's text output: a headline, one line per contestant, the deployed run and targets. */
export function describeVotes(name: string, votes: VotesComparison): string {
  const { workload } = votes;
  const side = (label: string, figures: VotesContestantFigures): string =>
    `  ${label.padEnd(22)} ${figures.writesPer1000Votes.toFixed(1).padStart(7)} writes per 1,000 votes ` +
    `(${figures.writes} writes: results ${figures.writesByTable.results}, idempotency ` +
    `${figures.writesByTable.idempotency}; ${figures.writesPerBatch.min}-${figures.writesPerBatch.max} per batch), ` +
    `${figures.exact ? 'exact' : 'NOT exact'}; last batch again: ${figures.redelivery.writes} writes, ` +
    `${figures.redelivery.exact ? 'still exact' : `off by ${figures.redelivery.drift}`}`;
  const lines = [
    `Votes (${name}), ${workload.records} votes on ${workload.polls} poll(s) (${workload.inserts} new, ` +
      `${workload.modifies} changed, ${workload.removes} retracted) in ${workload.batches} batches of up to ` +
      `${votes.batchSize}: ${votes.timesFewerThanIdempotent}x fewer aggregate writes than per record with ` +
      `idempotency (b), ${votes.timesFewerThanPerRecord}x fewer than per record (a)`,
    side('ours', votes.ours),
    side('per record (a)', votes.perRecord),
    side('per record + idem. (b)', votes.perRecordIdempotent),
  ];
  const hot = votes as Partial<VotesHotComparison>;
  const deployed = hot.deployed;
  if (deployed !== undefined) {
    lines.push(
      `  deployed mapping (batch size ${deployed.mapping.batchSize}, ${deployed.mapping.batchingWindowMs / 1000} s ` +
        `window, from ${deployed.mapping.source}) at ${deployed.feed.achievedVotesPerSecond} votes/s ` +
        `(target ${deployed.feed.targetVotesPerSecond}): ${deployed.writesPer1000Votes} writes per 1,000 votes in ` +
        `${deployed.invocations} invocations, max ${deployed.maxHotItemWritesPerSecond} writes/s on the hot item ` +
        `(max ${deployed.maxInvocationsPerSecond} invocations/s), ${deployed.exact ? 'exact' : 'NOT exact'}`,
    );
  }
  const targets = hot.meetsTarget as VotesHotComparison['meetsTarget'] | undefined;
  if (targets?.atMost10WritesPer1000Votes !== undefined) {
    const mark = (met: boolean): string => (met ? 'met' : 'MISSED');
    lines.push(
      `  target ${mark(targets.atMost10WritesPer1000Votes)}: at most ${VOTES_TARGETS.hotWritesPer1000Votes} writes ` +
        `per 1,000 votes at batch size ${votes.batchSize} once the poll's item exists ` +
        `(${votes.ours.afterFirstBatch.writesPer1000Votes}; ${votes.ours.writesPer1000Votes} over the whole run, ` +
        `the item's creation included)`,
      `  target ${mark(targets.hundredTimesFewerThanIdempotent)}: at least ` +
        `${VOTES_TARGETS.timesFewerThanIdempotent}x fewer writes than (b) (${votes.timesFewerThanIdempotent}x)`,
      `  target ${mark(targets.hotItemAtMost5WritesPerSecond)}: at most ${VOTES_TARGETS.hotItemWritesPerSecond} ` +
        `writes per second on the hot item at ${VOTES_TARGETS.votesPerSecond} votes/s ` +
        `(${deployed === undefined ? 'not measured' : deployed.maxHotItemWritesPerSecond})`,
      `  target ${mark(targets.exactUnderRedelivery)}: exact under re-delivery`,
    );
  } else {
    lines.push(
      `  ours ${votes.ours.exact && votes.ours.redelivery.exact ? 'exact' : 'NOT exact'} under re-delivery`,
    );
  }
  return lines.join('\n');
}
