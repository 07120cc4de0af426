import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { parseOrderItem } from '../shared/orders/order.js';
import type { OrdersRepository } from '../shared/orders/orders-repository.js';
import { transitionOrder } from '../shared/orders/transition.js';
import { InvalidCursorError, type OrderSearch, type OrderSearchPage } from '../shared/search/orders-index.js';
import {
  emptyResponse,
  errorResponse,
  HttpError,
  jsonResponse,
  normaliseHeaders,
  parseIfMatch,
  type RequestHeaders,
  readJsonBody,
  readQueryParameters,
  refuseUnknownQueryParameters,
  singleHeader,
  validate,
} from './http.js';
import {
  deterministicOrderId,
  etagOf,
  findDuplicateSku,
  isSameOrderRequest,
  newOrder,
  OrderIdCollisionError,
  toOrderResource,
} from './order.js';
import {
  type ApiLogger,
  type Clock,
  type IdempotencyGuard,
  IdempotencyInProgressError,
  IdempotencyKeyReusedError,
  type IdGenerator,
  type PollResultsReader,
  type VotesRepository,
} from './ports.js';
import { matchRoute, ROUTES, type RouteId } from './router.js';
import {
  createOrderBodySchema,
  idempotencyKeySchema,
  orderIdSchema,
  patchOrderBodySchema,
  pollIdSchema,
  putVoteBodySchema,
  SEARCH_QUERY_PARAMETERS,
  searchOrdersQuerySchema,
  voterIdSchema,
} from './schemas.js';

export interface OrdersApiDeps {
  readonly orders: OrdersRepository;
  readonly votes: VotesRepository;
  readonly pollResults: PollResultsReader;
  readonly idempotency: IdempotencyGuard;
  readonly clock: Clock;
  /** Ids of orders created without an Idempotency-Key; must be UUID-shaped. */
  readonly newOrderId: IdGenerator;
  readonly logger: ApiLogger;
  /** Attempts of a PATCH without If-Match that keeps losing races. Default 3. */
  readonly maxTransitionAttempts?: number;
  /** The `orders` search index behind `GET /orders/search`; without it that route answers 503. */
  readonly search?: OrderSearch;
}

export type OrdersApiHandler = (
  event: APIGatewayProxyEvent,
  context: Context,
) => Promise<APIGatewayProxyResult>;

interface ApiRequest {
  readonly event: APIGatewayProxyEvent;
  readonly context: Context;
  readonly headers: RequestHeaders;
  readonly params: Readonly<Record<string, string>>;
}

type RouteHandler = (request: ApiRequest) => Promise<APIGatewayProxyResult>;

const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';

/**
 * The orders API as one proxy-integration handler. Served by the Lambda (`handler.ts`) and by the local sandbox's
 * HTTP server, with the same adapters or others behind the same ports.
 */
