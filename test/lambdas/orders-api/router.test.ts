import { describe, expect, it } from 'vitest';
import { matchRoute, ROUTES } from '../../../lambdas/orders-api/router.js';

describe('matchRoute', () => {
  it.each([
    {
      name: 'a declared resource',
      event: { resource: '/orders/{orderId}', path: '/orders/abc', pathParameters: { orderId: 'abc' } },
      match: { route: 'order', params: { orderId: 'abc' } },
    },
    {
      name: 'a declared resource, trusting pathParameters over the path',
      event: { resource: '/polls/{pollId}/results', path: '/ignored', pathParameters: { pollId: 'p1' } },
      match: { route: 'pollResults', params: { pollId: 'p1' } },
    },
    {
      name: 'a declared resource without its parameter',
      event: { resource: '/orders/{orderId}', path: '/orders/abc', pathParameters: null },
      match: { route: 'order', params: { orderId: '' } },
    },
    {
      name: 'a proxy resource, by path',
      event: {
        resource: '/{proxy+}',
        path: '/polls/p1/votes/v1',
        pathParameters: { proxy: 'polls/p1/votes/v1' },
      },
      match: { route: 'vote', params: { pollId: 'p1', voterId: 'v1' } },
    },
    {
      name: 'a path only (the local server)',
      event: { resource: '', path: '/orders', pathParameters: null },
      match: { route: 'orders', params: {} },
    },
  ])('matches $name', ({ event, match }) => {
    // Act
    const result = matchRoute(event);

    // Assess
    expect(result).toEqual(match);
  });

  it.each([
    {
      name: 'the declared search resource',
      event: { resource: '/orders/search', path: '/orders/search', pathParameters: null },
    },
    {
      name: 'search handed over as an order id (a deployment or server that does not know the resource)',
      event: { resource: '/orders/{orderId}', path: '/orders/search', pathParameters: { orderId: 'search' } },
    },
    {
      name: 'search by path through a proxy resource',
      event: { resource: '/{proxy+}', path: '/orders/search', pathParameters: { proxy: 'orders/search' } },
    },
    { name: 'search by path only', event: { resource: '', path: '/orders/search', pathParameters: null } },
  ])('routes $name to searchOrders', ({ event }) => {
    // Act
    const result = matchRoute(event);

    // Assess
    expect(result).toEqual({ route: 'searchOrders', params: {} });
  });

  it.each([
    { orderId: 'Search', name: 'another spelling' },
    { orderId: 'search%20', name: 'an encoded suffix' },
    { orderId: 'search/x', name: 'a value with a slash' },
  ])('keeps an order id that only resembles search ($name) on the order route', ({ orderId }) => {
    // Act
    const result = matchRoute({
      resource: '/orders/{orderId}',
      path: `/orders/${orderId}`,
      pathParameters: { orderId },
    });

    // Assess
    expect(result).toEqual({ route: 'order', params: { orderId } });
  });

  it('ranks the literal route first whatever the declaration order (ROUTES lists it before the order route)', () => {
    // Assess
    const keys = Object.keys(ROUTES);
    expect(keys.indexOf('searchOrders')).toBeLessThan(keys.indexOf('order'));
    expect(
      matchRoute({
        resource: '',
        path: '/orders/0b8e1c9e-4f6a-4d2b-9c1e-2f3a4b5c6d7e',
        pathParameters: null,
      }),
    ).toEqual({
      route: 'order',
      params: { orderId: '0b8e1c9e-4f6a-4d2b-9c1e-2f3a4b5c6d7e' },
    });
  });

  it.each([
    '/',
    '/orders/',
    '/orders/a/b',
    '/polls/p1/votes',
    '/polls//results',
    '/admin',
    '/Orders',
    '/orders/search/x',
  ])('matches nothing for %s', (path) => {
    // Act
    const result = matchRoute({ resource: '/{proxy+}', path, pathParameters: null });

    // Assess
    expect(result).toBeUndefined();
  });
});
