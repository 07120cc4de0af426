import { PermanentError } from '../shared/errors.js';
import { orderFromImage } from '../shared/orders/order-image.js';
import {
  type IndexedDocument,
  type SearchIndex,
  type TombstoneDocument,
  tombstoneDocument,
  toOrderDocument,
} from '../shared/search/orders-index.js';
import type { ChangeRecord } from '../shared/stream/change-record.js';
import { readSafeInteger } from '../shared/stream/lossless.js';
import {
  type BatchOutcomes,
  createStreamHandler,
  Outcome,
  type RecordOutcome,
  type StreamContext,
  type StreamHandler,
  type StreamHandlerCommonOptions,
} from '../shared/stream/stream-handler.js';

/** The Orders table's partition key, and the document id in the index. */
const ORDER_KEY = 'orderId';

/**
 * The document a stream record of the Orders table leaves in the index: the new image's order for INSERT and
 * MODIFY, a tombstone one version above the old image's for REMOVE. Throws (permanently) for an INSERT or MODIFY
 * whose new image is not an order, and for a REMOVE whose version cannot be read (see tombstoneOf).
 */
export function documentOf(record: ChangeRecord): IndexedDocument {
  if (record.eventName === 'REMOVE') {
    return tombstoneOf(record);
  }
  if (record.newImage === undefined) {
    throw new PermanentError(
      `${record.eventName} record without its new image: the stream must carry new images`,
    );
  }
  return toOrderDocument(orderFromImage(record.newImage));
}

/**
 * The tombstone of a REMOVE, built from the key and the old image's version alone. The rest of the old image is not
 * read: a deleted order whose last image the order schema would refuse (an attribute missing, a status or number it
 * does not know) must still leave the index, or it stays searchable for good. The key alone would not do: the
 * tombstone must be one version above the last, or a stale write of the order could win over it (external_gte).
 * So a version that is missing, not a non-negative integer, or too large for the one above it to be exact is the one
 * permanent failure (besides a record without its old image or its key).
 */
function tombstoneOf(record: ChangeRecord): TombstoneDocument {
  const { keys, oldImage } = record;
  if (oldImage === undefined) {
    throw new PermanentError(
      'REMOVE record without its old image: the Orders stream must be NEW_AND_OLD_IMAGES',
    );
  }
  const orderId = Object.hasOwn(keys, ORDER_KEY) ? keys[ORDER_KEY] : undefined;
  if (typeof orderId !== 'string' || orderId === '') {
    throw new PermanentError(`REMOVE record whose key attribute "${ORDER_KEY}" is not a non-empty string`);
  }
  // Own attributes only: a version inherited through the image's prototype is not the order's. decodeItem keeps an
  // attribute named "__proto__" as an own one, but a decoder that assigns names (the SDK's unmarshall) turns it into
  // the prototype, and the tombstone must not depend on which decoder built the image.
  if (!Object.hasOwn(oldImage, 'version')) {
    throw new PermanentError('Attribute "version" is missing from the old image of a REMOVE');
  }
  const lastVersion = readSafeInteger(oldImage, 'version');
  if (lastVersion < 0) {
    throw new PermanentError(`Attribute "version" is negative: ${lastVersion}`);
  }
  if (!Number.isSafeInteger(lastVersion + 1)) {
    throw new PermanentError(
      `Attribute "version" is ${lastVersion}: the tombstone one above it is outside the safe integer range`,
    );
  }
  return tombstoneDocument(
    orderId,
    lastVersion,
    new Date(record.approximateCreationTime).toISOString(),
    record.removedByTtl ? 'ttl' : 'user',
  );
}

export type SearchSyncBatchHandler = (
  records: readonly ChangeRecord[],
  context: StreamContext,
) => Promise<BatchOutcomes>;

/**
 * The search sync's batch logic (docs/pipelines/search-sync.md): one `_bulk` request per batch.
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
