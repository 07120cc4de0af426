import { setTimeout as sleep } from 'node:timers/promises';
import { createShardCounters, ShardProcessor } from './shard-processor.js';
import type {
  EsmConfig,
  MappingStats,
  OnFailureSink,
  SettledListener,
  ShardCounters,
  ShardInfo,
  ShardReader,
  StreamFunction,
  StreamSource,
} from './types.js';

/** One event source mapping to run: its settings, its stream, and the local function and on-failure sink. */
export interface EsmRunnerMapping {
  readonly config: EsmConfig;
  readonly streamArn: string;
  /** The function's ARN as the invocation context and the on-failure messages carry it. */
  readonly functionArn: string;
  /** May be shared by the mappings of one stream: each shard processor gets a reader of its own. */
  readonly source: StreamSource;
  readonly fn: StreamFunction;
  readonly onFailure: OnFailureSink;
}

/** Where a problem reported to {@link EsmRunnerOptions.onError} happened. */
export interface EsmRunnerErrorContext {
  readonly consumerName: string;
  /** Absent for shard discovery. */
  readonly shardId?: string;
  /**
   * `discovery`: listing the shards failed (retried at the next discovery); `read`: reading a shard failed (retried
   * after the poll interval); `on-failure`: the on-failure sink refused a message (retried); `processor`: a shard
   * processor stopped on an error and its shard is no longer processed; `settled`: the onSettled listener threw (the
   * checkpoint stands).
   */
  readonly during: 'discovery' | 'read' | 'on-failure' | 'processor' | 'settled';
}

export interface EsmRunnerOptions {
  readonly mappings: readonly EsmRunnerMapping[];
  /** How often an idle shard is polled. @default the shard processor's (250 ms) */
  readonly pollIntervalMs?: number;
  /** How often each stream's shards are listed, to follow new shards. @default 1000 ms */
  readonly shardDiscoveryIntervalMs?: number;
  /** For record ages and iterator age. @default Date.now */
  readonly clock?: () => number;
  /** Told about every problem the runner works around or gives up on. @default one line on stderr */
  readonly onError?: (error: unknown, context: EsmRunnerErrorContext) => void;
  /**
   * Told which records of which mapping settled, each time one of its shard processors checkpoints (see
   * SettledRecords): what a measurement of processed records (the sandbox's lag) needs, without re-reading the
   * function's responses. @default nobody
   */
  readonly onSettled?: SettledListener;
}

/** Thrown when two mappings share a consumer name: stats and logs are keyed by it. */
export class DuplicateConsumerNameError extends Error {
  public constructor(consumerName: string) {
    super(
      `Two event source mappings belong to consumer "${consumerName}"; the runner reports per consumer name`,
    );
    this.name = 'DuplicateConsumerNameError';
  }
}

/**
 * Throws DuplicateConsumerNameError when two mappings share a consumer name. The runner checks its mappings with it;
 * the sandbox calls it on the template's mappings too, so that it fails before it starts anything.
 */
export function assertDistinctConsumerNames(configs: readonly Pick<EsmConfig, 'consumerName'>[]): void {
  const names = new Set<string>();
  for (const { consumerName } of configs) {
    if (names.has(consumerName)) {
      throw new DuplicateConsumerNameError(consumerName);
    }
    names.add(consumerName);
  }
}

/** Thrown when the runner is used out of order: started twice, started after stop, waited on before start. */
export class EsmRunnerStateError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = 'EsmRunnerStateError';
  }
}

