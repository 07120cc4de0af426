import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { ManagedPolicy } from 'aws-cdk-lib/aws-iam';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { AUDIT_LOG_CONSUMER_NAME } from '../lambdas/audit-log/names.js';
import { ORDER_FANOUT_CONSUMER_NAME } from '../lambdas/order-fanout/names.js';
import { SEARCH_SYNC_CONSUMER_NAME } from '../lambdas/search-sync/names.js';
import { VOTE_AGGREGATOR_CONSUMER_NAME } from '../lambdas/vote-aggregator/names.js';
import type { StageConfig } from './config.js';
import { AuditLog, type AuditLogStorage } from './constructs/audit-log.js';
import type { DataTables } from './constructs/data-tables.js';
import { OperatorPolicy, type OperatorPolicyProps } from './constructs/operator-policy.js';
import { OpsAlerts } from './constructs/ops-alerts.js';
import { OrderFanout, type OrderFanoutMessaging } from './constructs/order-fanout.js';
import { OrdersApi } from './constructs/orders-api.js';
import { type PipelineProps, pipelineConsumerProps } from './constructs/pipeline.js';
import { SearchRoleMapping, type SearchRoleMappingDomain } from './constructs/search-role-mapping.js';
import { type OrdersSearchDomain, SearchSync } from './constructs/search-sync.js';
import { StreamConsumer, type StreamConsumerProps } from './constructs/stream-consumer.js';
import { VoteAggregator } from './constructs/vote-aggregator.js';
import {
  CONSUMER_OUTPUT_STACK,
  consumerOutputKey,
  type OpsConsumerName,
  STAGE_OUTPUTS,
  stackNames,
} from './stage-outputs.js';
import type { StreamConsumerName } from './stateful-stack.js';

export interface StatelessStackProps extends StackProps {
  /** The validated stage configuration. */
  readonly config: StageConfig;
  /** The tables of the stateful stack. */
  readonly tables: DataTables;
  /** The order events topic and warehouse queues of the stateful stack (`StatefulStack.messaging`). */
  readonly messaging: OrderFanoutMessaging;
  /** The search domain of the stateful stack (`StatefulStack.search`), with its master user. */
  readonly search: OrdersSearchDomain & SearchRoleMappingDomain;
  /** The audit bucket, its key and its writer policy (`StatefulStack.audit`). */
  readonly audit: AuditLogStorage & OperatorPolicyProps['audit'];
  /**
   * Per consumer its DLQ (`StatefulStack.deadLetterQueues`), so that failed records survive a destroy of this stack.
   * @default - each consumer creates its own, which goes with this stack
   */
  readonly deadLetterQueues?: Readonly<Partial<Record<StreamConsumerName, IQueue>>>;
}

/**
 * What a pipeline passes to {@link StatelessStack.addStreamConsumer}: everything the stack cannot fill in itself. A
 * memory size of its own replaces the stage's.
 */
export type StreamConsumerOptions = Omit<StreamConsumerProps, 'alarmTopic' | 'dashboard' | 'logRetention'>;

/** Functions, event source mappings, the API, alarms and the dashboard: everything that can be redeployed freely. */
export class StatelessStack extends Stack {
  public readonly config: StageConfig;
  public readonly tables: DataTables;
  public readonly opsAlerts: OpsAlerts;
  public readonly ordersApi: OrdersApi;
  /** The order fan-out: the first reader of the Orders stream. */
  public readonly orderFanout: OrderFanout;
  /** The search sync: the second reader of the Orders stream (DynamoDB Streams serves two per shard well). */
  public readonly searchSync: SearchSync;
  /**
   * The audit log: the third reader of the Orders stream, acknowledged with its reason (AUDIT_LOG_THIRD_READER_REASON).
   * Created last, so that it is the reader the stream-consumer construct's warning lands on.
   */
  public readonly auditLog: AuditLog;
  /** The vote aggregator: the one reader of the Votes stream, writing PollResults. */
  public readonly voteAggregator: VoteAggregator;
  /** Maps the search sync's and the API's roles in the search domain's security plugin on deploy. */
  public readonly searchRoleMapping: SearchRoleMapping;
  /**
   * What an operator's role attaches to run `npm run ops` against this stage (least privilege); its ARN is the
   * `OpsOperatorPolicyArn` output. See docs/operations.md, "The operator policy".
   */
  public readonly operatorPolicy: ManagedPolicy;
  /** The stream consumers the ops command knows (OPS_CONSUMERS), by name. */
  public readonly opsConsumers: Readonly<Record<OpsConsumerName, StreamConsumer>>;
  /**
   * What every pipeline of the stack shares (the stage configuration, the ops topic and dashboard), built once and
   * given to each of the four pipelines and to every consumer added with addStreamConsumer.
   */
  private readonly pipeline: PipelineProps;

