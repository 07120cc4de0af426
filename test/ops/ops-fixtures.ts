import { SQSClient } from '@aws-sdk/client-sqs';
import {
  CONSUMER_OUTPUT_FIELDS,
  CONSUMER_OUTPUT_STACK,
  consumerOutputKey,
  OPS_CONSUMERS,
  type OpsConsumerName,
  STAGE_OUTPUTS,
  stackNames,
} from '../../lib/stage-outputs.js';
import type {
  AlarmSummary,
  MappingStatus,
  MetricQuery,
  OpsAws,
  SigningCredentials,
  StackOutputsPort,
} from '../../ops/aws/ports.js';
import { SqsDeadLetterQueues } from '../../ops/aws/sqs-dead-letter-queues.js';
import type { OpsDeps, OpsIo } from '../../ops/ops-cli.js';

export const STAGE = 'test';
export const REGION = 'eu-west-1';
export const NOW = new Date('2024-05-01T12:00:00.000Z');

/** The names a deployed stage would output, derived from the key so that each value is recognisable. */
export function outputValue(key: string): string {
  if (key.endsWith('DeadLetterQueueUrl')) return `https://sqs.${REGION}.amazonaws.com/123456789012/${key}`;
  if (key === STAGE_OUTPUTS.stateless.apiUrl)
    return `https://abc123.execute-api.${REGION}.amazonaws.com/prod/`;
  return `value-of-${key}`;
}

/** Every output of the contract, per stack name; `without` leaves keys out. */
export function createStageOutputs(without: readonly string[] = []): Map<string, Map<string, string>> {
  const stacks = stackNames(STAGE);
  const outputs = new Map([
    [stacks.stateful, new Map<string, string>()],
    [stacks.stateless, new Map<string, string>()],
  ]);
  const put = (which: 'stateful' | 'stateless', key: string): void => {
    if (!without.includes(key)) outputs.get(stacks[which])?.set(key, outputValue(key));
  };
  for (const key of Object.values(STAGE_OUTPUTS.stateful)) put('stateful', key);
  for (const key of Object.values(STAGE_OUTPUTS.stateless)) put('stateless', key);
  for (const consumer of OPS_CONSUMERS) {
    for (const field of CONSUMER_OUTPUT_FIELDS)
      put(CONSUMER_OUTPUT_STACK[field], consumerOutputKey(consumer, field));
  }
  return outputs;
}

/** A CloudFormation stand-in over fixed outputs; a stack absent from the map does not exist. */
export function fakeStackOutputs(
  outputs: ReadonlyMap<string, ReadonlyMap<string, string>>,
): StackOutputsPort & {
  readonly asked: string[];
} {
  const asked: string[] = [];
  return {
    asked,
    outputsOf: async (stackName) => {
      asked.push(stackName);
      return outputs.get(stackName);
    },
  };
}

export interface FakeAwsOptions {
  readonly outputs?: Map<string, Map<string, string>>;
  readonly mappings?: ReadonlyMap<string, MappingStatus>;
  /** Metric name to the maximum the fake returns. */
  readonly maxima?: ReadonlyMap<string, number | null>;
  /** Alarm name prefix to its alarms. */
  readonly alarms?: ReadonlyMap<string, readonly AlarmSummary[]>;
  readonly credentials?: SigningCredentials;
}

/** The AWS side of a test: fakes for the ports without an installed client, the real SQS adapter over `sqs`. */
export interface FakeAws {
  readonly aws: OpsAws;
  readonly mappingsAsked: string[];
  readonly metricQueries: MetricQuery[];
  readonly alarmPrefixesAsked: string[];
  readonly stacksAsked: string[];
  closed: number;
}

export function createFakeAws(sqs: SQSClient, options: FakeAwsOptions = {}): FakeAws {
  const stackOutputs = fakeStackOutputs(options.outputs ?? createStageOutputs());
  const fake: FakeAws = {
    mappingsAsked: [],
    metricQueries: [],
    alarmPrefixesAsked: [],
    stacksAsked: stackOutputs.asked,
    closed: 0,
    aws: {
      stackOutputs,
      mappings: {
        mapping: async (uuid) => {
          fake.mappingsAsked.push(uuid);
          return options.mappings?.get(uuid) ?? { state: 'Enabled', lastProcessingResult: 'OK' };
        },
      },
      metrics: {
        maximum: async (query) => {
          fake.metricQueries.push(query);
          return options.maxima?.get(query.metricName) ?? null;
        },
      },
      alarms: {
        alarmsWithPrefix: async (prefix) => {
          fake.alarmPrefixesAsked.push(prefix);
          return options.alarms?.get(prefix) ?? [{ name: `${prefix}-errors`, state: 'OK' }];
        },
      },
      deadLetterQueues: new SqsDeadLetterQueues(sqs),
      credentials: async () =>
        options.credentials ?? { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret-example' },
      region: async () => REGION,
      close: () => {
        fake.closed += 1;
      },
    },
  };
  return fake;
}

export function createSqsClient(): SQSClient {
  return new SQSClient({ region: REGION, credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
}

/** Captures what the CLI writes. */
export function captureIo(): OpsIo & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    stdout: (text) => {
      out += text;
    },
    stderr: (text) => {
      err += text;
    },
    out: () => out,
    err: () => err,
  };
}

export function depsFor(fake: FakeAws, now: Date = NOW): OpsDeps {
  return { aws: () => fake.aws, now: () => now };
}

export function consumerOutput(
  consumer: OpsConsumerName,
  field: (typeof CONSUMER_OUTPUT_FIELDS)[number],
): string {
  return outputValue(consumerOutputKey(consumer, field));
}
