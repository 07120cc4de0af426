import { afterEach, describe, expect, it, vi } from 'vitest';
import { ENV } from '../../../lambdas/shared/env.js';
import { apiEvent, lambdaContext, responseJson } from '../../support/api-events.js';

/** The API function's environment as CDK sets it; the tables are never reached by these tests. */
function stubFunctionEnvironment(): void {
  vi.stubEnv(ENV.ORDERS_TABLE_NAME, 'Orders');
  vi.stubEnv(ENV.VOTES_TABLE_NAME, 'Votes');
  vi.stubEnv(ENV.POLL_RESULTS_TABLE_NAME, 'PollResults');
  vi.stubEnv(ENV.IDEMPOTENCY_TABLE_NAME, 'Idempotency');
}

function searchEvent() {
  return {
    ...apiEvent({ method: 'GET', path: '/orders/search' }),
    resource: '/orders/search',
    pathParameters: null,
  };
}

describe('handler (the composition root)', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.doUnmock('../../../lambdas/shared/search/opensearch-client.js');
    vi.resetModules();
  });

  it('answers GET /orders/search with 503 when OPENSEARCH_ENDPOINT is not set, without calling AWS', async () => {
    // Prepare
    stubFunctionEnvironment();
    vi.stubEnv(ENV.OPENSEARCH_ENDPOINT, undefined);
    const { handler } = await import('../../../lambdas/orders-api/handler.js');

    // Act
    const response = await handler(searchEvent(), lambdaContext());

    // Assess
    expect(response.statusCode).toBe(503);
    expect(responseJson(response)).toEqual({
      error: 'Order search is not configured in this deployment',
      field: null,
    });
  });

  it('loads with OPENSEARCH_ENDPOINT set, resolving no credentials', async () => {
    // Prepare
    stubFunctionEnvironment();
    vi.stubEnv(ENV.OPENSEARCH_ENDPOINT, 'https://search-orders-abc123.eu-west-1.es.amazonaws.com');

    // Act
    const loading = import('../../../lambdas/orders-api/handler.js');

    // Assess
    await expect(loading).resolves.toHaveProperty('handler');
  });

  it('loads the OpenSearch client on the first search, not at cold start', async () => {
    // Prepare
    stubFunctionEnvironment();
    vi.stubEnv(ENV.OPENSEARCH_ENDPOINT, 'https://search-orders-abc123.eu-west-1.es.amazonaws.com');
    const loaded = vi.fn();
    vi.doMock('../../../lambdas/shared/search/opensearch-client.js', () => {
      loaded();
      return {
        createOpenSearchClient: (): never => {
          throw new Error('no domain in this test');
        },
      };
    });
    const { handler } = await import('../../../lambdas/orders-api/handler.js');
    const loadedAtColdStart = loaded.mock.calls.length;

    // Act
    const response = await handler(searchEvent(), lambdaContext());

    // Assess
    expect(loadedAtColdStart).toBe(0);
    expect(loaded).toHaveBeenCalledTimes(1);
    expect(response.statusCode).toBe(503);
    expect(responseJson(response)).toMatchObject({
      error: 'Order search is temporarily unavailable; try again later',
    });
  });

  it('fails the cold start when OPENSEARCH_ENDPOINT is set but not an https URL', async () => {
    // Prepare
    stubFunctionEnvironment();
    vi.stubEnv(ENV.OPENSEARCH_ENDPOINT, 'http://search.example.com');

    // Act
    const loading = import('../../../lambdas/orders-api/handler.js');

    // Assess
    await expect(loading).rejects.toThrow('A signed OpenSearch endpoint must be https');
  });
});
