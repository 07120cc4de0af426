import { createHash } from 'node:crypto';
import type { Context, DynamoDBStreamEvent } from 'aws-lambda';
import type { ServiceFaultHook, ServiceFaultTarget } from '../../sandbox/adapters/service-faults.js';
import type { StreamFunction } from '../../sandbox/esm/types.js';
import type { LocalOpenSearchFaults } from '../../sandbox/opensearch/local-opensearch.js';
import type { EffectSink, ProbeEffect } from './probe-consumer.js';

/**
 * Fault injection for the chaos run (docs/chaos.md: a fault-injection mode proves the contract).
 *
 * Every decision is a keyed hash of the seed and what is being decided (the record and how often it was tried, or
 * the batch and how often it was invoked), not a draw from one shared generator: the stream runner interleaves
 * shards and retries by timing, so a shared generator would hand the same record a different fault on every run.
 * Keyed decisions give a record the same fate for the same seed whenever it is delivered in the same batch.
 */

/** The chance of each fault. Each is a probability from 0 to 1. */
export interface FaultRates {
  /**
   * Per effect call of the probe: the call throws a throttling error (transient; the ESM retries the record). The
   * same rate applies, independently, to each call of the SNS, SES and SQS stand-ins (it throws the service's
   * throttling error) and to each entry of their batch calls (answered failed with a throttling code), to each
   * PutObject of the S3 stand-in twice (a 503 SlowDown before storing; stored, then the answer lost), and to each
   * `_bulk` request of the local OpenSearch (503) and each of its items (429).
   */
  readonly transient: number;
  /** Per invocation: the function applies the whole batch, then throws instead of returning. */
  readonly crash: number;
  /** Per invocation: the function applies a prefix of the batch, then outlives its timeout. */
  readonly timeout: number;
}

/**
 * The rates of the brief: about 5% of effect calls fail transiently; crashes and timeouts are rarer because each one
 * fails a whole batch (and a timeout costs a whole function timeout of wall time).
 */
export const DEFAULT_FAULT_RATES: FaultRates = { transient: 0.05, crash: 0.03, timeout: 0.01 };

/** How many faults were injected; cumulative, for the run's summary. */
export interface FaultCounters {
  transientErrors: number;
  crashes: number;
  timeouts: number;
  /** Whole calls of the SNS/SES/SQS stand-ins failed with the service's throttling error. */
  serviceCallFaults: number;
  /** Entries of their batch calls answered failed with a throttling code. */
  serviceEntryFaults: number;
  /** PutObjects the S3 stand-in answered 503 SlowDown before storing anything (the call hook, service `s3`). */
  s3SlowDowns: number;
  /**
   * PutObjects the S3 stand-in stored and then lost the answer of (the entry hook, service `s3`): the caller sees a
   * timeout, and its retry of the same batch meets its own object (412). Not a failed entry: the object is there.
   */
  s3LostResponses: number;
  /** Bulk requests the local OpenSearch answered 503 (the client retries those once). */
  searchRequestFaults: number;
  /** Bulk items the local OpenSearch answered 429 es_rejected_execution_exception. */
  searchItemFaults: number;
}

export function createFaultCounters(): FaultCounters {
  return {
    transientErrors: 0,
    crashes: 0,
    timeouts: 0,
    serviceCallFaults: 0,
    serviceEntryFaults: 0,
    s3SlowDowns: 0,
    s3LostResponses: 0,
    searchRequestFaults: 0,
    searchItemFaults: 0,
  };
}

/**
 * A number in [0, 1) determined by the seed and the parts: the same inputs always give the same number, and
 * different inputs give independent-looking ones (SHA-256, of which 48 bits are used).
 */
export function seededFraction(seed: number, ...parts: ReadonlyArray<string | number>): number {
  const digest = createHash('sha256')
    .update(JSON.stringify([seed, ...parts]))
    .digest();
  return digest.readUIntBE(0, 6) / 2 ** 48;
}

/**
 * The error an injected transient fault throws: shaped like the AWS SDK's ThrottlingException (name, `$fault`,
 * `$metadata`, `$retryable`), so the runtime's real classification (classifyError) decides it is transient.
 */
