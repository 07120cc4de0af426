import { setTimeout as sleep } from 'node:timers/promises';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describeError } from '../../lambdas/shared/errors.js';
import type { Order, OrderStatus } from '../../lambdas/shared/orders/order.js';
import { type SearchIndex, toOrderDocument } from '../../lambdas/shared/search/orders-index.js';
import type { RecordOutcome } from '../../lambdas/shared/stream/stream-handler.js';
import { compareTableAndIndex, type DriftReport } from './drift.js';
import { type IndexScanClient, scanIndexedOrders } from './index-scan.js';
import { type InvalidItem, scanOrders } from './table-scan.js';

/**
 * `npm run backfill:search`: the table into the index (write), the same scan without writing (dry-run), or the
 * comparison of both (verify). The CLI (backfill.ts) builds the clients; this module does the work, so tests run it
 * against DynamoDB Local and the local OpenSearch directly.
 *
 * Writing goes through the search sync's own port (SearchIndex, OpenSearchIndex behind it): one `_bulk` per scanned
 * page, every document at the order's version with `version_type=external_gte`. That is what makes the backfill safe
 * next to the running stream and idempotent: a document already at this version or newer answers 409, which the
 * port reports as ok; an older one is replaced. A tombstone (version = last + 1) always wins over the backfill's
 * write of a deleted order read just before its delete.
 */

/** How a page's transient failures (429, 5xx, a failed request) are retried before they count as failed. */
export interface RetryPolicy {
  /** Attempts in all, the first included. */
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 200, maxDelayMs: 5_000 };

/** One segment's progress. */
export interface SegmentProgress {
  readonly segment: number;
  scanned: number;
  /** Written (or already newer in the index); in a dry run, what would be written. */
  indexed: number;
}

/**
 * Progress lines on stderr: per segment items scanned and indexed, the totals and the rate since the start. Printed
 * every `intervalMs` while the scan runs, and once at the end.
 */
export class ScanProgress {
  readonly #segments: SegmentProgress[];
  readonly #log: (line: string) => void;
  readonly #clock: () => number;
  readonly #started: number;
  readonly #verb: string;
  #timer: NodeJS.Timeout | undefined;

  public constructor(options: {
    readonly segments: number;
    readonly log: (line: string) => void;
    readonly clock?: () => number;
    /** What the second figure is: `indexed`, `would write`. */
    readonly verb: string;
  }) {
    this.#segments = Array.from({ length: options.segments }, (_unused, segment) => ({
      segment,
      scanned: 0,
      indexed: 0,
    }));
    this.#log = options.log;
    this.#clock = options.clock ?? Date.now;
    this.#started = this.#clock();
    this.#verb = options.verb;
  }

  public get segments(): readonly SegmentProgress[] {
    return this.#segments;
  }

  public scanned(segment: number, items: number): void {
    this.#segments[segment]!.scanned += items;
  }

  public indexed(segment: number, items: number): void {
    this.#segments[segment]!.indexed += items;
  }

  public totals(): { scanned: number; indexed: number } {
    return this.#segments.reduce(
      (sum, segment) => ({ scanned: sum.scanned + segment.scanned, indexed: sum.indexed + segment.indexed }),
      { scanned: 0, indexed: 0 },
    );
  }

  /** Items scanned per second since the start, to one decimal. */
  public rate(): number {
    const seconds = (this.#clock() - this.#started) / 1000;
    return seconds <= 0 ? 0 : Math.round((this.totals().scanned / seconds) * 10) / 10;
  }

  public line(): string {
    const { scanned, indexed } = this.totals();
    const segments = this.#segments
      .map((segment) => `#${segment.segment} ${segment.scanned}/${segment.indexed}`)
      .join(', ');
    return (
      `  segments (scanned/${this.#verb}): ${segments} | ${scanned} scanned, ${indexed} ${this.#verb}, ` +
      `${this.rate()} items/s`
    );
  }

  public start(intervalMs = 2_000): void {
    this.#timer = setInterval(() => this.#log(this.line()), intervalMs);
    this.#timer.unref();
  }

  public stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#log(this.line());
  }
}

/** An order that could not be written, and why. */
export interface FailedOrder {
  readonly orderId: string;
  readonly reason: string;
}

