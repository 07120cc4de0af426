import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { ORDERS_API_SERVICE_NAME } from '../lambdas/orders-api/names.js';
import { localLambdaContext } from './lambda-context.js';

/** A route of the REST API as the synthesized template declares it, e.g. `/orders/{orderId}` with its methods. */
export interface ApiRoute {
  readonly resourcePath: string;
  readonly methods: readonly string[];
}

/** The proxy-integration handler shape that both API Gateway and this server call. */
export type ApiHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

/** Requests the local API answered, by status. */
export interface ApiStats {
  readonly requests: number;
  readonly byStatus: Readonly<Record<string, number>>;
}

/** Counts the answers of `handler`, by status; the counting one answers exactly as `handler` does. */
export function countingApiHandler(handler: ApiHandler): { handler: ApiHandler; stats: () => ApiStats } {
  let requests = 0;
  const byStatus: Record<string, number> = {};
  return {
    handler: async (event, context) => {
      const result = await handler(event, context);
      requests += 1;
      byStatus[String(result.statusCode)] = (byStatus[String(result.statusCode)] ?? 0) + 1;
      return result;
    },
    stats: () => ({ requests, byStatus: { ...byStatus } }),
  };
}

/** Thrown when the template's API resources cannot be turned into routes. */
export class ApiTemplateError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = 'ApiTemplateError';
  }
}

interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
}

/**
 * Reads the REST API's resource tree and methods from a CloudFormation template, so that the local server routes
 * exactly the paths and methods that deploy: a route added in CDK is served locally without a second definition.
 */
export function apiRoutesFromTemplate(template: { Resources?: Record<string, CfnResource> }): ApiRoute[] {
  const resources = template.Resources ?? {};
  const paths = new Map<string, string>();
  const resolvePath = (logicalId: string, seen: Set<string>): string => {
    const known = paths.get(logicalId);
    if (known !== undefined) return known;
    if (seen.has(logicalId)) throw new ApiTemplateError(`Cycle in API resources at ${logicalId}`);
    seen.add(logicalId);
    const resource = resources[logicalId];
    if (resource?.Type !== 'AWS::ApiGateway::Resource') {
      throw new ApiTemplateError(`${logicalId} is not an AWS::ApiGateway::Resource`);
    }
    const parent = resource.Properties?.ParentId as Record<string, unknown> | undefined;
    const pathPart = String(resource.Properties?.PathPart);
    // The root resource is referenced as Fn::GetAtt [RestApi, RootResourceId]; any other parent by Ref.
    const parentPath = parent && 'Ref' in parent ? resolvePath(String(parent.Ref), seen) : '';
    const path = `${parentPath}/${pathPart}`;
    paths.set(logicalId, path);
    return path;
  };
  const routes = new Map<string, Set<string>>();
  for (const resource of Object.values(resources)) {
    if (resource.Type !== 'AWS::ApiGateway::Method') continue;
    const method = String(resource.Properties?.HttpMethod);
    if (method === 'OPTIONS') continue;
    const resourceRef = resource.Properties?.ResourceId as Record<string, unknown> | undefined;
    const path = resourceRef && 'Ref' in resourceRef ? resolvePath(String(resourceRef.Ref), new Set()) : '/';
    if (!routes.has(path)) routes.set(path, new Set());
    routes.get(path)!.add(method);
  }
  return [...routes.entries()]
    .map(([resourcePath, methods]) => ({ resourcePath, methods: [...methods].sort() }))
    .sort((a, b) => a.resourcePath.localeCompare(b.resourcePath));
}

/** Finds the route whose template matches a concrete path, with the path parameters it binds. */
export function matchRoute(
  routes: readonly ApiRoute[],
  path: string,
): { route: ApiRoute; pathParameters: Record<string, string> } | undefined {
  const segments = path.split('/').filter((s) => s !== '');
  for (const route of routes) {
    const parts = route.resourcePath.split('/').filter((s) => s !== '');
    if (parts.length !== segments.length) continue;
    const pathParameters: Record<string, string> = {};
    let matched = true;
    for (const [i, part] of parts.entries()) {
      const segment = segments[i]!;
      if (part.startsWith('{') && part.endsWith('}')) {
        try {
          pathParameters[part.slice(1, -1)] = decodeURIComponent(segment);
        } catch {
          // A malformed percent-encoding never matches a parameter: API Gateway answers 4xx for it too.
          matched = false;
          break;
        }
      } else if (part !== segment) {
        matched = false;
        break;
      }
    }
    if (matched) return { route, pathParameters };
  }
  return undefined;
}

export interface LocalApiServerOptions {
  readonly routes: readonly ApiRoute[];
  readonly handler: ApiHandler;
  /** @default 3000 */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** API Gateway's own payload limit; the handler enforces its smaller documented limit. @default 10 MiB */
  readonly maxPayloadBytes?: number;
  /** The stage name put in the request context. @default 'local' */
  readonly stage?: string;
}

