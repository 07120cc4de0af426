import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/app.js';
import {
  CONSUMER_OUTPUT_FIELDS,
  CONSUMER_OUTPUT_STACK,
  consumerOutputKey,
  OPS_CONSUMERS,
  STAGE_OUTPUTS,
} from '../../lib/stage-outputs.js';
import { testApp } from '../fixtures/cdk-app.js';

/** Every output key of the contract, by the stack that must emit it. */
function contractKeys(): Record<'stateful' | 'stateless', string[]> {
  const keys = {
    stateful: [...Object.values(STAGE_OUTPUTS.stateful)] as string[],
    stateless: [...Object.values(STAGE_OUTPUTS.stateless)] as string[],
  };
  for (const consumer of OPS_CONSUMERS) {
    for (const field of CONSUMER_OUTPUT_FIELDS) {
      keys[CONSUMER_OUTPUT_STACK[field]].push(consumerOutputKey(consumer, field));
    }
  }
  return keys;
}

describe('the outputs of the ops contract (lib/stage-outputs.ts)', () => {
  let templates: Record<'stateful' | 'stateless', Template>;

  beforeAll(() => {
    const { stateful, stateless } = buildApp(testApp());
    templates = { stateful: Template.fromStack(stateful), stateless: Template.fromStack(stateless) };
  });

  it.each(['stateful', 'stateless'] as const)('emits every key of the %s stack at its root', (stack) => {
    // Prepare
    const expected = contractKeys()[stack];

    // Act
    const outputs = Object.keys(templates[stack].findOutputs('*'));

    // Assess
    expect(expected.length).toBeGreaterThan(0);
    expect(outputs).toEqual(expect.arrayContaining(expected));
  });

  it('emits no contract key from the other stack', () => {
    // Prepare
    const keys = contractKeys();

    // Act
    const statefulOutputs = Object.keys(templates.stateful.findOutputs('*'));
    const statelessOutputs = Object.keys(templates.stateless.findOutputs('*'));

    // Assess
    expect(statefulOutputs.filter((key) => keys.stateless.includes(key))).toEqual([]);
    expect(statelessOutputs.filter((key) => keys.stateful.includes(key))).toEqual([]);
  });

  it('gives each consumer the name, mapping and DLQ of that consumer', () => {
    // Act
    const fanoutFunction = templates.stateless.findOutputs(consumerOutputKey('order-fanout', 'FunctionName'));
    const fanoutMapping = templates.stateless.findOutputs(consumerOutputKey('order-fanout', 'MappingUuid'));
    const fanoutQueue = templates.stateful.findOutputs(
      consumerOutputKey('order-fanout', 'DeadLetterQueueUrl'),
    );
    const prefix = templates.stateless.findOutputs(consumerOutputKey('vote-aggregator', 'AlarmNamePrefix'));

    // Assess
    expect(Object.values(fanoutFunction)[0]?.Value).toEqual({
      Ref: expect.stringMatching(/^OrderFanoutConsumer/),
    });
    expect(Object.values(fanoutMapping)[0]?.Value).toEqual({
      Ref: expect.stringMatching(/^OrderFanoutConsumerMapping/),
    });
    expect(Object.values(fanoutQueue)[0]?.Value).toEqual({
      Ref: expect.stringMatching(/^DeadLetterQueuesorderfanout/),
    });
    expect(Object.values(prefix)[0]?.Value).toBe('OrdersStreams-dev-Pipelines/vote-aggregator/');
  });

  it('gives the stage-wide names of the Data stack', () => {
    // Act
    const outputs = templates.stateful.findOutputs('*');

    // Assess
    expect(outputs[STAGE_OUTPUTS.stateful.ordersStreamArn]?.Value).toEqual({
      'Fn::GetAtt': [expect.stringMatching(/^TablesOrders/), 'StreamArn'],
    });
    expect(outputs[STAGE_OUTPUTS.stateful.searchEndpoint]?.Value).toEqual({
      'Fn::Join': [
        '',
        ['https://', { 'Fn::GetAtt': [expect.stringMatching(/^SearchDomain/), 'DomainEndpoint'] }],
      ],
    });
  });

  it('gives the operator policy of the Pipelines stack', () => {
    // Act
    const outputs = templates.stateless.findOutputs(STAGE_OUTPUTS.stateless.operatorPolicyArn);

    // Assess
    expect(Object.values(outputs)[0]?.Value).toEqual({ Ref: expect.stringMatching(/^OperatorPolicy/) });
  });
});