export class InjectedThrottlingError extends Error {
  public readonly $fault = 'client' as const;
  public readonly $metadata = { httpStatusCode: 400 };
  public readonly $retryable = { throttling: true };

  public constructor(detail: string) {
    super(`Rate exceeded (injected by the chaos run: ${detail})`);
    this.name = 'ThrottlingException';
  }
}

/** What an injected crash throws after the batch was applied: the runner sees a function error. */
export class InjectedCrashError extends Error {
  public constructor(batchSize: number) {
    super(`Injected crash after applying a batch of ${batchSize} records`);
    this.name = 'InjectedCrashError';
  }
}

/** What an injected timeout throws once it has outlived its deadline (the runner has given up on it by then). */
export class InjectedTimeoutError extends Error {
  public constructor(applied: number, batchSize: number) {
    super(`Injected timeout after applying ${applied} of ${batchSize} records`);
    this.name = 'InjectedTimeoutError';
  }
}

export interface EffectFaultOptions {
  readonly seed: number;
  /** Chance that one effect call throws InjectedThrottlingError. */
  readonly rate: number;
  readonly counters: FaultCounters;
}

/**
 * Wraps the probe's effect port so that some calls fail transiently before anything is written, as a throttled or
 * unavailable sink would. The decision is keyed by the record's eventId and the number of calls for it so far, so a
 * record that failed is not doomed to fail again on its retry.
 */
export function withEffectFaults(sink: EffectSink, options: EffectFaultOptions): EffectSink {
  const attempts = new Map<string, number>();
  return {
    async append(effect: ProbeEffect): Promise<void> {
      const attempt = (attempts.get(effect.eventId) ?? 0) + 1;
      attempts.set(effect.eventId, attempt);
      if (seededFraction(options.seed, 'transient', effect.eventId, attempt) < options.rate) {
        options.counters.transientErrors += 1;
        throw new InjectedThrottlingError(`record ${effect.sequenceNumber}, attempt ${attempt}`);
      }
      await sink.append(effect);
    },
  };
}

export interface ServiceFaultOptions {
  readonly seed: number;
  /** Chance that one call fails as a whole, and, independently, that one entry of a batch call fails. */
  readonly rate: number;
  readonly counters: FaultCounters;
}

/**
 * The stand-ins' fault hook (adapters/service-faults.ts) for the chaos run: a call or an entry fails when a keyed
 * hash of the seed, what is sent (the stand-in's content key) and how often that content was sent before falls
 * below the rate. A re-delivered record sends the same content again and gets a fresh draw, so a failure is never
 * doomed to repeat, while the same run with the same seed makes the same decisions for the same attempts.
 *
 * The S3 stand-in asks the same two questions of each PutObject, with other meanings (adapters/local-s3.ts): a failed
 * call is a 503 SlowDown before anything is stored, a failed "entry" an object stored whose answer is then lost. They
 * are counted apart (s3SlowDowns, s3LostResponses), so that the SNS/SES/SQS counters keep meaning "not sent".
 */
export function seededServiceFaults(options: ServiceFaultOptions): ServiceFaultHook {
  const attempts = new Map<string, number>();
  const decide = (kind: 'call' | 'entry', target: ServiceFaultTarget): boolean => {
    if (options.rate <= 0) return false;
    const key = `${kind}/${target.service}/${target.operation}/${target.key}`;
    const attempt = (attempts.get(key) ?? 0) + 1;
    attempts.set(key, attempt);
    return seededFraction(options.seed, 'service', key, attempt) < options.rate;
  };
  return {
    failCall: (target) => {
      const fail = decide('call', target);
      if (!fail) return false;
      if (target.service === 's3') options.counters.s3SlowDowns += 1;
      else options.counters.serviceCallFaults += 1;
      return true;
    },
    failEntry: (target) => {
      const fail = decide('entry', target);
      if (!fail) return false;
      if (target.service === 's3') options.counters.s3LostResponses += 1;
      else options.counters.serviceEntryFaults += 1;
      return true;
    },
  };
}

