import { join } from 'node:path';
import { CfnOutput, Duration } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { SEARCH_SYNC_CONSUMER_NAME } from '../../lambdas/search-sync/names.js';
import { ENV } from '../../lambdas/shared/env.js';
import { ORDERS_INDEX } from '../../lambdas/shared/search/orders-index.js';
import {
  type SearchDomainAccess,
  type SearchDomainTarget,
  validateSearchDomainAccess,
} from './base-function.js';
import { type PipelineProps, pipelineConsumerProps } from './pipeline.js';
import { requireIntegerInRange } from './props-validation.js';
import { StreamConsumer } from './stream-consumer.js';

/** The sync's handler, resolved from this file so that it holds whatever the working directory. */
export const SEARCH_SYNC_ENTRY = join(
  import.meta.dirname,
  '..',
  '..',
  'lambdas',
  'search-sync',
  'handler.ts',
);

/**
 * The event source mapping settings of the sync that differ from the construct's defaults or matter to it, each with
 * its reason. Retries and maximum record age are the construct's defaults (10 retries, 1 hour): a domain's outages
 * (a node replaced, a blue/green change) are short, and records that still fail after an hour are in the DLQ for a
 * replay, or are restored by the backfill, which rebuilds the index from the table with the same versioning.
 */
export const SEARCH_SYNC_MAPPING = {
  /** One `_bulk` request per batch: 100 documents are a small bulk request, well under OpenSearch's limits. */
  batchSize: 100,
  /**
   * Gathers records for up to a second, so that each `_bulk` carries more documents: fewer requests and index
   * refreshes for the domain. Search is near-real-time anyway (an index refreshes every second), so one more second
   * before a change is searchable is not seen; reads of a single order go to the table, never to the index.
   */
  maxBatchingWindow: Duration.seconds(1),
  /**
   * One batch per shard at a time. With it, a shard needs exactly one concurrent invocation, so the reserved
   * concurrency below is the most `_bulk` requests the domain ever gets at once.
   */
  parallelizationFactor: 1,
} as const;

/**
 * What the sync may do on the domain: write the `orders` index and nothing else. `PUT /orders` and `HEAD /orders`
 * (and `GET /orders/_mapping`) are the idempotent index bootstrap every writer runs at cold start (the index must
 * exist with its explicit mappings before the first write); `POST /orders/_bulk` is the sync; PUT also covers
 * `PUT /orders/_mapping`. The paths are `orders` and `orders/*`: the index and the APIs under it, no other index and
 * no cluster-wide API.
 */
export const SEARCH_SYNC_INDEX_ACCESS = {
  paths: [ORDERS_INDEX, `${ORDERS_INDEX}/*`],
  actions: ['es:ESHttpGet', 'es:ESHttpHead', 'es:ESHttpPost', 'es:ESHttpPut'],
} as const satisfies SearchDomainAccess;

/** The search domain as the pipelines use it; `SearchDomain` (stateful stack) has all of it. */
export interface OrdersSearchDomain extends SearchDomainTarget {
  /** Replicas the writers create the `orders` index with (0 on a single-node domain). */
  readonly ordersIndexReplicas: number;
}

export interface SearchSyncProps extends PipelineProps {
  /** The Orders table, whose stream the sync reads. */
  readonly table: ITable;
  /** The search domain of the stateful stack. */
  readonly search: OrdersSearchDomain;
  /**
   * The consumer's DLQ, from the stateful stack (StatefulStack.deadLetterQueues), so that failed records outlive a
   * destroy of the pipelines stack.
   * @default - a queue of the consumer's own, in this construct's stack (StreamConsumerProps.deadLetterQueue)
   */
  readonly deadLetterQueue?: IQueue;
  /**
   * Absolute path of the handler's TypeScript file; it must export `handler`.
   * @default SEARCH_SYNC_ENTRY
   */
  readonly entry?: string;
}

/**
 * The search sync pipeline: the `search-sync` stream consumer on the Orders table, which keeps the `orders` index of
 * the search domain in step with the table (one `_bulk` per batch, external versioning; see docs/pipelines/search-sync.md), with exactly
 * the domain access its code uses, granted together with OPENSEARCH_ENDPOINT, and SEARCH_INDEX_REPLICAS for the
 * index bootstrap.
 *
 * The load on the domain is bounded without a reservation: at parallelization factor 1 the mapping runs one batch
 * per shard at a time, so the domain sees at most as many concurrent `_bulk` requests as the Orders stream has
 * active shards. A reserved concurrency (`searchSyncReservedConcurrency`) is off by default: a new account with a
 * concurrency quota of 10 refuses any reservation, and one below the shard count would throttle the sync for good
 * (the iterator age and throttles alarms would show it). A stage that sets one must keep it at or above the shard
 * count and raise it with the domain's capacity.
 *
 * The role gets its OpenSearch permissions only once mapped to the `orders_writer` role (fine-grained access
 * control), which the pipelines stack's SearchRoleMapping does on deploy; its ARN is this construct's `RoleArn` output.
 */
export class SearchSync extends Construct {
  public readonly consumer: StreamConsumer;

  public constructor(scope: Construct, id: string, props: SearchSyncProps) {
    super(scope, id);
    requireIntegerInRange(this.node.path, 'search.ordersIndexReplicas', props.search.ordersIndexReplicas, {
      min: 0,
      max: 15,
      hint: 'replicas of one index; 0 on a single-node domain',
    });
    validateSearchDomainAccess(`${this.node.path}/Consumer/Consumer`, props.search, SEARCH_SYNC_INDEX_ACCESS);

    // Created first: it validates its own props (and the function's) before creating anything.
    this.consumer = new StreamConsumer(this, 'Consumer', {
      ...pipelineConsumerProps(props),
      table: props.table,
      entry: props.entry ?? SEARCH_SYNC_ENTRY,
      consumerName: SEARCH_SYNC_CONSUMER_NAME,
      deadLetterQueue: props.deadLetterQueue,
      batchSize: SEARCH_SYNC_MAPPING.batchSize,
      maxBatchingWindow: SEARCH_SYNC_MAPPING.maxBatchingWindow,
      parallelizationFactor: SEARCH_SYNC_MAPPING.parallelizationFactor,
      reservedConcurrentExecutions: props.config.searchSyncReservedConcurrency,
      environment: { [ENV.SEARCH_INDEX_REPLICAS]: String(props.search.ordersIndexReplicas) },
    });
    this.consumer.function.bindSearchDomain(ENV.OPENSEARCH_ENDPOINT, props.search, SEARCH_SYNC_INDEX_ACCESS);

    new CfnOutput(this, 'RoleArn', {
      description:
        'The search-sync function role, mapped to the orders_writer role of the search domain on deploy',
      value: this.consumer.function.role.roleArn,
    });
  }
}
