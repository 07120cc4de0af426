import { describeError } from '../shared/errors.js';
import type { ChangeRecord } from '../shared/stream/change-record.js';
import {
  type BatchOutcomes,
  createStreamHandler,
  Outcome,
  type RecordOutcome,
  type StreamContext,
  type StreamHandler,
  type StreamHandlerCommonOptions,
} from '../shared/stream/stream-handler.js';
import {
  auditObjectKey,
  encodeSerializedLines,
  serializeAuditLine,
  tableNameFromStreamArn,
  toAuditLine,
} from './audit-line.js';
import type { AuditStore } from './ports.js';

/** The table segment of the key when neither the records' ARN nor the configuration names the table. */
export const UNKNOWN_TABLE_NAME = '_unknown';

export type AuditBatchHandler = (
  records: readonly ChangeRecord[],
  context: StreamContext,
) => Promise<BatchOutcomes>;

export interface AuditBatchHandlerOptions {
  readonly store: AuditStore;
  /**
   * The table name used when the first record has no parseable eventSourceARN (Lambda always sets it; a local tool
   * may not). Without it such a batch is written under `table=_unknown/` with a warning: an audit record in an odd
   * place is better than one that blocks the shard or leaves the log for the DLQ.
   */
  readonly tableName?: string;
}

/**
 * The audit log's batch logic (docs/pipelines/audit-log.md): every record of the batch becomes one line, in stream order, of
 * one gzipped JSON Lines object, stored with one conditional put under a key derived from the batch's content.
 *
 * - 'created' or 'exists' (a retry of a batch already stored): every record is ok.
 * - the put throws: every record is transient, whatever the error. The body is our own JSON, so no S3 error is about
 *   a record's content; a 4xx (a policy, the KMS key, a missing checksum) is an operator's fix, and dead-lettering
 *   the batch would take it out of the audit log.
 * - only a record that cannot be serialized at all fails permanently (to the DLQ, which keeps it raw); none is
 *   expected, and it does not keep the others out of the object.
 *
 * The table name comes from the first record's eventSourceARN (all records of a batch come from one stream).
 */
export function createAuditBatchHandler(options: AuditBatchHandlerOptions): AuditBatchHandler {
  const { store } = options;
  return async (records, context) => {
    const outcomes = new Map<string, RecordOutcome>();
    const written: ChangeRecord[] = [];
    const lines: string[] = [];
    for (const record of records) {
      try {
        lines.push(serializeAuditLine(toAuditLine(record)));
        written.push(record);
      } catch (error) {
        outcomes.set(record.sequenceNumber, Outcome.fromError(error));
      }
    }
    const first = written[0];
    if (first === undefined) return outcomes;

    let tableName = tableNameFromStreamArn(first.eventSourceArn) ?? options.tableName;
    if (tableName === undefined) {
      tableName = UNKNOWN_TABLE_NAME;
      context.logger.warn('Stream record without a table stream ARN; auditing under an unknown table', {
        consumerName: context.consumerName,
        eventSourceArn: first.eventSourceArn,
        sequenceNumber: first.sequenceNumber,
      });
    }
    const key = auditObjectKey(tableName, written);
    let outcome: RecordOutcome;
    try {
      const result = await store.putIfAbsent(key, encodeSerializedLines(lines));
      if (result === 'exists') {
        context.logger.info('Audit object already stored; the batch is a retry', { key });
      }
      outcome = Outcome.ok();
    } catch (error) {
      outcome = {
        kind: 'transient',
        reason: `Audit object ${key} not stored: ${describeError(error).reason}`,
        error,
      };
    }
    for (const record of written) outcomes.set(record.sequenceNumber, outcome);
    return outcomes;
  };
}

export interface AuditHandlerOptions extends AuditBatchHandlerOptions, StreamHandlerCommonOptions {}

/** The audit log's Lambda handler: the stream runtime in per-batch mode around createAuditBatchHandler. */
export function createAuditHandler(options: AuditHandlerOptions): StreamHandler {
  return createStreamHandler({
    ...options,
    handleBatch: createAuditBatchHandler({ store: options.store, tableName: options.tableName }),
  });
}
