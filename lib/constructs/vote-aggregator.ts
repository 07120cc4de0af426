import { join } from 'node:path';
import { Duration } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV } from '../../lambdas/shared/env.js';
import { VOTE_AGGREGATOR_CONSUMER_NAME } from '../../lambdas/vote-aggregator/names.js';
import { type PipelineProps, pipelineConsumerProps } from './pipeline.js';
import { StreamConsumer } from './stream-consumer.js';

/** The aggregator's handler, resolved from this file so that it holds whatever the working directory. */
export const VOTE_AGGREGATOR_ENTRY = join(
  import.meta.dirname,
  '..',
  '..',
  'lambdas',
  'vote-aggregator',
  'handler.ts',
);

/**
 * The event source mapping settings of the vote aggregator, each with its reason. The aggregator writes one
 * conditional UpdateItem per poll per batch, so the larger a batch, the fewer writes a hot poll's item takes.
 */
export const VOTE_AGGREGATOR_MAPPING = {
  /**
   * Up to 1,000 records per batch: a hot poll's 1,000 votes cost one write. Lambda also cuts a batch at its 6 MB
   * payload; a vote record is well under 1 KB, so 1,000 fit easily.
   */
  batchSize: 1_000,
  /**
   * Gathers records for up to a second: at 1,000 votes per second on one poll, a shard invokes about once a second,
   * so the hot poll's item takes about one write per second, far below DynamoDB's 1,000 write units per second per
   * partition. Results trail the votes by about a second more, which `asOf` shows.
   */
  maxBatchingWindow: Duration.seconds(1),
  /**
   * Exactly 1, and it cannot go higher. The watermark is per poll: it is correct only if a poll's records are
   * applied in stream order. Above 1, Lambda keeps order per item (partition and sort key: one voter in one poll),
   * not per partition key, so two voters' records of one poll could be in two concurrent batches; the later batch
   * would move the watermark past the earlier one's records, which would then be dropped as already applied:
   * lost votes. A hot poll is one partition key anyway, so a higher factor would not spread its load.
   */
  parallelizationFactor: 1,
  /**
   * A failed update is DynamoDB throttling or an outage (the logic itself has no failure mode but a malformed record,
   * which goes to the DLQ at once): retry for two hours rather than a count that a short outage burns in minutes. A
   * record that still fails leaves the counts short until `npm run reconcile:votes -- --fix` recounts them.
   */
  retryAttempts: 10_000,
  maxRecordAge: Duration.hours(2),
} as const;

export interface VoteAggregatorProps extends PipelineProps {
  /** The Votes table, whose stream the aggregator reads. */
  readonly votesTable: ITable;
  /** The PollResults table the aggregator writes. */
  readonly pollResultsTable: ITable;
  /**
   * The consumer's DLQ, from the stateful stack (StatefulStack.deadLetterQueues), so that failed records outlive a
   * destroy of the pipelines stack.
   * @default - a queue of the consumer's own, in this construct's stack (StreamConsumerProps.deadLetterQueue)
   */
  readonly deadLetterQueue?: IQueue;
  /**
   * Absolute path of the handler's TypeScript file; it must export `handler`.
   * @default VOTE_AGGREGATOR_ENTRY
   */
  readonly entry?: string;
}

/**
 * The vote aggregation pipeline: the `vote-aggregator` stream consumer on the Votes table, which keeps one
 * PollResults item per poll exact under re-delivery with one conditional UpdateItem per poll per batch (docs/pipelines/vote-aggregation.md,
 * vote aggregation). Its only permission on PollResults is dynamodb:UpdateItem (the first write of a poll creates the
 * item with an UpdateItem too), granted together with POLL_RESULTS_TABLE_NAME.
 */
export class VoteAggregator extends Construct {
  public readonly consumer: StreamConsumer;

  public constructor(scope: Construct, id: string, props: VoteAggregatorProps) {
    super(scope, id);
    this.consumer = new StreamConsumer(this, 'Consumer', {
      ...pipelineConsumerProps(props),
      table: props.votesTable,
      entry: props.entry ?? VOTE_AGGREGATOR_ENTRY,
      consumerName: VOTE_AGGREGATOR_CONSUMER_NAME,
      deadLetterQueue: props.deadLetterQueue,
      ...VOTE_AGGREGATOR_MAPPING,
    });
    this.consumer.function.bindTable(ENV.POLL_RESULTS_TABLE_NAME, props.pollResultsTable, [
      'dynamodb:UpdateItem',
    ]);
  }
}
