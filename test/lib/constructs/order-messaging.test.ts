import { type CfnResource, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../../lib/app.js';
import { ORDER_MESSAGING_DEFAULTS, OrderMessaging } from '../../../lib/constructs/order-messaging.js';
import { InvalidPropsError } from '../../../lib/constructs/props-validation.js';
import { testApp, thrownBy } from '../../fixtures/cdk-app.js';

const FOURTEEN_DAYS_SECONDS = 14 * 24 * 60 * 60;

function logicalId(construct: { node: { defaultChild?: unknown } }, stack: Stack): string {
  return stack.getLogicalId(construct.node.defaultChild as CfnResource);
}

describe('OrderMessaging', () => {
  describe('with the defaults', () => {
    let stack: Stack;
    let messaging: OrderMessaging;
    let template: Template;
    let keyArn: unknown;

    beforeAll(() => {
      stack = new Stack(testApp(), 'Data');
      messaging = new OrderMessaging(stack, 'Messaging');
      template = Template.fromStack(stack);
      keyArn = { 'Fn::GetAtt': [logicalId(messaging.key, stack), 'Arn'] };
    });

    it('has one customer-managed key, rotated yearly and retained like the tables', () => {
      // Assess
      template.resourceCountIs('AWS::KMS::Key', 1);
      template.hasResource('AWS::KMS::Key', {
        Properties: { EnableKeyRotation: true, RotationPeriodInDays: 365 },
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
      });
    });

    it("keeps the key policy at CDK's default: the account uses the key through IAM, no service principal", () => {
      // Assess
      template.hasResourceProperties('AWS::KMS::Key', {
        KeyPolicy: {
          Statement: [
            {
              Action: 'kms:*',
              Effect: 'Allow',
              Principal: {
                AWS: {
                  'Fn::Join': [
                    '',
                    ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':root'],
                  ],
                },
              },
              Resource: '*',
            },
          ],
        },
      });
    });

    it('has a high-throughput FIFO order events topic encrypted with the key, with a generated .fifo name', () => {
      // Assess
      template.resourceCountIs('AWS::SNS::Topic', 1);
      template.hasResource('AWS::SNS::Topic', {
        Properties: {
          KmsMasterKeyId: keyArn,
          FifoTopic: true,
          ContentBasedDeduplication: false,
          FifoThroughputScope: 'MessageGroup',
          TopicName: Match.stringLikeRegexp('^Data-Messaging-OrderEvents-[0-9A-F]{8}\\.fifo$'),
        },
        DeletionPolicy: 'Retain',
      });
      expect(messaging.orderEventsTopic.node.id).toBe('OrderEvents');
      expect(messaging.orderEventsTopic.fifo).toBe(true);
    });

    it('refuses publishing to the topic without TLS', () => {
      // Assess
      template.hasResourceProperties('AWS::SNS::TopicPolicy', {
        Topics: [{ Ref: logicalId(messaging.orderEventsTopic, stack) }],
        PolicyDocument: {
          Statement: [
            Match.objectLike({
              Effect: 'Deny',
              Principal: '*',
              Action: 'sns:Publish',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ],
        },
      });
    });

    describe.each([
      ['warehouse queue', (m: OrderMessaging) => m.warehouseQueue],
      ['warehouse DLQ', (m: OrderMessaging) => m.warehouseDeadLetterQueue],
    ])('the %s', (_name, queueOf) => {
      it('is FIFO without content-based deduplication, encrypted with the key, kept 14 days, retained', () => {
        // Assess
        const queue = template.toJSON().Resources[logicalId(queueOf(messaging), stack)];
        expect(queue).toMatchObject({
          Type: 'AWS::SQS::Queue',
          Properties: {
            FifoQueue: true,
            ContentBasedDeduplication: false,
            KmsMasterKeyId: keyArn,
            MessageRetentionPeriod: FOURTEEN_DAYS_SECONDS,
          },
          DeletionPolicy: 'Retain',
        });
        // CloudFormation generates the name (with the .fifo suffix FIFO queues need).
        expect(queue.Properties.QueueName).toBeUndefined();
      });

      it('refuses every request without TLS', () => {
        // Assess
        template.hasResourceProperties('AWS::SQS::QueuePolicy', {
          Queues: [{ Ref: logicalId(queueOf(messaging), stack) }],
          PolicyDocument: {
            Statement: [
              Match.objectLike({
                Effect: 'Deny',
                Action: 'sqs:*',
                Condition: { Bool: { 'aws:SecureTransport': 'false' } },
              }),
            ],
          },
        });
      });
    });

    it('scales the warehouse queue per message group (high-throughput FIFO)', () => {
      // Assess
      template.hasResourceProperties('AWS::SQS::Queue', {
        DeduplicationScope: 'messageGroup',
        FifoThroughputLimit: 'perMessageGroupId',
      });
    });

    it('moves a warehouse message to the DLQ after 5 failed deliveries', () => {
      // Assess
      expect(ORDER_MESSAGING_DEFAULTS.warehouseMaxReceiveCount).toBe(5);
      template.hasResourceProperties('AWS::SQS::Queue', {
        RedrivePolicy: {
          deadLetterTargetArn: {
            'Fn::GetAtt': [logicalId(messaging.warehouseDeadLetterQueue, stack), 'Arn'],
          },
          maxReceiveCount: 5,
        },
      });
      template.resourceCountIs('AWS::SQS::Queue', 2);
    });
  });

  it('takes the removal policy and the receive count from its props', () => {
    // Prepare
    const stack = new Stack(testApp(), 'Data');

    // Act
    new OrderMessaging(stack, 'Messaging', {
      removalPolicy: RemovalPolicy.DESTROY,
      warehouseMaxReceiveCount: 3,
    });

    // Assess
    const template = Template.fromStack(stack);
    for (const type of ['AWS::KMS::Key', 'AWS::SNS::Topic', 'AWS::SQS::Queue']) {
      for (const resource of Object.values(template.findResources(type))) {
        expect(resource.DeletionPolicy, type).toBe('Delete');
      }
    }
    template.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: Match.objectLike({ maxReceiveCount: 3 }),
    });
  });

  it.each([0, 1_001, 2.5])(
    'refuses a warehouseMaxReceiveCount of %d, naming it, before creating anything',
    (count) => {
      // Prepare
      const stack = new Stack(testApp(), 'Data');

      // Act
      const error = thrownBy(
        () => new OrderMessaging(stack, 'Messaging', { warehouseMaxReceiveCount: count }),
      );

      // Assess
      expect(error).toBeInstanceOf(InvalidPropsError);
      expect(error.message).toMatch(/^Data\/Messaging: invalid "warehouseMaxReceiveCount": /);
      expect(stack.node.findChild('Messaging').node.children).toHaveLength(0);
    },
  );

  it('lives in the stateful stack, so pipeline redeploys leave subscribers and the warehouse alone', () => {
    // Act
    const { stateful, stateless } = buildApp(testApp());

    // Assess
    expect(stateful.messaging).toBeInstanceOf(OrderMessaging);
    expect(Stack.of(stateful.messaging)).toBe(stateful);
    const data = Template.fromStack(stateful);
    data.resourceCountIs('AWS::SNS::Topic', 1);
    data.resourceCountIs('AWS::SQS::Queue', 2);
    const pipelineQueues = Object.values(Template.fromStack(stateless).findResources('AWS::SQS::Queue'));
    expect(pipelineQueues.filter((queue) => queue.Properties?.FifoQueue === true)).toEqual([]);
  });
});