  public constructor(scope: Construct, id: string, props: StatelessStackProps) {
    super(scope, id, props);
    this.config = props.config;
    this.tables = props.tables;
    this.opsAlerts = new OpsAlerts(this, 'OpsAlerts', { alarmEmail: props.config.alarmEmail });
    this.pipeline = {
      config: props.config,
      alarmTopic: this.opsAlerts.topic,
      dashboard: this.opsAlerts.dashboard,
    };
    this.ordersApi = new OrdersApi(this, 'OrdersApi', {
      config: props.config,
      tables: props.tables,
      search: props.search,
    });
    this.orderFanout = new OrderFanout(this, 'OrderFanout', {
      ...this.pipeline,
      tables: props.tables,
      messaging: props.messaging,
      deadLetterQueue: props.deadLetterQueues?.[ORDER_FANOUT_CONSUMER_NAME],
    });
    this.searchSync = new SearchSync(this, 'SearchSync', {
      ...this.pipeline,
      table: props.tables.orders,
      search: props.search,
      deadLetterQueue: props.deadLetterQueues?.[SEARCH_SYNC_CONSUMER_NAME],
    });
    this.auditLog = new AuditLog(this, 'AuditLog', {
      ...this.pipeline,
      table: props.tables.orders,
      storage: props.audit,
      deadLetterQueue: props.deadLetterQueues?.[AUDIT_LOG_CONSUMER_NAME],
    });
    this.voteAggregator = new VoteAggregator(this, 'VoteAggregator', {
      ...this.pipeline,
      votesTable: props.tables.votes,
      pollResultsTable: props.tables.pollResults,
      deadLetterQueue: props.deadLetterQueues?.[VOTE_AGGREGATOR_CONSUMER_NAME],
    });
    this.searchRoleMapping = new SearchRoleMapping(this, 'SearchRoleMapping', {
      config: props.config,
      search: props.search,
      writerRole: this.searchSync.consumer.function.role,
      readerRole: this.ordersApi.handler.role,
    });

    this.opsConsumers = {
      [ORDER_FANOUT_CONSUMER_NAME]: this.orderFanout.consumer,
      [SEARCH_SYNC_CONSUMER_NAME]: this.searchSync.consumer,
      [AUDIT_LOG_CONSUMER_NAME]: this.auditLog.consumer,
      [VOTE_AGGREGATOR_CONSUMER_NAME]: this.voteAggregator.consumer,
    };
    this.operatorPolicy = new OperatorPolicy(this, 'OperatorPolicy', {
      stackNames: [stackNames(props.config.stageName).stateful, this.stackName],
      consumers: Object.values(this.opsConsumers).map((consumer) => ({
        function: consumer.function.lambdaFunction,
        mapping: consumer.mapping,
        deadLetterQueue: consumer.deadLetterQueue,
      })),
      streamTables: [props.tables.orders, props.tables.votes],
      ordersTable: props.tables.orders,
      votesTable: props.tables.votes,
      pollResultsTable: props.tables.pollResults,
      audit: props.audit,
      api: this.ordersApi.api,
      apiStageName: this.ordersApi.api.deploymentStage.stageName,
      searchDomainName: props.search.domainName,
    }).policy;
    this.addOpsOutputs();
  }

  /**
   * The outputs the ops command resolves this stack's names from (lib/stage-outputs.ts): each at the stack's root,
   * with exactly the contract's key as its id.
   */
  private addOpsOutputs(): void {
    const keys = STAGE_OUTPUTS.stateless;
    new CfnOutput(this, keys.apiUrl, {
      description: 'The orders API URL (IAM auth)',
      value: this.ordersApi.url,
    });
    new CfnOutput(this, keys.opsTopicArn, {
      description: 'The topic every alarm of the stage notifies',
      value: this.opsAlerts.topic.topicArn,
    });
    new CfnOutput(this, keys.operatorPolicyArn, {
      description: 'The managed policy an operator role attaches to run npm run ops against this stage',
      value: this.operatorPolicy.managedPolicyArn,
    });
    for (const [name, consumer] of Object.entries(this.opsConsumers) as Array<
      [OpsConsumerName, StreamConsumer]
    >) {
      const values = {
        FunctionName: consumer.function.lambdaFunction.functionName,
        MappingUuid: consumer.mapping.eventSourceMappingId,
        AlarmNamePrefix: consumer.alarmNamePrefix,
      } as const;
      for (const [field, value] of Object.entries(values) as Array<[keyof typeof values, string]>) {
        if (CONSUMER_OUTPUT_STACK[field] !== 'stateless') {
          throw new Error(`${field} is not an output of the stateless stack (CONSUMER_OUTPUT_STACK)`);
        }
        new CfnOutput(this, consumerOutputKey(name, field), { description: `${name}: ${field}`, value });
      }
    }
  }

  /**
   * Wires one stream consumer into the stack with what the four pipelines' consumers get too (pipelineConsumerProps:
   * the stage's log retention and memory, the ops topic for its alarms and the ops dashboard for its row): a pipeline
   * is one call, e.g.
   * `stack.addStreamConsumer('Archive', { table: stack.tables.orders, entry, consumerName: 'orders-archive' })`.
   */
  public addStreamConsumer(id: string, options: StreamConsumerOptions): StreamConsumer {
    const shared = pipelineConsumerProps(this.pipeline);
    return new StreamConsumer(this, id, {
      ...options,
      ...shared,
      memorySize: options.memorySize ?? shared.memorySize,
    });
  }
}
