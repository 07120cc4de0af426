import { join } from 'node:path';
import { CfnOutput, Duration, Stack, Validations } from 'aws-cdk-lib';
import {
  AccessLogField,
  AccessLogFormat,
  AuthorizationType,
  EndpointType,
  type IModel,
  type IResource,
  LambdaIntegration,
  LogGroupLogDestination,
  MethodLoggingLevel,
  type Model,
  type RequestValidator,
  ResponseType,
  RestApi,
} from 'aws-cdk-lib/aws-apigateway';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import * as z from 'zod';
import { ORDERS_API_SERVICE_NAME } from '../../lambdas/orders-api/names.js';
import {
  createOrderBodySchema,
  patchOrderBodySchema,
  putVoteBodySchema,
} from '../../lambdas/orders-api/schemas.js';
import { ENV } from '../../lambdas/shared/env.js';
import { ORDERS_INDEX } from '../../lambdas/shared/search/orders-index.js';
import { toApiGatewayJsonSchema } from '../api-gateway-json-schema.js';
import { logRetention, type StageConfig } from '../config.js';
import {
  BaseFunction,
  type BaseFunctionProps,
  type DynamoDbItemAction,
  type SearchDomainAccess,
  type SearchDomainTarget,
  validateBaseFunctionProps,
  validateSearchDomainAccess,
} from './base-function.js';
import { InvalidPropsError } from './props-validation.js';

/** The handler of the API, resolved from this file so that it holds whatever the working directory. */
export const ORDERS_API_ENTRY = join(import.meta.dirname, '..', '..', 'lambdas', 'orders-api', 'handler.ts');

/** The tables the API reads and writes; `DataTables` has them all. */
export interface OrdersApiTables {
  readonly orders: ITable;
  readonly votes: ITable;
  readonly pollResults: ITable;
  readonly idempotency: ITable;
}

/**
 * Exactly the table actions the API's code calls (the repositories in lambdas/orders-api/adapters and
 * lambdas/shared/orders, and Powertools' idempotency layer): no Scan, Query, BatchWriteItem or ConditionCheckItem.
 */
export const ORDERS_API_TABLE_ACTIONS = {
  /** Get (read, conditional writes' checks), Put (create), Update (status change), Delete. */
  orders: ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
  /** Get (the vote held), Put (cast or change, conditional), Delete (retract). */
  votes: ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem'],
  /** One GetItem per results request; the vote aggregator alone writes the table. */
  pollResults: ['dynamodb:GetItem'],
  /** Powertools' DynamoDB persistence layer: Get, Put (in progress), Update (completed), Delete (failed). */
  idempotency: ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
} as const satisfies Record<keyof OrdersApiTables, readonly DynamoDbItemAction[]>;

/**
 * What the API may do on the search domain: search the `orders` index, nothing else. A search body is POSTed (GET
 * with a body is not something every HTTP client sends), so both methods, on exactly `orders/_search`.
 */
export const ORDERS_API_SEARCH_ACCESS = {
  paths: [`${ORDERS_INDEX}/_search`],
  actions: ['es:ESHttpGet', 'es:ESHttpPost'],
} as const satisfies SearchDomainAccess;

/** The query string parameters of `GET /orders/search`; all optional, the Lambda validates their values. */
export const SEARCH_ORDERS_QUERY_PARAMETERS = ['q', 'status', 'customerId', 'limit', 'cursor'] as const;

export interface OrdersApiProps {
  /** The validated stage configuration: throttling, log retention, memory, and who owns the account logging role. */
  readonly config: StageConfig;
  /** The tables of the stateful stack. */
  readonly tables: OrdersApiTables;
  /** The search domain of the stateful stack, which `GET /orders/search` reads. */
  readonly search: SearchDomainTarget;
  /**
   * The API stage, the first segment of every URL path.
   * @default 'v1'
   */
  readonly stageName?: string;
}

