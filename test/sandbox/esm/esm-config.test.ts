import { type App, type CfnResource as CdkCfnResource, Duration, type Stack } from 'aws-cdk-lib';
import { FilterCriteria, FilterRule } from 'aws-cdk-lib/aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../../lambdas/shared/env.js';
import { stackNames } from '../../../lib/app.js';
import type { StreamConsumer } from '../../../lib/constructs/stream-consumer.js';
import { StatefulStack } from '../../../lib/stateful-stack.js';
import { StatelessStack } from '../../../lib/stateless-stack.js';
import { KNOWN_TABLE_IDS } from '../../../sandbox/dynamodb-local/tables.js';
import { esmConfigsFromApp, UnsupportedEsmConfigError } from '../../../sandbox/esm/esm-config.js';
import type { EsmConfig } from '../../../sandbox/esm/types.js';
import {
  type CfnResource,
  type CfnTemplate,
  type SynthesizedApp,
  type SynthesizedStack,
  synthesizeApp,
} from '../../../sandbox/synth.js';
import { DUMMY_CONSUMER_ENTRY, testApp, testConfig, thrownBy } from '../../fixtures/cdk-app.js';

/** A SynthesizedApp over hand-made or test-app templates, shaped like the one sandbox/synth.ts returns. */
function synthesizedApp(stacks: readonly SynthesizedStack[]): SynthesizedApp {
  return {
    config: testConfig(),
    stacks,
    stack: (name) => {
      const found = stacks.find((s) => s.stackName === name);
      if (found === undefined) throw new Error(`no stack ${name}`);
      return found;
    },
    resourcesOfType: (type) =>
      stacks.flatMap(({ stackName, template }) =>
        Object.entries(template.Resources)
          .filter(([, resource]) => resource.Type === type)
          .map(([logicalId, resource]) => ({ stackName, logicalId, resource })),
      ),
  };
}

function synthesize(app: App): SynthesizedApp {
  const assembly = app.synth();
  return synthesizedApp(
    assembly.stacks.map((artifact) => ({
      stackName: artifact.stackName,
      template: artifact.template as CfnTemplate,
    })),
  );
}

function logicalIdOf(construct: { node: { defaultChild?: unknown } }, stack: Stack): string {
  return stack.getLogicalId(construct.node.defaultChild as CdkCfnResource);
}

interface PipelinesTestApp {
  readonly app: SynthesizedApp;
  readonly expected: EsmConfig[];
}

/**
 * Two stacks like the real app's, with two consumers: one with every default of the construct, one tuned with a
 * filter. The tables live in the other stack, so EventSourceArn is a cross-stack reference of the kind asked for.
 */
