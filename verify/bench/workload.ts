import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { deterministicOrderId, newOrder } from '../../lambdas/orders-api/order.js';
import { DynamoDbOrdersRepository } from '../../lambdas/shared/orders/dynamodb-orders-repository.js';
import type { Order, OrderStatus } from '../../lambdas/shared/orders/order.js';
import type { OrdersRepository } from '../../lambdas/shared/orders/orders-repository.js';
import { transitionOrder } from '../../lambdas/shared/orders/transition.js';
import { localClientConfig } from '../../sandbox/dynamodb-local/server.js';
import {
  DynamoDbStreamSource,
  latestStreamArn,
  localStreamsClient,
} from '../../sandbox/esm/dynamodb-stream-source.js';
import { mulberry32, TRAFFIC_SKUS } from '../../sandbox/traffic.js';
import { inParallel } from './in-parallel.js';

/**
 * The workloads the benchmarks share: the order lines and status paths of the fan-out's orders, the seeded order
 * history the search and audit benchmarks write straight to the Orders table, and reading back the stream records it
 * made. In a module of its own so that no benchmark imports another.
 */

/** The order history a benchmark wrote (planOrderHistory, writeOrderHistory) and the stream records it made. */
export interface OrderHistoryWorkload {
  readonly orders: number;
  readonly cancelEvery: number;
  readonly deleteEvery: number;
  readonly records: number;
  readonly inserts: number;
  readonly modifies: number;
  readonly removes: number;
  /** Writes the repository refused (none expected): the records are then fewer than planned. */
  readonly failedWrites: number;
}

/** Far beyond what the workload can order (at most 3 units of 3 SKUs per order): nothing is back-ordered. */
export const STOCK_PER_SKU = 1_000_000;

/** The lines of order `index`: 1-3 distinct traffic SKUs, 1-3 units each, the same for the same index. */
export function benchOrderLines(index: number): { sku: string; qty: number; unitPriceCents: number }[] {
  const count = 1 + (index % 3);
  const lines = [];
  for (let k = 0; k < count; k += 1) {
    const sku = TRAFFIC_SKUS[(index * 7 + k * 13) % TRAFFIC_SKUS.length]!;
    lines.push({ sku, qty: 1 + ((index + k) % 3), unitPriceCents: 500 + ((index * 31 + k) % 100) * 10 });
  }
  return lines;
}

/** The status moves of order `index` after it was placed. */
export function benchStatusPath(index: number, cancelEvery: number): readonly string[] {
  return (index + 1) % cancelEvery === 0 ? ['PAID', 'CANCELLED'] : ['PAID', 'SHIPPED', 'DELIVERED'];
}

/** One write of the history. */
export type HistoryStep =
  | { readonly kind: 'place'; readonly order: number }
  | { readonly kind: 'status'; readonly order: number; readonly to: OrderStatus }
  | { readonly kind: 'delete'; readonly order: number };

export interface HistoryPlanOptions {
  readonly orders: number;
  readonly cancelEvery: number;
  readonly deleteEvery: number;
  readonly ordersPerTick: number;
  readonly seed: number;
}

/**
 * The history, tick by tick: order i is placed at tick floor(i / ordersPerTick), each of its status moves follows the
 * previous write 1-3 ticks later (seeded), and every `deleteEvery`-th order is deleted 1-3 ticks after its last
 * move. An order has at most one step per tick, so the steps of a tick can run in parallel.
 */
export function planOrderHistory(options: HistoryPlanOptions): HistoryStep[][] {
  const random = mulberry32(options.seed);
  const ticks: HistoryStep[][] = [];
  const at = (tick: number, step: HistoryStep): void => {
    while (ticks.length <= tick) ticks.push([]);
    ticks[tick]!.push(step);
  };
  const gap = (): number => 1 + Math.floor(random() * 3);
  for (let order = 0; order < options.orders; order += 1) {
    let tick = Math.floor(order / Math.max(1, options.ordersPerTick));
    at(tick, { kind: 'place', order });
    for (const to of benchStatusPath(order, options.cancelEvery)) {
      tick += gap();
      at(tick, { kind: 'status', order, to: to as OrderStatus });
    }
    if ((order + 1) % options.deleteEvery === 0) {
      tick += gap();
      at(tick, { kind: 'delete', order });
    }
  }
  return ticks;
}

/** What the history left in the table, and what it wrote. */
export interface HistoryOutcome {
  /** The orders in the table afterwards, by id. */
  readonly live: ReadonlyMap<string, Order>;
  /** The deleted orders' last versions, by id. */
  readonly deleted: ReadonlyMap<string, number>;
  readonly writes: { readonly inserts: number; readonly modifies: number; readonly removes: number };
  readonly failedWrites: number;
}

