import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';

/**
 * Request factories for the orders API: API Gateway REST proxy events (payload v1) shaped as API Gateway sends them
 * with IAM auth. The resource templates are listed here independently of the API's router, so a routing mistake in
 * the code cannot be mirrored by the tests.
 */

const RESOURCES = [
  '/orders',
  '/orders/{orderId}',
  '/polls/{pollId}/votes/{voterId}',
  '/polls/{pollId}/results',
];

export const DEFAULT_CALLER_ARN = 'arn:aws:iam::111122223333:user/alice';

export interface ApiEventInit {
  readonly method: string;
  /** The request path without stage, e.g. `/orders/123`. */
  readonly path: string;
  /**
   * A string is sent as is (malformed JSON, say); anything else is JSON-encoded; undefined sends no body.
   * With a body and no `Content-Type` in `headers`, `Content-Type: application/json` is added.
   */
  readonly body?: unknown;
  /** Names as the client spelled them; a `null` value removes a default header. */
  readonly headers?: Readonly<Record<string, string | null>>;
  /** Extra values per header, beyond `headers` (API Gateway lists repeated headers here). */
  readonly multiValueHeaders?: Readonly<Record<string, readonly string[]>>;
  /** Base64-encodes the body and flags it, as API Gateway does for binary media types. */
  readonly base64?: boolean;
  /** Sets `isBase64Encoded` without encoding: for a body that is already base64, or claims to be. */
  readonly isBase64Encoded?: boolean;
  /** The IAM caller; null for an event without identity (the sandbox's hand-built ones). */
  readonly userArn?: string | null;
}

export function apiEvent(init: ApiEventInit): APIGatewayProxyEvent {
  const rawBody =
    init.body === undefined ? null : typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
  const body =
    rawBody !== null && init.base64 === true ? Buffer.from(rawBody, 'utf8').toString('base64') : rawBody;
  const headers: Record<string, string> = {
    Host: 'abc123.execute-api.eu-west-1.amazonaws.com',
    'User-Agent': 'vitest',
    'X-Amz-Date': '20300101T000000Z',
  };
  if (rawBody !== null) {
    headers['Content-Type'] = 'application/json';
  }
  for (const [name, value] of Object.entries(init.headers ?? {})) {
    // Replaces a default whatever its spelling, as a client's header would.
    for (const existing of Object.keys(headers)) {
      if (existing.toLowerCase() === name.toLowerCase()) {
        delete headers[existing];
      }
    }
    if (value !== null) {
      headers[name] = value;
    }
  }
  const multiValueHeaders: Record<string, string[]> = Object.fromEntries(
    Object.entries(headers).map(([name, value]) => [name, [value]]),
  );
  for (const [name, values] of Object.entries(init.multiValueHeaders ?? {})) {
    multiValueHeaders[name] = [...(multiValueHeaders[name] ?? []), ...values];
  }
  const { resource, pathParameters } = resolveResource(init.path);
  const userArn = init.userArn === undefined ? DEFAULT_CALLER_ARN : init.userArn;
  return {
    resource,
    path: init.path,
    httpMethod: init.method,
    headers,
    multiValueHeaders,
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters,
    stageVariables: null,
    body,
    isBase64Encoded: init.isBase64Encoded ?? (rawBody !== null && init.base64 === true),
    requestContext: {
      accountId: '111122223333',
      apiId: 'abc123',
      authorizer: undefined,
      protocol: 'HTTP/1.1',
      httpMethod: init.method,
      identity: {
        accessKey: userArn === null ? null : 'AKIAEXAMPLE',
        accountId: userArn === null ? null : '111122223333',
        apiKey: null,
        apiKeyId: null,
        caller: userArn === null ? null : 'AIDAEXAMPLE',
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: '203.0.113.10',
        user: userArn === null ? null : 'AIDAEXAMPLE',
        userAgent: 'vitest',
        userArn,
      },
      path: `/prod${init.path}`,
      stage: 'prod',
      requestId: randomUUID(),
      requestTimeEpoch: Date.UTC(2030, 0, 1),
      resourceId: 'res123',
      resourcePath: resource,
    },
  };
}

/**
 * The resource API Gateway would invoke the function for, with its path parameters. A path of no declared resource
 * arrives as a greedy proxy resource would send it.
 */
function resolveResource(path: string): { resource: string; pathParameters: Record<string, string> | null } {
  const segments = path.split('/');
  for (const resource of RESOURCES) {
    const parts = resource.split('/');
    if (parts.length !== segments.length) {
      continue;
    }
    const parameters: Record<string, string> = {};
    const matches = parts.every((part, index) => {
      const segment = segments[index] ?? '';
      if (part.startsWith('{')) {
        parameters[part.slice(1, -1)] = segment;
        return segment !== '';
      }
      return part === segment;
    });
    if (matches) {
      return { resource, pathParameters: Object.keys(parameters).length === 0 ? null : parameters };
    }
  }
  return { resource: '/{proxy+}', pathParameters: { proxy: path.replace(/^\//, '') } };
}

/** A Lambda context with a fixed remaining time: nothing in the API may depend on how fast a test runs. */
export function lambdaContext(remainingMs = 10_000): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'orders-api',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:eu-west-1:111122223333:function:orders-api',
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: '/aws/lambda/orders-api',
    logStreamName: 'test',
    getRemainingTimeInMillis: () => remainingMs,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** A valid `POST /orders` body, with overrides. */
export function orderBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    customerId: 'cust-1',
    customerEmail: 'ada@example.com',
    currency: 'EUR',
    lines: [
      { sku: 'SKU-1', qty: 2, unitPriceCents: 1250 },
      { sku: 'SKU-2', qty: 1, unitPriceCents: 999 },
    ],
    ...overrides,
  };
}

/** An order line with overrides, for bodies that differ in one line field. */
export function orderLine(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { sku: 'SKU-1', qty: 1, unitPriceCents: 100, ...overrides };
}

/** The JSON body of a response. */
export function responseJson(response: APIGatewayProxyResult): unknown {
  return JSON.parse(response.body);
}

/** A response header by case-insensitive name. */
export function responseHeader(response: APIGatewayProxyResult, name: string): string | undefined {
  const entry = Object.entries(response.headers ?? {}).find(
    ([key]) => key.toLowerCase() === name.toLowerCase(),
  );
  return entry === undefined ? undefined : String(entry[1]);
}
