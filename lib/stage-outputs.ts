import { AUDIT_LOG_CONSUMER_NAME } from '../lambdas/audit-log/names.js';
import { ORDER_FANOUT_CONSUMER_NAME } from '../lambdas/order-fanout/names.js';
import { SEARCH_SYNC_CONSUMER_NAME } from '../lambdas/search-sync/names.js';
import { VOTE_AGGREGATOR_CONSUMER_NAME } from '../lambdas/vote-aggregator/names.js';

/**
 * The contract between a deployed stage and `npm run ops`: the stacks' names and the output keys from which the ops
 * command resolves every name it needs (CloudFormation DescribeStacks), so that no operator types a table name,
 * queue URL or endpoint by hand. Free of aws-cdk-lib, so that ops/ can import it without the CDK.
 */

/** The stacks of a stage; the stage name keeps several stages apart in one account. */
export function stackNames(stageName: string): { readonly stateful: string; readonly stateless: string } {
  return { stateful: `OrdersStreams-${stageName}-Data`, stateless: `OrdersStreams-${stageName}-Pipelines` };
}

/** The stream consumers of the app, in the order `ops status` lists them. */
export const OPS_CONSUMERS = [
  ORDER_FANOUT_CONSUMER_NAME,
  SEARCH_SYNC_CONSUMER_NAME,
  AUDIT_LOG_CONSUMER_NAME,
  VOTE_AGGREGATOR_CONSUMER_NAME,
] as const;
export type OpsConsumerName = (typeof OPS_CONSUMERS)[number];

/**
 * Stage-wide outputs, by the stack that emits them: each is a CfnOutput at the stack's root whose logical id (the
 * output key) is exactly the value here.
 */
export const STAGE_OUTPUTS = {
  /** Data stack. */
  stateful: {
    ordersTableName: 'OpsOrdersTableName',
    ordersStreamArn: 'OpsOrdersStreamArn',
    votesTableName: 'OpsVotesTableName',
    votesStreamArn: 'OpsVotesStreamArn',
    pollResultsTableName: 'OpsPollResultsTableName',
    inventoryTableName: 'OpsInventoryTableName',
    auditBucketName: 'OpsAuditBucketName',
    searchEndpoint: 'OpsSearchEndpoint',
  },
  /** Pipelines stack. */
  stateless: {
    apiUrl: 'OpsApiUrl',
    opsTopicArn: 'OpsTopicArn',
    operatorPolicyArn: 'OpsOperatorPolicyArn',
  },
} as const;

/** What each consumer exposes to the ops command, one output per field. */
export const CONSUMER_OUTPUT_FIELDS = [
  /** Pipelines stack: the consumer's function name (Invoke for redrive and replay). */
  'FunctionName',
  /** Pipelines stack: the event source mapping's UUID (GetEventSourceMapping, its metrics' dimension). */
  'MappingUuid',
  /** Data stack: the consumer's DLQ URL (receive, delete). */
  'DeadLetterQueueUrl',
  /** Data stack: the consumer's DLQ name (its CloudWatch metrics' QueueName dimension). */
  'DeadLetterQueueName',
  /** Pipelines stack: the prefix of the consumer's alarm names (DescribeAlarms AlarmNamePrefix). */
  'AlarmNamePrefix',
] as const;
export type ConsumerOutputField = (typeof CONSUMER_OUTPUT_FIELDS)[number];

/** The stack that emits each consumer field. */
export const CONSUMER_OUTPUT_STACK: Readonly<Record<ConsumerOutputField, 'stateful' | 'stateless'>> = {
  FunctionName: 'stateless',
  MappingUuid: 'stateless',
  DeadLetterQueueUrl: 'stateful',
  DeadLetterQueueName: 'stateful',
  AlarmNamePrefix: 'stateless',
};

/** The output key of one consumer field: `Ops<Consumer in PascalCase><Field>`, e.g. `OpsOrderFanoutFunctionName`. */
export function consumerOutputKey(consumer: OpsConsumerName, field: ConsumerOutputField): string {
  const pascal = consumer
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
  return `Ops${pascal}${field}`;
}
