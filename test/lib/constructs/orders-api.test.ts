import { type CfnResource, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { CfnRole } from 'aws-cdk-lib/aws-iam';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createOrderBodySchema,
  patchOrderBodySchema,
  putVoteBodySchema,
} from '../../../lambdas/orders-api/schemas.js';
import { ENV } from '../../../lambdas/shared/env.js';
import { toApiGatewayJsonSchema } from '../../../lib/api-gateway-json-schema.js';
import type { StageConfig } from '../../../lib/config.js';
import { DataTables } from '../../../lib/constructs/data-tables.js';
import {
  GATEWAY_ERROR_TEMPLATE,
  OrdersApi,
  type OrdersApiProps,
} from '../../../lib/constructs/orders-api.js';
import { InvalidPropsError } from '../../../lib/constructs/props-validation.js';
import { testApp, testConfig, thrownBy } from '../../fixtures/cdk-app.js';

interface ApiStack {
  readonly stack: Stack;
  readonly tables: DataTables;
  readonly api: OrdersApi;
  readonly template: Template;
}

function synthesize(config: StageConfig = testConfig(), props: Partial<OrdersApiProps> = {}): ApiStack {
  const stack = new Stack(testApp(), 'Api');
  const tables = new DataTables(stack, 'Tables');
  const api = new OrdersApi(stack, 'OrdersApi', { config, tables, ...props });
  return { stack, tables, api, template: Template.fromStack(stack) };
}

function logicalId(construct: { node: { defaultChild?: unknown } }, stack: Stack): string {
  return stack.getLogicalId(construct.node.defaultChild as CfnResource);
}

/** The CloudFormation model schema of a zod schema: what the API's model must hold. */
function cfnSchemaOf(schema: z.ZodType): Record<string, unknown> {
  const { schema: version, ...rest } = toApiGatewayJsonSchema(z.toJSONSchema(schema, { target: 'draft-4' }));
  return { $schema: version, ...rest };
}

