import { type CfnResource, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../../lib/app.js';
import { OrderMessaging } from '../../../lib/constructs/order-messaging.js';
import { testApp } from '../../fixtures/cdk-app.js';

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

    describe.each([['warehouse queue', (m: OrderMessaging) => m.warehouseQueue]])(
      'the %s',
      (_name, queueOf) => {
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
      },
    );

    it('scales the warehouse queue per message group (high-throughput FIFO)', () => {
      // Assess
      template.hasResourceProperties('AWS::SQS::Queue', {
        DeduplicationScope: 'messageGroup',
        FifoThroughputLimit: 'perMessageGroupId',
      });
    });

    it("has no dead-letter queue: one would break the order of an order's warehouse messages (issue 13)", () => {
      // Assess
      template.resourceCountIs('AWS::SQS::Queue', 1);
      template.hasResourceProperties('AWS::SQS::Queue', { RedrivePolicy: Match.absent() });
    });
  });

  it('takes the removal policy from its props', () => {
    // Prepare
    const stack = new Stack(testApp(), 'Data');

    // Act
    new OrderMessaging(stack, 'Messaging', { removalPolicy: RemovalPolicy.DESTROY });

    // Assess
    const template = Template.fromStack(stack);
    for (const type of ['AWS::KMS::Key', 'AWS::SNS::Topic', 'AWS::SQS::Queue']) {
      for (const resource of Object.values(template.findResources(type))) {
        expect(resource.DeletionPolicy, type).toBe('Delete');
      }
    }
  });

  it('lives in the stateful stack, so pipeline redeploys leave subscribers and the warehouse alone', () => {
    // Act
    const { stateful, stateless } = buildApp(testApp());

    // Assess
    expect(stateful.messaging).toBeInstanceOf(OrderMessaging);
    expect(Stack.of(stateful.messaging)).toBe(stateful);
    const data = Template.fromStack(stateful);
    data.resourceCountIs('AWS::SNS::Topic', 1);
    // The warehouse queue and the four consumers' DLQs.
    data.resourceCountIs('AWS::SQS::Queue', 5);
    const pipelineQueues = Object.values(Template.fromStack(stateless).findResources('AWS::SQS::Queue'));
    expect(pipelineQueues.filter((queue) => queue.Properties?.FifoQueue === true)).toEqual([]);
  });
});
