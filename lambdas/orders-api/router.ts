import type { APIGatewayProxyEvent } from 'aws-lambda';

/**
 * The API's resources, as API Gateway declares them. An event names its resource in `resource` with the values in
 * `pathParameters`; an event from a greedy proxy resource (or from the local server, which may set only `path`) is
 * matched on its path instead, so both deployments route the same.
 */
export const ROUTES = {
  orders: '/orders',
  order: '/orders/{orderId}',
  vote: '/polls/{pollId}/votes/{voterId}',
  pollResults: '/polls/{pollId}/results',
} as const;

export type RouteId = keyof typeof ROUTES;

export interface RouteMatch {
  readonly route: RouteId;
  /** Raw (not URL-decoded) parameter values; their validation refuses `%` and anything else unexpected. */
  readonly params: Readonly<Record<string, string>>;
}

const ROUTE_IDS = Object.keys(ROUTES) as RouteId[];

export function matchRoute(
  event: Pick<APIGatewayProxyEvent, 'resource' | 'path' | 'pathParameters'>,
): RouteMatch | undefined {
  const declared = ROUTE_IDS.find((route) => ROUTES[route] === event.resource);
  if (declared !== undefined) {
    const params: Record<string, string> = {};
    for (const name of parameterNames(ROUTES[declared])) {
      // A missing value (hand-built event) fails its validation like an empty one would.
      params[name] = event.pathParameters?.[name] ?? '';
    }
    return { route: declared, params };
  }
  const segments = (event.path ?? '').split('/');
  for (const route of ROUTE_IDS) {
    const params = matchTemplate(ROUTES[route].split('/'), segments);
    if (params !== undefined) {
      return { route, params };
    }
  }
  return undefined;
}

function parameterNames(template: string): string[] {
  return [...template.matchAll(/\{([^}]+)\}/g)].map((match) => match[1] ?? '');
}

function matchTemplate(
  template: readonly string[],
  segments: readonly string[],
): Record<string, string> | undefined {
  if (template.length !== segments.length) {
    return undefined;
  }
  const params: Record<string, string> = {};
  for (const [index, part] of template.entries()) {
    const segment = segments[index] ?? '';
    const name = /^\{([^}]+)\}$/.exec(part)?.[1];
    if (name === undefined) {
      if (part !== segment) {
        return undefined;
      }
    } else if (segment === '') {
      return undefined;
    } else {
      params[name] = segment;
    }
  }
  return params;
}
