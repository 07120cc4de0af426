import { type CfnResource, Duration, Stack, Token } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { CfnTable } from 'aws-cdk-lib/aws-dynamodb';
import type { CfnRole } from 'aws-cdk-lib/aws-iam';
import type { CfnKey } from 'aws-cdk-lib/aws-kms';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Runtime } from 'aws-cdk-lib/aws-lambda';
import type { CfnLogGroup } from 'aws-cdk-lib/aws-logs';
import { CfnTemplate } from 'aws-cdk-lib/aws-ses';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ENV, METRICS_NAMESPACE } from '../../../lambdas/shared/env.js';
import {
  BaseFunction,
  type BaseFunctionProps,
  type BulkEmailSending,
  DYNAMODB_ITEM_ACTIONS,
  type DynamoDbItemAction,
  ES_HTTP_ACTIONS,
  type SearchDomainAccess,
  type SearchDomainTarget,
} from '../../../lib/constructs/base-function.js';
import { DataTables } from '../../../lib/constructs/data-tables.js';
import { InvalidPropsError } from '../../../lib/constructs/props-validation.js';
import {
  acknowledgedRuleIds,
  DUMMY_CONSUMER_ENTRY,
  esArn,
  sesArn,
  testApp,
  testConfig,
  thrownBy,
  viaService,
} from '../../fixtures/cdk-app.js';

interface Statement {
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: unknown;
}

function newStack(): Stack {
  return new Stack(testApp(), 'Functions');
}

function baseProps(overrides: Partial<BaseFunctionProps> = {}): BaseFunctionProps {
  return { config: testConfig(), entry: DUMMY_CONSUMER_ENTRY, serviceName: 'sample', ...overrides };
}

/** The statements of the function role's policies (the default one and any other), flattened. */
function roleStatements(template: Template, stack: Stack, fn: BaseFunction): Statement[] {
  const roleId = stack.getLogicalId(fn.role.node.defaultChild as CfnRole);
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((policy) => JSON.stringify(policy.Properties.Roles) === JSON.stringify([{ Ref: roleId }]))
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[]);
}

function actionsOf(statement: Statement): string[] {
  return Array.isArray(statement.Action) ? statement.Action : [statement.Action];
}

