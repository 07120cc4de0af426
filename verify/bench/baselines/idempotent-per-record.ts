import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import type { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { ChangeRecord } from '../../../lambdas/shared/stream/change-record.js';
import type { StreamContext } from '../../../lambdas/shared/stream/stream-handler.js';

/** Where the per-record baselines keep their idempotency records. */
export interface PerRecordIdempotency {
  readonly persistenceStore: DynamoDBPersistenceLayer;
  /** Prefix of the idempotency records' keys: a fresh one gives a clean ledger on a shared table. */
  readonly keyPrefix: string;
}

/**
 * The seed pattern's duplicate guard, shared by the per-record baselines: `apply` runs inside Powertools
 * `makeIdempotent`, keyed by the record's eventID (an in-progress record written before, the completed one after:
 * the writes a baseline pays per record), expiring after 24 hours, the stream's retention.
 */
export function idempotentPerRecord(
  apply: (record: ChangeRecord) => Promise<void>,
  { persistenceStore, keyPrefix }: PerRecordIdempotency,
): (record: ChangeRecord, context: StreamContext) => Promise<void> {
  return async (record, context) => {
    // A config per record: it carries the invocation's context (the in-progress record's expiry).
    const config = new IdempotencyConfig({
      eventKeyJmesPath: 'eventId',
      throwOnNoIdempotencyKey: true,
      expiresAfterSeconds: 24 * 60 * 60,
      hashFunction: 'sha256',
      lambdaContext: context.lambdaContext,
    });
    const once = makeIdempotent(
      async (_key: { readonly eventId: string }, changeRecord: ChangeRecord): Promise<boolean> => {
        await apply(changeRecord);
        return true;
      },
      { persistenceStore, config, keyPrefix, dataIndexArgument: 0 },
    );
    await once({ eventId: record.eventId }, record);
  };
}
