import type { DynamoDBRecord } from 'aws-lambda';
import {
  auditObjectKey,
  encodeSerializedLines,
  serializeAuditLine,
  toAuditLine,
} from '../../lambdas/audit-log/audit-line.js';
import { toChangeRecord } from '../../lambdas/shared/stream/change-record.js';

/** One batch of stream records as the audit log writes it: its object key and its gzipped JSON Lines body. */
export function auditObjectOf(
  table: string,
  records: readonly DynamoDBRecord[],
): { readonly key: string; readonly bytes: Buffer } {
  const lines = records.map((record) => toAuditLine(toChangeRecord(record)));
  const key = auditObjectKey(
    table,
    lines.map((line) => ({
      sequenceNumber: line.sequenceNumber,
      approximateCreationTime: Date.parse(line.approximateCreationTime),
    })),
  );
  return { key, bytes: encodeSerializedLines(lines.map(serializeAuditLine)) };
}
