import type { CfnResource } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/app.js';
import { OrderFanout } from '../../lib/constructs/order-fanout.js';
import { StreamConsumer } from '../../lib/constructs/stream-consumer.js';
import { DUMMY_CONSUMER_ENTRY, testApp } from '../fixtures/cdk-app.js';

/** Properties that would give a resource a fixed physical name, and so forbid two stages in one account. */
const PHYSICAL_NAME_PROPERTIES = [
  'FunctionName',
  'TableName',
  'QueueName',
  'TopicName',
  'DashboardName',
  'RoleName',
  'PolicyName',
  'AlarmName',
  'Name',
  'KeyAlias',
];

describe('StatelessStack', () => {
  it('holds the ops alerts, the orders API and the order fan-out, its only stream consumer so far', () => {
    // Prepare
    const { stateless } = buildApp(testApp());

    // Act
    const template = Template.fromStack(stateless);

    // Assess
    template.resourceCountIs('AWS::ApiGateway::RestApi', 1);
    // The ops topic only: the order events topic lives in the stateful stack.
    template.resourceCountIs('AWS::SNS::Topic', 1);
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
    template.resourceCountIs('AWS::SES::Template', 3);
    expect(stateless.opsAlerts.topic).toBeDefined();
    expect(stateless.ordersApi.api).toBeDefined();
    expect(stateless.orderFanout).toBeInstanceOf(OrderFanout);
    expect(stateless.orderFanout.consumer.mapping).toBeDefined();
  });

  it('wires the order fan-out to the messaging of the stateful stack', () => {
    // Prepare
    const { stateful, stateless } = buildApp(testApp());

    // Act
    const env = Object.values(Template.fromStack(stateless).findResources('AWS::Lambda::Function'))
      .map((fn) => fn.Properties.Environment.Variables as Record<string, unknown>)
      .find((variables) => variables.CONSUMER_NAME === 'order-fanout');

    // Assess
    expect(JSON.stringify(env?.ORDER_EVENTS_TOPIC_ARN)).toContain(
      stateful.getLogicalId(stateful.messaging.orderEventsTopic.node.defaultChild as CfnResource),
    );
    expect(JSON.stringify(env?.WAREHOUSE_QUEUE_URL)).toContain(
      stateful.getLogicalId(stateful.messaging.warehouseQueue.node.defaultChild as CfnResource),
    );
  });

  it('subscribes the stage alarm e-mail when the config has one', () => {
    // Prepare
    const { stateless } = buildApp(testApp({ context: { alarmEmail: 'ops@example.com' } }));

    // Act
    const template = Template.fromStack(stateless);

    // Assess
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
    });
  });

  it('wires a stream consumer to the ops topic, the dashboard and the stage config in one call', () => {
    // Prepare
    const { stateful, stateless } = buildApp(testApp({ context: { stage: 'prod' } }));

    // Act
    const consumer = stateless.addStreamConsumer('Dummy', {
      table: stateful.tables.orders,
      entry: DUMMY_CONSUMER_ENTRY,
      consumerName: 'dummy',
    });

    // Assess
    expect(consumer).toBeInstanceOf(StreamConsumer);
    const template = Template.fromStack(stateless);
    const topic = { Ref: stateless.getLogicalId(stateless.opsAlerts.topic.node.defaultChild as CfnResource) };
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'IteratorAge',
      AlarmActions: [topic],
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ CONSUMER_NAME: 'dummy' }) },
      MemorySize: 1024,
    });
    expect(JSON.stringify(template.findResources('AWS::CloudWatch::Dashboard'))).toContain(
      'dummy: iterator age (ms)',
    );
  });

  it('gives no resource of either stack a fixed physical name', () => {
    // Prepare
    const { stateful, stateless } = buildApp(testApp());
    stateless.addStreamConsumer('Dummy', {
      table: stateful.tables.orders,
      entry: DUMMY_CONSUMER_ENTRY,
      consumerName: 'dummy',
    });

    // Act
    const named = [stateful, stateless].flatMap((stack) =>
      Object.entries(
        Template.fromStack(stack).toJSON().Resources as Record<string, { Type: string; Properties?: object }>,
      )
        .filter(([, resource]) =>
          PHYSICAL_NAME_PROPERTIES.some(
            (property) =>
              typeof (resource.Properties as Record<string, unknown> | undefined)?.[property] === 'string',
          ),
        )
        // CDK names the policies it generates after their logical id, and CloudFormation requires a REST API name:
        // both are labels, unique nowhere.
        .filter(([, resource]) => !['AWS::IAM::Policy', 'AWS::ApiGateway::RestApi'].includes(resource.Type))
        .map(([logicalId, resource]) => `${resource.Type} ${logicalId}`),
    );

    // Assess
    expect(named).toEqual([]);
  });
});
