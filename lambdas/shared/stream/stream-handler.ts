import { processPartialResponse } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MetricUnit as MetricUnitName } from '@aws-lambda-powertools/metrics/types';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { METRICS_NAMESPACE } from '../env.js';
import {
  classifyError,
  describeError,
  isInternalError,
  PermanentError,
  TransientError,
  UnreportableRecordError,
} from '../errors.js';
import { type ChangeRecord, canonicalItemKey, toChangeRecord } from './change-record.js';
import { buildDeadLetter, type DeadLetterQueue, fitDeadLetter } from './dead-letter.js';
import { ItemOrderedBatchProcessor } from './item-ordered-processor.js';
import type { RawItem } from './lossless.js';
import { STREAM_METRICS } from './metrics.js';

/** Port: the logging the runtime needs; a Powertools Logger satisfies it. */
export type StreamLogger = Pick<Logger, 'debug' | 'info' | 'warn' | 'error' | 'addContext'>;

/**
 * Port: the metrics the runtime needs; a Powertools Metrics satisfies it. An implementation must respect EMF's 100
 * values per metric per flush itself: Powertools flushes on its own when a metric reaches 100 values.
 */
export interface StreamMetrics {
  addMetric(name: string, unit: MetricUnitName, value: number): void;
  publishStoredMetrics(): void;
}

/**
 * The Metrics instance of a consumer: namespace METRICS_NAMESPACE and the consumer name as Powertools' `service`
 * dimension, which makes its dimensions streamMetricDimensions(consumerName), the ones the dashboard charts.
 */
export function createStreamMetrics(consumerName: string): Metrics {
  return new Metrics({ namespace: METRICS_NAMESPACE, serviceName: consumerName });
}

/** The Logger instance of a consumer: the consumer name as service. */
export function createStreamLogger(consumerName: string): Logger {
  return new Logger({ serviceName: consumerName });
}

/** Port: current time in milliseconds since the epoch. */
export type Clock = () => number;

/** What consumer code gets besides the records. */
export interface StreamContext {
  readonly consumerName: string;
  readonly lambdaContext: Context;
  readonly logger: StreamLogger;
}

/**
 * The result of one record in batch mode. `error`, when given, is logged and never sent anywhere.
 * - ok: done; counts as processed.
 * - permanent: goes to the DLQ with `reason` (and `errorName`, default "PermanentError"), then counts as handled.
 * - transient: reported as a batch item failure; the ESM retries it.
 */
export type RecordOutcome =
  | { readonly kind: 'ok' }
  | {
      readonly kind: 'permanent';
      readonly reason: string;
      readonly errorName?: string;
      readonly error?: unknown;
    }
  | { readonly kind: 'transient'; readonly reason: string; readonly error?: unknown };

/** Outcomes of a batch, keyed by sequence number. A record missing from the map is a transient failure. */
export type BatchOutcomes = ReadonlyMap<string, RecordOutcome>;

/** Constructors of RecordOutcome, for consumers in batch mode. */
export const Outcome = {
  ok: (): RecordOutcome => ({ kind: 'ok' }),
  permanent: (reason: string, errorName?: string): RecordOutcome => ({
    kind: 'permanent',
    reason,
    errorName,
  }),
  transient: (reason: string): RecordOutcome => ({ kind: 'transient', reason }),
  /** The outcome of a record whose own call failed with `err`, classified by classifyError. */
  fromError: (err: unknown): RecordOutcome => {
    const { errorName, reason } = describeError(err);
    return classifyError(err) === 'permanent'
      ? { kind: 'permanent', reason, errorName, error: err }
      : { kind: 'transient', reason, error: err };
  },
} as const;

/** What every consumer's handler factory passes through to the runtime, whatever its mode. */
export interface StreamHandlerCommonOptions {
  /** Short stable name of the consumer: in logs, in DLQ letters and as the `service` metric dimension. */
  readonly consumerName: string;
  readonly deadLetterQueue: DeadLetterQueue;
  /** Default: createStreamLogger(consumerName). */
  readonly logger?: StreamLogger;
  /**
   * Default: createStreamMetrics(consumerName); an injected instance should be built the same way, or the
   * dashboard's dimensions (streamMetricDimensions) will not match. The runtime publishes the stored metrics at the
   * end of every invocation, so consumer code may add its own metrics to the same instance and must not publish.
   */
  readonly metrics?: StreamMetrics;
  /** Default: Date.now. */
  readonly clock?: Clock;
}

/** Per-record mode: one call per record; throw to fail it (classified by classifyError). */
export interface PerRecordStreamHandlerOptions extends StreamHandlerCommonOptions {
  readonly handleRecord: (record: ChangeRecord, context: StreamContext) => Promise<void>;
  readonly handleBatch?: never;
}