/**
 * The body of every error API Gateway answers by itself (validation, authentication, throttling, a body too large):
 * the same `{ "error", "field" }` shape as the Lambda's errors, so a client parses one format. A gateway response
 * template allows variable substitution only, and `messageString` is the message already quoted and escaped as a
 * JSON string; the validator's detailed `validationErrorString` is neither, so it cannot be embedded safely and no
 * single field is named.
 */
export const GATEWAY_ERROR_TEMPLATE = '{"error":$context.error.messageString,"field":null}';

/** The headers the Lambda sets on every response, repeated on API Gateway's own. */
const GATEWAY_ERROR_HEADERS: Readonly<Record<string, string>> = {
  'Cache-Control': "'no-store'",
  'X-Content-Type-Options': "'nosniff'",
};

/**
 * The orders REST API: every method needs SigV4 (IAM) authorization, bodies and path parameters are validated by
 * API Gateway against models generated from the Lambda's own zod schemas before the Lambda runs, and API Gateway's
 * own errors are JSON like the Lambda's. `GET /orders/search` reads the `orders` index of the search domain, with a
 * grant to search that index only. The stage is throttled per the stage config, traced with X-Ray, writes
 * JSON access logs, and logs execution errors (never request or response data).
 *
 * Execution logging needs the API Gateway CloudWatch Logs role, a setting of the account and region shared by
 * every REST API there. The stage config's `manageApiGatewayLoggingRole` decides whether this stack sets it; leave
 * it off where another stage or the platform already does, or deploying the stage fails until one of them has.
 */
export class OrdersApi extends Construct {
  public readonly api: RestApi;
  public readonly handler: BaseFunction;
  public readonly accessLogGroup: LogGroup;
  public readonly executionLogGroup: LogGroup;
  public readonly bodyValidator: RequestValidator;
  public readonly parametersValidator: RequestValidator;
  public readonly models: Readonly<Record<'createOrder' | 'patchOrder' | 'putVote', Model>>;
  /** The invoke URL of the stage, also a stack output (`Endpoint`). */
  public readonly url: string;