export interface LocalApiServer {
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

const LOCAL_CALLER_ARN = 'arn:aws:iam::000000000000:user/local-sandbox';

/**
 * Serves an API Gateway proxy handler on localhost with events shaped as API Gateway's REST proxy integration sends
 * them. There is no SigV4 check locally: every request is attributed to one local IAM user, which the handler sees
 * as `requestContext.identity.userArn` (an `x-sandbox-caller` header may name another, to try per-caller behaviour).
 */
export async function startLocalApiServer(options: LocalApiServerOptions): Promise<LocalApiServer> {
  const maxPayloadBytes = options.maxPayloadBytes ?? 10 * 1024 * 1024;
  const stage = options.stage ?? 'local';
  const server = createServer((req, res) => {
    handleRequest(req, res).catch((error: unknown) => {
      sendJson(res, 502, { error: `Local server error: ${(error as Error).message}`, field: null });
    });
  });

  async function handleRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = (req.method ?? 'GET').toUpperCase();
    const body = await readBody(req, maxPayloadBytes);
    if (body === 'too-large') {
      sendJson(res, 413, { error: `Request body exceeds ${maxPayloadBytes} bytes`, field: null });
      return;
    }
    const match = matchRoute(options.routes, url.pathname);
    if (!match?.route.methods.includes(method)) {
      // API Gateway answers an undeclared path or method on an IAM-authorised API with 403 "Missing Authentication
      // Token"; a clear 404 is more useful locally and keeps the same JSON error shape.
      sendJson(res, 404, { error: `No route for ${method} ${url.pathname}`, field: null });
      return;
    }
    const event = toProxyEvent(req, url, method, body, match.route.resourcePath, match.pathParameters, stage);
    const context = lambdaContext();
    const result = await options.handler(event, context);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(result.headers ?? {})) headers[name] = String(value);
    res.writeHead(result.statusCode, headers);
    res.end(result.isBase64Encoded ? Buffer.from(result.body, 'base64') : result.body);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 3000, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${address.address === '::1' ? '[::1]' : address.address}:${address.port}`,
    server,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) return 'too-large';
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function toProxyEvent(
  req: IncomingMessage,
  url: URL,
  method: string,
  body: Buffer,
  resourcePath: string,
  pathParameters: Record<string, string>,
  stage: string,
): APIGatewayProxyEvent {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!;
    const value = req.rawHeaders[i + 1]!;
    headers[name] = value;
    multiValueHeaders[name] = [...(multiValueHeaders[name] ?? []), value];
  }
  const query: Record<string, string> = {};
  const multiQuery: Record<string, string[]> = {};
  for (const [name, value] of url.searchParams) {
    query[name] = value;
    multiQuery[name] = [...(multiQuery[name] ?? []), value];
  }
  const caller = headerValue(headers, 'x-sandbox-caller') ?? LOCAL_CALLER_ARN;
  const hasParams = Object.keys(pathParameters).length > 0;
  const hasQuery = Object.keys(query).length > 0;
  // API Gateway passes text bodies as strings; like it, treat an empty body as null.
  const isText = body.length === 0 || isUtf8(body);
  return {
    resource: resourcePath,
    path: url.pathname,
    httpMethod: method,
    headers,
    multiValueHeaders,
    queryStringParameters: hasQuery ? query : null,
    multiValueQueryStringParameters: hasQuery ? multiQuery : null,
    pathParameters: hasParams ? pathParameters : null,
    stageVariables: null,
    body: body.length === 0 ? null : isText ? body.toString('utf8') : body.toString('base64'),
    isBase64Encoded: !isText,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      authorizer: null,
      domainName: 'localhost',
      domainPrefix: 'localhost',
      extendedRequestId: randomUUID(),
      httpMethod: method,
      identity: {
        accessKey: null,
        accountId: '000000000000',
        apiKey: null,
        apiKeyId: null,
        caller,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        user: caller,
        userAgent: headerValue(headers, 'user-agent') ?? null,
        userArn: caller,
      },
      path: `/${stage}${url.pathname}`,
      protocol: `HTTP/${req.httpVersion}`,
      requestId: randomUUID(),
      requestTimeEpoch: Date.now(),
      resourceId: 'local',
      resourcePath,
      stage,
    },
  };
}

function headerValue(headers: Record<string, string>, name: string): string | undefined {
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  return key === undefined ? undefined : headers[key];
}

function isUtf8(buffer: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(buffer);
    return true;
  } catch {
    return false;
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** A Lambda-like context for one API request. */
export function lambdaContext(functionName = ORDERS_API_SERVICE_NAME, timeoutMs = 10_000): Context {
  return localLambdaContext({
    functionName,
    requestId: randomUUID(),
    deadlineMs: Date.now() + timeoutMs,
    memoryLimitInMB: '512',
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: false,
  });
}