/**
 * Per-batch mode: one call with every decodable record of the batch, in stream order, for consumers that make one
 * downstream call per batch. It returns one outcome per record; a record it leaves out is a transient failure, and
 * if it throws, every record of the batch is a transient failure whatever the error (a batch-wide error says
 * nothing about any one record, and dead-lettering a whole batch on one bug would lose it). The runtime still
 * applies the ordering rule to the outcomes: after an item's first transient failure, its later records are
 * reported failed even if their outcome is ok, so the consumer's effects must tolerate being applied again.
 */
export interface PerBatchStreamHandlerOptions extends StreamHandlerCommonOptions {
  readonly handleBatch: (records: readonly ChangeRecord[], context: StreamContext) => Promise<BatchOutcomes>;
  readonly handleRecord?: never;
}

export type StreamHandlerOptions = PerRecordStreamHandlerOptions | PerBatchStreamHandlerOptions;

export type StreamHandler = (event: DynamoDBStreamEvent, context: Context) => Promise<DynamoDBBatchResponse>;

type Decoded =
  | { readonly ok: true; readonly record: ChangeRecord }
  | { readonly ok: false; readonly error: PermanentError; readonly itemKey: string | undefined };

function decode(raw: DynamoDBRecord): Decoded {
  try {
    return { ok: true, record: toChangeRecord(raw) };
  } catch (err) {
    const error =
      err instanceof PermanentError ? err : new PermanentError(describeError(err).reason, { cause: err });
    return { ok: false, error, itemKey: itemKeyOrUndefined(raw.dynamodb?.Keys) };
  }
}

function itemKeyOrUndefined(keys: RawItem | undefined): string | undefined {
  try {
    return keys === undefined ? undefined : canonicalItemKey(keys);
  } catch {
    return undefined;
  }
}

/** Fails the whole batch when a record has no sequence number (docs/architecture.md, contract 3). */
function requireSequenceNumbers(records: readonly DynamoDBRecord[]): void {
  records.forEach((record, position) => {
    const sequenceNumber = record.dynamodb?.SequenceNumber;
    if (sequenceNumber === undefined || sequenceNumber === '') {
      throw new UnreportableRecordError(position, record.eventID);
    }
  });
}

/** The sequence number of a record of a batch that passed requireSequenceNumbers. */
function sequenceNumberOf(record: DynamoDBRecord): string {
  return record.dynamodb?.SequenceNumber ?? '';
}

/** Resolves the outcome of each decoded record of one invocation. */
type OutcomeResolver = (record: ChangeRecord) => Promise<RecordOutcome>;

/** Starts one invocation of a mode: given the decoded records, returns how to get each record's outcome. */
type ModeStarter = (
  records: readonly ChangeRecord[],
  context: StreamContext,
  logger: StreamLogger,
) => Promise<OutcomeResolver>;

function perRecordMode(handleRecord: PerRecordStreamHandlerOptions['handleRecord']): ModeStarter {
  return async (_records, context) => async (record) => {
    try {
      await handleRecord(record, context);
      return Outcome.ok();
    } catch (err) {
      return Outcome.fromError(err);
    }
  };
}

function perBatchMode(handleBatch: PerBatchStreamHandlerOptions['handleBatch']): ModeStarter {
  return async (records, context, logger) => {
    let outcomes: BatchOutcomes;
    try {
      outcomes = records.length === 0 ? new Map() : await handleBatch(records, context);
    } catch (err) {
      logger.warn('handleBatch threw; every record of the batch is a transient failure', {
        consumerName: context.consumerName,
        error: err,
      });
      const failed: RecordOutcome = {
        kind: 'transient',
        reason: `handleBatch threw: ${describeError(err).reason}`,
        error: err,
      };
      return async () => failed;
    }
    return async (record) =>
      outcomes.get(record.sequenceNumber) ??
      Outcome.transient(`handleBatch returned no outcome for sequence number ${record.sequenceNumber}`);
  };
}

/**
 * Builds the Lambda handler of a DynamoDB stream consumer (docs/architecture.md, "The stream-consumer contract").
 *
 * Per invocation: records are decoded into ChangeRecords and processed one after the other with Powertools'
 * BatchProcessor extended by the per-item ordering rule (ItemOrderedBatchProcessor). Per record:
 * - success: counted, its end-to-end lag recorded;
 * - permanent failure (PermanentError, a validation-type 4xx, a malformed record; see classifyError): sent to the
 *   DLQ, then counted as handled. When the DLQ send fails, the record is a transient failure instead;
 * - transient failure: reported in `batchItemFailures` by sequence number; later records of its item in the batch
 *   are not processed and are reported too.
 *
 * An empty batch returns no failures. A batch with a record that has no sequence number throws
 * UnreportableRecordError before anything is processed. A batch whose records all fail returns every sequence
 * number rather than throwing (Powertools' `throwOnFullBatchFailure: false`): the ESM then retries from the first
 * record, exactly as after a throw, but without counting a function error and without bisecting. Bisecting exists to
 * isolate poison records, which this runtime already sends to the DLQ, so on a downstream outage it would only
 * multiply invocations. The RecordsFailed metric and the iterator-age alarm report a stuck consumer instead.
 */
