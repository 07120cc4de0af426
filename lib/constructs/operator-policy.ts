import { ArnFormat, Stack, Validations } from 'aws-cdk-lib';
import type { IRestApi } from 'aws-cdk-lib/aws-apigateway';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { ManagedPolicy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IEventSourceMapping, IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { KEY_READ_ACTIONS, KEY_WRITE_ACTIONS } from './base-function.js';
import { acknowledgeIamWildcardAtSynth, iamWildcardResourceFinding } from './nag-findings.js';
import { InvalidPropsError } from './props-validation.js';

/** What the ops command does with one stream consumer: its mapping, its function and its DLQ. */
export interface OperatorConsumer {
  /** The consumer's function: redrive and replay invoke it. */
  readonly function: IFunction;
  /** The consumer's event source mapping: `ops status` reads its state. */
  readonly mapping: IEventSourceMapping;
  /** The consumer's DLQ: `ops dlq` receives, returns and deletes its letters. */
  readonly deadLetterQueue: IQueue;
}

export interface OperatorPolicyProps {
  /** The names of the stage's stacks, whose outputs the ops command resolves every other name from. */
  readonly stackNames: readonly string[];
  /** Every stream consumer of the stage. */
  readonly consumers: readonly OperatorConsumer[];
  /** The tables whose streams replay reads (Orders, Votes); they must have a stream. */
  readonly streamTables: readonly ITable[];
  /** The Orders table: the search backfill scans it. */
  readonly ordersTable: ITable;
  /** The Votes table: reconcile scans and queries it, and writes its marker items into it. */
  readonly votesTable: ITable;
  /** The PollResults table: reconcile scans it, reads an item and updates its counts. */
  readonly pollResultsTable: ITable;
  /** The audit bucket and its key: the audit history reads its objects. */
  readonly audit: { readonly bucket: IBucket; readonly key: IKey };
  /** The orders API: operators call it (signed with SigV4) to check an order. */
  readonly api: IRestApi;
  /** The API's deployment stage, the only stage the policy may invoke. */
  readonly apiStageName: string;
  /** The search domain's name: the backfill reads, writes and verifies the orders index. */
  readonly searchDomainName: string;
}

/**
 * The managed policy an operator's role attaches to run `npm run ops` (and the backfill, reconcile and audit-history
 * tools) against one stage, least privilege: every statement names the stage's resources, except the four actions
 * that support no resource-level permissions (lambda:ListEventSourceMappings, cloudwatch:GetMetricData,
 * cloudwatch:DescribeAlarms) and the wildcards that are paths under one resource (a stack's id, the bucket's objects,
 * the API's methods, the domain's URL paths), each acknowledged finding by finding. docs/operations.md, "The
 * operator policy", describes how to attach it.
 */
export class OperatorPolicy extends Construct {
  public readonly policy: ManagedPolicy;

  public constructor(scope: Construct, id: string, props: OperatorPolicyProps) {
    super(scope, id);
    validateOperatorPolicyProps(this.node.path, props);
    const stack = Stack.of(this);
    const keyViaService = (service: string): Record<string, Record<string, string>> => ({
      StringEquals: { 'kms:ViaService': `${service}.${stack.region}.${stack.urlSuffix}` },
    });

    const stackArns = props.stackNames.map((name) =>
      stack.formatArn({ service: 'cloudformation', resource: 'stack', resourceName: `${name}/*` }),
    );
    const streamArns = props.streamTables.map((table) => table.tableStreamArn as string);
    const executeApiArn = props.api.arnForExecuteApi('*', '/*', props.apiStageName);
    const domainPaths = `${stack.formatArn({
      service: 'es',
      resource: 'domain',
      resourceName: props.searchDomainName,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    })}/*`;
    const auditObjects = props.audit.bucket.arnForObjects('*');

    const statements = [
      new PolicyStatement({
        sid: 'DescribeStageStacks',
        actions: ['cloudformation:DescribeStacks'],
        resources: stackArns,
      }),
      new PolicyStatement({
        sid: 'ReadEventSourceMappings',
        actions: ['lambda:GetEventSourceMapping'],
        resources: props.consumers.map((consumer) => consumer.mapping.eventSourceMappingArn),
      }),
      new PolicyStatement({
        sid: 'ListEventSourceMappings',
        actions: ['lambda:ListEventSourceMappings'],
        resources: ['*'],
      }),
      new PolicyStatement({
        sid: 'InvokeConsumers',
        actions: ['lambda:InvokeFunction'],
        resources: props.consumers.map((consumer) => consumer.function.functionArn),
      }),
      new PolicyStatement({
        sid: 'ReadMetricsAndAlarms',
        actions: ['cloudwatch:DescribeAlarms', 'cloudwatch:GetMetricData'],
        resources: ['*'],
      }),
      new PolicyStatement({
        sid: 'HandleDeadLetters',
        actions: [
          'sqs:ChangeMessageVisibility',
          'sqs:DeleteMessage',
          'sqs:GetQueueAttributes',
          'sqs:ReceiveMessage',
        ],
        resources: props.consumers.map((consumer) => consumer.deadLetterQueue.queueArn),
      }),
      new PolicyStatement({
        sid: 'ReadStreams',
        actions: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
        resources: streamArns,
      }),
      new PolicyStatement({
        sid: 'ScanOrders',
        actions: ['dynamodb:Scan'],
        resources: [props.ordersTable.tableArn],
      }),
      new PolicyStatement({
        sid: 'ReconcileVotes',
        actions: ['dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:Scan'],
        resources: [props.votesTable.tableArn],
      }),
      new PolicyStatement({
        sid: 'ReconcilePollResults',
        actions: ['dynamodb:GetItem', 'dynamodb:Scan', 'dynamodb:UpdateItem'],
        resources: [props.pollResultsTable.tableArn],
      }),
      new PolicyStatement({
        sid: 'ReadAuditObjects',
        actions: ['s3:GetObject'],
        resources: [auditObjects],
      }),
      new PolicyStatement({
        sid: 'ListAuditBucket',
        actions: ['s3:ListBucket'],
        resources: [props.audit.bucket.bucketArn],
      }),
      new PolicyStatement({
        sid: 'DecryptAuditObjects',
        actions: ['kms:Decrypt'],
        resources: [props.audit.key.keyArn],
        conditions: keyViaService('s3'),
      }),
      new PolicyStatement({
        sid: 'InvokeOrdersApi',
        actions: ['execute-api:Invoke'],
        resources: [executeApiArn],
      }),
      new PolicyStatement({
        sid: 'BackfillSearch',
        actions: ['es:ESHttpGet', 'es:ESHttpPost', 'es:ESHttpPut'],
        resources: [domainPaths],
      }),
    ];
    statements.push(...tableKeyStatements(props, keyViaService('dynamodb')));
    for (const consumer of props.consumers) {
      const key = consumer.deadLetterQueue.encryptionMasterKey;
      // The stage's DLQs use the AWS managed key (alias/aws/sqs), whose key policy lets the account's principals
      // use it through SQS: no statement needed. A customer-managed one needs kms:Decrypt to receive.
      if (key !== undefined) {
        statements.push(
          new PolicyStatement({
            actions: ['kms:Decrypt'],
            resources: [key.keyArn],
            conditions: keyViaService('sqs'),
          }),
        );
      }
    }

    this.policy = new ManagedPolicy(this, 'Policy', {
      description: `Operator access for npm run ops to the stacks ${props.stackNames.join(', ')}`,
      statements,
    });
    this.acknowledgeFindings({ stackArns, executeApiArn, domainPaths, auditObjects });
  }

  private acknowledgeFindings(resources: {
    readonly stackArns: readonly string[];
    readonly executeApiArn: string;
    readonly domainPaths: string;
    readonly auditObjects: string;
  }): void {
    const acknowledge = (id: string, reason: string): void =>
      Validations.of(this.policy).acknowledge({ id, reason });
    acknowledge(
      'AwsSolutions-IAM5[Resource::*]',
      'lambda:ListEventSourceMappings, cloudwatch:DescribeAlarms and cloudwatch:GetMetricData support no ' +
        'resource-level permissions; every other statement of this policy names the stage resources it acts on.',
    );
    for (const arn of resources.stackArns) {
      acknowledge(
        iamWildcardResourceFinding(this, arn),
        'A stack ARN ends with the id CloudFormation gives the stack on creation: the wildcard stands for that ' +
          'id of this one stack name, for cloudformation:DescribeStacks only.',
      );
    }
    acknowledge(
      iamWildcardResourceFinding(this, resources.executeApiArn),
      "The wildcards are the orders API's methods and paths on its one deployment stage: an operator calls the " +
        'API as a client would (execute-api:Invoke only), which the API authorises with IAM.',
    );
    acknowledge(
      iamWildcardResourceFinding(this, resources.domainPaths),
      'OpenSearch authorises HTTP requests by URL path: the backfill reads, scans and writes the orders index ' +
        '(_bulk, _search, _refresh) on the stage domain only, with GET, POST and PUT only.',
    );
    // The bucket is the data stack's: its ARN is a cross-stack reference, which only synth renders.
    acknowledgeIamWildcardAtSynth(
      this.policy,
      resources.auditObjects,
      "The audit objects' keys are derived from stream positions: the audit history reads any object of the " +
        'audit bucket (s3:GetObject only; no write, no delete, no other bucket).',
    );
  }
}

/**
 * The tables' customer-managed key, through DynamoDB only: the read actions for scans, queries and stream records,
 * the write ones for reconcile's updates and markers (the actions BaseFunction.bindTable grants a writer).
 */
function tableKeyStatements(
  props: OperatorPolicyProps,
  viaDynamoDb: Record<string, Record<string, string>>,
): PolicyStatement[] {
  const tables = [props.ordersTable, props.votesTable, props.pollResultsTable, ...props.streamTables];
  const keyArns = [
    ...new Set(
      tables.flatMap((table) => (table.encryptionKey === undefined ? [] : [table.encryptionKey.keyArn])),
    ),
  ];
  if (keyArns.length === 0) {
    return [];
  }
  return [
    // Stream records are encrypted with the table's key; like the consumers' stream read policy, without a
    // kms:ViaService condition (DynamoDB Streams documents none).
    new PolicyStatement({ sid: 'DecryptStreamRecords', actions: ['kms:Decrypt'], resources: keyArns }),
    new PolicyStatement({
      sid: 'UseTablesKey',
      actions: [...KEY_READ_ACTIONS, ...KEY_WRITE_ACTIONS],
      resources: keyArns,
      conditions: viaDynamoDb,
    }),
  ];
}

function validateOperatorPolicyProps(path: string, props: OperatorPolicyProps): void {
  if (props.stackNames.length === 0) {
    throw new InvalidPropsError(path, 'stackNames', 'must name at least one stack');
  }
  if (props.consumers.length === 0) {
    throw new InvalidPropsError(path, 'consumers', 'must list at least one consumer');
  }
  for (const [index, table] of props.streamTables.entries()) {
    if (table.tableStreamArn === undefined) {
      throw new InvalidPropsError(path, `streamTables[${index}]`, `${table.node.path} has no stream`);
    }
  }
}