function pipelinesTestApp(crossStackReferences: 'weak' | 'strong'): PipelinesTestApp {
  const cdkApp = testApp({
    context: {
      'aws:cdk:enable-path-metadata': true,
      '@aws-cdk/core:defaultCrossStackReferences': crossStackReferences,
    },
  });
  const config = testConfig();
  const data = new StatefulStack(cdkApp, 'Data', { config });
  const pipelines = new StatelessStack(cdkApp, 'Pipelines', {
    config,
    tables: data.tables,
    messaging: data.messaging,
    search: data.search,
    audit: data.audit,
  });
  const plain = pipelines.addStreamConsumer('Plain', {
    table: data.tables.orders,
    entry: DUMMY_CONSUMER_ENTRY,
    consumerName: 'plain-consumer',
  });
  const tuned = pipelines.addStreamConsumer('Tuned', {
    table: data.tables.votes,
    entry: DUMMY_CONSUMER_ENTRY,
    consumerName: 'tuned-consumer',
    batchSize: 7,
    maxBatchingWindow: Duration.seconds(2),
    parallelizationFactor: 3,
    retryAttempts: 0,
    maxRecordAge: Duration.seconds(60),
    timeout: Duration.seconds(30),
    filters: [
      FilterCriteria.filter({ eventName: FilterRule.isEqual('INSERT') }),
      FilterCriteria.filter({ dynamodb: { NewImage: { option: { S: FilterRule.exists() } } } }),
    ],
  });
  const common = (consumer: StreamConsumer) => ({
    stackName: 'Pipelines',
    logicalId: logicalIdOf(consumer.mapping, pipelines),
    functionStackName: 'Pipelines',
    functionLogicalId: logicalIdOf(consumer.function.lambdaFunction, pipelines),
    startingPosition: 'TRIM_HORIZON' as const,
    bisectBatchOnFunctionError: true,
    reportBatchItemFailures: true,
    onFailureDestination: {
      stackName: 'Pipelines',
      logicalId: logicalIdOf(consumer.deadLetterQueue, pipelines),
    },
  });
  const expected: EsmConfig[] = [
    {
      ...common(plain),
      consumerName: 'plain-consumer',
      tableConstructId: 'Orders',
      batchSize: 100,
      maximumBatchingWindowMs: 0,
      parallelizationFactor: 1,
      maximumRetryAttempts: 10,
      maximumRecordAgeMs: 3_600_000,
      filterPatterns: [],
      functionTimeoutMs: 60_000,
    },
    {
      ...common(tuned),
      consumerName: 'tuned-consumer',
      tableConstructId: 'Votes',
      batchSize: 7,
      maximumBatchingWindowMs: 2_000,
      parallelizationFactor: 3,
      maximumRetryAttempts: 0,
      maximumRecordAgeMs: 60_000,
      filterPatterns: [
        { eventName: ['INSERT'] },
        { dynamodb: { NewImage: { option: { S: [{ exists: true }] } } } },
      ],
      functionTimeoutMs: 30_000,
    },
  ];
  return { app: synthesize(cdkApp), expected };
}

const TABLE_METADATA = { 'aws:cdk:path': 'Stack/Tables/Orders/Resource' };

