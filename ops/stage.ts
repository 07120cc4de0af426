import {
  CONSUMER_OUTPUT_STACK,
  type ConsumerOutputField,
  consumerOutputKey,
  OPS_CONSUMERS,
  type OpsConsumerName,
  STAGE_OUTPUTS,
  stackNames,
} from '../lib/stage-outputs.js';
import type { StackOutputsPort } from './aws/ports.js';

/**
 * A deployed stage's names, resolved from its stacks' outputs (lib/stage-outputs.ts) with DescribeStacks, so that
 * no operator types a table name, queue URL or endpoint by hand.
 */

/** What the ops command needs to reach one stream consumer. */
export interface ConsumerNames {
  readonly consumer: OpsConsumerName;
  readonly functionName: string;
  readonly mappingUuid: string;
  readonly deadLetterQueueUrl: string;
  readonly deadLetterQueueName: string;
  readonly alarmNamePrefix: string;
}

export interface StageNames {
  readonly stage: string;
  readonly stacks: { readonly stateful: string; readonly stateless: string };
  readonly ordersTableName: string;
  readonly ordersStreamArn: string;
  readonly votesTableName: string;
  readonly votesStreamArn: string;
  readonly pollResultsTableName: string;
  readonly inventoryTableName: string;
  readonly auditBucketName: string;
  readonly searchEndpoint: string;
  readonly apiUrl: string;
  readonly opsTopicArn: string;
  readonly operatorPolicyArn: string;
  /** Every consumer of OPS_CONSUMERS, in that order. */
  readonly consumers: ReadonlyMap<OpsConsumerName, ConsumerNames>;
}

/** The command that deploys both stacks of a stage. */
export function deployCommand(stage: string): string {
  return `npx cdk deploy --all -c stage=${stage}`;
}

/** A stack of the stage does not exist in the region. */
export class StageStackNotFoundError extends Error {
  public constructor(
    public readonly stage: string,
    public readonly stackName: string,
    region: string | undefined,
  ) {
    super(
      `Stack ${stackName} of stage "${stage}" does not exist${region === undefined ? '' : ` in ${region}`}: ` +
        `deploy the stage with \`${deployCommand(stage)}\`, or check --stage and --region`,
    );
    this.name = 'StageStackNotFoundError';
  }
}

/** Stacks exist but lack outputs of the contract: they were deployed from a version before those outputs. */
export class StageOutputMissingError extends Error {
  public constructor(
    public readonly stage: string,
    /** Stack name to its missing output keys. */
    public readonly missing: ReadonlyMap<string, readonly string[]>,
  ) {
    const lines = [...missing].map(([stack, keys]) => `  ${stack}: ${keys.join(', ')}`);
    super(
      `The stage "${stage}" lacks outputs the ops command reads:\n${lines.join('\n')}\n` +
        `Its stacks were deployed from an older version: redeploy them with \`${deployCommand(stage)}\``,
    );
    this.name = 'StageOutputMissingError';
  }
}

/** Resolves every name of the stage: one DescribeStacks per stack, all missing outputs reported at once. */
export async function resolveStage(
  port: StackOutputsPort,
  stage: string,
  region?: string,
): Promise<StageNames> {
  const stacks = stackNames(stage);
  const [stateful, stateless] = await Promise.all([
    port.outputsOf(stacks.stateful),
    port.outputsOf(stacks.stateless),
  ]);
  if (stateful === undefined) throw new StageStackNotFoundError(stage, stacks.stateful, region);
  if (stateless === undefined) throw new StageStackNotFoundError(stage, stacks.stateless, region);

  const outputs = { stateful, stateless } as const;
  const missing = new Map<string, string[]>();
  const read = (which: 'stateful' | 'stateless', key: string): string => {
    const value = outputs[which].get(key);
    if (value !== undefined && value !== '') return value;
    const stackName = stacks[which];
    missing.set(stackName, [...(missing.get(stackName) ?? []), key]);
    return '';
  };
  const readConsumer = (consumer: OpsConsumerName, field: ConsumerOutputField): string =>
    read(CONSUMER_OUTPUT_STACK[field], consumerOutputKey(consumer, field));

  const data = STAGE_OUTPUTS.stateful;
  const pipelines = STAGE_OUTPUTS.stateless;
  const names: StageNames = {
    stage,
    stacks,
    ordersTableName: read('stateful', data.ordersTableName),
    ordersStreamArn: read('stateful', data.ordersStreamArn),
    votesTableName: read('stateful', data.votesTableName),
    votesStreamArn: read('stateful', data.votesStreamArn),
    pollResultsTableName: read('stateful', data.pollResultsTableName),
    inventoryTableName: read('stateful', data.inventoryTableName),
    auditBucketName: read('stateful', data.auditBucketName),
    searchEndpoint: read('stateful', data.searchEndpoint),
    apiUrl: read('stateless', pipelines.apiUrl),
    opsTopicArn: read('stateless', pipelines.opsTopicArn),
    operatorPolicyArn: read('stateless', pipelines.operatorPolicyArn),
    consumers: new Map(
      OPS_CONSUMERS.map((consumer) => [
        consumer,
        {
          consumer,
          functionName: readConsumer(consumer, 'FunctionName'),
          mappingUuid: readConsumer(consumer, 'MappingUuid'),
          deadLetterQueueUrl: readConsumer(consumer, 'DeadLetterQueueUrl'),
          deadLetterQueueName: readConsumer(consumer, 'DeadLetterQueueName'),
          alarmNamePrefix: readConsumer(consumer, 'AlarmNamePrefix'),
        },
      ]),
    ),
  };
  if (missing.size > 0) throw new StageOutputMissingError(stage, missing);
  return names;
}

/** The consumer's names; the map holds every consumer of OPS_CONSUMERS. */
export function consumerNames(names: StageNames, consumer: OpsConsumerName): ConsumerNames {
  const found = names.consumers.get(consumer);
  if (found === undefined) throw new Error(`Unknown consumer ${consumer}`);
  return found;
}
