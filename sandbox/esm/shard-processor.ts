import { createHash, randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { Context, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { localLambdaContext } from '../lambda-context.js';
import { compileFilters, type RecordFilter } from './filters.js';
import type { EsmConfig, OnFailureMessage, ShardCounters, ShardProcessorOptions } from './types.js';

/**
 * One shard of a DynamoDB stream, processed the way a Lambda event source mapping does it (the AWS Lambda developer
 * guide: "Using AWS Lambda with Amazon DynamoDB", its error handling, partial batch response and event filtering
 * pages). What the documentation leaves open is decided here and written down:
 *
 * - Lanes. `parallelizationFactor` lanes per shard; a record goes to the lane picked by a hash of its whole item key
 *   (`dynamodb.Keys`, partition and sort key), because Lambda documents in-order processing "at the item (partition
 *   and sort key) level" for factors above 1. One lane has at most one batch in flight, so an item is never in two
 *   batches at once and its records run in stream order. Each lane batches, retries and checkpoints on its own.
 * - Batching. A lane invokes when it holds `batchSize` records, when the batching window has passed since the first
 *   record of the batch was read, or when the shard is closed and nothing more can come. A window of 0 invokes with
 *   whatever is there.
 * - Retries belong to the record at the head of a batch: they count re-invocations that start from the same record
 *   (the checkpoint did not move). A whole-batch failure of a batch that is not split is one; so is a partial batch
 *   response whose lowest reported record is the batch's first. Splitting a batch in two does not count as a retry,
 *   as Lambda documents: both halves inherit the failed batch's count, so bisection always runs down to single
 *   records, even with `maximumRetryAttempts` 0, and only then are retries spent.
 * - A partial batch response is not bisected: with bisect and ReportBatchItemFailures both on, Lambda documents that
 *   the batch is "bisected at the returned sequence number" and only the remaining records are retried. When the
 *   lowest reported record is after the batch's first, the checkpoint moves to it and the remaining records form a
 *   new batch with a fresh retry count, invoked without backoff (`approximateInvokeCount` still counts the
 *   invocations that carried them). The documentation does not say how retries are counted across such responses;
 *   this reading is the one that bounds what must be bounded without dropping what need not be. A record that keeps
 *   failing is bounded: once it is at the head, every further failure of it is a retry, so it is invoked at most
 *   `maximumRetryAttempts` + 1 times from there before its batch goes to on-failure (and every forward move
 *   checkpoints at least one record, so a batch cannot move forward forever). Healthy records are not dropped:
 *   carrying the count over instead would let independent transient failures of different records (5% of records
 *   failing at random, batches of 100) add up to the limit and send a batch of records that each succeed on a retry
 *   to on-failure, about 2% of batches with 10 retries.
 * - A complete failure by response (an empty, null, non-string or unknown `itemIdentifier`, or a malformed
 *   `batchItemFailures`) is treated like a function error, so it is bisected too.
 * - Record age is checked before every invocation, retries included: a batch whose oldest record is older than
 *   `maximumRecordAgeMs` goes to on-failure with MaximumRecordAgeExceeded. Records already too old when a batch is
 *   formed make a batch of their own, which is never invoked (`approximateInvokeCount` 0, `statusCode` 0).
 * - `approximateInvokeCount` counts the invocations that carried the reported records, bisected parents included.
 * - An on-failure message that the sink refuses is retried with backoff until it is taken: the checkpoint only moves
 *   past records once they are processed or handed over, never lost.
 * - Abort abandons the in-flight invocation at once (its late result is ignored) and keeps its batch for a later
 *   `run`, which re-delivers it: at-least-once, as after a Lambda poller restart.
 */

/** Lambda polls an idle shard about four times a second. */
export const DEFAULT_POLL_INTERVAL_MS = 250;

/** Delay before the nth retry of a batch (1-based): 50 ms doubling per retry, at most 1 s. */
export function defaultRetryBackoffMs(retry: number): number {
  return Math.min(50 * 2 ** Math.max(0, retry - 1), 1_000);
}

/** Zeroed counters for one shard processor. */
export function createShardCounters(): ShardCounters {
  return {
    recordsRead: 0,
    recordsFiltered: 0,
    recordsProcessed: 0,
    invocations: 0,
    failedInvocations: 0,
    recordsToOnFailure: 0,
    recordsRedelivered: 0,
    oldestPendingCreationMs: undefined,
    pending: 0,
    successfulReads: 0,
  };
}

/** ShardProcessorOptions plus the knobs only tests and the runner's logging need. */
export interface ShardProcessorSettings extends ShardProcessorOptions {
  /** Delay before the nth retry of a batch (and of a refused on-failure message). @default defaultRetryBackoffMs */
  readonly retryBackoffMs?: (retry: number) => number;
  /**
   * Told about a failed shard read (retried after the poll interval), a refused on-failure message (retried), or an
   * onSettled listener that threw (the checkpoint stands: a listener's bug must not stop the shard).
   */
  readonly onError?: (error: unknown, during: 'read' | 'on-failure' | 'settled') => void;
}

/** Thrown at construction when the mapping settings cannot be run. */
export class ShardProcessorConfigError extends Error {
  public constructor(
    public readonly field: string,
    detail: string,
  ) {
    super(`Invalid event source mapping setting ${field}: ${detail}`);
    this.name = 'ShardProcessorConfigError';
  }
}

/** Thrown (rejecting `run`) when the shard serves a record that has no sequence number to checkpoint. */
export class MalformedStreamRecordError extends Error {
  public constructor(
    public readonly shardId: string,
    public readonly eventId: string | undefined,
  ) {
    super(`Shard ${shardId} served record ${eventId ?? '(no eventID)'} without dynamodb.SequenceNumber`);
    this.name = 'MalformedStreamRecordError';
  }
}

/** Thrown when `run` is called while a run of the same processor is still going. */
export class ShardProcessorBusyError extends Error {
  public constructor(shardId: string) {
    super(`Shard ${shardId} is already being processed`);
    this.name = 'ShardProcessorBusyError';
  }
}

/**
 * The lane of a record: a stable hash of its item key (every attribute of `dynamodb.Keys`, in name order), so all
 * records of one item share a lane. Records without keys go to lane 0.
 */
export function laneOf(record: DynamoDBRecord, lanes: number): number {
  const keys = record.dynamodb?.Keys ?? {};
  if (lanes <= 1 || Object.keys(keys).length === 0) {
    return 0;
  }
  const canonical = JSON.stringify(
    Object.keys(keys)
      .sort()
      .map((name) => [name, keys[name]]),
  );
  return createHash('sha256').update(canonical).digest().readUInt32BE(0) % lanes;
}

interface PendingRecord {
  readonly record: DynamoDBRecord;
  readonly sequenceNumber: string;
  /** ApproximateCreationDateTime in ms, when the record has one. */
  readonly creationMs: number | undefined;
  /** When the processor read it (clock), for the batching window. */
  readonly arrivedAtMs: number;
  deliveries: number;
}

/** The last invocation of a batch, for the on-failure message. */
interface Attempt {
  readonly requestId: string;
  readonly functionError?: 'Unhandled';
}

type FailureCondition = OnFailureMessage['requestContext']['condition'];

interface Batch {
  /** In sequence order. */
  readonly records: readonly PendingRecord[];
  /** Re-invocations from the same first record; reset when a partial response moves the checkpoint. */
  readonly retries: number;
  readonly invocations: number;
  readonly lastAttempt?: Attempt;
  /** Set when the batch was given up but the on-failure hand-over was interrupted by an abort. */
  readonly givenUp?: FailureCondition;
}

type Outcome =
  | { readonly kind: 'success' }
  | { readonly kind: 'partial'; readonly firstFailed: number; readonly attempt: Attempt }
  | { readonly kind: 'failed'; readonly attempt: Attempt }
  | { readonly kind: 'aborted' };

type Settled =
  | { readonly kind: 'returned'; readonly value: unknown }
  | { readonly kind: 'threw' }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'aborted' };

/** setTimeout fires at once for delays above 2^31 - 1 ms; anything that long means "no timer". */
const MAX_TIMER_MS = 2_147_483_647;

/** A condition variable for one event loop: waiters are woken by notify, by their timeout, or by abort. */
class Wakeup {
  readonly #waiters = new Set<() => void>();

  public notify(): void {
    for (const wake of [...this.#waiters]) {
      wake();
    }
  }

  public wait(
    timeoutMs: number | undefined,
    signal: AbortSignal,
  ): Promise<'notified' | 'timeout' | 'aborted'> {
    if (signal.aborted) {
      return Promise.resolve('aborted');
    }
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const finish = (why: 'notified' | 'timeout' | 'aborted'): void => {
        this.#waiters.delete(onNotify);
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        resolve(why);
      };
      const onNotify = (): void => finish('notified');
      const onAbort = (): void => finish('aborted');
      if (timeoutMs !== undefined && timeoutMs <= MAX_TIMER_MS) {
        timer = setTimeout(() => finish('timeout'), Math.max(0, timeoutMs));
      }
      this.#waiters.add(onNotify);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}

async function sleep(ms: number, signal: AbortSignal): Promise<void> {
  await new Wakeup().wait(ms, signal);
}

/** The task's result, or undefined once the signal aborts (a late rejection is swallowed, not left unhandled). */
function unlessAborted<T>(task: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => resolve(undefined);
    if (signal.aborted) {
      onAbort();
    } else {
      signal.addEventListener('abort', onAbort, { once: true });
    }
    task.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** Calls the function and settles on its result, its error, the timeout or the abort, whichever comes first. */
function settle(call: () => Promise<unknown>, timeoutMs: number, signal: AbortSignal): Promise<Settled> {
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    let settled = false;
    const finish = (result: Settled): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(result);
    };
    const onAbort = (): void => finish({ kind: 'aborted' });
    if (signal.aborted) {
      finish({ kind: 'aborted' });
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    if (timeoutMs <= MAX_TIMER_MS) {
      timer = setTimeout(() => finish({ kind: 'timeout' }), timeoutMs);
    }
    let pending: Promise<unknown>;
    try {
      pending = Promise.resolve(call());
    } catch {
      finish({ kind: 'threw' });
      return;
    }
    // Both handlers are attached, so a result or rejection arriving after the timeout is ignored, not unhandled.
    pending.then(
      (value) => finish({ kind: 'returned', value }),
      () => finish({ kind: 'threw' }),
    );
  });
}

/** `2024-05-01T12:00:00Z`: the documented on-failure example writes arrival times to the second. */
function isoTime(ms: number): string {
  const iso = new Date(ms).toISOString();
  return iso.endsWith('.000Z') ? `${iso.slice(0, -5)}Z` : iso;
}

function validate(config: EsmConfig): void {
  const check = (field: string, ok: boolean, detail: string): void => {
    if (!ok) throw new ShardProcessorConfigError(field, detail);
  };
  check(
    'batchSize',
    Number.isInteger(config.batchSize) && config.batchSize >= 1,
    `${config.batchSize} is not >= 1`,
  );
  check(
    'parallelizationFactor',
    Number.isInteger(config.parallelizationFactor) &&
      config.parallelizationFactor >= 1 &&
      config.parallelizationFactor <= 10,
    `${config.parallelizationFactor} is not 1..10`,
  );
  check(
    'maximumBatchingWindowMs',
    config.maximumBatchingWindowMs >= 0,
    `${config.maximumBatchingWindowMs} is negative`,
  );
  check(
    'maximumRetryAttempts',
    config.maximumRetryAttempts >= 0,
    `${config.maximumRetryAttempts} is negative (infinite is Infinity)`,
  );
  check(
    'maximumRecordAgeMs',
    config.maximumRecordAgeMs > 0,
    `${config.maximumRecordAgeMs} is not positive (infinite is Infinity)`,
  );
  check('functionTimeoutMs', config.functionTimeoutMs > 0, `${config.functionTimeoutMs} is not positive`);
}

class Lane {
  /** Read and not yet in a batch, in sequence order. */
  public readonly queue: PendingRecord[] = [];
  /** Batches to (re)invoke before anything from the queue: retries and bisected halves, next first. */
  public readonly retryBatches: Batch[] = [];
  public readonly wakeup = new Wakeup();
}

export class ShardProcessor {
  readonly #options: ShardProcessorSettings;
  readonly #config: EsmConfig;
  readonly #counters: ShardCounters;
  readonly #filter: RecordFilter;
  readonly #clock: () => number;
  readonly #pollIntervalMs: number;
  readonly #backoff: (retry: number) => number;
  readonly #lanes: Lane[];
  /** Read (and not filtered out) but not yet processed or handed to on-failure. */
  readonly #pending = new Set<PendingRecord>();
  /** Woken whenever records leave #pending, for the read-ahead bound. */
  readonly #progress = new Wakeup();
  /** Read-ahead bound: a full batch for every lane. */
  readonly #maxPending: number;
  #position: string | undefined;
  #skippingToLatest: boolean;
  #readerDone = false;
  #running = false;

  public constructor(options: ShardProcessorSettings) {
    validate(options.config);
    this.#options = options;
    this.#config = options.config;
    this.#counters = options.counters;
    // Fails construction with UnsupportedFilterError naming the pattern, before anything is read.
    this.#filter = compileFilters(options.config.filterPatterns);
    // Read through Date.now at call time, so that fake timers in tests move it.
    this.#clock = options.clock ?? ((): number => Date.now());
    this.#pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    this.#backoff = options.retryBackoffMs ?? defaultRetryBackoffMs;
    this.#lanes = Array.from({ length: options.config.parallelizationFactor }, () => new Lane());
    this.#maxPending = options.config.batchSize * options.config.parallelizationFactor;
    this.#skippingToLatest = options.config.startingPosition === 'LATEST';
  }

  /**
   * Processes the shard until it is closed and every record read is processed or sent to on-failure, or until
   * `signal` aborts. Rejects only on a broken source (MalformedStreamRecordError) or a bug, never on function errors.
   */
  public async run(signal: AbortSignal): Promise<void> {
    if (this.#running) {
      throw new ShardProcessorBusyError(this.#options.shardId);
    }
    if (signal.aborted) {
      return;
    }
    this.#running = true;
    // One internal signal: the caller's abort, or a failing loop that must stop the others.
    const halt = new AbortController();
    setMaxListeners(64, halt.signal);
    const forward = (): void => halt.abort();
    signal.addEventListener('abort', forward, { once: true });
    const guarded = (task: Promise<void>): Promise<void> =>
      task.catch((error: unknown) => {
        halt.abort();
        throw error;
      });
    try {
      const results = await Promise.allSettled([
        guarded(this.#readLoop(halt.signal)),
        ...this.#lanes.map((lane) => guarded(this.#laneLoop(lane, halt.signal))),
      ]);
      const failure = results.find((result) => result.status === 'rejected');
      if (failure !== undefined) {
        throw failure.reason;
      }
    } finally {
      signal.removeEventListener('abort', forward);
      this.#running = false;
    }
  }

  async #readLoop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted && !this.#readerDone) {
      if (this.#pending.size >= this.#maxPending) {
        await this.#progress.wait(undefined, signal);
        continue;
      }
      let result: Awaited<ReturnType<ShardProcessorOptions['reader']['read']>> | undefined;
      try {
        result = await unlessAborted(
          this.#options.reader.read(this.#position, this.#config.batchSize),
          signal,
        );
      } catch (error) {
        this.#options.onError?.(error, 'read');
        await sleep(this.#pollIntervalMs, signal);
        continue;
      }
      if (result === undefined) {
        return;
      }
      this.#counters.successfulReads += 1;
      const skipped = this.#skippingToLatest;
      this.#accept(result.records, skipped);
      if (result.closed) {
        this.#readerDone = true;
        this.#wakeLanes();
        return;
      }
      if (result.records.length === 0) {
        // LATEST starts after whatever the shard held when the mapping started.
        this.#skippingToLatest = false;
        await sleep(this.#pollIntervalMs, signal);
      }
    }
  }

  #accept(records: readonly DynamoDBRecord[], skip: boolean): void {
    const now = this.#clock();
    for (const record of records) {
      const sequenceNumber = record.dynamodb?.SequenceNumber;
      if (sequenceNumber === undefined || sequenceNumber === '') {
        throw new MalformedStreamRecordError(this.#options.shardId, record.eventID);
      }
      this.#position = sequenceNumber;
      if (skip) {
        continue;
      }
      if (!this.#filter(record)) {
        this.#counters.recordsFiltered += 1;
        continue;
      }
      const creationSeconds = record.dynamodb?.ApproximateCreationDateTime;
      const pending: PendingRecord = {
        record,
        sequenceNumber,
        creationMs: typeof creationSeconds === 'number' ? creationSeconds * 1000 : undefined,
        arrivedAtMs: now,
        deliveries: 0,
      };
      this.#pending.add(pending);
      this.#counters.recordsRead += 1;
      this.#counters.pending += 1;
      this.#lanes[laneOf(record, this.#lanes.length)]!.queue.push(pending);
    }
    this.#updateOldestPending();
    this.#wakeLanes();
  }

  #wakeLanes(): void {
    for (const lane of this.#lanes) {
      lane.wakeup.notify();
    }
  }

  async #laneLoop(lane: Lane, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const batch = lane.retryBatches.shift() ?? (await this.#nextBatch(lane, signal));
      if (batch === undefined) {
        return;
      }
      await this.#process(lane, batch, signal);
    }
  }

  /** The next batch from the lane's queue once batch size, window or shard end says so; undefined when done. */
  async #nextBatch(lane: Lane, signal: AbortSignal): Promise<Batch | undefined> {
    const { batchSize, maximumBatchingWindowMs } = this.#config;
    for (;;) {
      if (signal.aborted) {
        return undefined;
      }
      const head = lane.queue[0];
      if (head === undefined) {
        if (this.#readerDone) {
          return undefined;
        }
        await lane.wakeup.wait(undefined, signal);
        continue;
      }
      const expired = this.#expiredPrefixLength(lane.queue);
      if (expired > 0) {
        return this.#take(lane, expired);
      }
      if (lane.queue.length >= batchSize || this.#readerDone) {
        return this.#take(lane, batchSize);
      }
      const remainingMs = maximumBatchingWindowMs - (this.#clock() - head.arrivedAtMs);
      if (remainingMs <= 0) {
        return this.#take(lane, batchSize);
      }
      // Only the timer ends the window, not a re-reading of the clock: an injected clock may stand still.
      if ((await lane.wakeup.wait(remainingMs, signal)) === 'timeout') {
        return this.#take(lane, batchSize);
      }
    }
  }

  #take(lane: Lane, count: number): Batch {
    return {
      records: lane.queue.splice(0, Math.min(count, this.#config.batchSize)),
      retries: 0,
      invocations: 0,
    };
  }

  /** How many records at the head of the queue are already too old to deliver. */
  #expiredPrefixLength(queue: readonly PendingRecord[]): number {
    const now = this.#clock();
    let count = 0;
    for (const record of queue) {
      if (count >= this.#config.batchSize || !this.#isTooOld(record, now)) break;
      count += 1;
    }
    return count;
  }

  #isTooOld(record: PendingRecord, now: number): boolean {
    return record.creationMs !== undefined && now - record.creationMs > this.#config.maximumRecordAgeMs;
  }

  async #process(lane: Lane, batch: Batch, signal: AbortSignal): Promise<void> {
    if (batch.givenUp !== undefined) {
      await this.#giveUp(lane, batch, batch.givenUp, signal);
      return;
    }
    const now = this.#clock();
    if (batch.records.some((record) => this.#isTooOld(record, now))) {
      await this.#giveUp(lane, batch, 'MaximumRecordAgeExceeded', signal);
      return;
    }
    const outcome = await this.#invoke(batch, signal);
    if (outcome.kind === 'aborted') {
      // Not checkpointed: a later run delivers the batch again.
      lane.retryBatches.unshift(batch);
      return;
    }
    if (outcome.kind === 'success') {
      this.#checkpoint(batch.records, 'processed');
      return;
    }
    this.#counters.failedInvocations += 1;
    const invoked: Batch = { ...batch, invocations: batch.invocations + 1, lastAttempt: outcome.attempt };
    if (outcome.kind === 'partial') {
      if (outcome.firstFailed > 0) {
        // Checkpoint just before the lowest reported record; it and everything after it (successes included) form a
        // new batch. Its head has not failed at the head yet, so the count starts afresh (see the file header).
        this.#checkpoint(batch.records.slice(0, outcome.firstFailed), 'processed');
        lane.retryBatches.unshift({
          ...invoked,
          records: batch.records.slice(outcome.firstFailed),
          retries: 0,
        });
        return;
      }
      // The checkpoint did not move: the same records again, from the same head, is a retry.
      await this.#retryOrGiveUp(lane, invoked, signal);
      return;
    }
    if (this.#config.bisectBatchOnFunctionError && batch.records.length > 1) {
      const middle = Math.ceil(batch.records.length / 2);
      // Both halves keep the retry count: splitting is not a retry. The first half runs first, keeping order.
      lane.retryBatches.unshift(
        { ...invoked, records: batch.records.slice(0, middle) },
        { ...invoked, records: batch.records.slice(middle) },
      );
      return;
    }
    await this.#retryOrGiveUp(lane, invoked, signal);
  }

  async #retryOrGiveUp(lane: Lane, batch: Batch, signal: AbortSignal): Promise<void> {
    if (batch.retries >= this.#config.maximumRetryAttempts) {
      await this.#giveUp(lane, batch, 'RetryAttemptsExhausted', signal);
      return;
    }
    const retry: Batch = { ...batch, retries: batch.retries + 1 };
    lane.retryBatches.unshift(retry);
    await sleep(this.#backoff(retry.retries), signal);
  }

  async #invoke(batch: Batch, signal: AbortSignal): Promise<Outcome> {
    for (const record of batch.records) {
      if (record.deliveries > 0) {
        this.#counters.recordsRedelivered += 1;
      }
      record.deliveries += 1;
    }
    this.#counters.invocations += 1;
    const requestId = randomUUID();
    const timeoutMs = this.#config.functionTimeoutMs;
    const deadline = this.#clock() + timeoutMs;
    const context = this.#context(requestId, deadline);
    // A fresh copy per invocation, as Lambda sends fresh JSON: a consumer mutating its event changes no retry.
    const event: DynamoDBStreamEvent = {
      Records: batch.records.map((pending) => structuredClone(pending.record)),
    };
    const settled = await settle(() => this.#options.fn(event, context), timeoutMs, signal);
    switch (settled.kind) {
      case 'aborted':
        return { kind: 'aborted' };
      case 'threw':
      case 'timeout':
        return { kind: 'failed', attempt: { requestId, functionError: 'Unhandled' } };
      case 'returned':
        return this.#interpret(settled.value, batch, { requestId });
    }
  }

  /** Reads a response as Lambda does, and only when the mapping has ReportBatchItemFailures. */
  #interpret(response: unknown, batch: Batch, attempt: Attempt): Outcome {
    if (!this.#config.reportBatchItemFailures || response === undefined || response === null) {
      return { kind: 'success' };
    }
    if (typeof response !== 'object' || Array.isArray(response)) {
      return { kind: 'failed', attempt };
    }
    const failures = (response as { batchItemFailures?: unknown }).batchItemFailures;
    if (failures === undefined || failures === null || (Array.isArray(failures) && failures.length === 0)) {
      return { kind: 'success' };
    }
    if (!Array.isArray(failures)) {
      return { kind: 'failed', attempt };
    }
    let firstFailed = Number.POSITIVE_INFINITY;
    for (const failure of failures) {
      const identifier =
        typeof failure === 'object' && failure !== null
          ? (failure as { itemIdentifier?: unknown }).itemIdentifier
          : undefined;
      // The batch is in sequence order, so the lowest index is the lowest sequence number.
      const index =
        typeof identifier === 'string' && identifier !== ''
          ? batch.records.findIndex((record) => record.sequenceNumber === identifier)
          : -1;
      if (index === -1) {
        return { kind: 'failed', attempt };
      }
      firstFailed = Math.min(firstFailed, index);
    }
    return { kind: 'partial', firstFailed, attempt };
  }

  #context(requestId: string, deadline: number): Context {
    return localLambdaContext({
      functionName: this.#config.consumerName,
      functionArn: this.#options.functionArn,
      requestId,
      deadlineMs: deadline,
      clock: this.#clock,
      memoryLimitInMB: '128',
      logStreamName: `local/[$LATEST]${this.#options.shardId}`,
      callbackWaitsForEmptyEventLoop: true,
    });
  }

  /** Hands the batch to on-failure (until the sink takes it) and checkpoints past it. */
  async #giveUp(lane: Lane, batch: Batch, condition: FailureCondition, signal: AbortSignal): Promise<void> {
    const message = this.#onFailureMessage(batch, condition);
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.#options.onFailure(message);
        break;
      } catch (error) {
        this.#options.onError?.(error, 'on-failure');
        await sleep(this.#backoff(attempt), signal);
        if (signal.aborted) {
          lane.retryBatches.unshift({ ...batch, givenUp: condition });
          return;
        }
      }
    }
    this.#checkpoint(batch.records, 'on-failure');
  }

  #onFailureMessage(batch: Batch, condition: FailureCondition): OnFailureMessage {
    const first = batch.records[0]!;
    const last = batch.records.at(-1)!;
    const { lastAttempt } = batch;
    return {
      requestContext: {
        requestId: lastAttempt?.requestId ?? randomUUID(),
        functionArn: this.#options.functionArn,
        condition,
        approximateInvokeCount: batch.invocations,
      },
      // The function was invoked synchronously, so 200 even when it failed; 0 when it never was.
      responseContext: {
        statusCode: lastAttempt === undefined ? 0 : 200,
        executedVersion: '$LATEST',
        ...(lastAttempt?.functionError === undefined ? {} : { functionError: lastAttempt.functionError }),
      },
      version: '1.0',
      timestamp: new Date(this.#clock()).toISOString(),
      DDBStreamBatchInfo: {
        shardId: this.#options.shardId,
        startSequenceNumber: first.sequenceNumber,
        endSequenceNumber: last.sequenceNumber,
        approximateArrivalOfFirstRecord: isoTime(first.creationMs ?? first.arrivedAtMs),
        approximateArrivalOfLastRecord: isoTime(last.creationMs ?? last.arrivedAtMs),
        batchSize: batch.records.length,
        streamArn: this.#options.streamArn,
      },
    };
  }

  #checkpoint(records: readonly PendingRecord[], how: 'processed' | 'on-failure'): void {
    if (records.length === 0) {
      return;
    }
    for (const record of records) {
      this.#pending.delete(record);
    }
    this.#counters.pending -= records.length;
    if (how === 'processed') {
      this.#counters.recordsProcessed += records.length;
    } else {
      this.#counters.recordsToOnFailure += records.length;
    }
    this.#updateOldestPending();
    this.#progress.notify();
    this.#reportSettled(records, how);
  }

  /** Tells the listener which records settled: it need not re-derive that from the function's response. */
  #reportSettled(records: readonly PendingRecord[], outcome: 'processed' | 'on-failure'): void {
    const listener = this.#options.onSettled;
    if (listener === undefined) {
      return;
    }
    try {
      listener({
        consumerName: this.#config.consumerName,
        shardId: this.#options.shardId,
        outcome,
        records: records.map((pending) => pending.record),
        atMs: this.#clock(),
      });
    } catch (error) {
      this.#options.onError?.(error, 'settled');
    }
  }

  #updateOldestPending(): void {
    let oldest: number | undefined;
    for (const record of this.#pending) {
      if (record.creationMs !== undefined && (oldest === undefined || record.creationMs < oldest)) {
        oldest = record.creationMs;
      }
    }
    this.#counters.oldestPendingCreationMs = oldest;
  }
}
