import { PermanentError } from '../shared/errors.js';
import { orderFromImage } from '../shared/orders/order-image.js';
import {
  type IndexedDocument,
  type SearchIndex,
  tombstoneDocument,
  toOrderDocument,
} from '../shared/search/orders-index.js';
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

export { SEARCH_SYNC_CONSUMER_NAME } from './names.js';

/**
 * The document a stream record of the Orders table leaves in the index: the new image's order for INSERT and
 * MODIFY, a tombstone one version above the old image's for REMOVE. Throws (permanently) for a record whose image is
 * not an order.
 */
export function documentOf(record: ChangeRecord): IndexedDocument {
  if (record.eventName === 'REMOVE') {
    if (record.oldImage === undefined) {
      throw new PermanentError(
        'REMOVE record without its old image: the Orders stream must be NEW_AND_OLD_IMAGES',
      );
    }
    const last = orderFromImage(record.oldImage);
    return tombstoneDocument(
      last.orderId,
      last.version,
      new Date(record.approximateCreationTime).toISOString(),
      record.removedByTtl ? 'ttl' : 'user',
    );
  }
  if (record.newImage === undefined) {
    throw new PermanentError(
      `${record.eventName} record without its new image: the stream must carry new images`,
    );
  }
  return toOrderDocument(orderFromImage(record.newImage));
}

export type SearchSyncBatchHandler = (
  records: readonly ChangeRecord[],
  context: StreamContext,
) => Promise<BatchOutcomes>;

/**
 * The search sync's batch logic (DESIGN.md, search sync): one `_bulk` request per batch.
 *
 * Records of one order are coalesced to the document of its last record in the batch: with external_gte versioning
 * only the highest version can stay in the index, so the earlier ones need not travel. Every record of the order
 * gets the outcome of that one document: when it is indexed (or a newer version was there already), the earlier
 * changes are superseded and done; when it fails, they fail the same way, so the order's records are retried or
 * dead-lettered together and the index never holds a version older than the last one reported done.
 *
 * A record that is not an order fails permanently on its own; it does not keep the others out of the request.
 */
export function createSearchSyncBatchHandler(options: {
  readonly index: SearchIndex;
}): SearchSyncBatchHandler {
  const { index } = options;
  return async (records) => {
    const outcomes = new Map<string, RecordOutcome>();
    const latest = new Map<string, { document: IndexedDocument; sequenceNumbers: string[] }>();
    for (const record of records) {
      let document: IndexedDocument;
      try {
        document = documentOf(record);
      } catch (error) {
        outcomes.set(record.sequenceNumber, Outcome.fromError(error));
        continue;
      }
      const entry = latest.get(document.orderId);
      if (entry === undefined) {
        latest.set(document.orderId, { document, sequenceNumbers: [record.sequenceNumber] });
      } else {
        // Stream order is version order for one item: a later record's document is never older.
        entry.document = document;
        entry.sequenceNumbers.push(record.sequenceNumber);
      }
    }
    const entries = [...latest.values()];
    if (entries.length === 0) return outcomes;

    let results: RecordOutcome[];
    try {
      results = await index.bulkIndex(entries.map(({ document }) => ({ document })));
    } catch (error) {
      const failed = Outcome.fromError(error);
      results = entries.map(() => failed);
    }
    entries.forEach((entry, position) => {
      const outcome =
        results[position] ?? Outcome.transient('The bulk response has no item for this document');
      for (const sequenceNumber of entry.sequenceNumbers) outcomes.set(sequenceNumber, outcome);
    });
    return outcomes;
  };
}

export interface SearchSyncHandlerOptions extends StreamHandlerCommonOptions {
  readonly index: SearchIndex;
}

/** The search sync's Lambda handler: the stream runtime in per-batch mode around createSearchSyncBatchHandler. */
export function createSearchSyncHandler(options: SearchSyncHandlerOptions): StreamHandler {
  return createStreamHandler({
    ...options,
    handleBatch: createSearchSyncBatchHandler({ index: options.index }),
  });
}