  public constructor(scope: Construct, id: string, props: OrdersApiProps) {
    super(scope, id);
    const stageName = props.stageName ?? 'v1';
    const handlerProps: BaseFunctionProps = {
      config: props.config,
      entry: ORDERS_API_ENTRY,
      serviceName: ORDERS_API_SERVICE_NAME,
      description: 'Orders REST API (API Gateway proxy integration)',
      // Well inside API Gateway's 29-second integration timeout, so a slow call fails in the Lambda with a JSON
      // error rather than at the gateway.
      timeout: Duration.seconds(10),
    };
    if (!/^[A-Za-z0-9_-]{1,128}$/.test(stageName)) {
      throw new InvalidPropsError(
        this.node.path,
        'stageName',
        `must be 1-128 letters, digits, hyphens or underscores, got "${stageName}"`,
      );
    }
    validateBaseFunctionProps(`${this.node.path}/Handler`, handlerProps);
    validateSearchDomainAccess(`${this.node.path}/Handler`, props.search, ORDERS_API_SEARCH_ACCESS);
    const retention = logRetention(props.config);

    this.handler = new BaseFunction(this, 'Handler', handlerProps)
      .bindTable(ENV.ORDERS_TABLE_NAME, props.tables.orders, ORDERS_API_TABLE_ACTIONS.orders)
      .bindTable(ENV.VOTES_TABLE_NAME, props.tables.votes, ORDERS_API_TABLE_ACTIONS.votes)
      .bindTable(ENV.POLL_RESULTS_TABLE_NAME, props.tables.pollResults, ORDERS_API_TABLE_ACTIONS.pollResults)
      .bindTable(ENV.IDEMPOTENCY_TABLE_NAME, props.tables.idempotency, ORDERS_API_TABLE_ACTIONS.idempotency)
      .bindSearchDomain(ENV.OPENSEARCH_ENDPOINT, props.search, ORDERS_API_SEARCH_ACCESS);
    // The role reaches the index only once mapped to the orders_reader role of the domain (SearchRoleMapping).
    new CfnOutput(this, 'HandlerRoleArn', {
      description:
        'The orders API function role, mapped to the orders_reader role of the search domain on deploy',
      value: this.handler.role.roleArn,
    });
    Validations.of(this.handler.lambdaFunction.node.defaultChild!).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason:
        "Only API Gateway invokes this function, synchronously; Lambda's DLQ applies to asynchronous invocations, " +
        'and a failed request is answered to its client.',
    });

    this.accessLogGroup = new LogGroup(this, 'AccessLogs', { retention });

    this.api = new RestApi(this, 'Api', {
      // CloudFormation requires a name; API names are labels, not unique, and this one tells stages apart.
      restApiName: `${Stack.of(this).stackName}-orders`,
      description: 'Orders and poll votes (SigV4-signed requests only)',
      endpointTypes: [EndpointType.REGIONAL],
      cloudWatchRole: props.config.manageApiGatewayLoggingRole ?? false,
      defaultMethodOptions: { authorizationType: AuthorizationType.IAM },
      deployOptions: {
        stageName,
        accessLogDestination: new LogGroupLogDestination(this.accessLogGroup),
        accessLogFormat: accessLogFormat(),
        tracingEnabled: true,
        loggingLevel: MethodLoggingLevel.ERROR,
        // Request and response bodies would put customer e-mail addresses into the logs.
        dataTraceEnabled: false,
        throttlingRateLimit: props.config.apiThrottleRateLimit,
        throttlingBurstLimit: props.config.apiThrottleBurstLimit,
      },
    });
    this.url = this.api.url;

    // API Gateway writes execution logs to this fixed name, creating the group with unlimited retention if it does
    // not exist. Created here first (the stage waits for it), it gets the stage's retention.
    this.executionLogGroup = new LogGroup(this, 'ExecutionLogs', {
      logGroupName: `API-Gateway-Execution-Logs_${this.api.restApiId}/${stageName}`,
      retention,
    });
    this.api.deploymentStage.node.addDependency(this.executionLogGroup);

    if (props.config.manageApiGatewayLoggingRole === true) {
      Validations.of(this.api.node.findChild('CloudWatchRole')).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason:
          "The account's API Gateway logging role; AWS maintains this managed policy for exactly this role, and it " +
          'grants nothing but writing API Gateway logs.',
      });
    }

    for (const type of [ResponseType.DEFAULT_4XX, ResponseType.DEFAULT_5XX]) {
      this.api.addGatewayResponse(type.responseType, {
        type,
        responseHeaders: { ...GATEWAY_ERROR_HEADERS },
        templates: { 'application/json': GATEWAY_ERROR_TEMPLATE },
      });
    }

    this.bodyValidator = this.api.addRequestValidator('BodyAndParametersValidator', {
      validateRequestBody: true,
      validateRequestParameters: true,
    });
    this.parametersValidator = this.api.addRequestValidator('ParametersValidator', {
      validateRequestBody: false,
      validateRequestParameters: true,
    });
    this.models = {
      createOrder: this.addBodyModel('CreateOrderBody', createOrderBodySchema, 'POST /orders'),
      patchOrder: this.addBodyModel('PatchOrderBody', patchOrderBodySchema, 'PATCH /orders/{orderId}'),
      putVote: this.addBodyModel('PutVoteBody', putVoteBodySchema, 'PUT /polls/{pollId}/votes/{voterId}'),
    };

    this.addRoutes();
    this.acknowledgeApiFindings();
  }

  private addRoutes(): void {
    // One permission per method (the default scoping), none for the console's test invocations.
    const integration = new LambdaIntegration(this.handler.lambdaFunction, { allowTestInvoke: false });
    const orders = this.api.root.addResource('orders');
    this.addMethod(orders, 'POST', integration, [], this.models.createOrder);
    // A literal segment: API Gateway matches it before the {orderId} variable of the sibling resource.
    this.addMethod(
      orders.addResource('search'),
      'GET',
      integration,
      [],
      undefined,
      SEARCH_ORDERS_QUERY_PARAMETERS,
    );
    const order = orders.addResource('{orderId}');
    this.addMethod(order, 'GET', integration, ['orderId']);
    this.addMethod(order, 'PATCH', integration, ['orderId'], this.models.patchOrder);
    this.addMethod(order, 'DELETE', integration, ['orderId']);
    const poll = this.api.root.addResource('polls').addResource('{pollId}');
    const vote = poll.addResource('votes').addResource('{voterId}');
    this.addMethod(vote, 'PUT', integration, ['pollId', 'voterId'], this.models.putVote);
    this.addMethod(vote, 'DELETE', integration, ['pollId', 'voterId']);
    this.addMethod(poll.addResource('results'), 'GET', integration, ['pollId']);
  }

  /**
   * A method with its path parameters required, its optional query string parameters declared (API Gateway
   * validates only the presence of required ones; the Lambda validates the values), and its body validated against
   * `model` when it has one.
   */
  private addMethod(
    resource: IResource,
    httpMethod: string,
    integration: LambdaIntegration,
    pathParameters: readonly string[],
    model?: IModel,
    optionalQueryParameters: readonly string[] = [],
  ): void {
    resource.addMethod(httpMethod, integration, {
      authorizationType: AuthorizationType.IAM,
      requestParameters: Object.fromEntries([
        ...pathParameters.map((name) => [`method.request.path.${name}`, true]),
        ...optionalQueryParameters.map((name) => [`method.request.querystring.${name}`, false]),
      ]),
      ...(model === undefined
        ? { requestValidator: this.parametersValidator }
        : { requestValidator: this.bodyValidator, requestModels: { 'application/json': model } }),
    });
  }

  private addBodyModel(id: string, schema: z.core.$ZodType, route: string): Model {
    return this.api.addModel(id, {
      contentType: 'application/json',
      description: `Request body of ${route}`,
      schema: toApiGatewayJsonSchema(z.toJSONSchema(schema, { target: 'draft-4' })),
    });
  }

  private acknowledgeApiFindings(): void {
    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-COG4',
      reason:
        'The API is for services, not end users: every method requires SigV4 (IAM) authorization, so a Cognito ' +
        'user pool authorizer has no role here.',
    });
    Validations.of(this.api.deploymentStage).acknowledge({
      id: 'AwsSolutions-APIG3',
      reason:
        'Only SigV4-signed requests from IAM principals of the account reach the integration, and the stage is ' +
        'throttled; a web ACL would filter traffic that IAM authorization already rejects.',
    });
  }
}

