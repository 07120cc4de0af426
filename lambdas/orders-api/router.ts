import type { APIGatewayProxyEvent } from 'aws-lambda';

/**
 * The API's resources, as API Gateway declares them. An event names its resource in `resource` with the values in
 * `pathParameters`; an event from a greedy proxy resource (or from the local server, which may set only `path`) is
 * matched on its path instead, so both deployments route the same.
 *
 * `/orders/search` and `/orders/{orderId}` overlap. API Gateway resolves that by preferring the literal resource, and
 * so does this router, whatever the order of the declarations (see matchRoute). An order id is UUID-shaped anyway,
 * so `search` is never one.
 */
export const ROUTES = {
  orders: '/orders',
  searchOrders: '/orders/search',
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

/**
 * The routes, most specific first: compared segment by segment, a literal segment comes before a parameter, as
 * API Gateway ranks overlapping resources. Otherwise in declaration order (the sort is stable).
 */
const ROUTE_IDS: readonly RouteId[] = (Object.keys(ROUTES) as RouteId[]).sort((a, b) =>
  compareSpecificity(ROUTES[a], ROUTES[b]),
);

/**
 * The route of an event. A declared resource is trusted with its `pathParameters`, except that a parameter whose
 * value spells a literal route's segment goes to that literal route: a deployment or local server that does not
 * know `/orders/search` (yet) hands it over as `/orders/{orderId}` with `orderId = search`, and API Gateway itself
 * would have chosen the literal resource.
 */
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
    return literalRouteFor(declared, params) ?? { route: declared, params };
  }
  return matchPath(event.path ?? '');
}

/** The more specific route a declared route's parameters spell out, if any. */
function literalRouteFor(
  declared: RouteId,
  params: Readonly<Record<string, string>>,
): RouteMatch | undefined {
  const values = Object.values(params);
  // A value with a `/` (never from API Gateway for a non-greedy parameter) must not spell out some other path.
  if (values.length === 0 || values.some((value) => value === '' || value.includes('/'))) {
    return undefined;
  }
  const concrete = ROUTES[declared].replace(/\{([^}]+)\}/g, (_match, name: string) => params[name] ?? '');
  const match = matchPath(concrete);
  return match !== undefined && match.route !== declared ? match : undefined;
}

function matchPath(path: string): RouteMatch | undefined {
  const segments = path.split('/');
  for (const route of ROUTE_IDS) {
    const params = matchTemplate(ROUTES[route].split('/'), segments);
    if (params !== undefined) {
      return { route, params };
    }
  }
  return undefined;
}

function isParameter(segment: string): boolean {
  return /^\{[^}]+\}$/.test(segment);
}

function compareSpecificity(a: string, b: string): number {
  const left = a.split('/');
  const right = b.split('/');
  for (let index = 0; index < Math.min(left.length, right.length); index += 1) {
    const leftIsParameter = isParameter(left[index] ?? '');
    const rightIsParameter = isParameter(right[index] ?? '');
    if (leftIsParameter !== rightIsParameter) {
      return leftIsParameter ? 1 : -1;
    }
  }
  return 0;
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
