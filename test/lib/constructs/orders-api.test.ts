import { type CfnResource, Stack, Token } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { CfnRole } from 'aws-cdk-lib/aws-iam';
import { beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import {
  createOrderBodySchema,
  patchOrderBodySchema,
  putVoteBodySchema,
} from '../../../lambdas/orders-api/schemas.js';
import { ENV } from '../../../lambdas/shared/env.js';
import { toApiGatewayJsonSchema } from '../../../lib/api-gateway-json-schema.js';
import type { StageConfig } from '../../../lib/config.js';
import type { SearchDomainTarget } from '../../../lib/constructs/base-function.js';
import { DataTables } from '../../../lib/constructs/data-tables.js';
import {
  GATEWAY_ERROR_TEMPLATE,
  ORDERS_API_SEARCH_ACCESS,
  OrdersApi,
  type OrdersApiProps,
  SEARCH_ORDERS_QUERY_PARAMETERS,
} from '../../../lib/constructs/orders-api.js';
import { InvalidPropsError } from '../../../lib/constructs/props-validation.js';
import { SearchDomain } from '../../../lib/constructs/search-domain.js';
import { acknowledgedRuleIds, esArn, testApp, testConfig, thrownBy } from '../../fixtures/cdk-app.js';

interface ApiStack {
  readonly stack: Stack;
  readonly tables: DataTables;
  readonly search: SearchDomain;
  readonly api: OrdersApi;
  readonly template: Template;
}

function synthesize(config: StageConfig = testConfig(), props: Partial<OrdersApiProps> = {}): ApiStack {
  const stack = new Stack(testApp(), 'Api');
  const tables = new DataTables(stack, 'Tables');
  const search = new SearchDomain(stack, 'Search', { config: testConfig() });
  const api = new OrdersApi(stack, 'OrdersApi', { config, tables, search, ...props });
  return { stack, tables, search, api, template: Template.fromStack(stack) };
}

/** The methods of the API: the order, poll and search routes. */
const METHOD_COUNT = 8;

function logicalId(construct: { node: { defaultChild?: unknown } }, stack: Stack): string {
  return stack.getLogicalId(construct.node.defaultChild as CfnResource);
}

/** The CloudFormation model schema of a zod schema: what the API's model must hold. */
function cfnSchemaOf(schema: z.core.$ZodType): Record<string, unknown> {
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
        'GET /orders/search',
        'GET /orders/{orderId}',
        'PATCH /orders/{orderId}',
        'DELETE /orders/{orderId}',
        'PUT /polls/{pollId}/votes/{voterId}',
        'DELETE /polls/{pollId}/votes/{voterId}',
        'GET /polls/{pollId}/results',
      ].sort(),
    );
    at.template.resourceCountIs('AWS::ApiGateway::Method', METHOD_COUNT);
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
    expect(methods.map((method) => method.Properties.AuthorizationType)).toEqual(
      Array(METHOD_COUNT).fill('AWS_IAM'),
    );
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
    expect(permissions).toHaveLength(METHOD_COUNT);
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
    ['GET', '/orders/search', undefined, []],
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
      expect(
        Object.fromEntries(
          Object.entries(resource.Properties.RequestParameters ?? {}).filter(([name]) =>
            name.includes('.path.'),
          ),
        ),
      ).toEqual(Object.fromEntries(params.map((name) => [`method.request.path.${name}`, true])));
    },
  );

  it('declares the optional query string of GET /orders/search, and no query string elsewhere', () => {
    // Act
    const queryStrings = Object.fromEntries(
      at.api.api.methods.map((method) => [
        `${method.httpMethod} ${method.resource.path}`,
        Object.entries(
          (at.template.toJSON().Resources[logicalId(method, at.stack)].Properties.RequestParameters ??
            {}) as Record<string, boolean>,
        ).filter(([name]) => name.includes('.querystring.')),
      ]),
    );

    // Assess
    expect(queryStrings['GET /orders/search']).toEqual(
      ['q', 'status', 'customerId', 'limit', 'cursor'].map((name) => [
        `method.request.querystring.${name}`,
        false,
      ]),
    );
    expect(
      Object.entries(queryStrings)
        .filter(([route]) => route !== 'GET /orders/search')
        .flatMap(([, parameters]) => parameters),
    ).toEqual([]);
    expect([...SEARCH_ORDERS_QUERY_PARAMETERS]).toEqual(['q', 'status', 'customerId', 'limit', 'cursor']);
  });

  it('routes GET /orders/search as a literal segment beside {orderId}', () => {
    // Act
    const orders = at.api.api.root.getResource('orders');

    // Assess
    expect(orders?.getResource('search')?.path).toBe('/orders/search');
    expect(orders?.getResource('{orderId}')?.path).toBe('/orders/{orderId}');
  });

  it('lets the handler search the orders index only (GET and POST on orders/_search), with no wildcard', () => {
    // Prepare
    const roleId = at.stack.getLogicalId(at.api.handler.role.node.defaultChild as CfnRole);

    // Act
    const statements = Object.values(at.template.findResources('AWS::IAM::Policy'))
      .filter((policy) => JSON.stringify(policy.Properties.Roles) === JSON.stringify([{ Ref: roleId }]))
      .flatMap(
        (policy) =>
          policy.Properties.PolicyDocument.Statement as Array<{
            Action: string | string[];
            Resource: unknown;
          }>,
      )
      .filter((statement) => [statement.Action].flat().some((action) => action.startsWith('es:')));

    // Assess
    expect(statements).toEqual([
      {
        Action: ['es:ESHttpGet', 'es:ESHttpPost'],
        Effect: 'Allow',
        Resource: esArn(':domain/orders-test/orders/_search'),
      },
    ]);
    expect(
      acknowledgedRuleIds(at.api.handler.role.node.findChild('DefaultPolicy')).filter((id) =>
        id.startsWith('AwsSolutions-IAM5[Resource::arn'),
      ),
    ).toEqual([]);
    expect(ORDERS_API_SEARCH_ACCESS.paths).toEqual(['orders/_search']);
  });

  it('outputs the handler role ARN, for the mapping to the orders_reader role', () => {
    // Assess
    at.template.hasOutput('*', {
      Value: { 'Fn::GetAtt': [logicalId(at.api.handler.role, at.stack), 'Arn'] },
    });
  });

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

  it('tells the handler its tables and the https URL of the search domain, with a 10 s timeout', () => {
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
          [ENV.OPENSEARCH_ENDPOINT]: {
            'Fn::Join': [
              '',
              ['https://', { 'Fn::GetAtt': [logicalId(at.search.domain, at.stack), 'DomainEndpoint'] }],
            ],
          },
          [ENV.POWERTOOLS_SERVICE_NAME]: 'orders-api',
        }),
      },
    });
  });

  it.each([
    ['orders', ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']],
    ['votes', ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem']],
    ['idempotency', ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']],
    ['pollResults', ['dynamodb:GetItem']],
  ] as const)(
    'lets the handler call on the %s table exactly %j, what its code calls (issue 13)',
    (table, expected) => {
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

      // Assess: no Scan, Query, BatchWriteItem or ConditionCheckItem anywhere.
      expect([...actions].sort()).toStrictEqual(expected);
    },
  );

  it.each(['', 'v 1', 'v1/beta', 'x'.repeat(129)])(
    'rejects the stage name %j before creating anything',
    (stageName) => {
      // Prepare
      const stack = new Stack(testApp(), 'Api');
      const tables = new DataTables(stack, 'Tables');
      const search = new SearchDomain(stack, 'Search', { config: testConfig() });

      // Act
      const error = thrownBy(
        () => new OrdersApi(stack, 'OrdersApi', { config: testConfig(), tables, search, stageName }),
      );

      // Assess
      expect(error).toBeInstanceOf(InvalidPropsError);
      expect(error.message).toMatch('Api/OrdersApi: invalid "stageName": ');
      expect(stack.node.findChild('OrdersApi').node.children).toHaveLength(0);
    },
  );

  it.each<[string, Partial<SearchDomainTarget>, string]>([
    ['a domain name token', { domainName: Token.asString({ Ref: 'DomainName' }) }, 'domain.domainName'],
    ['an endpoint with a scheme', { domainEndpoint: 'https://search.example' }, 'domain.domainEndpoint'],
  ])('rejects a search domain with %s before creating anything', (_case, target, prop) => {
    // Prepare
    const stack = new Stack(testApp(), 'Api');
    const tables = new DataTables(stack, 'Tables');
    const search = { domainName: 'orders-test', domainEndpoint: 'search.example', ...target };

    // Act
    const error = thrownBy(() => new OrdersApi(stack, 'OrdersApi', { config: testConfig(), tables, search }));

    // Assess
    expect(error).toBeInstanceOf(InvalidPropsError);
    expect(error.message).toMatch(`Api/OrdersApi/Handler: invalid "${prop}": `);
    expect(stack.node.findChild('OrdersApi').node.children).toHaveLength(0);
  });
});