export interface BackfillSummary {
  readonly mode: 'write' | 'dry-run';
  readonly table: string;
  readonly segments: number;
  /** Items scanned. */
  readonly scanned: number;
  /** Orders written, or found newer in the index (409); 0 in a dry run. */
  readonly indexed: number;
  /** Orders that would be written (a dry run), or that were sent (a write). */
  readonly orders: number;
  readonly byStatus: Readonly<Partial<Record<OrderStatus, number>>>;
  /** `_bulk` requests sent (a dry run: that would be sent), retries excluded. */
  readonly bulkRequests: number;
  /** Page retries after transient failures. */
  readonly retries: number;
  readonly invalid: readonly InvalidItem[];
  readonly failed: readonly FailedOrder[];
  readonly perSegment: readonly {
    readonly segment: number;
    readonly scanned: number;
    readonly indexed: number;
  }[];
  readonly durationMs: number;
  readonly itemsPerSecond: number;
  /** Everything scanned is an order and was written (would be, in a dry run). */
  readonly ok: boolean;
}

export interface BackfillOptions {
  readonly mode: 'write' | 'dry-run';
  readonly dynamodb: DynamoDBClient;
  readonly table: string;
  readonly segments: number;
  /** Where orders are written; not used in a dry run. */
  readonly index: SearchIndex | undefined;
  readonly log: (line: string) => void;
  /** @default DEFAULT_RETRY */
  readonly retry?: RetryPolicy;
  /** @default 2 s */
  readonly progressIntervalMs?: number;
  /** @default Date.now */
  readonly clock?: () => number;
  /** @default node:timers/promises setTimeout */
  readonly sleep?: (ms: number) => Promise<unknown>;
}

/**
 * Writes one page's orders: one bulk request, then the transient failures again (only those) with exponential
 * backoff, up to the policy's attempts. Resolves with what was written and what failed for good.
 */
export async function writePage(
  index: SearchIndex,
  orders: readonly Order[],
  options: { readonly retry: RetryPolicy; readonly sleep: (ms: number) => Promise<unknown> },
): Promise<{ indexed: number; failed: FailedOrder[]; retries: number }> {
  let pending = [...orders];
  const failed: FailedOrder[] = [];
  let indexed = 0;
  let retries = 0;
  for (let attempt = 1; pending.length > 0; attempt += 1) {
    let outcomes: RecordOutcome[];
    try {
      outcomes = await index.bulkIndex(pending.map((order) => ({ document: toOrderDocument(order) })));
    } catch (error) {
      // The request failed as a whole: every document of it is a transient failure.
      const reason = describeError(error).reason;
      outcomes = pending.map(() => ({ kind: 'transient', reason }));
    }
    const again: Order[] = [];
    pending.forEach((order, position) => {
      const outcome: RecordOutcome = outcomes[position] ?? {
        kind: 'transient',
        reason: 'The bulk response has no item for this document',
      };
      if (outcome.kind === 'ok') indexed += 1;
      else if (outcome.kind === 'permanent' || attempt >= options.retry.attempts) {
        failed.push({ orderId: order.orderId, reason: outcome.reason });
      } else again.push(order);
    });
    pending = again;
    if (pending.length > 0) {
      retries += 1;
      const delay = Math.min(options.retry.maxDelayMs, options.retry.baseDelayMs * 2 ** (attempt - 1));
      // Full jitter: the segments' retries do not hit a throttled domain in step.
      await options.sleep(Math.round(Math.random() * delay));
    }
  }
  return { indexed, failed, retries };
}