/** Rejects `waitUntilDrained` when a shard processor stopped on an error: its shard would never drain. */
export class ShardProcessorFailedError extends Error {
  public constructor(consumerName: string, shardId: string, cause: unknown) {
    super(
      `The shard processor of ${consumerName} for ${shardId} failed: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
    this.name = 'ShardProcessorFailedError';
  }
}

export const DEFAULT_SHARD_DISCOVERY_INTERVAL_MS = 1000;

/** The reader of the processors built only to check a mapping's settings: they are never run. */
const NEVER_READ: ShardReader = {
  read: () => Promise.reject(new EsmRunnerStateError('A settings-check processor was run')),
};
/** How often waitUntilDrained looks at the counters. */
const DRAIN_CHECK_INTERVAL_MS = 20;

/**
 * `waiting`: known, not started (its parent is not done yet); `running`; `finished`: closed and fully processed;
 * `failed`: the processor rejected; `stopped`: aborted by stop().
 */
type ShardStatus = 'waiting' | 'running' | 'finished' | 'failed' | 'stopped';

interface ShardState {
  readonly shardId: string;
  readonly parentShardId: string | undefined;
  readonly counters: ShardCounters;
  status: ShardStatus;
  run?: Promise<void>;
}

interface MappingState {
  readonly mapping: EsmRunnerMapping;
  readonly shards: Map<string, ShardState>;
  /** The shard ids of the latest successful listing. */
  listed: ReadonlySet<string>;
  /** At least one listing succeeded: before that, "no pending record" says nothing. */
  discovered: boolean;
  /** The discovery loop, awaited by stop(). */
  loop?: Promise<void>;
}

/**
 * Runs event source mappings locally, as Lambda's pollers do: for every mapping, one {@link ShardProcessor} per shard
 * of its stream, found by listing the shards periodically so that shards created later are followed too. A shard is
 * started only once its parent is done (its processor finished, i.e. the parent is closed and every record of it was
 * processed or sent to on-failure), or when the parent is no longer listed (trimmed) and was never started here: the
 * records of one item move from a parent to its child, and processing the child first would reorder them.
 *
 * A processor that stops on an error (a malformed record, a bug) is reported and not restarted, as a new processor
 * would start from the shard's beginning; its children are not started either, for the same ordering reason.
 * `waitUntilDrained` rejects once that happened, so a test or a run never waits for a shard that cannot drain.
 */
export class EsmRunner {
  readonly #mappings: MappingState[];
  readonly #pollIntervalMs: number | undefined;
  readonly #discoveryIntervalMs: number;
  readonly #clock: () => number;
  readonly #onError: (error: unknown, context: EsmRunnerErrorContext) => void;
  readonly #onSettled: SettledListener | undefined;
  readonly #abort = new AbortController();
  #state: 'created' | 'running' | 'stopped' = 'created';
  #stopping: Promise<void> | undefined;
  #failure: ShardProcessorFailedError | undefined;

  public constructor(options: EsmRunnerOptions) {
    assertDistinctConsumerNames(options.mappings.map((mapping) => mapping.config));
    this.#pollIntervalMs = options.pollIntervalMs;
    this.#discoveryIntervalMs = options.shardDiscoveryIntervalMs ?? DEFAULT_SHARD_DISCOVERY_INTERVAL_MS;
    this.#clock = options.clock ?? ((): number => Date.now());
    this.#onError = options.onError ?? logError;
    this.#onSettled = options.onSettled;
    this.#mappings = options.mappings.map((mapping) => ({
      mapping,
      shards: new Map(),
      listed: new Set(),
      discovered: false,
    }));
    // A processor validates the settings and compiles the filters when constructed, reading nothing: building one
    // per mapping now makes a setting it cannot run fail here rather than on the first shard, minutes later.
    for (const state of this.#mappings) {
      this.#createProcessor(state, '(settings check)', createShardCounters(), NEVER_READ);
    }
  }

  /** Starts discovering and processing shards; returns at once. */
  public start(): void {
    if (this.#state !== 'created') {
      throw new EsmRunnerStateError(`The runner cannot start: it is ${this.#state}`);
    }
    this.#state = 'running';
    for (const state of this.#mappings) {
      state.loop = this.#discoveryLoop(state);
    }
  }

  /**
   * Stops discovery, aborts every shard processor (an invocation in flight is abandoned; its batch is not
   * checkpointed) and resolves once all of them have returned. Safe to call more than once, and before start.
   */
  public stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    this.#state = 'stopped';
    this.#abort.abort();
    await Promise.allSettled(this.#mappings.map((state) => state.loop));
    await Promise.allSettled(
      this.#mappings.flatMap((state) => [...state.shards.values()].map((shard) => shard.run)),
    );
  }

  /** The counters of every mapping, summed over its shards, keyed by consumer name. */
  public stats(): Record<string, MappingStats> {
    const now = this.#clock();
    return Object.fromEntries(
      this.#mappings.map((state) => {
        const { consumerName } = state.mapping.config;
        const sum = createShardCounters();
        let oldest: number | undefined;
        for (const { counters } of state.shards.values()) {
          sum.recordsRead += counters.recordsRead;
          sum.recordsFiltered += counters.recordsFiltered;
          sum.recordsProcessed += counters.recordsProcessed;
          sum.invocations += counters.invocations;
          sum.failedInvocations += counters.failedInvocations;
          sum.recordsToOnFailure += counters.recordsToOnFailure;
          sum.recordsRedelivered += counters.recordsRedelivered;
          sum.pending += counters.pending;
          const shardOldest = counters.oldestPendingCreationMs;
          if (shardOldest !== undefined && (oldest === undefined || shardOldest < oldest)) {
            oldest = shardOldest;
          }
        }
        const stats: MappingStats = {
          consumerName,
          recordsRead: sum.recordsRead,
          recordsFiltered: sum.recordsFiltered,
          recordsProcessed: sum.recordsProcessed,
          invocations: sum.invocations,
          failedInvocations: sum.failedInvocations,
          recordsToOnFailure: sum.recordsToOnFailure,
          recordsRedelivered: sum.recordsRedelivered,
          iteratorAgeMs: oldest === undefined ? 0 : Math.max(0, now - oldest),
          pending: sum.pending,
        };
        return [consumerName, stats];
      }),
    );
  }

  /**
   * Resolves true once every mapping has listed its shards, holds no pending record, no record was read for `quietMs`
   * (records still in the stream are not pending until read: the quiet period is what covers them), and every shard
   * being processed completed a successful read within the last `quietMs`. The last condition is what makes the
   * others mean something: a shard whose reads keep failing has nothing pending and reads no record, yet may hold any
   * number of records it cannot get to, so it is not drained. An idle shard reads once per poll interval, so
   * `quietMs` must be longer than that, or the reads cannot be seen as recent. And every shard being processed
   * completed two reads since the runner last became idle: a consumer may write to a table whose stream it reads
   * (the order fan-out back-orders an order), and the record of a write made by its last invocation is not pending
   * yet; the first read after that invocation may have started before the write, the second started after it, so
   * it saw the record if there was one. False when `timeoutMs` passes first.
   * Rejects with {@link ShardProcessorFailedError} when a processor failed. Both durations are real time, whatever
   * the clock option says.
   */
  public async waitUntilDrained(options: { timeoutMs: number; quietMs: number }): Promise<boolean> {
    if (this.#state !== 'running') {
      throw new EsmRunnerStateError(`The runner cannot drain: it is ${this.#state}`);
    }
    const start = performance.now();
    let lastSeen = this.#recordsSeen();
    let lastChange = start;
    // Per shard, its successful reads when last looked at and when they were last seen to move (undefined: not
    // during this wait). Counters only, no timestamps from the processor: its clock may be a test's, these are real.
    const reads = new Map<ShardCounters, { count: number; movedAt: number | undefined }>();
    /** Successful reads per shard when the runner last became idle; undefined while it is not idle. */
    let readsWhenIdle: Map<ShardCounters, number> | undefined;
    for (;;) {
      if (this.#failure !== undefined) {
        throw this.#failure;
      }
      const now = performance.now();
      const seen = this.#recordsSeen();
      if (seen !== lastSeen) {
        lastSeen = seen;
        lastChange = now;
      }
      this.#noteReads(reads, now);
      const idle = this.#isIdle();
      if (!idle) {
        readsWhenIdle = undefined;
      } else if (readsWhenIdle === undefined) {
        readsWhenIdle = this.#successfulReads();
      }
      if (
        idle &&
        now - lastChange >= options.quietMs &&
        this.#readRecently(reads, now, options.quietMs) &&
        this.#readTwiceSince(readsWhenIdle)
      ) {
        return true;
      }
      if (now - start >= options.timeoutMs || this.#state !== 'running') {
        return false;
      }
      await sleep(Math.min(DRAIN_CHECK_INTERVAL_MS, Math.max(1, options.timeoutMs - (now - start))));
    }
  }

  #recordsSeen(): number {
    let total = 0;
    for (const state of this.#mappings) {
      for (const { counters } of state.shards.values()) {
        total += counters.recordsRead + counters.recordsFiltered;
      }
    }
    return total;
  }

  #successfulReads(): Map<ShardCounters, number> {
    const counts = new Map<ShardCounters, number>();
    for (const state of this.#mappings) {
      for (const { counters } of state.shards.values()) counts.set(counters, counters.successfulReads);
    }
    return counts;
  }

  /** Whether every running shard completed at least two reads since `before` was taken (a new shard: two reads). */
  #readTwiceSince(before: ReadonlyMap<ShardCounters, number> | undefined): boolean {
    return this.#mappings.every((state) =>
      [...state.shards.values()].every(
        (shard) =>
          shard.status !== 'running' ||
          shard.counters.successfulReads - (before?.get(shard.counters) ?? 0) >= 2,
      ),
    );
  }

  #noteReads(reads: Map<ShardCounters, { count: number; movedAt: number | undefined }>, now: number): void {
    for (const state of this.#mappings) {
      for (const { counters } of state.shards.values()) {
        const noted = reads.get(counters);
        if (noted === undefined) {
          reads.set(counters, { count: counters.successfulReads, movedAt: undefined });
        } else if (noted.count !== counters.successfulReads) {
          reads.set(counters, { count: counters.successfulReads, movedAt: now });
        }
      }
    }
  }

  /**
   * Whether every running shard completed a read within `quietMs`. Waiting shards have not started (their parent is
   * running, and is checked); finished ones were closed and read to their end, so no read is owed.
   */
  #readRecently(
    reads: ReadonlyMap<ShardCounters, { count: number; movedAt: number | undefined }>,
    now: number,
    quietMs: number,
  ): boolean {
    return this.#mappings.every((state) =>
      [...state.shards.values()].every((shard) => {
        if (shard.status !== 'running') {
          return true;
        }
        const movedAt = reads.get(shard.counters)?.movedAt;
        return movedAt !== undefined && now - movedAt <= quietMs;
      }),
    );
  }

  #isIdle(): boolean {
    return this.#mappings.every(
      (state) =>
        state.discovered && [...state.shards.values()].every((shard) => shard.counters.pending === 0),
    );
  }

  async #discoveryLoop(state: MappingState): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      await this.#discover(state);
      try {
        await sleep(this.#discoveryIntervalMs, undefined, { signal });
      } catch {
        return; // aborted
      }
    }
  }

  async #discover(state: MappingState): Promise<void> {
    let shards: ShardInfo[];
    try {
      shards = await state.mapping.source.listShards();
    } catch (error) {
      this.#onError(error, { consumerName: state.mapping.config.consumerName, during: 'discovery' });
      return;
    }
    if (this.#abort.signal.aborted) {
      return;
    }
    state.listed = new Set(shards.map((shard) => shard.shardId));
    for (const { shardId, parentShardId } of shards) {
      if (!state.shards.has(shardId)) {
        state.shards.set(shardId, {
          shardId,
          parentShardId,
          counters: createShardCounters(),
          status: 'waiting',
        });
      }
    }
    // A shard that left the listing before it was started has been trimmed: nothing of it can be read any more.
    for (const [shardId, shard] of state.shards) {
      if (shard.status === 'waiting' && !state.listed.has(shardId)) {
        state.shards.delete(shardId);
      }
    }
    state.discovered = true;
    this.#startReadyShards(state);
  }

  #startReadyShards(state: MappingState): void {
    if (this.#abort.signal.aborted) {
      return;
    }
    for (const shard of state.shards.values()) {
      if (shard.status === 'waiting' && this.#parentIsDone(state, shard)) {
        this.#startShard(state, shard);
      }
    }
  }

  #parentIsDone(state: MappingState, shard: ShardState): boolean {
    if (shard.parentShardId === undefined) {
      return true;
    }
    const parent = state.shards.get(shard.parentShardId);
    if (parent === undefined) {
      // Never seen, or trimmed before it was started: its records are gone, there is nothing to wait for.
      return !state.listed.has(shard.parentShardId);
    }
    return parent.status === 'finished';
  }

  #startShard(state: MappingState, shard: ShardState): void {
    let processor: ShardProcessor;
    try {
      processor = this.#createProcessor(
        state,
        shard.shardId,
        shard.counters,
        state.mapping.source.reader(shard.shardId),
      );
    } catch (error) {
      this.#processorFailed(state, shard, error);
      return;
    }
    shard.status = 'running';
    shard.run = processor.run(this.#abort.signal).then(
      () => {
        if (this.#abort.signal.aborted) {
          shard.status = 'stopped';
          return;
        }
        shard.status = 'finished';
        // Its children may start now, without waiting for the next discovery.
        this.#startReadyShards(state);
      },
      (error: unknown) => this.#processorFailed(state, shard, error),
    );
  }

  #createProcessor(
    state: MappingState,
    shardId: string,
    counters: ShardCounters,
    reader: ShardReader,
  ): ShardProcessor {
    const { mapping } = state;
    const { consumerName } = mapping.config;
    return new ShardProcessor({
      config: mapping.config,
      streamArn: mapping.streamArn,
      functionArn: mapping.functionArn,
      shardId,
      reader,
      fn: mapping.fn,
      onFailure: mapping.onFailure,
      counters,
      clock: this.#clock,
      ...(this.#onSettled === undefined ? {} : { onSettled: this.#onSettled }),
      ...(this.#pollIntervalMs === undefined ? {} : { pollIntervalMs: this.#pollIntervalMs }),
      onError: (error, during) => this.#onError(error, { consumerName, shardId, during }),
    });
  }

  #processorFailed(state: MappingState, shard: ShardState, error: unknown): void {
    const { consumerName } = state.mapping.config;
    shard.status = 'failed';
    this.#failure ??= new ShardProcessorFailedError(consumerName, shard.shardId, error);
    this.#onError(error, { consumerName, shardId: shard.shardId, during: 'processor' });
  }
}

function logError(error: unknown, context: EsmRunnerErrorContext): void {
  const where =
    context.shardId === undefined ? context.consumerName : `${context.consumerName} ${context.shardId}`;
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  process.stderr.write(`[esm-runner] ${where} (${context.during}): ${message}\n`);
}