describe('OrdersApi', () => {
  let at: ApiStack;

  beforeAll(() => {
    at = synthesize();
  });

  it('serves exactly the routes of the orders API', () => {
    // Act
    const routes = at.api.api.methods.map((method) => `${method.httpMethod} ${method.resource.path}`);

    // Assess
    expect(routes.sort()).toEqual(
      [
        'POST /orders',
        'GET /orders/{orderId}',
        'PATCH /orders/{orderId}',
        'DELETE /orders/{orderId}',
        'PUT /polls/{pollId}/votes/{voterId}',
        'DELETE /polls/{pollId}/votes/{voterId}',
        'GET /polls/{pollId}/results',
      ].sort(),
    );
    at.template.resourceCountIs('AWS::ApiGateway::Method', 7);
  });

  it('names the API after its stack, so stages tell apart in the console', () => {
    // Assess
    at.template.hasResourceProperties('AWS::ApiGateway::RestApi', {
      Name: 'Api-orders',
      EndpointConfiguration: { Types: ['REGIONAL'] },
    });
  });

  it('requires IAM (SigV4) authorization on every method', () => {
    // Act
    const methods = Object.values(at.template.findResources('AWS::ApiGateway::Method'));

    // Assess
    expect(methods.map((method) => method.Properties.AuthorizationType)).toEqual(Array(7).fill('AWS_IAM'));
  });

  it('proxies every method to the handler, with no test-invoke permission', () => {
    // Prepare
    const handlerId = logicalId(at.api.handler.lambdaFunction, at.stack);

    // Act
    const methods = Object.values(at.template.findResources('AWS::ApiGateway::Method'));

    // Assess
    for (const method of methods) {
      expect(method.Properties.Integration.Type).toBe('AWS_PROXY');
      expect(JSON.stringify(method.Properties.Integration.Uri)).toContain(`"${handlerId}","Arn"`);
    }
    const permissions = Object.values(at.template.findResources('AWS::Lambda::Permission'));
    expect(permissions).toHaveLength(7);
    expect(JSON.stringify(permissions)).not.toContain('test-invoke-stage');
  });

  it('has one validator for bodies and parameters and one for parameters only', () => {
    // Assess
    at.template.resourceCountIs('AWS::ApiGateway::RequestValidator', 2);
    at.template.hasResourceProperties('AWS::ApiGateway::RequestValidator', {
      ValidateRequestBody: true,
      ValidateRequestParameters: true,
    });
    at.template.hasResourceProperties('AWS::ApiGateway::RequestValidator', {
      ValidateRequestBody: false,
      ValidateRequestParameters: true,
    });
  });

  it.each([
    ['createOrder', createOrderBodySchema],
    ['patchOrder', patchOrderBodySchema],
    ['putVote', putVoteBodySchema],
  ] as const)('models the %s body with the JSON Schema of its zod schema', (model, schema) => {
    // Assess
    at.template.hasResourceProperties('AWS::ApiGateway::Model', {
      RestApiId: { Ref: logicalId(at.api.api, at.stack) },
      ContentType: 'application/json',
      Schema: cfnSchemaOf(schema),
      Name: Match.absent(),
    });
    expect(at.api.models[model]).toBeDefined();
  });

  it.each([
    ['POST', '/orders', 'createOrder', []],
    ['PATCH', '/orders/{orderId}', 'patchOrder', ['orderId']],
    ['PUT', '/polls/{pollId}/votes/{voterId}', 'putVote', ['pollId', 'voterId']],
    ['GET', '/orders/{orderId}', undefined, ['orderId']],
    ['DELETE', '/orders/{orderId}', undefined, ['orderId']],
    ['DELETE', '/polls/{pollId}/votes/{voterId}', undefined, ['pollId', 'voterId']],
    ['GET', '/polls/{pollId}/results', undefined, ['pollId']],
  ] as const)(
    'validates %s %s: body model %s, required path parameters %j',
    (httpMethod, path, model, params) => {
      // Prepare
      const method = at.api.api.methods.find((m) => m.httpMethod === httpMethod && m.resource.path === path);
      const validator = model === undefined ? at.api.parametersValidator : at.api.bodyValidator;

      // Act
      const resource = at.template.toJSON().Resources[logicalId(method!, at.stack)];

      // Assess
      expect(resource.Properties.RequestValidatorId).toEqual({ Ref: logicalId(validator, at.stack) });
      expect(resource.Properties.RequestModels).toEqual(
        model === undefined
          ? undefined
          : { 'application/json': { Ref: logicalId(at.api.models[model], at.stack) } },
      );
      expect(resource.Properties.RequestParameters ?? {}).toEqual(
        Object.fromEntries(params.map((name) => [`method.request.path.${name}`, true])),
      );
    },
  );

  it.each(['DEFAULT_4XX', 'DEFAULT_5XX'])(
    'answers API Gateway %s errors with the JSON error shape of the Lambda',
    (type) => {
      // Assess
      at.template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
        ResponseType: type,
        ResponseTemplates: { 'application/json': GATEWAY_ERROR_TEMPLATE },
        ResponseParameters: {
          'gatewayresponse.header.Cache-Control': "'no-store'",
          'gatewayresponse.header.X-Content-Type-Options': "'nosniff'",
        },
      });
    },
  );

  it('renders gateway errors as {"error", "field"} JSON once API Gateway substitutes the quoted message', () => {
    // Act
    const body = GATEWAY_ERROR_TEMPLATE.replace(
      '$context.error.messageString',
      JSON.stringify('Invalid request body'),
    );

    // Assess
    expect(JSON.parse(body)).toEqual({ error: 'Invalid request body', field: null });
  });

  it('throttles, traces and logs errors (never data) on every method of the stage', () => {
    // Assess
    at.template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'v1',
      TracingEnabled: true,
      MethodSettings: [
        {
          HttpMethod: '*',
          ResourcePath: '/*',
          ThrottlingRateLimit: 25,
          ThrottlingBurstLimit: 50,
          LoggingLevel: 'ERROR',
          DataTraceEnabled: false,
        },
      ],
    });
  });

  it('writes JSON access logs to a log group kept for the stage retention', () => {
    // Prepare
    const logGroupId = logicalId(at.api.accessLogGroup, at.stack);
    const [stage] = Object.values(at.template.findResources('AWS::ApiGateway::Stage'));

    // Act
    const format = JSON.parse(stage?.Properties.AccessLogSetting.Format);

    // Assess
    expect(JSON.stringify(stage?.Properties.AccessLogSetting.DestinationArn)).toContain(
      `{"Ref":"${logGroupId}"}`,
    );
    expect(format).toMatchObject({
      requestId: '$context.requestId',
      status: '$context.status',
      userArn: '$context.identity.userArn',
      errorMessage: '$context.error.message',
    });
    expect(at.template.toJSON().Resources[logGroupId].Properties.RetentionInDays).toBe(30);
  });

  it('creates the execution log group with the stage retention before the stage can write to it', () => {
    // Prepare
    const logGroupId = logicalId(at.api.executionLogGroup, at.stack);

    // Assess
    at.template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: {
        'Fn::Join': ['', ['API-Gateway-Execution-Logs_', { Ref: logicalId(at.api.api, at.stack) }, '/v1']],
      },
      RetentionInDays: 30,
    });
    at.template.hasResource('AWS::ApiGateway::Stage', { DependsOn: Match.arrayWith([logGroupId]) });
  });

  it('leaves the account logging role alone by default', () => {
    // Assess
    at.template.resourceCountIs('AWS::ApiGateway::Account', 0);
  });

  it('sets the account logging role when the stage config says so', () => {
    // Act
    const { template } = synthesize(testConfig({ manageApiGatewayLoggingRole: true }));

    // Assess
    template.resourceCountIs('AWS::ApiGateway::Account', 1);
  });

  it('outputs the invoke URL of the stage', () => {
    // Assess
    at.template.hasOutput('*', {
      Value: {
        'Fn::Join': [
          '',
          Match.arrayWith([
            'https://',
            { Ref: logicalId(at.api.api, at.stack) },
            { Ref: logicalId(at.api.api.deploymentStage, at.stack) },
          ]),
        ],
      },
    });
  });

  it('tells the handler its tables, with a 10 s timeout', () => {
    // Assess
    at.template.hasResourceProperties('AWS::Lambda::Function', {
      Timeout: 10,
      MemorySize: 256,
      Environment: {
        Variables: Match.objectLike({
          [ENV.ORDERS_TABLE_NAME]: { Ref: logicalId(at.tables.orders, at.stack) },
          [ENV.VOTES_TABLE_NAME]: { Ref: logicalId(at.tables.votes, at.stack) },
          [ENV.POLL_RESULTS_TABLE_NAME]: { Ref: logicalId(at.tables.pollResults, at.stack) },
          [ENV.IDEMPOTENCY_TABLE_NAME]: { Ref: logicalId(at.tables.idempotency, at.stack) },
          [ENV.POWERTOOLS_SERVICE_NAME]: 'orders-api',
        }),
      },
    });
  });

  it.each([
    ['orders', true],
    ['votes', true],
    ['idempotency', true],
    ['pollResults', false],
  ] as const)('lets the handler read the %s table, and write it: %s', (table, writes) => {
    // Prepare
    const roleId = at.stack.getLogicalId(at.api.handler.role.node.defaultChild as CfnRole);
    const tableArn = { 'Fn::GetAtt': [logicalId(at.tables[table], at.stack), 'Arn'] };
    const statements = Object.values(at.template.findResources('AWS::IAM::Policy'))
      .filter((policy) => JSON.stringify(policy.Properties.Roles) === JSON.stringify([{ Ref: roleId }]))
      .flatMap(
        (policy) =>
          policy.Properties.PolicyDocument.Statement as Array<{ Action: string[]; Resource: unknown }>,
      );

    // Act
    const actions = statements
      .filter((statement) => JSON.stringify([statement.Resource].flat()).includes(JSON.stringify(tableArn)))
      .flatMap((statement) => statement.Action);

    // Assess
    expect(actions).toContain('dynamodb:GetItem');
    expect(actions.includes('dynamodb:PutItem')).toBe(writes);
  });

  it.each(['', 'v 1', 'v1/beta', 'x'.repeat(129)])(
    'rejects the stage name %j before creating anything',
    (stageName) => {
      // Prepare
      const stack = new Stack(testApp(), 'Api');
      const tables = new DataTables(stack, 'Tables');

      // Act
      const error = thrownBy(
        () => new OrdersApi(stack, 'OrdersApi', { config: testConfig(), tables, stageName }),
      );

      // Assess
      expect(error).toBeInstanceOf(InvalidPropsError);
      expect(error.message).toMatch('Api/OrdersApi: invalid "stageName": ');
      expect(stack.node.findChild('OrdersApi').node.children).toHaveLength(0);
    },
  );
});