describe('BaseFunction', () => {
  describe('defaults', () => {
    let stack: Stack;
    let fn: BaseFunction;
    let template: Template;

    beforeAll(() => {
      stack = newStack();
      fn = new BaseFunction(stack, 'Sample', baseProps({ description: 'A sample' }));
      template = Template.fromStack(stack);
    });

    it('runs on the newest Node.js runtime aws-cdk-lib knows, on ARM64, with active tracing', () => {
      // Prepare
      const newestNode = Runtime.ALL.filter((runtime) => /^nodejs\d+\.x$/.test(runtime.name))
        .map((runtime) => runtime.name)
        .sort((a, b) => a.localeCompare(b, undefined, { numeric: true }))
        .at(-1);

      // Assess
      expect(newestNode).toBe(Runtime.NODEJS_24_X.name);
      template.hasResourceProperties('AWS::Lambda::Function', {
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
        Handler: 'index.handler',
        Description: 'A sample',
      });
    });

    it('takes its memory from the stage config, times out after 30 seconds and reserves no concurrency', () => {
      // Assess
      template.hasResourceProperties('AWS::Lambda::Function', {
        MemorySize: 256,
        Timeout: 30,
        ReservedConcurrentExecutions: Match.absent(),
      });
    });

    it('logs JSON into a log group of its own, kept for the stage retention and retained on deletion', () => {
      // Prepare
      const logGroupId = stack.getLogicalId(fn.logGroup.node.defaultChild as CfnLogGroup);

      // Assess
      template.hasResourceProperties('AWS::Lambda::Function', {
        LoggingConfig: { LogFormat: 'JSON', LogGroup: { Ref: logGroupId } },
      });
      template.hasResource('AWS::Logs::LogGroup', {
        Properties: { RetentionInDays: 30 },
        DeletionPolicy: 'Retain',
      });
    });

    it('sets the Powertools service and namespace, and no NODE_OPTIONS: source maps are not loaded at run time', () => {
      // Assess
      template.hasResourceProperties('AWS::Lambda::Function', {
        Environment: {
          Variables: {
            [ENV.POWERTOOLS_SERVICE_NAME]: 'sample',
            [ENV.POWERTOOLS_METRICS_NAMESPACE]: METRICS_NAMESPACE,
            NODE_OPTIONS: Match.absent(),
          },
        },
      });
    });

    it('has a role of its own that may write to its log group only, with no managed policy', () => {
      // Prepare
      const logGroupId = stack.getLogicalId(fn.logGroup.node.defaultChild as CfnLogGroup);

      // Assess
      template.resourceCountIs('AWS::IAM::Role', 1);
      template.hasResourceProperties('AWS::IAM::Role', {
        AssumeRolePolicyDocument: {
          Statement: [Match.objectLike({ Principal: { Service: 'lambda.amazonaws.com' } })],
        },
        ManagedPolicyArns: Match.absent(),
        Policies: [
          {
            PolicyName: 'WriteOwnLogs',
            PolicyDocument: {
              Statement: [
                {
                  Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
                  Effect: 'Allow',
                  Resource: { 'Fn::GetAtt': [logGroupId, 'Arn'] },
                },
              ],
              Version: '2012-10-17',
            },
          },
        ],
      });
    });

    it('has no wildcard resource but the one X-Ray needs', () => {
      // Act
      const wildcards = roleStatements(template, stack, fn).filter((statement) => statement.Resource === '*');

      // Assess
      expect(wildcards.flatMap(actionsOf).sort()).toEqual([
        'xray:PutTelemetryRecords',
        'xray:PutTraceSegments',
      ]);
    });
  });

  it('takes memory and timeout from its props when given', () => {
    // Prepare
    const stack = newStack();

    // Act
    new BaseFunction(stack, 'Sample', baseProps({ memorySize: 1769, timeout: Duration.minutes(2) }));

    // Assess
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
      MemorySize: 1769,
      Timeout: 120,
    });
  });

  it.each([1, 1_000])('reserves %i concurrent executions when told to', (reserved) => {
    // Prepare
    const stack = newStack();

    // Act
    new BaseFunction(stack, 'Sample', baseProps({ reservedConcurrentExecutions: reserved }));

    // Assess
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
      ReservedConcurrentExecutions: reserved,
    });
  });

  describe('bindSearchDomain', () => {
    const domain: SearchDomainTarget = {
      domainName: 'orders-test',
      domainEndpoint: 'search-x.eu-west-1.es.amazonaws.com',
    };

    function bound(access: SearchDomainAccess): { stack: Stack; fn: BaseFunction; template: Template } {
      const stack = newStack();
      const fn = new BaseFunction(stack, 'Sample', baseProps()).bindSearchDomain(
        ENV.OPENSEARCH_ENDPOINT,
        domain,
        access,
      );
      return { stack, fn, template: Template.fromStack(stack) };
    }

    it('grants the methods on the paths of the domain only, sorted, and sets the https URL', () => {
      // Act
      const { stack, fn, template } = bound({
        paths: ['orders/_search', 'orders', 'orders/_search'],
        actions: ['es:ESHttpPost', 'es:ESHttpGet', 'es:ESHttpPost'],
      });

      // Assess
      const searchStatements = roleStatements(template, stack, fn).filter((statement) =>
        actionsOf(statement).some((action) => action.startsWith('es:')),
      );
      expect(searchStatements).toEqual([
        {
          Action: ['es:ESHttpGet', 'es:ESHttpPost'],
          Effect: 'Allow',
          Resource: [esArn(':domain/orders-test/orders'), esArn(':domain/orders-test/orders/_search')],
        },
      ]);
      template.hasResourceProperties('AWS::Lambda::Function', {
        Environment: {
          Variables: Match.objectLike({
            [ENV.OPENSEARCH_ENDPOINT]: 'https://search-x.eu-west-1.es.amazonaws.com',
          }),
        },
      });
    });

    it('acknowledges AwsSolutions-IAM5 for exactly each wildcard path, and for none without one', () => {
      // Act
      const wildcard = bound({ paths: ['orders', 'orders/*'], actions: ['es:ESHttpPut'] });
      const exact = bound({ paths: ['orders/_search'], actions: ['es:ESHttpGet'] });

      // Assess
      const ids = (fn: BaseFunction): string[] =>
        acknowledgedRuleIds(fn.role.node.findChild('DefaultPolicy')).filter((id) =>
          id.startsWith('AwsSolutions-IAM5[Resource::arn'),
        );
      expect(ids(wildcard.fn)).toEqual([
        'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:es:<AWS::Region>:<AWS::AccountId>:domain/orders-test/orders/*]',
      ]);
      expect(ids(exact.fn)).toEqual([]);
    });

    it('knows the six HTTP methods of the OpenSearch data plane', () => {
      // Assess
      expect([...ES_HTTP_ACTIONS]).toEqual([
        'es:ESHttpDelete',
        'es:ESHttpGet',
        'es:ESHttpHead',
        'es:ESHttpPatch',
        'es:ESHttpPost',
        'es:ESHttpPut',
      ]);
    });

    it.each<[string, Partial<SearchDomainTarget>, Partial<SearchDomainAccess>, string]>([
      ['a domain name token', { domainName: Token.asString({ Ref: 'Name' }) }, {}, 'domain.domainName'],
      ['an upper-case domain name', { domainName: 'Orders' }, {}, 'domain.domainName'],
      ['a two-letter domain name', { domainName: 'or' }, {}, 'domain.domainName'],
      [
        'an endpoint with a scheme',
        { domainEndpoint: 'https://search-x.es.amazonaws.com' },
        {},
        'domain.domainEndpoint',
      ],
      ['an empty endpoint', { domainEndpoint: '' }, {}, 'domain.domainEndpoint'],
      ['no paths', {}, { paths: [] }, 'access.paths'],
      ['the whole domain', {}, { paths: ['*'] }, 'access.paths[0]'],
      ['a leading slash', {}, { paths: ['/orders'] }, 'access.paths[0]'],
      ['a wildcard inside a segment', {}, { paths: ['orders', 'ord*'] }, 'access.paths[1]'],
      ['a wildcard before the end', {}, { paths: ['*/_search'] }, 'access.paths[0]'],
      ['a dot segment', {}, { paths: ['orders/../other'] }, 'access.paths[0]'],
      ['no actions', {}, { actions: [] }, 'access.actions'],
      ['a control-plane action', {}, { actions: ['es:DeleteDomain' as never] }, 'access.actions'],
    ])('refuses %s, naming the field, before granting anything', (_case, target, access, prop) => {
      // Prepare
      const stack = newStack();
      const fn = new BaseFunction(stack, 'Sample', baseProps());

      // Act
      const error = thrownBy(() =>
        fn.bindSearchDomain(
          ENV.OPENSEARCH_ENDPOINT,
          { ...domain, ...target },
          { paths: ['orders'], actions: ['es:ESHttpGet'], ...access },
        ),
      );

      // Assess
      expect(error).toBeInstanceOf(InvalidPropsError);
      expect(error.message).toMatch(`Functions/Sample: invalid "${prop}": `);
      const statements = roleStatements(Template.fromStack(stack), stack, fn);
      expect(statements.flatMap(actionsOf).filter((action) => action.startsWith('es:'))).toEqual([]);
    });

    it('refuses to bind a variable that is set already', () => {
      // Prepare
      const fn = new BaseFunction(newStack(), 'Sample', baseProps()).addEnvironment(
        ENV.OPENSEARCH_ENDPOINT,
        'x',
      );

      // Act
      const act = (): unknown =>
        fn.bindSearchDomain(ENV.OPENSEARCH_ENDPOINT, domain, {
          paths: ['orders'],
          actions: ['es:ESHttpGet'],
        });

      // Assess
      expect(act).toThrow(`invalid "${ENV.OPENSEARCH_ENDPOINT}"`);
    });
  });

  describe('bindTable', () => {
    it.each([
      [
        'read',
        [
          'dynamodb:BatchGetItem',
          'dynamodb:ConditionCheckItem',
          'dynamodb:DescribeTable',
          'dynamodb:GetItem',
          'dynamodb:Query',
          'dynamodb:Scan',
        ],
        ['kms:Decrypt', 'kms:DescribeKey'],
      ],
      [
        'readWrite',
        [
          'dynamodb:BatchGetItem',
          'dynamodb:BatchWriteItem',
          'dynamodb:ConditionCheckItem',
          'dynamodb:DeleteItem',
          'dynamodb:DescribeTable',
          'dynamodb:GetItem',
          'dynamodb:PutItem',
          'dynamodb:Query',
          'dynamodb:Scan',
          'dynamodb:UpdateItem',
        ],
        [
          'kms:Decrypt',
          'kms:DescribeKey',
          'kms:Encrypt',
          'kms:GenerateDataKey',
          'kms:GenerateDataKeyWithoutPlaintext',
          'kms:ReEncryptFrom',
          'kms:ReEncryptTo',
        ],
      ],
    ] as const)(
      'grants %s access to the items and the key (through DynamoDB only), and sets the name',
      (access, tableActions, keyActions) => {
        // Prepare
        const stack = newStack();
        const tables = new DataTables(stack, 'Tables');
        const fn = new BaseFunction(stack, 'Sample', baseProps());
        const tableId = stack.getLogicalId(tables.orders.node.defaultChild as CfnTable);

        // Act
        fn.bindTable(ENV.ORDERS_TABLE_NAME, tables.orders, access);

        // Assess
        const template = Template.fromStack(stack);
        const statements = roleStatements(template, stack, fn);
        expect(statements).toContainEqual({
          Action: [...tableActions],
          Effect: 'Allow',
          Resource: { 'Fn::GetAtt': [tableId, 'Arn'] },
        });
        expect(statements).toContainEqual({
          Action: [...keyActions],
          Effect: 'Allow',
          Resource: { 'Fn::GetAtt': [stack.getLogicalId(tables.key.node.defaultChild as CfnKey), 'Arn'] },
          Condition: { StringEquals: { 'kms:ViaService': viaService('dynamodb') } },
        });
        expect(
          statements.flatMap(actionsOf).some((action) => action.includes('*') && !action.startsWith('xray:')),
        ).toBe(false);
        template.hasResourceProperties('AWS::Lambda::Function', {
          Environment: { Variables: Match.objectLike({ [ENV.ORDERS_TABLE_NAME]: { Ref: tableId } }) },
        });
      },
    );
  });

  describe('bindTable with a list of actions', () => {
    const KEY_READ = ['kms:Decrypt', 'kms:DescribeKey'];
    const KEY_READ_WRITE = [
      ...KEY_READ,
      'kms:Encrypt',
      'kms:GenerateDataKey',
      'kms:GenerateDataKeyWithoutPlaintext',
      'kms:ReEncryptFrom',
      'kms:ReEncryptTo',
    ];

    it.each<[string, DynamoDbItemAction[], string | string[], string[]]>([
      ['one write action', ['dynamodb:UpdateItem'], 'dynamodb:UpdateItem', KEY_READ_WRITE],
      [
        'reads and writes, unsorted and repeated',
        ['dynamodb:UpdateItem', 'dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
        ['dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
        KEY_READ_WRITE,
      ],
      [
        'reads only',
        ['dynamodb:GetItem', 'dynamodb:BatchGetItem'],
        ['dynamodb:BatchGetItem', 'dynamodb:GetItem'],
        KEY_READ,
      ],
    ])(
      'grants exactly %s on the table, the key through DynamoDB only, and sets the name',
      (_case, actions, tableActions, keyActions) => {
        // Prepare
        const stack = newStack();
        const tables = new DataTables(stack, 'Tables');
        const fn = new BaseFunction(stack, 'Sample', baseProps());
        const tableId = stack.getLogicalId(tables.inventory.node.defaultChild as CfnTable);

        // Act
        fn.bindTable(ENV.INVENTORY_TABLE_NAME, tables.inventory, actions);

        // Assess
        const template = Template.fromStack(stack);
        const statements = roleStatements(template, stack, fn).filter(
          (statement) => !actionsOf(statement).some((action) => action.startsWith('xray:')),
        );
        expect(statements).toEqual([
          { Action: tableActions, Effect: 'Allow', Resource: { 'Fn::GetAtt': [tableId, 'Arn'] } },
          {
            Action: keyActions,
            Effect: 'Allow',
            Resource: { 'Fn::GetAtt': [stack.getLogicalId(tables.key.node.defaultChild as CfnKey), 'Arn'] },
            Condition: { StringEquals: { 'kms:ViaService': viaService('dynamodb') } },
          },
        ]);
        template.hasResourceProperties('AWS::Lambda::Function', {
          Environment: { Variables: Match.objectLike({ [ENV.INVENTORY_TABLE_NAME]: { Ref: tableId } }) },
        });
      },
    );

    it('knows the actions of both modes, and no more', () => {
      // Assess
      expect(DYNAMODB_ITEM_ACTIONS).toEqual([
        'dynamodb:BatchGetItem',
        'dynamodb:BatchWriteItem',
        'dynamodb:ConditionCheckItem',
        'dynamodb:DeleteItem',
        'dynamodb:DescribeTable',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'dynamodb:Scan',
        'dynamodb:UpdateItem',
      ]);
    });

    it.each<[string, DynamoDbItemAction[], string]>([
      ['an empty list', [], 'non-empty list'],
      [
        'an unknown action',
        ['dynamodb:UpdateItem', 'dynamodb:TransactWriteItems'],
        '"dynamodb:TransactWriteItems"',
      ],
      ['a wildcard', ['dynamodb:*'], '"dynamodb:*"'],
      ['a table-level action', ['dynamodb:DeleteTable'], '"dynamodb:DeleteTable"'],
    ])('refuses %s, naming "access", and binds nothing', (_case, actions, detail) => {
      // Prepare
      const stack = newStack();
      const tables = new DataTables(stack, 'Tables');
      const fn = new BaseFunction(stack, 'Sample', baseProps());

      // Act
      const error = thrownBy(() => fn.bindTable(ENV.INVENTORY_TABLE_NAME, tables.inventory, actions));

      // Assess
      expect(error).toBeInstanceOf(InvalidPropsError);
      expect(error.message).toMatch(/^Functions\/Sample: invalid "access": /);
      expect(error.message).toContain(detail);
      // The variable is still free: nothing was claimed or granted.
      expect(() => fn.bindTable(ENV.INVENTORY_TABLE_NAME, tables.inventory, 'read')).not.toThrow();
    });
  });

  describe('bindBulkEmailSending', () => {
    it('grants ses:SendBulkEmail on the identity and each template only, and sets the variables', () => {
      // Prepare
      const stack = newStack();
      const fn = new BaseFunction(stack, 'Sample', baseProps());
      const placed = new CfnTemplate(stack, 'Placed', { template: { subjectPart: 'Placed {{orderId}}' } });

      // Act
      fn.bindBulkEmailSending(ENV.EMAIL_FROM_ADDRESS, {
        fromAddress: 'orders@example.com',
        identity: 'example.com',
        templates: [
          { envName: ENV.EMAIL_TEMPLATE_PLACED, templateName: placed.ref },
          { envName: ENV.EMAIL_TEMPLATE_SHIPPED, templateName: 'shipped-v1' },
        ],
      });

      // Assess
      const template = Template.fromStack(stack);
      const statements = roleStatements(template, stack, fn).filter((statement) =>
        actionsOf(statement).some((action) => action.startsWith('ses:')),
      );
      expect(statements).toEqual([
        {
          Action: 'ses:SendBulkEmail',
          Effect: 'Allow',
          Resource: [
            sesArn(':identity/example.com'),
            sesArn(':template/', { Ref: stack.getLogicalId(placed) }),
            sesArn(':template/shipped-v1'),
          ],
        },
      ]);
      template.hasResourceProperties('AWS::Lambda::Function', {
        Environment: {
          Variables: Match.objectLike({
            [ENV.EMAIL_FROM_ADDRESS]: 'orders@example.com',
            [ENV.EMAIL_TEMPLATE_PLACED]: { Ref: stack.getLogicalId(placed) },
            [ENV.EMAIL_TEMPLATE_SHIPPED]: 'shipped-v1',
          }),
        },
      });
    });

    it.each<[string, Partial<BulkEmailSending>, string]>([
      ['a From address that is no address', { fromAddress: 'orders' }, 'fromAddress'],
      ['an identity with a space', { identity: 'example com' }, 'identity'],
      ['no template', { templates: [] }, 'templates'],
      [
        'a template name SES refuses',
        { templates: [{ envName: ENV.EMAIL_TEMPLATE_PLACED, templateName: 'placed order' }] },
        'templates[0].templateName',
      ],
      [
        'the From variable again as a template variable',
        { templates: [{ envName: ENV.EMAIL_FROM_ADDRESS, templateName: 'placed' }] },
        'templates',
      ],
    ])('refuses %s, naming the field', (_case, overrides, prop) => {
      // Prepare
      const fn = new BaseFunction(newStack(), 'Sample', baseProps());
      const sending: BulkEmailSending = {
        fromAddress: 'orders@example.com',
        identity: 'example.com',
        templates: [{ envName: ENV.EMAIL_TEMPLATE_PLACED, templateName: 'placed' }],
        ...overrides,
      };

      // Act
      const error = thrownBy(() => fn.bindBulkEmailSending(ENV.EMAIL_FROM_ADDRESS, sending));

      // Assess
      expect(error).toBeInstanceOf(InvalidPropsError);
      expect(error.message).toMatch(`Functions/Sample: invalid "${prop}": `);
    });

    it('refuses a template variable that is bound already', () => {
      // Prepare
      const fn = new BaseFunction(newStack(), 'Sample', baseProps()).addEnvironment(
        ENV.EMAIL_TEMPLATE_PLACED,
        'x',
      );

      // Act
      const act = (): unknown =>
        fn.bindBulkEmailSending(ENV.EMAIL_FROM_ADDRESS, {
          fromAddress: 'orders@example.com',
          identity: 'example.com',
          templates: [{ envName: ENV.EMAIL_TEMPLATE_PLACED, templateName: 'placed' }],
        });

      // Assess
      expect(act).toThrow(`invalid "${ENV.EMAIL_TEMPLATE_PLACED}"`);
    });
  });

  describe('bindQueue', () => {
    it.each([
      [QueueEncryption.KMS_MANAGED, false],
      [QueueEncryption.SQS_MANAGED, false],
      [QueueEncryption.KMS, true],
    ])(
      'grants sending to a queue encrypted with %s (key grant: %s) and sets its URL',
      (encryption, keyGrant) => {
        // Prepare
        const stack = newStack();
        const queue = new Queue(stack, 'Queue', { encryption });
        const fn = new BaseFunction(stack, 'Sample', baseProps());

        // Act
        fn.bindQueue(ENV.DEAD_LETTER_QUEUE_URL, queue);

        // Assess
        const template = Template.fromStack(stack);
        const statements = roleStatements(template, stack, fn);
        expect(statements).toContainEqual({
          Action: 'sqs:SendMessage',
          Effect: 'Allow',
          Resource: { 'Fn::GetAtt': [stack.getLogicalId(queue.node.defaultChild as CfnResource), 'Arn'] },
        });
        const keyStatements = statements.filter((statement) =>
          actionsOf(statement).some((a) => a.startsWith('kms:')),
        );
        expect(keyStatements).toHaveLength(keyGrant ? 1 : 0);
        if (keyGrant) {
          expect(keyStatements[0]).toMatchObject({
            Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
            Condition: { StringEquals: { 'kms:ViaService': viaService('sqs') } },
          });
        }
        template.hasResourceProperties('AWS::Lambda::Function', {
          Environment: {
            Variables: Match.objectLike({
              [ENV.DEAD_LETTER_QUEUE_URL]: {
                Ref: stack.getLogicalId(queue.node.defaultChild as CfnResource),
              },
            }),
          },
        });
      },
    );
  });

  describe('bindTopic', () => {
    it('grants publishing to the topic and using its key, and sets its ARN', () => {
      // Prepare
      const stack = newStack();
      const key = new Key(stack, 'Key');
      const topic = new Topic(stack, 'Topic', { masterKey: key });
      const fn = new BaseFunction(stack, 'Sample', baseProps());

      // Act
      fn.bindTopic(ENV.DEAD_LETTER_QUEUE_URL, topic);

      // Assess
      const template = Template.fromStack(stack);
      const statements = roleStatements(template, stack, fn);
      const topicId = stack.getLogicalId(topic.node.defaultChild as CfnResource);
      expect(statements).toContainEqual({
        Action: 'sns:Publish',
        Effect: 'Allow',
        Resource: { Ref: topicId },
      });
      expect(statements).toContainEqual({
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [stack.getLogicalId(key.node.defaultChild as CfnKey), 'Arn'] },
        Condition: { StringEquals: { 'kms:ViaService': viaService('sns') } },
      });
      template.hasResourceProperties('AWS::Lambda::Function', {
        Environment: { Variables: Match.objectLike({ [ENV.DEAD_LETTER_QUEUE_URL]: { Ref: topicId } }) },
      });
    });
  });

  describe('environment names', () => {
    it.each([
      [
        'a second binding',
        (fn: BaseFunction, queue: Queue) => fn.bindQueue(ENV.DEAD_LETTER_QUEUE_URL, queue),
      ],
      ['a plain variable', (fn: BaseFunction) => fn.addEnvironment(ENV.DEAD_LETTER_QUEUE_URL, 'x')],
    ])('refuses %s of a variable that is bound already', (_case, rebind) => {
      // Prepare
      const stack = newStack();
      const queue = new Queue(stack, 'Queue');
      const fn = new BaseFunction(stack, 'Sample', baseProps()).bindQueue(ENV.DEAD_LETTER_QUEUE_URL, queue);

      // Act
      const error = thrownBy(() => rebind(fn, queue));

      // Assess
      expect(error).toBeInstanceOf(InvalidPropsError);
      expect(error.message).toBe(
        `Functions/Sample: invalid "${ENV.DEAD_LETTER_QUEUE_URL}": this environment variable is already set on the function`,
      );
    });

    it('refuses to bind a variable that the props set already', () => {
      // Prepare
      const stack = newStack();
      const queue = new Queue(stack, 'Queue');
      const fn = new BaseFunction(
        stack,
        'Sample',
        baseProps({ environment: { [ENV.DEAD_LETTER_QUEUE_URL]: 'x' } }),
      );

      // Act
      const act = (): unknown => fn.bindQueue(ENV.DEAD_LETTER_QUEUE_URL, queue);

      // Assess
      expect(act).toThrow(InvalidPropsError);
    });

    it.each([ENV.POWERTOOLS_SERVICE_NAME, ENV.POWERTOOLS_METRICS_NAMESPACE, 'NODE_OPTIONS'])(
      'refuses to add %s, which is for it alone to set or leave unset',
      (name) => {
        // Prepare
        const fn = new BaseFunction(newStack(), 'Sample', baseProps());

        // Act
        const act = (): unknown => fn.addEnvironment(name, 'x');

        // Assess
        expect(act).toThrow(InvalidPropsError);
      },
    );
  });

  describe('props validation', () => {
    it.each<[string, Partial<BaseFunctionProps>, string]>([
      ['an upper-case service name', { serviceName: 'Orders' }, 'serviceName'],
      ['a one-letter service name', { serviceName: 'o' }, 'serviceName'],
      ['a service name with a space', { serviceName: 'orders api' }, 'serviceName'],
      ['a relative entry', { entry: 'test/fixtures/dummy-consumer/handler.ts' }, 'entry'],
      ['an entry that does not exist', { entry: '/nonexistent/handler.ts' }, 'entry'],
      ['127 MB', { memorySize: 127 }, 'memorySize'],
      ['10,241 MB', { memorySize: 10_241 }, 'memorySize'],
      ['a fractional memory size', { memorySize: 512.5 }, 'memorySize'],
      ['a timeout under a second', { timeout: Duration.millis(500) }, 'timeout'],
      ['a timeout of fractional seconds', { timeout: Duration.millis(1500) }, 'timeout'],
      ['a timeout over 15 minutes', { timeout: Duration.minutes(16) }, 'timeout'],
      ['a timeout token', { timeout: Duration.seconds(Token.asNumber({ Ref: 'Timeout' })) }, 'timeout'],
      [
        'no reserved concurrency (0 stops the function)',
        { reservedConcurrentExecutions: 0 },
        'reservedConcurrentExecutions',
      ],
      [
        'a reservation over the default quota',
        { reservedConcurrentExecutions: 1_001 },
        'reservedConcurrentExecutions',
      ],
      ['a fractional reservation', { reservedConcurrentExecutions: 2.5 }, 'reservedConcurrentExecutions'],
      [
        'NODE_OPTIONS in the environment',
        { environment: { NODE_OPTIONS: '--inspect' } },
        'environment.NODE_OPTIONS',
      ],
      [
        'the Powertools service name in the environment',
        { environment: { [ENV.POWERTOOLS_SERVICE_NAME]: 'other' } },
        `environment.${ENV.POWERTOOLS_SERVICE_NAME}`,
      ],
    ])('rejects %s, naming the prop', (_case, overrides, prop) => {
      // Prepare
      const stack = newStack();

      // Act
      const error = thrownBy(() => new BaseFunction(stack, 'Sample', baseProps(overrides)));

      // Assess
      expect(error).toBeInstanceOf(InvalidPropsError);
      expect(error.message).toMatch(`Functions/Sample: invalid "${prop}": `);
      // Validated before anything was created.
      expect(stack.node.findChild('Sample').node.children).toHaveLength(0);
    });
  });
});
