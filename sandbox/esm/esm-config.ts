import * as z from 'zod';
import { ENV } from '../../lambdas/shared/env.js';
import { tableDefinitionsFromTemplate } from '../dynamodb-local/tables.js';
import type { CfnResource, SynthesizedApp } from '../synth.js';
import { followCrossStackReference, isIntrinsic } from '../template-env.js';
import { compileFilters, UnsupportedFilterError } from './filters.js';
import type { EsmConfig, FilterPattern } from './types.js';

/**
 * Thrown when an event source mapping of the template uses something the local runner cannot honour (a Kinesis or
 * SQS source, tumbling windows, a property it does not know): running it anyway would silently behave differently
 * from what deploys. The message names the mapping and the property.
 */
export class UnsupportedEsmConfigError extends Error {
  public constructor(mapping: string, property: string, problem: string) {
    super(`Event source mapping ${mapping}: ${property}: ${problem}`);
    this.name = 'UnsupportedEsmConfigError';
  }
}

/** Lambda's defaults for a DynamoDB stream mapping, applied where the template leaves a property out. */
export const LAMBDA_ESM_DEFAULTS = {
  batchSize: 100,
  maximumBatchingWindowSeconds: 0,
  parallelizationFactor: 1,
  /** -1: retry until the record expires from the stream. */
  maximumRetryAttempts: -1,
  /** -1: no limit but the stream's retention. */
  maximumRecordAgeSeconds: -1,
  /** The default of `AWS::Lambda::Function`'s Timeout. */
  functionTimeoutSeconds: 3,
} as const;

/** Properties without a local effect, accepted and ignored on purpose. */
const ignored = z.unknown().optional();

/**
 * Properties that exist on `AWS::Lambda::EventSourceMapping` but that the runner does not implement, with the reason
 * given in the error. Anything else not in {@link mappingPropertiesSchema} is refused as unknown.
 */
const UNSUPPORTED_PROPERTIES: Readonly<Record<string, string>> = {
  TumblingWindowInSeconds: 'tumbling windows (state carried between invocations) are not implemented locally',
  StartingPositionTimestamp: 'AT_TIMESTAMP is a Kinesis starting position; DynamoDB streams have none',
  ScalingConfig: 'maximum concurrency applies to SQS sources only',
  Queues: 'Amazon MQ sources are not supported, only DynamoDB streams',
  Topics: 'Kafka sources are not supported, only DynamoDB streams',
  SourceAccessConfigurations: 'Kafka and MQ sources are not supported, only DynamoDB streams',
  SelfManagedEventSource: 'Kafka sources are not supported, only DynamoDB streams',
  SelfManagedKafkaEventSourceConfig: 'Kafka sources are not supported, only DynamoDB streams',
  AmazonManagedKafkaEventSourceConfig: 'Kafka sources are not supported, only DynamoDB streams',
  DocumentDBEventSourceConfig: 'DocumentDB sources are not supported, only DynamoDB streams',
  ProvisionedPollerConfig: 'provisioned pollers apply to Kafka sources only',
};

