import { Stack } from 'aws-cdk-lib';
import { Key } from 'aws-cdk-lib/aws-kms';
import { describe, expect, it } from 'vitest';
import { iamWildcardResourceFinding } from '../../../lib/constructs/nag-findings.js';
import { testApp } from '../../fixtures/cdk-app.js';

describe('iamWildcardResourceFinding', () => {
  it.each<[string, (stack: Stack) => string, string]>([
    [
      'an ARN built from pseudo parameters',
      (stack) => `${stack.formatArn({ service: 'es', resource: 'domain', resourceName: 'orders-dev' })}/*`,
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:es:<AWS::Region>:<AWS::AccountId>:domain/orders-dev/*]',
    ],
    [
      'an attribute of a resource of the same stack',
      (stack) => `${new Key(stack, 'Key').keyArn}/*`,
      'AwsSolutions-IAM5[Resource::<Key961B73FD.Arn>/*]',
    ],
    ['a literal', () => 'arn:aws:s3:::bucket/*', 'AwsSolutions-IAM5[Resource::arn:aws:s3:::bucket/*]'],
  ])('names the finding of %s as cdk-nag does', (_case, resource, expected) => {
    // Prepare
    const stack = new Stack(testApp(), 'Stack');

    // Act
    const id = iamWildcardResourceFinding(stack, resource(stack));

    // Assess
    expect(id).toBe(expected);
  });

  it('refuses a resource without a wildcard, which has no finding to acknowledge', () => {
    // Prepare
    const stack = new Stack(testApp(), 'Stack');

    // Act
    const name = (): string => iamWildcardResourceFinding(stack, 'arn:aws:s3:::bucket');

    // Assess
    expect(name).toThrow('has no wildcard');
  });
});
