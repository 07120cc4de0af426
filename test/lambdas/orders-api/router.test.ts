import { describe, expect, it } from 'vitest';
import { matchRoute } from '../../../lambdas/orders-api/router.js';

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

  it.each(['/', '/orders/', '/orders/a/b', '/polls/p1/votes', '/polls//results', '/admin', '/Orders'])(
    'matches nothing for %s',
    (path) => {
      // Act
      const result = matchRoute({ resource: '/{proxy+}', path, pathParameters: null });

      // Assess
      expect(result).toBeUndefined();
    },
  );
});