// Strict: a property not listed here may change delivery semantics, so it fails loudly instead of being dropped.
// Ranges are Lambda's for DynamoDB streams; CDK validates most of them too, hand-written templates may not.
const mappingPropertiesSchema = z.strictObject({
  FunctionName: z.unknown(),
  EventSourceArn: z.unknown(),
  StartingPosition: z.enum(['TRIM_HORIZON', 'LATEST'], {
    error: (issue) =>
      issue.input === undefined
        ? 'required for a DynamoDB stream'
        : `${JSON.stringify(issue.input)} is not supported (TRIM_HORIZON or LATEST)`,
  }),
  BatchSize: z.int().min(1).max(10_000).optional(),
  MaximumBatchingWindowInSeconds: z.int().min(0).max(300).optional(),
  ParallelizationFactor: z.int().min(1).max(10).optional(),
  MaximumRetryAttempts: z.int().min(-1).max(10_000).optional(),
  MaximumRecordAgeInSeconds: z
    .int()
    .refine((seconds) => seconds === -1 || (seconds >= 60 && seconds <= 604_800), '-1 or 60 to 604800')
    .optional(),
  BisectBatchOnFunctionError: z.boolean().optional(),
  FunctionResponseTypes: z.array(z.literal('ReportBatchItemFailures')).optional(),
  FilterCriteria: z
    .strictObject({
      Filters: z
        .array(z.strictObject({ Pattern: z.string() }))
        .max(10)
        .optional(),
    })
    .optional(),
  DestinationConfig: z
    .strictObject({ OnFailure: z.strictObject({ Destination: z.unknown() }).optional() })
    .optional(),
  Enabled: z.boolean().optional(),
  // CloudWatch metrics of the mapping: the runner's stats() is the local counterpart.
  MetricsConfig: ignored,
  Tags: ignored,
  // Encrypts the filter criteria at rest in AWS; nothing to encrypt locally.
  KmsKeyArn: ignored,
});

const functionPropertiesSchema = z.looseObject({
  Timeout: z.int().min(1).max(900).optional(),
  Environment: z.looseObject({ Variables: z.record(z.string(), z.unknown()).optional() }).optional(),
});

/** A resource a template value points at: `Ref` (no attribute) or `Fn::GetAtt` (with one). */
interface ResolvedReference {
  readonly stackName: string;
  readonly logicalId: string;
  readonly resource: CfnResource;
  readonly attribute: string | undefined;
}

/**
 * Reads every `AWS::Lambda::EventSourceMapping` of the synthesized app into the settings the local runner applies,
 * with Lambda's defaults where a property is absent. References are followed across stacks (`Fn::ImportValue` and the
 * weak `Fn::GetStackOutput`) to the function, the table (named by its construct id, as the local tables are) and the
 * on-failure queue. Disabled mappings (`Enabled: false`) are left out: Lambda does not poll them either.
 * Throws {@link UnsupportedEsmConfigError} for anything the runner could not honour.
 */
export function esmConfigsFromApp(app: SynthesizedApp): EsmConfig[] {
  const tableIds = new TableConstructIds(app);
  return app
    .resourcesOfType('AWS::Lambda::EventSourceMapping')
    .map(({ stackName, logicalId, resource }) => readMapping(app, tableIds, stackName, logicalId, resource))
    .filter((config): config is EsmConfig => config !== undefined);
}

