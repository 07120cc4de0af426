import type { APIGatewayProxyEvent } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type ApiHandler,
  type ApiRoute,
  apiRoutesFromTemplate,
  type LocalApiServer,
  matchRoute,
  startLocalApiServer,
} from '../../sandbox/api-server.js';

/** A template shaped like the one CDK synthesizes for a RestApi: resources chained by ParentId, methods by ResourceId. */
function apiTemplate(): { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> } {
  const root = { 'Fn::GetAtt': ['Api', 'RootResourceId'] };
  return {
    Resources: {
      Orders: { Type: 'AWS::ApiGateway::Resource', Properties: { ParentId: root, PathPart: 'orders' } },
      OrderId: {
        Type: 'AWS::ApiGateway::Resource',
        Properties: { ParentId: { Ref: 'Orders' }, PathPart: '{orderId}' },
      },
      OrdersPost: {
        Type: 'AWS::ApiGateway::Method',
        Properties: { HttpMethod: 'POST', ResourceId: { Ref: 'Orders' } },
      },
      OrderGet: {
        Type: 'AWS::ApiGateway::Method',
        Properties: { HttpMethod: 'GET', ResourceId: { Ref: 'OrderId' } },
      },
      OrderPatch: {
        Type: 'AWS::ApiGateway::Method',
        Properties: { HttpMethod: 'PATCH', ResourceId: { Ref: 'OrderId' } },
      },
      Table: { Type: 'AWS::DynamoDB::Table', Properties: {} },
    },
  };
}

describe('apiRoutesFromTemplate', () => {
  it('rebuilds every path and its methods from the resource tree', () => {
    // Prepare
    const template = apiTemplate();

    // Act
    const routes = apiRoutesFromTemplate(template);

    // Assess
    expect(routes).toEqual([
      { resourcePath: '/orders', methods: ['POST'] },
      { resourcePath: '/orders/{orderId}', methods: ['GET', 'PATCH'] },
    ]);
  });

  it('fails loudly on a method attached to something that is not an API resource', () => {
    // Prepare
    const template = apiTemplate();
    template.Resources.OrderGet!.Properties.ResourceId = { Ref: 'Table' };

    // Act / Assess
    expect(() => apiRoutesFromTemplate(template)).toThrow(/Table is not an AWS::ApiGateway::Resource/);
  });
});

describe('matchRoute', () => {
  const routes: ApiRoute[] = [
    { resourcePath: '/orders', methods: ['POST'] },
    { resourcePath: '/orders/{orderId}', methods: ['GET'] },
    { resourcePath: '/polls/{pollId}/votes/{voterId}', methods: ['PUT'] },
  ];

  it.each([
    ['/orders', '/orders', {}],
    ['/orders/', '/orders', {}],
    ['/orders/abc', '/orders/{orderId}', { orderId: 'abc' }],
    ['/orders/a%20b', '/orders/{orderId}', { orderId: 'a b' }],
    ['/polls/p1/votes/v1', '/polls/{pollId}/votes/{voterId}', { pollId: 'p1', voterId: 'v1' }],
  ])('matches %s to %s', (path, resourcePath, pathParameters) => {
    // Act
    const match = matchRoute(routes, path);

    // Assess
    expect(match?.route.resourcePath).toBe(resourcePath);
    expect(match?.pathParameters).toEqual(pathParameters);
  });

  it.each(['/', '/order', '/orders/a/b', '/polls/p1/votes', '/orders/%E0%A4%A'])(
    'does not match %s',
    (path) => {
      expect(matchRoute(routes, path)).toBeUndefined();
    },
  );
});

describe('startLocalApiServer', () => {
  let server: LocalApiServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function serve(handler: ApiHandler): Promise<string> {
    server = await startLocalApiServer({
      routes: [
        { resourcePath: '/orders', methods: ['POST'] },
        { resourcePath: '/orders/{orderId}', methods: ['GET'] },
      ],
      handler,
      port: 0,
      maxPayloadBytes: 1024,
    });
    return server.url;
  }

  it('passes an API Gateway proxy event to the handler and returns its response', async () => {
    // Prepare
    const events: APIGatewayProxyEvent[] = [];
    const url = await serve(async (event) => {
      events.push(event);
      return {
        statusCode: 201,
        headers: { 'content-type': 'application/json', etag: '"1"' },
        body: '{"ok":true}',
      };
    });

    // Act
    const response = await fetch(`${url}/orders?x=1`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Idempotency-Key': 'k1' },
      body: '{"a":1}',
    });

    // Assess
    expect(response.status).toBe(201);
    expect(response.headers.get('etag')).toBe('"1"');
    expect(await response.json()).toEqual({ ok: true });
    const event = events[0]!;
    expect(event).toMatchObject({
      resource: '/orders',
      path: '/orders',
      httpMethod: 'POST',
      body: '{"a":1}',
      isBase64Encoded: false,
      pathParameters: null,
      queryStringParameters: { x: '1' },
      requestContext: { resourcePath: '/orders', httpMethod: 'POST', stage: 'local' },
    });
    expect(event.headers['Idempotency-Key'] ?? event.headers['idempotency-key']).toBe('k1');
    expect(event.requestContext.identity.userArn).toMatch(/^arn:aws:iam::/);
  });

  it('binds path parameters and base64-encodes a body that is not UTF-8', async () => {
    // Prepare
    const events: APIGatewayProxyEvent[] = [];
    const url = await serve(async (event) => {
      events.push(event);
      return { statusCode: 200, body: '{}' };
    });

    // Act
    await fetch(`${url}/orders/o-1`, { method: 'GET' });
    await fetch(`${url}/orders`, { method: 'POST', body: new Uint8Array([0xff, 0xfe, 0x00]) });

    // Assess
    expect(events[0]).toMatchObject({
      resource: '/orders/{orderId}',
      pathParameters: { orderId: 'o-1' },
      body: null,
    });
    expect(events[1]).toMatchObject({
      isBase64Encoded: true,
      body: Buffer.from([0xff, 0xfe, 0x00]).toString('base64'),
    });
  });

  it.each([
    ['an unknown path', '/nope', 'GET', undefined, 404],
    ['an undeclared method', '/orders', 'DELETE', undefined, 404],
    ['a body over the gateway limit', '/orders', 'POST', 'x'.repeat(2048), 413],
  ])(
    'answers %s itself with a JSON error and never calls the handler',
    async (_name, path, method, body, status) => {
      // Prepare
      let calls = 0;
      const url = await serve(async () => {
        calls += 1;
        return { statusCode: 200, body: '{}' };
      });

      // Act
      const response = await fetch(`${url}${path}`, { method, body });

      // Assess
      expect(response.status).toBe(status);
      expect(await response.json()).toMatchObject({ field: null });
      expect(calls).toBe(0);
    },
  );
});