export function createOrdersApi(deps: OrdersApiDeps): OrdersApiHandler {
  const createOrder: RouteHandler = async ({ event, context, headers }) => {
    const rawKey = singleHeader(headers, IDEMPOTENCY_KEY_HEADER);
    const key =
      rawKey === undefined ? undefined : validate(idempotencyKeySchema, rawKey, IDEMPOTENCY_KEY_HEADER);
    const body = validate(createOrderBodySchema, readJsonBody(event, headers));
    // Rejected rather than merged: two lines of one SKU at different prices have no single right merge.
    const duplicate = findDuplicateSku(body.lines);
    if (duplicate !== undefined) {
      throw new HttpError(400, 'Each SKU may appear on one line only', `lines[${duplicate.index}].sku`);
    }
    const now = deps.clock();
    if (key === undefined) {
      const outcome = await deps.orders.create(newOrder(body, deps.newOrderId(), now));
      if (outcome.kind !== 'created') {
        throw new OrderIdCollisionError(outcome.existing.orderId);
      }
      return orderCreated(outcome.order);
    }
    const scope = callerScope(event);
    const orderId = deterministicOrderId(scope, key);
    const order = await deps.idempotency.run({ scope, key, payload: body, context }, async () => {
      const outcome = await deps.orders.create(newOrder(body, orderId, now));
      if (outcome.kind === 'created') {
        return outcome.order;
      }
      // The idempotency record is gone but the order it guarded is not: a retry of the same request gets that
      // order back, a different request under the same key is refused.
      if (isSameOrderRequest(outcome.existing, body)) {
        deps.logger.warn('Idempotency record missing; answering the retry with the order its key created', {
          orderId,
        });
        return outcome.existing;
      }
      throw new IdempotencyKeyReusedError();
    });
    // A replay comes from the idempotency table: parse it like any stored order instead of trusting its shape.
    return orderCreated(parseOrderItem(order));
  };

  const getOrder: RouteHandler = async ({ params }) => {
    const orderId = orderIdParam(params);
    const order = await deps.orders.get(orderId);
    if (order === undefined) {
      throw orderNotFound();
    }
    return jsonResponse(200, toOrderResource(order), { ETag: etagOf(order.version) });
  };

  const patchOrder: RouteHandler = async ({ event, headers, params }) => {
    const orderId = orderIdParam(params);
    const ifMatch = parseIfMatch(singleHeader(headers, 'If-Match'));
    const { status } = validate(patchOrderBodySchema, readJsonBody(event, headers));
    const outcome = await transitionOrder(deps.orders, {
      orderId,
      to: status,
      expectedVersion: ifMatch?.kind === 'version' ? ifMatch.version : undefined,
      at: deps.clock().toISOString(),
      maxAttempts: deps.maxTransitionAttempts,
    });
    switch (outcome.kind) {
      case 'changed':
        return jsonResponse(200, toOrderResource(outcome.order), { ETag: etagOf(outcome.order.version) });
      case 'not-found':
        throw orderNotFound();
      case 'version-mismatch':
        throw versionMismatch(outcome.current.version);
      case 'forbidden':
        throw new HttpError(
          409,
          `An order cannot change from ${outcome.current.status} to ${status}`,
          'status',
          { ETag: etagOf(outcome.current.version) },
        );
      case 'contended':
        throw new HttpError(409, 'The order kept changing concurrently; read it and try again', null, {
          ETag: etagOf(outcome.current.version),
        });
    }
  };

  const deleteOrder: RouteHandler = async ({ headers, params }) => {
    const orderId = orderIdParam(params);
    const ifMatch = parseIfMatch(singleHeader(headers, 'If-Match'));
    const outcome = await deps.orders.delete(
      orderId,
      ifMatch?.kind === 'version' ? ifMatch.version : undefined,
    );
    if (outcome.kind === 'deleted') {
      return emptyResponse(204);
    }
    if (outcome.current === undefined) {
      throw orderNotFound();
    }
    throw versionMismatch(outcome.current.version);
  };

  const putVote: RouteHandler = async ({ event, headers, params }) => {
    const pollId = validate(pollIdSchema, params.pollId, 'pollId');
    const voterId = validate(voterIdSchema, params.voterId, 'voterId');
    const { option } = validate(putVoteBodySchema, readJsonBody(event, headers));
    const outcome = await deps.votes.put({ pollId, voterId, option, votedAt: deps.clock().toISOString() });
    return jsonResponse(outcome.kind === 'created' ? 201 : 200, outcome.vote);
  };

  const deleteVote: RouteHandler = async ({ params }) => {
    const pollId = validate(pollIdSchema, params.pollId, 'pollId');
    const voterId = validate(voterIdSchema, params.voterId, 'voterId');
    if (!(await deps.votes.delete({ pollId, voterId }))) {
      throw new HttpError(404, 'Vote not found');
    }
    return emptyResponse(204);
  };

  const getPollResults: RouteHandler = async ({ params }) => {
    const pollId = validate(pollIdSchema, params.pollId, 'pollId');
    const results = await deps.pollResults.get(pollId);
    if (results === undefined) {
      throw new HttpError(404, 'No results for this poll yet');
    }
    return jsonResponse(200, results);
  };

  const searchOrders: RouteHandler = async ({ event }) => {
    const parameters = readQueryParameters(event);
    refuseUnknownQueryParameters(parameters, SEARCH_QUERY_PARAMETERS);
    const query = validate(searchOrdersQuerySchema, parameters);
    // Validated first: a bad request is answered as such whether or not search is available.
    if (deps.search === undefined) {
      throw new HttpError(503, 'Order search is not configured in this deployment');
    }
    let page: OrderSearchPage;
    try {
      page = await deps.search.search(query);
    } catch (error) {
      if (error instanceof InvalidCursorError) {
        throw new HttpError(400, error.message, 'cursor');
      }
      // The index is a read model the stream keeps up to date: when it fails, the orders themselves are fine and
      // readable one by one, so this is "unavailable, try again", not an internal error.
      deps.logger.error('Order search failed', {
        error,
        requestId: event.requestContext?.requestId,
      });
      throw new HttpError(503, 'Order search is temporarily unavailable; try again later', null, {
        'Retry-After': '1',
      });
    }
    return jsonResponse(200, {
      items: page.items.map(toOrderResource),
      ...(page.nextCursor === undefined ? {} : { nextCursor: page.nextCursor }),
    });
  };

  const handlers: Readonly<Record<RouteId, Readonly<Record<string, RouteHandler>>>> = {
    orders: { POST: createOrder },
    searchOrders: { GET: searchOrders },
    order: { GET: getOrder, PATCH: patchOrder, DELETE: deleteOrder },
    vote: { PUT: putVote, DELETE: deleteVote },
    pollResults: { GET: getPollResults },
  };

  return async (event, context) => {
    try {
      const match = matchRoute(event);
      if (match === undefined) {
        return errorResponse(404, 'Not found', null);
      }
      const routeHandlers = handlers[match.route];
      const method = String(event.httpMethod ?? '').toUpperCase();
      // Object.hasOwn: a method named like an Object.prototype member must not find one.
      const handler = Object.hasOwn(routeHandlers, method) ? routeHandlers[method] : undefined;
      if (handler === undefined) {
        return errorResponse(405, `Method not allowed on ${ROUTES[match.route]}`, null, {
          Allow: Object.keys(routeHandlers).join(', '),
        });
      }
      return await handler({ event, context, headers: normaliseHeaders(event), params: match.params });
    } catch (error) {
      return errorToResponse(error, event, deps.logger);
    }
  };
}

