import type { CfnResource } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/app.js';
import { AuditLog } from '../../lib/constructs/audit-log.js';
import { OrderFanout } from '../../lib/constructs/order-fanout.js';
import { SearchSync } from '../../lib/constructs/search-sync.js';
import { StreamConsumer } from '../../lib/constructs/stream-consumer.js';
import { VoteAggregator } from '../../lib/constructs/vote-aggregator.js';
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
  'DomainName',
];

describe('StatelessStack', () => {
  it('holds the ops alerts, the orders API, and the order fan-out, search sync, audit log and vote aggregator as stream consumers', () => {
    // Prepare
    const { stateless } = buildApp(testApp());

    // Act
    const template = Template.fromStack(stateless);

    // Assess
    template.resourceCountIs('AWS::ApiGateway::RestApi', 1);
    // The ops topic only: the order events topic lives in the stateful stack.
    template.resourceCountIs('AWS::SNS::Topic', 1);
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 4);
    template.resourceCountIs('AWS::SES::Template', 3);
    // The domain lives in the stateful stack.
    template.resourceCountIs('AWS::OpenSearchService::Domain', 0);
    expect(stateless.opsAlerts.topic).toBeDefined();
    expect(stateless.ordersApi.api).toBeDefined();
    expect(stateless.orderFanout).toBeInstanceOf(OrderFanout);
    expect(stateless.orderFanout.consumer.mapping).toBeDefined();
    expect(stateless.searchSync).toBeInstanceOf(SearchSync);
    expect(stateless.auditLog).toBeInstanceOf(AuditLog);
    expect(stateless.voteAggregator).toBeInstanceOf(VoteAggregator);
  });

  it("keeps every consumer's DLQ in the stateful stack, retained, so that destroying this stack loses no letter (issue 13)", () => {
    // Prepare
    const { stateful, stateless } = buildApp(testApp());
    const data = Template.fromStack(stateful).toJSON().Resources as Record<string, Record<string, unknown>>;
    const consumers = [
      stateless.orderFanout,
      stateless.searchSync,
      stateless.auditLog,
      stateless.voteAggregator,
    ];

    // Act
    const queues = consumers.map(({ consumer }) => consumer.deadLetterQueue);

    // Assess
    Template.fromStack(stateless).resourceCountIs('AWS::SQS::Queue', 0);
    expect(new Set(queues).size).toBe(4);
    for (const [name, queue] of Object.entries(stateful.deadLetterQueues)) {
      expect(queues).toContain(queue);
      expect(data[stateful.getLogicalId(queue.node.defaultChild as CfnResource)], name).toMatchObject({
        Type: 'AWS::SQS::Queue',
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
      });
    }
    expect(stateless.orderFanout.consumer.deadLetterQueue).toBe(stateful.deadLetterQueues['order-fanout']);
    expect(stateless.voteAggregator.consumer.deadLetterQueue).toBe(
      stateful.deadLetterQueues['vote-aggregator'],
    );
  });

  it('tells the search sync and the API the URL of the domain of the stateful stack', () => {
    // Prepare
    const { stateful, stateless } = buildApp(testApp());
    const domainId = stateful.getLogicalId(stateful.search.domain.node.defaultChild as CfnResource);
    const functions = Object.values(Template.fromStack(stateless).findResources('AWS::Lambda::Function'));

    // Act
    const endpoints = functions
      .map((fn) => fn.Properties.Environment.Variables as Record<string, unknown>)
      .filter((variables) => variables.OPENSEARCH_ENDPOINT !== undefined)
      .map((variables) => variables.POWERTOOLS_SERVICE_NAME);

    // Assess
    expect(endpoints.sort()).toEqual(['orders-api', 'search-sync']);
    const published = Object.entries(
      Template.fromStack(stateful).toJSON().Outputs as Record<string, { Value: unknown }>,
    )
      .filter(
        ([, output]) =>
          JSON.stringify(output.Value) === JSON.stringify({ 'Fn::GetAtt': [domainId, 'DomainEndpoint'] }),
      )
      .map(([name]) => name);
    for (const fn of functions.filter(
      (f) => f.Properties.Environment.Variables.OPENSEARCH_ENDPOINT !== undefined,
    )) {
      expect(fn.Properties.Environment.Variables.OPENSEARCH_ENDPOINT).toEqual({
        'Fn::Join': [
          '',
          [
            'https://',
            {
              'Fn::GetStackOutput': {
                StackName: stateful.stackName,
                Region: { Ref: 'AWS::Region' },
                OutputName: published[0],
              },
            },
          ],
        ],
      });
    }
    expect(published).toHaveLength(1);
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

  it('gives no resource of either stack a fixed physical name but the search domain and the alarms, named after the stage', () => {
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
        // both are labels, unique nowhere. A CloudWatch Logs resource policy needs a name too, which CDK derives
        // from the construct path, stack name included, so stages differ.
        .filter(
          ([, resource]) =>
            !['AWS::IAM::Policy', 'AWS::ApiGateway::RestApi', 'AWS::Logs::ResourcePolicy'].includes(
              resource.Type,
            ),
        )
        // A FIFO topic needs a name ending in `.fifo`, so CDK generates one from the construct path, stack name
        // included (`<stack>-Messaging-OrderEvents-<hash>.fifo`): stages differ.
        .filter(
          ([, resource]) =>
            !(
              resource.Type === 'AWS::SNS::Topic' &&
              /^[A-Za-z0-9]+-Messaging-OrderEvents-[0-9A-F]{8}\.fifo$/.test(
                String((resource.Properties as Record<string, unknown>).TopicName),
              )
            ),
        )
        // Alarm names start with the stack's name (`<stack>/<consumer>/<Kind>`, for `describe-alarms
        // --alarm-name-prefix`): stages differ.
        .filter(
          ([, resource]) =>
            !(
              resource.Type === 'AWS::CloudWatch::Alarm' &&
              String((resource.Properties as Record<string, unknown>).AlarmName).startsWith(
                `${stack.stackName}/`,
              )
            ),
        )
        // A custom resource's properties are its handler's input, not a physical name: the role mapping names the
        // domain it maps in.
        .filter(([, resource]) => !String(resource.Type).startsWith('Custom::'))
        .map(
          ([logicalId, resource]) => `${resource.Type} ${logicalId} ${JSON.stringify(resource.Properties)}`,
        ),
    );

    // Assess
    // The domain's name is per stage (see searchDomainName), like the stack names: two stages share an account.
    expect(named).toEqual([
      expect.stringMatching(/^AWS::OpenSearchService::Domain \S+ .*"DomainName":"orders-dev"/),
    ]);
  });
});