/** The backfill (write) or its dry run. */
export async function runBackfill(options: BackfillOptions): Promise<BackfillSummary> {
  const clock = options.clock ?? Date.now;
  const started = clock();
  if (options.mode === 'write' && options.index === undefined) {
    throw new Error('A backfill that writes needs the index to write to');
  }
  const progress = new ScanProgress({
    segments: options.segments,
    log: options.log,
    clock,
    verb: options.mode === 'write' ? 'indexed' : 'would write',
  });
  const retry = options.retry ?? DEFAULT_RETRY;
  const wait = options.sleep ?? sleep;
  const invalid: InvalidItem[] = [];
  const failed: FailedOrder[] = [];
  const byStatus: Partial<Record<OrderStatus, number>> = {};
  let orders = 0;
  let bulkRequests = 0;
  let retries = 0;
  progress.start(options.progressIntervalMs);
  try {
    await scanOrders({
      client: options.dynamodb,
      tableName: options.table,
      segments: options.segments,
      onPage: async (page) => {
        progress.scanned(page.segment, page.orders.length + page.invalid.length);
        invalid.push(...page.invalid);
        for (const order of page.orders) byStatus[order.status] = (byStatus[order.status] ?? 0) + 1;
        orders += page.orders.length;
        if (page.orders.length === 0) return;
        bulkRequests += 1;
        if (options.mode === 'dry-run') {
          progress.indexed(page.segment, page.orders.length);
          return;
        }
        const written = await writePage(options.index!, page.orders, { retry, sleep: wait });
        progress.indexed(page.segment, written.indexed);
        failed.push(...written.failed);
        retries += written.retries;
      },
    });
  } finally {
    progress.stop();
  }
  const { scanned, indexed } = progress.totals();
  const durationMs = clock() - started;
  return {
    mode: options.mode,
    table: options.table,
    segments: options.segments,
    scanned,
    indexed: options.mode === 'write' ? indexed : 0,
    orders,
    byStatus,
    bulkRequests,
    retries,
    invalid,
    failed,
    perSegment: progress.segments.map(({ segment, scanned: s, indexed: i }) => ({
      segment,
      scanned: s,
      indexed: options.mode === 'write' ? i : 0,
    })),
    durationMs,
    itemsPerSecond: durationMs <= 0 ? 0 : Math.round((scanned / durationMs) * 1000 * 10) / 10,
    ok: invalid.length === 0 && failed.length === 0,
  };
}

export interface VerifySummary {
  readonly mode: 'verify';
  readonly table: string;
  readonly segments: number;
  readonly scanned: number;
  /** Table items that are not orders: they cannot be in the index, and are not drift. */
  readonly invalid: readonly InvalidItem[];
  readonly drift: DriftReport;
  readonly durationMs: number;
  /** No drift. */
  readonly ok: boolean;
}

export interface VerifyOptions {
  readonly dynamodb: DynamoDBClient;
  readonly table: string;
  readonly segments: number;
  readonly search: IndexScanClient;
  /** Documents per search page. @default INDEX_SCAN_PAGE_SIZE */
  readonly indexPageSize?: number;
  readonly log: (line: string) => void;
  /** @default 2 s */
  readonly progressIntervalMs?: number;
  /** @default Date.now */
  readonly clock?: () => number;
}

/**
 * The drift report: the table scanned first (the same parallel segments), then the index. The two reads are not one
 * snapshot: an order changed between them can show as drift (ahead, tombstoned, orphaned) that is gone a moment
 * later, like one whose stream record is still on its way (stale, missing). Run it again before acting on a few.
 */
export async function runVerify(options: VerifyOptions): Promise<VerifySummary> {
  const clock = options.clock ?? Date.now;
  const started = clock();
  const table = new Map<string, number>();
  const invalid: InvalidItem[] = [];
  const progress = new ScanProgress({ segments: options.segments, log: options.log, clock, verb: 'orders' });
  progress.start(options.progressIntervalMs);
  try {
    await scanOrders({
      client: options.dynamodb,
      tableName: options.table,
      segments: options.segments,
      onPage: async (page) => {
        progress.scanned(page.segment, page.orders.length + page.invalid.length);
        progress.indexed(page.segment, page.orders.length);
        invalid.push(...page.invalid);
        for (const order of page.orders) table.set(order.orderId, order.version);
      },
    });
  } finally {
    progress.stop();
  }
  options.log(`  reading the index...`);
  const documents = await scanIndexedOrders(options.search, { pageSize: options.indexPageSize });
  const drift = compareTableAndIndex(table, documents);
  return {
    mode: 'verify',
    table: options.table,
    segments: options.segments,
    scanned: progress.totals().scanned,
    invalid,
    drift,
    durationMs: clock() - started,
    ok: drift.driftCount === 0,
  };
}
