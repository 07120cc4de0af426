import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../../lib/app.js';
import type { StatelessStack } from '../../../lib/stateless-stack.js';
import { testApp } from '../../fixtures/cdk-app.js';

interface Statement {
  readonly Sid?: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: unknown;
}

describe('OperatorPolicy (the Pipelines stack)', () => {
  let stateless: StatelessStack;
  let template: Template;
  let statements: Statement[];

  beforeAll(() => {
    ({ stateless } = buildApp(testApp()));
    template = Template.fromStack(stateless);
    const [policy] = Object.values(
      template.findResources('AWS::IAM::ManagedPolicy', {
        Properties: { Description: Match.stringLikeRegexp('^Operator access') },
      }),
    );
    statements = policy?.Properties.PolicyDocument.Statement as Statement[];
  });

  const statement = (sid: string): Statement => {
    const found = statements.find((candidate) => candidate.Sid === sid);
    expect(found, sid).toBeDefined();
    return found!;
  };
  const actions = (sid: string): string[] => [statement(sid).Action].flat().sort();
  const resourceCount = (sid: string): number => [statement(sid).Resource].flat().length;

  it('is a managed policy exposed by the stack, attached to nothing', () => {
    // Assess
    expect(stateless.operatorPolicy.managedPolicyArn).toBeDefined();
    template.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      Description: Match.stringLikeRegexp('OrdersStreams-dev-Data, OrdersStreams-dev-Pipelines'),
      Roles: Match.absent(),
      Users: Match.absent(),
      Groups: Match.absent(),
    });
  });

  it("describes the stage's two stacks only", () => {
    // Act
    const resources = JSON.stringify(statement('DescribeStageStacks').Resource);

    // Assess
    expect(actions('DescribeStageStacks')).toEqual(['cloudformation:DescribeStacks']);
    expect(resources).toContain(':stack/OrdersStreams-dev-Data/*');
    expect(resources).toContain(':stack/OrdersStreams-dev-Pipelines/*');
  });

  it('uses * only for the actions without resource-level permissions', () => {
    // Act
    const wildcard = statements.filter((candidate) => candidate.Resource === '*');

    // Assess
    expect(wildcard.flatMap((candidate) => [candidate.Action].flat()).sort()).toEqual([
      'cloudwatch:DescribeAlarms',
      'cloudwatch:GetMetricData',
      'lambda:ListEventSourceMappings',
    ]);
  });

  it.each([
    ['ReadEventSourceMappings', ['lambda:GetEventSourceMapping'], 4],
    ['InvokeConsumers', ['lambda:InvokeFunction'], 4],
    [
      'HandleDeadLetters',
      ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ReceiveMessage'],
      4,
    ],
    ['ReadStreams', ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'], 2],
    ['ScanOrders', ['dynamodb:Scan'], 1],
    ['ReconcileVotes', ['dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:Scan'], 1],
    ['ReconcilePollResults', ['dynamodb:GetItem', 'dynamodb:Scan', 'dynamodb:UpdateItem'], 1],
    ['ReadAuditObjects', ['s3:GetObject'], 1],
    ['ListAuditBucket', ['s3:ListBucket'], 1],
    ['DecryptAuditObjects', ['kms:Decrypt'], 1],
    ['InvokeOrdersApi', ['execute-api:Invoke'], 1],
    ['BackfillSearch', ['es:ESHttpGet', 'es:ESHttpPost', 'es:ESHttpPut'], 1],
    ['DecryptStreamRecords', ['kms:Decrypt'], 1],
  ])('%s allows %j on %i resources', (sid, expected, count) => {
    // Assess
    expect(actions(sid)).toEqual([...expected].sort());
    expect(resourceCount(sid)).toBe(count);
  });

  it("names the consumers' functions and mappings, the DLQs of the data stack, and the API's stage", () => {
    // Act
    const functions = JSON.stringify(statement('InvokeConsumers').Resource);
    const mappings = JSON.stringify(statement('ReadEventSourceMappings').Resource);
    const queues = JSON.stringify(statement('HandleDeadLetters').Resource);
    const api = JSON.stringify(statement('InvokeOrdersApi').Resource);

    // Assess
    for (const id of ['OrderFanout', 'SearchSync', 'AuditLog', 'VoteAggregator']) {
      expect(functions).toContain(`${id}ConsumerFunction`);
      expect(mappings).toContain(`${id}ConsumerMapping`);
    }
    expect(mappings).toContain(':event-source-mapping:');
    expect(queues.match(/Fn::GetStackOutput/g)).toHaveLength(4);
    expect(api).toContain('OrdersApiDeploymentStage');
    expect(api).toContain('"/*/*"');
  });

  it('uses the keys of the tables and of the audit bucket only through their services', () => {
    // Assess
    expect(statement('DecryptAuditObjects').Condition).toEqual({
      StringEquals: {
        'kms:ViaService': {
          'Fn::Join': ['', ['s3.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }]],
        },
      },
    });
    expect(statement('UseTablesKey').Condition).toEqual({
      StringEquals: {
        'kms:ViaService': {
          'Fn::Join': ['', ['dynamodb.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }]],
        },
      },
    });
    expect(actions('UseTablesKey')).toEqual(
      expect.arrayContaining(['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey']),
    );
  });
});