function readMapping(
  app: SynthesizedApp,
  tableIds: TableConstructIds,
  stackName: string,
  logicalId: string,
  resource: CfnResource,
): EsmConfig | undefined {
  const mapping = `${stackName}/${logicalId}`;
  if (resource.Condition !== undefined) {
    throw new UnsupportedEsmConfigError(
      mapping,
      'Condition',
      `${resource.Condition}: conditions are not evaluated locally, so whether the mapping exists is unknown`,
    );
  }
  const properties = resource.Properties ?? {};
  for (const name of Object.keys(properties)) {
    const reason = UNSUPPORTED_PROPERTIES[name];
    if (reason !== undefined) {
      throw new UnsupportedEsmConfigError(mapping, name, reason);
    }
  }
  // The source is checked before the other properties: for a Kinesis or SQS mapping, "this is not a DynamoDB stream"
  // says more than a complaint about one of its properties.
  const table = resolveEventSource(app, tableIds, mapping, stackName, properties.EventSourceArn);
  const parsed = mappingPropertiesSchema.safeParse(properties);
  if (!parsed.success) {
    const [issue] = parsed.error.issues;
    throw new UnsupportedEsmConfigError(mapping, issuePath(issue), issueMessage(issue));
  }
  const props = parsed.data;
  if (props.Enabled === false) {
    return undefined;
  }
  const fn = resolveFunction(app, mapping, stackName, props.FunctionName);
  const onFailure = props.DestinationConfig?.OnFailure;
  return {
    stackName,
    logicalId,
    functionStackName: fn.stackName,
    functionLogicalId: fn.logicalId,
    consumerName: fn.consumerName,
    tableConstructId: table,
    startingPosition: props.StartingPosition,
    batchSize: props.BatchSize ?? LAMBDA_ESM_DEFAULTS.batchSize,
    maximumBatchingWindowMs:
      (props.MaximumBatchingWindowInSeconds ?? LAMBDA_ESM_DEFAULTS.maximumBatchingWindowSeconds) * 1000,
    parallelizationFactor: props.ParallelizationFactor ?? LAMBDA_ESM_DEFAULTS.parallelizationFactor,
    maximumRetryAttempts: infiniteWhenMinusOne(
      props.MaximumRetryAttempts ?? LAMBDA_ESM_DEFAULTS.maximumRetryAttempts,
    ),
    maximumRecordAgeMs:
      infiniteWhenMinusOne(props.MaximumRecordAgeInSeconds ?? LAMBDA_ESM_DEFAULTS.maximumRecordAgeSeconds) *
      1000,
    bisectBatchOnFunctionError: props.BisectBatchOnFunctionError ?? false,
    reportBatchItemFailures: (props.FunctionResponseTypes ?? []).includes('ReportBatchItemFailures'),
    filterPatterns: (props.FilterCriteria?.Filters ?? []).map((filter, index) =>
      parsePattern(mapping, `FilterCriteria.Filters[${index}].Pattern`, filter.Pattern),
    ),
    ...(onFailure === undefined
      ? {}
      : { onFailureDestination: resolveOnFailureQueue(app, mapping, stackName, onFailure.Destination) }),
    functionTimeoutMs: fn.timeoutSeconds * 1000,
  };
}

function infiniteWhenMinusOne(value: number): number {
  return value === -1 ? Number.POSITIVE_INFINITY : value;
}

/** The construct id of the table whose stream the mapping reads. */
function resolveEventSource(
  app: SynthesizedApp,
  tableIds: TableConstructIds,
  mapping: string,
  stackName: string,
  value: unknown,
): string {
  const property = 'EventSourceArn';
  if (value === undefined) {
    throw new UnsupportedEsmConfigError(mapping, property, 'missing');
  }
  if (typeof value === 'string') {
    throw new UnsupportedEsmConfigError(mapping, property, literalArnProblem(value));
  }
  const target = resolveReference(app, mapping, property, stackName, value);
  const at = `${target.stackName}/${target.logicalId}`;
  if (target.resource.Type === 'AWS::Kinesis::Stream') {
    throw new UnsupportedEsmConfigError(
      mapping,
      property,
      `${at} is a Kinesis stream; only DynamoDB streams are run`,
    );
  }
  if (target.resource.Type !== 'AWS::DynamoDB::Table') {
    throw new UnsupportedEsmConfigError(
      mapping,
      property,
      `${at} is an ${target.resource.Type}, not a DynamoDB table's stream; only DynamoDB streams are run`,
    );
  }
  if (target.attribute !== 'StreamArn') {
    throw new UnsupportedEsmConfigError(
      mapping,
      property,
      `points at ${at}.${target.attribute ?? '(Ref)'}, expected the table's StreamArn`,
    );
  }
  if (target.resource.Properties?.StreamSpecification === undefined) {
    throw new UnsupportedEsmConfigError(mapping, property, `table ${at} has no stream (StreamSpecification)`);
  }
  return tableIds.of(target.stackName, target.logicalId);
}

function literalArnProblem(arn: string): string {
  if (arn.includes(':kinesis:')) {
    return `${arn} is a Kinesis stream; only DynamoDB streams are run`;
  }
  if (arn.includes(':dynamodb:')) {
    return `the literal ARN ${arn} names no table of the app, so there is no local table to read`;
  }
  return `${arn} is not a DynamoDB stream; only DynamoDB streams are run`;
}