/** One JSON object per request, with who called, what happened and how long it took; no bodies, no headers. */
function accessLogFormat(): AccessLogFormat {
  return AccessLogFormat.custom(
    JSON.stringify({
      requestId: AccessLogField.contextRequestId(),
      extendedRequestId: AccessLogField.contextExtendedRequestId(),
      requestTime: AccessLogField.contextRequestTime(),
      httpMethod: AccessLogField.contextHttpMethod(),
      resourcePath: AccessLogField.contextResourcePath(),
      path: AccessLogField.contextPath(),
      protocol: AccessLogField.contextProtocol(),
      status: AccessLogField.contextStatus(),
      responseLength: AccessLogField.contextResponseLength(),
      responseLatency: AccessLogField.contextResponseLatency(),
      integrationStatus: AccessLogField.contextIntegrationStatus(),
      integrationLatency: AccessLogField.contextIntegrationLatency(),
      sourceIp: AccessLogField.contextIdentitySourceIp(),
      userAgent: AccessLogField.contextIdentityUserAgent(),
      caller: AccessLogField.contextIdentityCaller(),
      userArn: AccessLogField.contextIdentityUserArn(),
      errorType: AccessLogField.contextErrorResponseType(),
      errorMessage: AccessLogField.contextErrorMessage(),
      xrayTraceId: AccessLogField.contextXrayTraceId(),
    }),
  );
}
