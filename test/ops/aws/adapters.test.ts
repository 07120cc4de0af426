import 'aws-sdk-client-mock-vitest/extend';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, DescribeAlarmsCommand, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { GetEventSourceMappingCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { CloudFormationStackOutputs } from '../../../ops/aws/cloudformation-stack-outputs.js';
import { CloudWatchAlarms, CloudWatchMetrics } from '../../../ops/aws/cloudwatch.js';
import { LambdaEventSourceMappings } from '../../../ops/aws/lambda-event-source-mappings.js';

const REGION = { region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 's' } };

describe('CloudFormationStackOutputs', () => {
  it('reads the outputs of the named stack into a Map, one DescribeStacks call', async () => {
    // Prepare
    const client = new CloudFormationClient(REGION);
    const mock = mockClient(client);
    mock.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackName: 'OrdersStreams-dev-Data',
          CreationTime: new Date(0),
          StackStatus: 'UPDATE_COMPLETE',
          Outputs: [
            { OutputKey: 'OpsOrdersTableName', OutputValue: 'orders-table' },
            { OutputKey: '__proto__', OutputValue: 'kept as a key, not a prototype' },
            { OutputKey: 'NoValue' },
          ],
        },
      ],
    });

    // Act
    const outputs = await new CloudFormationStackOutputs(client).outputsOf('OrdersStreams-dev-Data');

    // Assess
    expect(mock).toHaveReceivedCommandTimes(DescribeStacksCommand, 1);
    expect(mock).toHaveReceivedCommandWith(DescribeStacksCommand, { StackName: 'OrdersStreams-dev-Data' });
    expect(outputs).toEqual(
      new Map([
        ['OpsOrdersTableName', 'orders-table'],
        ['__proto__', 'kept as a key, not a prototype'],
      ]),
    );
  });

  it("answers undefined for a stack that does not exist (CloudFormation's ValidationError)", async () => {
    // Prepare
    const client = new CloudFormationClient(REGION);
    const missing = Object.assign(new Error('Stack with id OrdersStreams-x-Data does not exist'), {
      name: 'ValidationError',
    });
    mockClient(client).on(DescribeStacksCommand).rejects(missing);

    // Act
    const outputs = await new CloudFormationStackOutputs(client).outputsOf('OrdersStreams-x-Data');

    // Assess
    expect(outputs).toBeUndefined();
  });

  it('passes on any other error, such as a refused permission', async () => {
    // Prepare
    const client = new CloudFormationClient(REGION);
    const denied = Object.assign(new Error('not authorized to perform: cloudformation:DescribeStacks'), {
      name: 'AccessDenied',
    });
    mockClient(client).on(DescribeStacksCommand).rejects(denied);

    // Act
    const outputs = new CloudFormationStackOutputs(client).outputsOf('OrdersStreams-dev-Data');

    // Assess
    await expect(outputs).rejects.toThrow('cloudformation:DescribeStacks');
  });
});

describe('LambdaEventSourceMappings', () => {
  it('reads the state and last processing result of the mapping by UUID', async () => {
    // Prepare
    const client = new LambdaClient(REGION);
    const mock = mockClient(client);
    mock.on(GetEventSourceMappingCommand).resolves({ State: 'Enabled', LastProcessingResult: 'OK' });

    // Act
    const status = await new LambdaEventSourceMappings(client).mapping('uuid-1');

    // Assess
    expect(mock).toHaveReceivedCommandWith(GetEventSourceMappingCommand, { UUID: 'uuid-1' });
    expect(status).toEqual({ state: 'Enabled', lastProcessingResult: 'OK' });
  });

  it('reports a mapping without a result as null', async () => {
    // Prepare
    const client = new LambdaClient(REGION);
    mockClient(client).on(GetEventSourceMappingCommand).resolves({ State: 'Disabled' });

    // Act
    const status = await new LambdaEventSourceMappings(client).mapping('uuid-2');

    // Assess
    expect(status).toEqual({ state: 'Disabled', lastProcessingResult: null });
  });
});

describe('CloudWatchMetrics', () => {
  const query = {
    namespace: 'AWS/Lambda',
    metricName: 'IteratorAge',
    dimensions: new Map([['FunctionName', 'fanout-fn']]),
    statistic: 'Maximum',
    periodSeconds: 60,
    start: new Date('2026-12-07T10:00:00Z'),
    end: new Date('2026-12-07T10:15:00Z'),
  } as const;

  it('asks for the statistic of the metric in the window and answers the largest value over every page', async () => {
    // Prepare
    const client = new CloudWatchClient(REGION);
    const mock = mockClient(client);
    mock
      .on(GetMetricDataCommand)
      .resolvesOnce({ MetricDataResults: [{ Id: 'm', Values: [1200, 5400] }], NextToken: 'page-2' })
      .resolvesOnce({ MetricDataResults: [{ Id: 'm', Values: [300] }] });

    // Act
    const maximum = await new CloudWatchMetrics(client).maximum(query);

    // Assess
    expect(maximum).toBe(5400);
    expect(mock).toHaveReceivedCommandTimes(GetMetricDataCommand, 2);
    expect(mock).toHaveReceivedNthCommandWith(GetMetricDataCommand, 1, {
      StartTime: query.start,
      EndTime: query.end,
      MetricDataQueries: [
        {
          Id: 'm',
          ReturnData: true,
          MetricStat: {
            Metric: {
              Namespace: 'AWS/Lambda',
              MetricName: 'IteratorAge',
              Dimensions: [{ Name: 'FunctionName', Value: 'fanout-fn' }],
            },
            Period: 60,
            Stat: 'Maximum',
          },
        },
      ],
    });
    expect(mock).toHaveReceivedNthCommandWith(GetMetricDataCommand, 2, { NextToken: 'page-2' });
  });

  it('answers null when the metric has no datapoint in the window', async () => {
    // Prepare
    const client = new CloudWatchClient(REGION);
    mockClient(client)
      .on(GetMetricDataCommand)
      .resolves({ MetricDataResults: [{ Id: 'm', Values: [] }] });

    // Act
    const maximum = await new CloudWatchMetrics(client).maximum(query);

    // Assess
    expect(maximum).toBeNull();
  });
});

describe('CloudWatchAlarms', () => {
  it('lists the metric alarms under the prefix with their states, over every page', async () => {
    // Prepare
    const client = new CloudWatchClient(REGION);
    const mock = mockClient(client);
    mock
      .on(DescribeAlarmsCommand)
      .resolvesOnce({ MetricAlarms: [{ AlarmName: 'p-IteratorAge', StateValue: 'ALARM' }], NextToken: 't' })
      .resolvesOnce({ MetricAlarms: [{ AlarmName: 'p-DlqMessages', StateValue: 'OK' }] });

    // Act
    const alarms = await new CloudWatchAlarms(client).alarmsWithPrefix('p-');

    // Assess
    expect(alarms).toEqual([
      { name: 'p-IteratorAge', state: 'ALARM' },
      { name: 'p-DlqMessages', state: 'OK' },
    ]);
    expect(mock).toHaveReceivedNthCommandWith(DescribeAlarmsCommand, 1, {
      AlarmNamePrefix: 'p-',
      AlarmTypes: ['MetricAlarm'],
    });
    expect(mock).toHaveReceivedNthCommandWith(DescribeAlarmsCommand, 2, {
      AlarmNamePrefix: 'p-',
      NextToken: 't',
    });
  });
});