export function createStreamHandler(options: StreamHandlerOptions): StreamHandler {
  const { consumerName, deadLetterQueue } = options;
  const logger: StreamLogger = options.logger ?? createStreamLogger(consumerName);
  const metrics: StreamMetrics = options.metrics ?? createStreamMetrics(consumerName);
  const clock: Clock = options.clock ?? Date.now;

  const startMode: ModeStarter =
    options.handleBatch === undefined
      ? perRecordMode(options.handleRecord)
      : perBatchMode(options.handleBatch);

  return async (event: DynamoDBStreamEvent, lambdaContext: Context): Promise<DynamoDBBatchResponse> => {
    logger.addContext(lambdaContext);
    const records = event.Records;
    if (records.length === 0) {
      return { batchItemFailures: [] };
    }
    try {
      try {
        requireSequenceNumbers(records);
      } catch (err) {
        metrics.addMetric(STREAM_METRICS.recordsFailed, MetricUnit.Count, records.length);
        logger.error('Stream batch rejected: a record cannot be reported', { consumerName, error: err });
        throw err;
      }
      const context: StreamContext = { consumerName, lambdaContext, logger };
      const decodedRecords = new Map(records.map((raw) => [sequenceNumberOf(raw), decode(raw)]));
      const decodable = [...decodedRecords.values()].flatMap((decoded) =>
        decoded.ok ? [decoded.record] : [],
      );
      const resolveOutcome = await startMode(decodable, context, logger);
      let processed = 0;
      let deadLettered = 0;
      let internalErrors = 0;

      const handleOne = async (raw: DynamoDBRecord): Promise<void> => {
        const sequenceNumber = sequenceNumberOf(raw);
        const decoded = decodedRecords.get(sequenceNumber) ?? decode(raw);
        const outcome = decoded.ok ? await resolveOutcome(decoded.record) : Outcome.fromError(decoded.error);
        const logFields = {
          consumerName,
          sequenceNumber,
          eventId: raw.eventID,
          itemKey: decoded.ok ? decoded.record.itemKey : decoded.itemKey,
        };
        switch (outcome.kind) {
          case 'ok': {
            processed += 1;
            // A record's time is approximate to the second and clocks may drift: never report a negative lag.
            const lag = decoded.ok ? Math.max(0, clock() - decoded.record.approximateCreationTime) : 0;
            metrics.addMetric(STREAM_METRICS.endToEndLag, MetricUnit.Milliseconds, lag);
            return;
          }
          case 'transient':
            if (outcome.error !== undefined && isInternalError(outcome.error)) {
              // A bug or an unreadable item: retried like any transient failure, but loudly (InternalErrors alarm).
              internalErrors += 1;
              logger.error('Stream record failed with an internal error; it will be retried', {
                ...logFields,
                reason: outcome.reason,
                error: outcome.error,
              });
            } else {
              logger.warn('Stream record failed; it will be retried', {
                ...logFields,
                reason: outcome.reason,
                error: outcome.error,
              });
            }
            throw new TransientError(outcome.reason, { cause: outcome.error });
          case 'permanent': {
            const letter = fitDeadLetter(
              buildDeadLetter({
                consumerName,
                record: raw,
                sequenceNumber,
                errorName: outcome.errorName ?? 'PermanentError',
                reason: outcome.reason,
                failedAt: new Date(clock()),
              }),
            );
            try {
              await deadLetterQueue.send(letter);
            } catch (err) {
              logger.warn('Dead-letter send failed; the record will be retried', {
                ...logFields,
                error: err,
              });
              throw new TransientError(`Dead-letter send failed: ${describeError(err).reason}`, {
                cause: err,
              });
            }
            deadLettered += 1;
            logger.error('Stream record failed permanently and was sent to the dead-letter queue', {
              ...logFields,
              reason: outcome.reason,
              truncated: letter.truncated,
              error: outcome.error,
            });
            return;
          }
        }
      };

      const processor = new ItemOrderedBatchProcessor((raw) => {
        const decoded = decodedRecords.get(sequenceNumberOf(raw));
        return decoded?.ok ? decoded.record.itemKey : decoded?.itemKey;
      }, logger);
      const response = await processPartialResponse({ Records: records }, handleOne, processor, {
        context: lambdaContext,
        throwOnFullBatchFailure: false,
      });
      const failed = response.batchItemFailures.length;
      metrics.addMetric(STREAM_METRICS.recordsProcessed, MetricUnit.Count, processed);
      metrics.addMetric(STREAM_METRICS.recordsFailed, MetricUnit.Count, failed);
      metrics.addMetric(STREAM_METRICS.recordsDeadLettered, MetricUnit.Count, deadLettered);
      metrics.addMetric(STREAM_METRICS.internalErrors, MetricUnit.Count, internalErrors);
      logger.info('Stream batch processed', {
        consumerName,
        records: records.length,
        processed,
        deadLettered,
        failed,
        internalErrors,
        blocked: processor.blockedCount,
      });
      return response;
    } finally {
      metrics.publishStoredMetrics();
    }
  };
}