/** A table with a stream as the StreamConsumer would find it, named `Orders` by its path. */
function tableResource(overrides: Partial<Record<string, unknown>> = {}): CfnResource {
  return {
    Type: 'AWS::DynamoDB::Table',
    Properties: {
      KeySchema: [{ AttributeName: 'orderId', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'orderId', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
      StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
      ...overrides,
    },
    Metadata: TABLE_METADATA,
  };
}

function functionResource(
  variables: Record<string, unknown> = { [ENV.CONSUMER_NAME]: 'hand-made' },
): CfnResource {
  return { Type: 'AWS::Lambda::Function', Properties: { Environment: { Variables: variables } } };
}

/** The smallest mapping CloudFormation accepts for a DynamoDB stream. */
const MINIMAL_MAPPING = {
  FunctionName: { Ref: 'Fn' },
  EventSourceArn: { 'Fn::GetAtt': ['Table', 'StreamArn'] },
  StartingPosition: 'LATEST',
} as const;

/**
 * One stack `S` holding a table, a function, a queue, a topic, a Kinesis stream and the mapping `Mapping`, plus a
 * stack `Producer` exporting the table's stream ARN both ways; `resources` replaces or adds resources of `S`.
 */
function fragmentApp(
  mappingProperties: Record<string, unknown>,
  options: { resources?: Record<string, CfnResource>; mapping?: Partial<CfnResource> } = {},
): SynthesizedApp {
  const resources: Record<string, CfnResource> = {
    Table: tableResource(),
    Fn: functionResource(),
    Queue: { Type: 'AWS::SQS::Queue' },
    Topic: { Type: 'AWS::SNS::Topic' },
    Kinesis: { Type: 'AWS::Kinesis::Stream' },
    ...options.resources,
    Mapping: { Type: 'AWS::Lambda::EventSourceMapping', Properties: mappingProperties, ...options.mapping },
  };
  const producer: CfnTemplate = {
    Resources: {
      ProducedTable: {
        ...tableResource(),
        Metadata: { 'aws:cdk:path': 'Producer/Tables/Votes/Resource' },
      },
    },
    Outputs: {
      Exported: {
        Value: { 'Fn::GetAtt': ['ProducedTable', 'StreamArn'] },
        Export: { Name: 'Producer:StreamArn' },
      },
      Published: { Value: { 'Fn::GetAtt': ['ProducedTable', 'StreamArn'] } },
    },
  };
  return synthesizedApp([
    { stackName: 'Producer', template: producer },
    { stackName: 'S', template: { Resources: resources } },
  ]);
}

function onlyConfig(app: SynthesizedApp): EsmConfig {
  const configs = esmConfigsFromApp(app);
  expect(configs).toHaveLength(1);
  return configs[0]!;
}

describe('esmConfigsFromApp', () => {
  describe('the real app', () => {
    // As test/support/dynamodb.ts does: a validation finding of another helper's in-progress stack must not hide
    // what this test checks.
    const app = synthesizeApp({ '@aws-cdk/core:validateAgainstDefaultRules': false });

    it('reads every mapping of the app into a bounded, checkpointing config of its consumer', () => {
      // Prepare
      const mappings = app.resourcesOfType('AWS::Lambda::EventSourceMapping');

      // Act
      const configs = esmConfigsFromApp(app);

      // Assess
      expect(configs.map((c) => `${c.stackName}/${c.logicalId}`)).toEqual(
        mappings.map((m) => `${m.stackName}/${m.logicalId}`),
      );
      for (const config of configs) {
        const fn = app.stack(config.functionStackName).template.Resources[config.functionLogicalId];
        const environment = fn?.Properties?.Environment as
          | { Variables?: Record<string, unknown> }
          | undefined;
        expect(config.consumerName).toBe(environment?.Variables?.[ENV.CONSUMER_NAME]);
        expect(KNOWN_TABLE_IDS).toContain(config.tableConstructId);
        expect(config).toMatchObject({
          startingPosition: 'TRIM_HORIZON',
          bisectBatchOnFunctionError: true,
          reportBatchItemFailures: true,
          onFailureDestination: expect.any(Object),
        });
        expect(Number.isFinite(config.maximumRetryAttempts)).toBe(true);
        expect(Number.isFinite(config.maximumRecordAgeMs)).toBe(true);
      }
    });

    it('reads a consumer added to the real app through its stacks and cross-stack wiring', () => {
      // Prepare: whatever consumers the app has, one more with known settings
      const app = synthesizeApp(
        { '@aws-cdk/core:validateAgainstDefaultRules': false },
        {
          extend: ({ stateful, stateless }) => {
            stateless.addStreamConsumer('EsmConfigProbe', {
              table: stateful.tables.votes,
              entry: DUMMY_CONSUMER_ENTRY,
              consumerName: 'esm-config-probe',
              batchSize: 25,
              retryAttempts: 2,
            });
          },
        },
      );

      // Act
      const configs = esmConfigsFromApp(app);

      // Assess
      expect(configs.filter((c) => c.consumerName === 'esm-config-probe')).toEqual([
        expect.objectContaining({
          stackName: stackNames(app.config.stageName).stateless,
          tableConstructId: 'Votes',
          batchSize: 25,
          maximumRetryAttempts: 2,
          maximumRecordAgeMs: 3_600_000,
          functionTimeoutMs: 60_000,
          onFailureDestination: expect.objectContaining({
            stackName: stackNames(app.config.stageName).stateless,
          }),
        }),
      ]);
    });
  });

  describe('a test app with StreamConsumer mappings', () => {
    const apps = new Map<string, PipelinesTestApp>();
    beforeAll(() => {
      for (const references of ['weak', 'strong'] as const) {
        apps.set(references, pipelinesTestApp(references));
      }
    });

    it.each([
      ['weak (Fn::GetStackOutput)', 'weak', 'Fn::GetStackOutput'],
      ['strong (Fn::ImportValue)', 'strong', 'Fn::ImportValue'],
    ])('reads every setting through %s cross-stack references', (_name, references, intrinsic) => {
      // Prepare
      const { app, expected } = apps.get(references)!;
      const [mapping] = app.resourcesOfType('AWS::Lambda::EventSourceMapping');
      expect(Object.keys(mapping?.resource.Properties?.EventSourceArn as object)).toEqual([intrinsic]);

      // Act: the stack's own consumers (order fan-out, search sync, audit log, vote aggregator) are read too; this
      // test is about the two it adds.
      const own = new Set(['order-fanout', 'search-sync', 'audit-log', 'vote-aggregator']);
      const configs = esmConfigsFromApp(app).filter((config) => !own.has(config.consumerName));

      // Assess
      expect(configs).toEqual(expected);
    });
  });

  describe('hand-made templates', () => {
    it("fills in Lambda's defaults where properties are absent", () => {
      // Prepare
      const app = fragmentApp({ ...MINIMAL_MAPPING });

      // Act
      const config = onlyConfig(app);

      // Assess
      expect(config).toEqual({
        stackName: 'S',
        logicalId: 'Mapping',
        functionStackName: 'S',
        functionLogicalId: 'Fn',
        consumerName: 'hand-made',
        tableConstructId: 'Orders',
        startingPosition: 'LATEST',
        batchSize: 100,
        maximumBatchingWindowMs: 0,
        parallelizationFactor: 1,
        maximumRetryAttempts: Number.POSITIVE_INFINITY,
        maximumRecordAgeMs: Number.POSITIVE_INFINITY,
        bisectBatchOnFunctionError: false,
        reportBatchItemFailures: false,
        filterPatterns: [],
        functionTimeoutMs: 3_000,
      });
    });

    it.each([
      [
        '-1 retries and age as infinite',
        { MaximumRetryAttempts: -1, MaximumRecordAgeInSeconds: -1 },
        {
          maximumRetryAttempts: Number.POSITIVE_INFINITY,
          maximumRecordAgeMs: Number.POSITIVE_INFINITY,
        },
      ],
      [
        'bounds at their limits',
        { BatchSize: 10_000, MaximumBatchingWindowInSeconds: 300, ParallelizationFactor: 10 },
        {
          batchSize: 10_000,
          maximumBatchingWindowMs: 300_000,
          parallelizationFactor: 10,
        },
      ],
      [
        'the smallest record age',
        { MaximumRecordAgeInSeconds: 60, MaximumRetryAttempts: 0 },
        {
          maximumRecordAgeMs: 60_000,
          maximumRetryAttempts: 0,
        },
      ],
      ['an empty FunctionResponseTypes', { FunctionResponseTypes: [] }, { reportBatchItemFailures: false }],
      [
        'the ignored MetricsConfig, Tags and KmsKeyArn',
        {
          MetricsConfig: { Metrics: ['EventCount'] },
          Tags: [{ Key: 'a', Value: 'b' }],
          KmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/x',
        },
        { batchSize: 100 },
      ],
      [
        'a function named by Fn::GetAtt Arn',
        { FunctionName: { 'Fn::GetAtt': ['Fn', 'Arn'] } },
        { functionLogicalId: 'Fn' },
      ],
      [
        'the string form of Fn::GetAtt',
        { EventSourceArn: { 'Fn::GetAtt': 'Table.StreamArn' } },
        { tableConstructId: 'Orders' },
      ],
      [
        'an Fn::ImportValue of another stack',
        { EventSourceArn: { 'Fn::ImportValue': 'Producer:StreamArn' } },
        {
          tableConstructId: 'Votes',
        },
      ],
      [
        'an Fn::GetStackOutput of another stack',
        {
          EventSourceArn: {
            'Fn::GetStackOutput': { StackName: 'Producer', OutputName: 'Published', Region: 'x' },
          },
        },
        { tableConstructId: 'Votes' },
      ],
      [
        'an on-failure queue',
        { DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': ['Queue', 'Arn'] } } } },
        {
          onFailureDestination: { stackName: 'S', logicalId: 'Queue' },
        },
      ],
    ])('reads %s', (_name, properties, expected) => {
      // Prepare
      const app = fragmentApp({ ...MINIMAL_MAPPING, ...properties });

      // Act
      const config = onlyConfig(app);

      // Assess
      expect(config).toMatchObject(expected);
    });

    it("reads the function's Timeout", () => {
      // Prepare
      const fn = functionResource();
      const app = fragmentApp(
        { ...MINIMAL_MAPPING },
        { resources: { Fn: { ...fn, Properties: { ...fn.Properties, Timeout: 900 } } } },
      );

      // Act
      const config = onlyConfig(app);

      // Assess
      expect(config.functionTimeoutMs).toBe(900_000);
    });

    it('leaves a disabled mapping out, as Lambda does not poll it', () => {
      // Prepare
      const app = fragmentApp({ ...MINIMAL_MAPPING, Enabled: false });

      // Act
      const configs = esmConfigsFromApp(app);

      // Assess
      expect(configs).toEqual([]);
    });

    it.each<[string, Record<string, unknown>, RegExp, Parameters<typeof fragmentApp>[1]?]>([
      [
        'a Kinesis stream resource',
        { EventSourceArn: { 'Fn::GetAtt': ['Kinesis', 'Arn'] } },
        /EventSourceArn: .*Kinesis/,
      ],
      [
        'a literal Kinesis ARN',
        { EventSourceArn: 'arn:aws:kinesis:eu-west-1:1:stream/x' },
        /EventSourceArn: .*Kinesis/,
      ],
      [
        'a literal DynamoDB stream ARN',
        { EventSourceArn: 'arn:aws:dynamodb:eu-west-1:1:table/x/stream/y' },
        /EventSourceArn: .*names no table/,
      ],
      [
        'an SQS source',
        { EventSourceArn: { 'Fn::GetAtt': ['Queue', 'Arn'] } },
        /EventSourceArn: .*AWS::SQS::Queue, not a DynamoDB/,
      ],
      [
        "the table's Arn instead of its StreamArn",
        { EventSourceArn: { 'Fn::GetAtt': ['Table', 'Arn'] } },
        /EventSourceArn: .*Table\.Arn, expected the table's StreamArn/,
      ],
      [
        'a table without a stream',
        {},
        /EventSourceArn: table S\/Table has no stream/,
        {
          resources: { Table: tableResource({ StreamSpecification: undefined }) },
        },
      ],
      [
        'an unknown export',
        { EventSourceArn: { 'Fn::ImportValue': 'Nope' } },
        /EventSourceArn: no stack exports Nope/,
      ],
      [
        'a missing output',
        { EventSourceArn: { 'Fn::GetStackOutput': { StackName: 'Producer', OutputName: 'Nope' } } },
        /EventSourceArn: stack Producer has no output Nope/,
      ],
      [
        'a missing resource',
        { EventSourceArn: { 'Fn::GetAtt': ['Gone', 'StreamArn'] } },
        /EventSourceArn: no resource Gone in S/,
      ],
      ['a tumbling window', { TumblingWindowInSeconds: 60 }, /TumblingWindowInSeconds: tumbling windows/],
      ['an unknown property', { Frobnicate: true }, /Frobnicate: unsupported property/],
      [
        'AT_TIMESTAMP',
        { StartingPosition: 'AT_TIMESTAMP' },
        /StartingPosition: "AT_TIMESTAMP" is not supported/,
      ],
      ['no StartingPosition', { StartingPosition: undefined }, /StartingPosition: required/],
      ['a batch size of 0', { BatchSize: 0 }, /BatchSize: /],
      ['a batch size above 10,000', { BatchSize: 10_001 }, /BatchSize: /],
      [
        'a fractional batching window',
        { MaximumBatchingWindowInSeconds: 1.5 },
        /MaximumBatchingWindowInSeconds: /,
      ],
      ['a parallelization factor of 11', { ParallelizationFactor: 11 }, /ParallelizationFactor: /],
      ['retries below -1', { MaximumRetryAttempts: -2 }, /MaximumRetryAttempts: /],
      [
        'a record age of 59 s',
        { MaximumRecordAgeInSeconds: 59 },
        /MaximumRecordAgeInSeconds: -1 or 60 to 604800/,
      ],
      ['a token as batch size', { BatchSize: { Ref: 'Param' } }, /BatchSize: /],
      ['an unknown response type', { FunctionResponseTypes: ['Everything'] }, /FunctionResponseTypes\[0\]: /],
      [
        'a filter pattern that is not JSON',
        { FilterCriteria: { Filters: [{ Pattern: '{nope' }] } },
        /FilterCriteria\.Filters\[0\]\.Pattern: not JSON/,
      ],
      [
        'a filter pattern the runner cannot match',
        { FilterCriteria: { Filters: [{ Pattern: '{"eventName":[{"suffix":"T"}]}' }] } },
        /FilterCriteria\.Filters\[0\]\.Pattern: Unsupported filter pattern/,
      ],
      [
        'a filter pattern that is not an object',
        { FilterCriteria: { Filters: [{ Pattern: '[1]' }] } },
        /FilterCriteria\.Filters\[0\]\.Pattern: not a JSON object/,
      ],
      [
        'an SNS on-failure destination',
        { DestinationConfig: { OnFailure: { Destination: { Ref: 'Topic' } } } },
        /DestinationConfig\.OnFailure\.Destination: .*only an SQS queue/,
      ],
      [
        'an on-success destination',
        { DestinationConfig: { OnSuccess: { Destination: 'x' } } },
        /DestinationConfig\.OnSuccess: unsupported property/,
      ],
      [
        'a literal function name',
        { FunctionName: 'some-function' },
        /FunctionName: the literal name some-function/,
      ],
      [
        'a function that is a queue',
        { FunctionName: { Ref: 'Queue' } },
        /FunctionName: .*expected an AWS::Lambda::Function/,
      ],
      [
        'a function without CONSUMER_NAME',
        {},
        /function S\/Fn Environment\.Variables\.CONSUMER_NAME: missing/,
        {
          resources: { Fn: functionResource({}) },
        },
      ],
      [
        'a CONSUMER_NAME that is a token',
        {},
        /function S\/Fn Environment\.Variables\.CONSUMER_NAME: missing or not a plain string/,
        {
          resources: { Fn: functionResource({ [ENV.CONSUMER_NAME]: { Ref: 'Param' } }) },
        },
      ],
      [
        'a function timeout above 900 s',
        {},
        /function S\/Fn Timeout: /,
        {
          resources: { Fn: { Type: 'AWS::Lambda::Function', Properties: { Timeout: 901 } } },
        },
      ],
      [
        'a condition on the mapping',
        {},
        /Condition: IsProd: conditions are not evaluated/,
        { mapping: { Condition: 'IsProd' } },
      ],
    ])('refuses %s, naming the mapping and the property', (_name, properties, message, options) => {
      // Prepare
      const app = fragmentApp({ ...MINIMAL_MAPPING, ...properties }, options);

      // Act
      const error = thrownBy(() => esmConfigsFromApp(app));

      // Assess
      expect(error).toBeInstanceOf(UnsupportedEsmConfigError);
      expect(error.message).toMatch(/^Event source mapping S\/Mapping: /);
      expect(error.message).toMatch(message);
    });
  });
});