/** Writes the planned history to the Orders table through the repository, tick after tick. */
export async function writeOrderHistory(options: {
  readonly documentClient: DynamoDBDocumentClient;
  readonly ordersTable: string;
  readonly plan: readonly (readonly HistoryStep[])[];
  readonly concurrency: number;
  /** Makes the order ids of this run unique. */
  readonly runId: string;
  readonly log: (line: string) => void;
}): Promise<HistoryOutcome> {
  return applyOrderHistory({
    ...options,
    repository: new DynamoDbOrdersRepository(options.documentClient, options.ordersTable),
  });
}

/**
 * Applies the planned history through any orders repository, tick after tick: the DynamoDB one (writeOrderHistory)
 * or an in-memory one that records the stream records it would make (memory-stream.ts).
 */
export async function applyOrderHistory(options: {
  readonly repository: OrdersRepository;
  readonly plan: readonly (readonly HistoryStep[])[];
  readonly concurrency: number;
  /** Makes the order ids of this run unique. */
  readonly runId: string;
  readonly log: (line: string) => void;
}): Promise<HistoryOutcome> {
  const { repository } = options;
  const current = new Map<number, Order>();
  const live = new Map<string, Order>();
  const deleted = new Map<string, number>();
  const writes = { inserts: 0, modifies: 0, removes: 0 };
  let failedWrites = 0;
  const apply = async (step: HistoryStep): Promise<void> => {
    const now = new Date();
    if (step.kind === 'place') {
      const lines = benchOrderLines(step.order);
      const order = newOrder(
        {
          customerId: `bench-${step.order % 50}`,
          customerEmail: `bench-${step.order % 50}@example.com`,
          currency: 'EUR',
          lines,
        },
        deterministicOrderId('bench-search', `${options.runId}-${step.order}`),
        now,
      );
      const outcome = await repository.create(order);
      if (outcome.kind !== 'created') {
        failedWrites += 1;
        return;
      }
      writes.inserts += 1;
      current.set(step.order, order);
      live.set(order.orderId, order);
      return;
    }
    const order = current.get(step.order);
    if (order === undefined) return;
    if (step.kind === 'status') {
      const outcome = await transitionOrder(repository, {
        orderId: order.orderId,
        to: step.to,
        expectedVersion: order.version,
        at: now.toISOString(),
        current: order,
      });
      if (outcome.kind !== 'changed') {
        failedWrites += 1;
        return;
      }
      writes.modifies += 1;
      current.set(step.order, outcome.order);
      live.set(order.orderId, outcome.order);
      return;
    }
    const outcome = await repository.delete(order.orderId, order.version);
    if (outcome.kind !== 'deleted') {
      failedWrites += 1;
      return;
    }
    writes.removes += 1;
    current.delete(step.order);
    live.delete(order.orderId);
    deleted.set(order.orderId, order.version);
  };
  for (const [tick, steps] of options.plan.entries()) {
    await inParallel(steps, options.concurrency, apply);
    if ((tick + 1) % 20 === 0) {
      options.log(`  history: tick ${tick + 1} of ${options.plan.length}`);
    }
  }
  return { live, deleted, writes, failedWrites };
}

/**
 * Reads a table's whole stream, shard by shard with parents before children, and cuts each shard's records into
 * batches of `batchSize`, as an event source mapping delivers a backlog (a batch never spans two shards). Reads
 * until `expectedRecords` were read or `timeoutMs` passed.
 */
export async function readStreamBatches(options: {
  readonly endpoint: string;
  readonly tableName: string;
  readonly expectedRecords: number;
  readonly batchSize: number;
  /** @default 60 s */
  readonly timeoutMs?: number;
}): Promise<DynamoDBRecord[][]> {
  const dynamodb = new DynamoDBClient(localClientConfig(options.endpoint));
  const streams = localStreamsClient(options.endpoint);
  try {
    const source = new DynamoDbStreamSource({
      client: streams,
      streamArn: await latestStreamArn(dynamodb, options.tableName),
    });
    const deadline = Date.now() + (options.timeoutMs ?? 60_000);
    const byShard = new Map<string, DynamoDBRecord[]>();
    const readers = new Map<string, ReturnType<typeof source.reader>>();
    let order: string[] = [];
    let total = 0;
    while (total < options.expectedRecords) {
      if (Date.now() > deadline) {
        throw new Error(
          `Read ${total} of ${options.expectedRecords} stream records of ${options.tableName} before the timeout`,
        );
      }
      order = parentsFirst(await source.listShards());
      for (const shardId of order) {
        let reader = readers.get(shardId);
        if (reader === undefined) {
          reader = source.reader(shardId);
          readers.set(shardId, reader);
        }
        const records = byShard.get(shardId) ?? [];
        byShard.set(shardId, records);
        for (;;) {
          const { records: page, closed } = await reader.read(records.at(-1)?.dynamodb?.SequenceNumber, 1000);
          records.push(...page);
          total += page.length;
          if (page.length === 0 || closed) break;
        }
      }
    }
    const batches: DynamoDBRecord[][] = [];
    for (const shardId of order) {
      const records = byShard.get(shardId) ?? [];
      for (let start = 0; start < records.length; start += options.batchSize) {
        batches.push(records.slice(start, start + options.batchSize));
      }
    }
    return batches;
  } finally {
    dynamodb.destroy();
    streams.destroy();
  }
}