function errorToResponse(
  error: unknown,
  event: APIGatewayProxyEvent,
  logger: ApiLogger,
): APIGatewayProxyResult {
  if (error instanceof HttpError) {
    return errorResponse(error.statusCode, error.message, error.field, error.headers);
  }
  if (error instanceof IdempotencyKeyReusedError) {
    return errorResponse(422, error.message, IDEMPOTENCY_KEY_HEADER);
  }
  if (error instanceof IdempotencyInProgressError) {
    return errorResponse(409, error.message, IDEMPOTENCY_KEY_HEADER, { 'Retry-After': '1' });
  }
  // Bad input never gets here; whatever does is a bug or an outage, so the client learns nothing about internals.
  logger.error('Unhandled error in the orders API', {
    error,
    httpMethod: event.httpMethod,
    resource: event.resource,
    requestId: event.requestContext?.requestId,
  });
  return errorResponse(500, 'Internal server error', null);
}

function orderIdParam(params: Readonly<Record<string, string>>): string {
  // UUIDs are case-insensitive on input; ids are stored in lower case.
  return validate(orderIdSchema, params.orderId, 'orderId').toLowerCase();
}

function orderCreated(order: Parameters<typeof toOrderResource>[0]): APIGatewayProxyResult {
  return jsonResponse(201, toOrderResource(order), {
    ETag: etagOf(order.version),
    Location: `/orders/${order.orderId}`,
  });
}

function orderNotFound(): HttpError {
  return new HttpError(404, 'Order not found');
}

function versionMismatch(currentVersion: number): HttpError {
  return new HttpError(412, `The order is at version ${currentVersion}`, 'If-Match', {
    ETag: etagOf(currentVersion),
  });
}

/**
 * Whose Idempotency-Key this is. With IAM auth API Gateway always sets the caller's ARN; `caller` is the fallback
 * it documents. An event with neither (a hand-built one in the sandbox) shares one anonymous scope.
 */
export function callerScope(event: Pick<APIGatewayProxyEvent, 'requestContext'>): string {
  const identity = event.requestContext?.identity;
  const present = (value: string | null | undefined): string | undefined =>
    value === null || value === undefined || value === '' ? undefined : value;
  return present(identity?.userArn) ?? present(identity?.caller) ?? 'anonymous';
}