/**
 * The local OpenSearch's fault hook (opensearch/local-opensearch.ts) for the chaos run, in the style of
 * seededServiceFaults: a `_bulk` request is answered 503 before anything is written, and each of its items 429
 * (es_rejected_execution_exception) before it is written, when a keyed hash of the seed, the content (the server's
 * content key) and how often that content came before falls below the rate. Only bulk requests fail: the index
 * bootstrap at start and the API's searches are not under test here, and a failed bootstrap would stop the run.
 */
export function seededSearchFaults(options: ServiceFaultOptions): LocalOpenSearchFaults {
  const attempts = new Map<string, number>();
  const decide = (key: string): boolean => {
    if (options.rate <= 0) return false;
    const attempt = (attempts.get(key) ?? 0) + 1;
    attempts.set(key, attempt);
    return seededFraction(options.seed, 'search', key, attempt) < options.rate;
  };
  return {
    failRequest: (target) => {
      if (!target.route.endsWith('/_bulk')) return false;
      const fail = decide(`request/${target.route}/${target.key}`);
      if (fail) options.counters.searchRequestFaults += 1;
      return fail;
    },
    rejectBulkItem: (target) => {
      const fail = decide(`item/${target.key}`);
      if (fail) options.counters.searchItemFaults += 1;
      return fail;
    },
  };
}

export interface FunctionFaultOptions {
  readonly seed: number;
  /** Which consumer the function belongs to: part of the decision key. */
  readonly consumerName: string;
  readonly rates: Pick<FaultRates, 'crash' | 'timeout'>;
  readonly counters: FaultCounters;
  /**
   * How long past its deadline a timed-out invocation stays alive, so the runner has certainly given up on it
   * before it settles. @default 250
   */
  readonly overrunMs?: number;
  /** @default setTimeout-based */
  readonly sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms);
  });

/**
 * Wraps a consumer's function with whole-invocation faults:
 * - crash: the function applies the whole batch, then throws instead of returning its response. The runner sees a
 *   function error, so every record of the batch is delivered again (bisected), the applied ones included.
 * - timeout: the function applies the first k records (k drawn from 0..n), then hangs until past its deadline, as a
 *   function stuck on a slow sink would. The runner fails the whole batch as timed out. The probe refuses effects
 *   once the deadline has passed (as Lambda freezes a timed-out function), so nothing lands after the runner gave up.
 *
 * The decision is keyed by the batch (consumer, first sequence number, size) and how often that batch was invoked,
 * so a batch that crashed once is not doomed to crash on its retry. Other invocations pass through untouched.
 */
export function withFunctionFaults(fn: StreamFunction, options: FunctionFaultOptions): StreamFunction {
  const invocations = new Map<string, number>();
  const sleep = options.sleep ?? defaultSleep;
  const overrunMs = options.overrunMs ?? 250;
  return async (event: DynamoDBStreamEvent, context: Context) => {
    const records = event.Records;
    const first = records[0]?.dynamodb?.SequenceNumber;
    if (first === undefined) {
      return fn(event, context);
    }
    const batchKey = `${options.consumerName}/${first}/${records.length}`;
    const invocation = (invocations.get(batchKey) ?? 0) + 1;
    invocations.set(batchKey, invocation);
    const draw = seededFraction(options.seed, 'invocation', batchKey, invocation);
    if (draw < options.rates.crash) {
      options.counters.crashes += 1;
      await fn(event, context);
      throw new InjectedCrashError(records.length);
    }
    if (draw < options.rates.crash + options.rates.timeout) {
      options.counters.timeouts += 1;
      const applied = Math.floor(
        seededFraction(options.seed, 'timeout-prefix', batchKey, invocation) * (records.length + 1),
      );
      if (applied > 0) {
        // Its outcome does not matter: the invocation is failed as timed out whatever the prefix returned.
        await fn({ ...event, Records: records.slice(0, applied) }, context).catch(() => undefined);
      }
      await sleep(context.getRemainingTimeInMillis() + overrunMs);
      throw new InjectedTimeoutError(applied, records.length);
    }
    return fn(event, context);
  };
}