/** Shard ids with every parent before its children (a parent no longer listed counts as read). */
export function parentsFirst(shards: readonly { shardId: string; parentShardId?: string }[]): string[] {
  const listed = new Map(shards.map((shard) => [shard.shardId, shard.parentShardId]));
  const ordered: string[] = [];
  const done = new Set<string>();
  const visit = (shardId: string): void => {
    if (done.has(shardId)) return;
    done.add(shardId);
    const parent = listed.get(shardId);
    if (parent !== undefined && listed.has(parent)) visit(parent);
    ordered.push(shardId);
  };
  for (const shard of shards) visit(shard.shardId);
  return ordered;
}

// ---------------------------------------------------------------------------------------------------------------
// The figures
// ---------------------------------------------------------------------------------------------------------------

/** `count` per 1,000 records, to one decimal; 0 when there are no records. */
export function per1000Records(count: number, records: number): number {
  return records === 0 ? 0 : Math.round((count * 10_000) / records) / 10;
}

// ---------------------------------------------------------------------------------------------------------------
// The vote workload
// ---------------------------------------------------------------------------------------------------------------

/** The share of each kind of vote write in a workload; they sum to 1. */
export interface VoteMix {
  /** A new voter casts a vote (INSERT). */
  readonly cast: number;
  /** A voter with a vote picks another option (MODIFY). */
  readonly change: number;
  /** A voter with a vote deletes it (REMOVE). */
  readonly retract: number;
}

export const DEFAULT_VOTE_MIX: VoteMix = { cast: 0.8, change: 0.15, retract: 0.05 };

/** The options of every poll of the workload. */
export const BENCH_VOTE_OPTIONS = ['yes', 'no', 'maybe', 'later'] as const;

export type VoteStep =
  | {
      readonly kind: 'cast' | 'change';
      readonly pollId: string;
      readonly voterId: string;
      readonly option: string;
    }
  | { readonly kind: 'retract'; readonly pollId: string; readonly voterId: string };

export interface VotePlanOptions {
  readonly votes: number;
  readonly polls: number;
  readonly seed: number;
  /** @default DEFAULT_VOTE_MIX */
  readonly mix?: VoteMix;
  /** Poll ids are `<pollPrefix>-<n>`. */
  readonly pollPrefix: string;
  /** Writes per tick (run in parallel). @default 50 */
  readonly stepsPerTick?: number;
}

/**
 * The workload, tick by tick: `votes` writes, each a cast by a new voter on a poll drawn uniformly, a change of a
 * current voter's option to another one, or a retraction of a current vote, in the mix's shares (a cast when no vote
 * is held yet). A voter is at most once in a tick, so a tick's writes can run in parallel and still reach the table
 * in plan order per voter. Every step is one stream record: a change always picks another option.
 */
export function planVotes(options: VotePlanOptions): VoteStep[][] {
  const random = mulberry32(options.seed);
  const mix = options.mix ?? DEFAULT_VOTE_MIX;
  const stepsPerTick = options.stepsPerTick ?? 50;
  const held: { pollId: string; voterId: string; option: string }[] = [];
  const ticks: VoteStep[][] = [];
  let tick: VoteStep[] = [];
  let inTick = new Set<string>();
  let voters = 0;
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const push = (step: VoteStep): void => {
    const key = `${step.pollId}/${step.voterId}`;
    if (tick.length >= stepsPerTick || inTick.has(key)) {
      ticks.push(tick);
      tick = [];
      inTick = new Set();
    }
    tick.push(step);
    inTick.add(key);
  };
  for (let step = 0; step < options.votes; step += 1) {
    const draw = random();
    if (held.length === 0 || draw < mix.cast) {
      const vote = {
        pollId: `${options.pollPrefix}-${Math.floor(random() * options.polls)}`,
        voterId: `voter-${voters}`,
        option: pick(BENCH_VOTE_OPTIONS),
      };
      voters += 1;
      held.push(vote);
      push({ kind: 'cast', ...vote });
    } else if (draw < mix.cast + mix.change) {
      const vote = pick(held);
      const others = BENCH_VOTE_OPTIONS.filter((option) => option !== vote.option);
      vote.option = pick(others);
      push({ kind: 'change', pollId: vote.pollId, voterId: vote.voterId, option: vote.option });
    } else {
      const index = Math.floor(random() * held.length);
      const [vote] = held.splice(index, 1);
      push({ kind: 'retract', pollId: vote!.pollId, voterId: vote!.voterId });
    }
  }
  if (tick.length > 0) ticks.push(tick);
  return ticks;
}
