import { BatchProcessor, EventType } from '@aws-lambda-powertools/batch';
import type { BatchProcessorConfig } from '@aws-lambda-powertools/batch/types';
import type { DynamoDBRecord } from 'aws-lambda';

/** The failure recorded for a record that was not processed because an earlier record of its item failed. */
export class EarlierRecordFailedError extends Error {
  public constructor(public readonly itemKey: string) {
    super(`Not processed: an earlier record of item ${itemKey} in this batch failed`);
    this.name = 'EarlierRecordFailedError';
  }
}

type BatchRecord = Parameters<BatchProcessor['processRecord']>[0];
type ProcessedRecord = Awaited<ReturnType<BatchProcessor['processRecord']>>;
type RegisterParameters = Parameters<BatchProcessor['register']>;

/**
 * Powertools' BatchProcessor for DynamoDB streams with the per-item ordering rule (docs/architecture.md, contract 2), which
 * Powertools lacks:
 * - records are always processed one after the other (`processInParallel` is forced to false: in parallel, a later
 *   change of an item could be applied before an earlier one);
 * - once a record fails, the later records of the same item are not handed to the record handler and are reported
 *   as failures (EarlierRecordFailedError); records of other items go on.
 *
 * Everything else (success/failure bookkeeping, the partial batch response keyed by `dynamodb.SequenceNumber`) is
 * Powertools'. The failed-item set lives on the instance: create one processor per invocation.
 */
export class ItemOrderedBatchProcessor extends BatchProcessor {
  readonly #itemKeyOf: (record: DynamoDBRecord) => string | undefined;
  readonly #failedItems = new Set<string>();
  #blocked = 0;

  /**
   * @param itemKeyOf canonical item key of a record; `undefined` when the record has no usable keys, in which case
   *   it is neither blocked nor blocks others.
   */
  public constructor(
    itemKeyOf: (record: DynamoDBRecord) => string | undefined,
    logger?: BatchProcessorConfig['logger'],
  ) {
    super(EventType.DynamoDBStreams, logger === undefined ? undefined : { logger });
    this.#itemKeyOf = itemKeyOf;
  }

  /** Records reported failed without being processed, in the last `process()`. */
  public get blockedCount(): number {
    return this.#blocked;
  }

  public override register(
    records: RegisterParameters[0],
    handler: RegisterParameters[1],
    options?: RegisterParameters[2],
  ): this {
    return super.register(records, handler, { ...options, processInParallel: false });
  }

  public override prepare(): void {
    super.prepare();
    this.#failedItems.clear();
    this.#blocked = 0;
  }

  public override async processRecord(record: BatchRecord): Promise<ProcessedRecord> {
    // Registered records of a DynamoDBStreams processor are DynamoDB stream records.
    const streamRecord = record as DynamoDBRecord;
    const itemKey = this.#itemKeyOf(streamRecord);
    if (itemKey !== undefined && this.#failedItems.has(itemKey)) {
      this.#blocked += 1;
      return this.failureHandler(streamRecord, new EarlierRecordFailedError(itemKey));
    }
    const processed = await super.processRecord(record);
    if (processed[0] === 'fail' && itemKey !== undefined) {
      this.#failedItems.add(itemKey);
    }
    return processed;
  }
}
