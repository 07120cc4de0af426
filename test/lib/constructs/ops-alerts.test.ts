import { type CfnResource, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { OpsAlerts, type OpsAlertsProps } from '../../../lib/constructs/ops-alerts.js';
import { InvalidPropsError } from '../../../lib/constructs/props-validation.js';
import { testApp, thrownBy } from '../../fixtures/cdk-app.js';

function synthesize(props?: OpsAlertsProps): { stack: Stack; ops: OpsAlerts; template: Template } {
  const stack = new Stack(testApp(), 'Ops');
  const ops = new OpsAlerts(stack, 'OpsAlerts', props);
  return { stack, ops, template: Template.fromStack(stack) };
}

describe('OpsAlerts', () => {
  it('encrypts the topic with a rotated key of its own that CloudWatch alarms may use', () => {
    // Act
    const { stack, ops, template } = synthesize();

    // Assess
    const keyId = stack.getLogicalId(ops.topicKey.node.defaultChild as CfnResource);
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } });
    template.hasResource('AWS::KMS::Key', {
      Properties: {
        EnableKeyRotation: true,
        KeyPolicy: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Principal: { Service: 'cloudwatch.amazonaws.com' },
              Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
              Effect: 'Allow',
              Condition: {
                StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
                ArnLike: { 'aws:SourceArn': Match.anyValue() },
              },
            }),
          ]),
        },
      },
      // It protects notifications in flight only: nothing is left to decrypt once the stack is gone.
      DeletionPolicy: 'Delete',
    });
  });

  it('lets CloudWatch alarms of this account, and only those, publish to the topic (issue 13)', () => {
    // Act
    const { stack, ops, template } = synthesize();

    // Assess: the topic policy replaces SNS's default one, so the Allow must be there explicitly.
    const topic = { Ref: stack.getLogicalId(ops.topic.node.defaultChild as CfnResource) };
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Sid: 'AllowCloudWatchAlarmsToPublish',
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Resource: topic,
            Condition: {
              StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
              ArnLike: {
                'aws:SourceArn': {
                  'Fn::Join': [
                    '',
                    [
                      'arn:',
                      { Ref: 'AWS::Partition' },
                      ':cloudwatch:',
                      { Ref: 'AWS::Region' },
                      ':',
                      { Ref: 'AWS::AccountId' },
                      ':alarm:*',
                    ],
                  ],
                },
              },
            },
          },
        ]),
      },
    });
  });

  it('refuses publishing to the topic without TLS', () => {
    // Act
    const { stack, ops, template } = synthesize();

    // Assess
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: stack.getLogicalId(ops.topic.node.defaultChild as CfnResource) }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sns:Publish',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it.each([
    [{ alarmEmail: 'ops@example.com' }, 1],
    [{}, 0],
  ])('with %j, subscribes %i e-mail address(es) to the topic', (props, subscriptions) => {
    // Act
    const { template } = synthesize(props);

    // Assess
    template.resourceCountIs('AWS::SNS::Subscription', subscriptions);
    if (subscriptions > 0) {
      template.hasResourceProperties('AWS::SNS::Subscription', {
        Protocol: 'email',
        Endpoint: 'ops@example.com',
      });
    }
  });

  it('creates one dashboard, with no hard-coded name', () => {
    // Act
    const { template } = synthesize();

    // Assess
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: Match.absent() });
    template.hasResourceProperties('AWS::SNS::Topic', { TopicName: Match.absent() });
  });

  it.each(['', 'ops', 'ops@'])('rejects the alarm e-mail %j before creating anything', (alarmEmail) => {
    // Prepare
    const stack = new Stack(testApp(), 'Ops');

    // Act
    const error = thrownBy(() => new OpsAlerts(stack, 'OpsAlerts', { alarmEmail }));

    // Assess
    expect(error).toBeInstanceOf(InvalidPropsError);
    expect(error.message).toMatch('Ops/OpsAlerts: invalid "alarmEmail": ');
    expect(stack.node.findChild('OpsAlerts').node.children).toHaveLength(0);
  });
});