function resolveFunction(
  app: SynthesizedApp,
  mapping: string,
  stackName: string,
  value: unknown,
): { stackName: string; logicalId: string; consumerName: string; timeoutSeconds: number } {
  const property = 'FunctionName';
  if (value === undefined) {
    throw new UnsupportedEsmConfigError(mapping, property, 'missing');
  }
  if (typeof value === 'string') {
    throw new UnsupportedEsmConfigError(
      mapping,
      property,
      `the literal name ${value} names no function of the app`,
    );
  }
  const target = resolveReference(app, mapping, property, stackName, value);
  const at = `${target.stackName}/${target.logicalId}`;
  // A function is named by Ref (its name) or by its Arn; an alias or version would be another resource type.
  if (target.resource.Type !== 'AWS::Lambda::Function' || (target.attribute ?? 'Arn') !== 'Arn') {
    throw new UnsupportedEsmConfigError(
      mapping,
      property,
      `points at ${at}${target.attribute === undefined ? '' : `.${target.attribute}`} (${target.resource.Type}), expected an AWS::Lambda::Function`,
    );
  }
  const parsed = functionPropertiesSchema.safeParse(target.resource.Properties ?? {});
  if (!parsed.success) {
    const [issue] = parsed.error.issues;
    throw new UnsupportedEsmConfigError(mapping, `function ${at} ${issuePath(issue)}`, issueMessage(issue));
  }
  const consumerName = parsed.data.Environment?.Variables?.[ENV.CONSUMER_NAME];
  if (typeof consumerName !== 'string' || consumerName === '') {
    throw new UnsupportedEsmConfigError(
      mapping,
      `function ${at} Environment.Variables.${ENV.CONSUMER_NAME}`,
      'missing or not a plain string: every stream consumer is named by it (StreamConsumer sets it)',
    );
  }
  return {
    stackName: target.stackName,
    logicalId: target.logicalId,
    consumerName,
    timeoutSeconds: parsed.data.Timeout ?? LAMBDA_ESM_DEFAULTS.functionTimeoutSeconds,
  };
}

function resolveOnFailureQueue(
  app: SynthesizedApp,
  mapping: string,
  stackName: string,
  value: unknown,
): { stackName: string; logicalId: string } {
  const property = 'DestinationConfig.OnFailure.Destination';
  if (value === undefined || typeof value === 'string') {
    throw new UnsupportedEsmConfigError(
      mapping,
      property,
      value === undefined ? 'missing' : `the literal ARN ${value} names no queue of the app`,
    );
  }
  const target = resolveReference(app, mapping, property, stackName, value);
  if (target.resource.Type !== 'AWS::SQS::Queue' || target.attribute !== 'Arn') {
    throw new UnsupportedEsmConfigError(
      mapping,
      property,
      `points at ${target.stackName}/${target.logicalId}${target.attribute === undefined ? '' : `.${target.attribute}`} ` +
        `(${target.resource.Type}); only an SQS queue's Arn is supported as the on-failure destination locally`,
    );
  }
  return { stackName: target.stackName, logicalId: target.logicalId };
}

/**
 * Follows `Ref`, `Fn::GetAtt` and cross-stack references (`Fn::ImportValue` through an export, the weak
 * `Fn::GetStackOutput` through the named stack's output) to the resource they finally point at.
 */
function resolveReference(
  app: SynthesizedApp,
  mapping: string,
  property: string,
  stackName: string,
  value: unknown,
): ResolvedReference {
  const fail = (problem: string): never => {
    throw new UnsupportedEsmConfigError(mapping, property, problem);
  };
  const resourceIn = (inStack: string, logicalId: string): CfnResource => {
    const stack = app.stacks.find((s) => s.stackName === inStack) ?? fail(`no stack ${inStack} in the app`);
    return stack.template.Resources[logicalId] ?? fail(`no resource ${logicalId} in ${inStack}`);
  };
  if (isIntrinsic(value, 'Ref')) {
    const logicalId = String(value.Ref);
    return { stackName, logicalId, resource: resourceIn(stackName, logicalId), attribute: undefined };
  }
  if (isIntrinsic(value, 'Fn::GetAtt')) {
    const getAtt = value['Fn::GetAtt'];
    // Both forms CloudFormation accepts: [logicalId, attribute] and "logicalId.attribute".
    const [logicalId, attribute] = Array.isArray(getAtt)
      ? getAtt
      : typeof getAtt === 'string'
        ? [getAtt.slice(0, getAtt.indexOf('.')), getAtt.slice(getAtt.indexOf('.') + 1)]
        : [];
    if (typeof logicalId !== 'string' || typeof attribute !== 'string' || logicalId === '') {
      return fail(`malformed Fn::GetAtt ${JSON.stringify(getAtt)}`);
    }
    return { stackName, logicalId, resource: resourceIn(stackName, logicalId), attribute };
  }
  const target = followCrossStackReference(app, value, fail);
  if (target !== undefined) {
    return resolveReference(app, mapping, property, target.stackName, target.value);
  }
  return fail(
    `unsupported value ${JSON.stringify(value)}: expected a Ref, Fn::GetAtt or a cross-stack reference`,
  );
}

function parsePattern(mapping: string, property: string, pattern: string): FilterPattern {
  let parsed: unknown;
  try {
    parsed = JSON.parse(pattern);
  } catch (error) {
    throw new UnsupportedEsmConfigError(mapping, property, `not JSON (${(error as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new UnsupportedEsmConfigError(mapping, property, `not a JSON object: ${pattern}`);
  }
  // Compiled here once so that syntax the runner's filters do not implement fails now, naming the mapping, rather
  // than when the first shard processor starts.
  try {
    compileFilters([parsed as FilterPattern]);
  } catch (error) {
    if (error instanceof UnsupportedFilterError) {
      throw new UnsupportedEsmConfigError(mapping, property, error.message);
    }
    throw error;
  }
  return parsed as FilterPattern;
}

/**
 * Table construct ids per stack, computed once per stack by the same code that names the local tables, so the
 * runner reads the stream of exactly the table the sandbox created.
 */
class TableConstructIds {
  readonly #app: SynthesizedApp;
  readonly #byStack = new Map<string, ReadonlyMap<string, string>>();

  public constructor(app: SynthesizedApp) {
    this.#app = app;
  }

  public of(stackName: string, logicalId: string): string {
    let ids = this.#byStack.get(stackName);
    if (ids === undefined) {
      ids = new Map(
        tableDefinitionsFromTemplate(this.#app.stack(stackName).template).map((t) => [
          t.logicalId,
          t.constructId,
        ]),
      );
      this.#byStack.set(stackName, ids);
    }
    // Every AWS::DynamoDB::Table of the template has a definition (or tableDefinitionsFromTemplate threw).
    return ids.get(logicalId)!;
  }
}

function issuePath(issue: z.core.$ZodIssue | undefined): string {
  if (issue === undefined) {
    return 'Properties';
  }
  if (issue.code === 'unrecognized_keys') {
    const prefix = issue.path.length > 0 ? `${formatPath(issue.path)}.` : '';
    return issue.keys.map((key) => `${prefix}${key}`).join(', ');
  }
  return issue.path.length > 0 ? formatPath(issue.path) : 'Properties';
}

function issueMessage(issue: z.core.$ZodIssue | undefined): string {
  if (issue === undefined) {
    return 'invalid';
  }
  return issue.code === 'unrecognized_keys'
    ? 'unsupported property, not implemented by the local runner'
    : issue.message;
}

/** `['FilterCriteria', 'Filters', 0, 'Pattern']` -> `FilterCriteria.Filters[0].Pattern`. */
function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((segment, index) =>
      typeof segment === 'number' ? `[${segment}]` : `${index === 0 ? '' : '.'}${String(segment)}`,
    )
    .join('');
}
