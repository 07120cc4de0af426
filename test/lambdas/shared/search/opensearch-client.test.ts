import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type AwsCredentials,
  createOpenSearchClient,
  OpenSearchClientConfigurationError,
} from '../../../../lambdas/shared/search/opensearch-client.js';
import { OpenSearchConnectionMock } from '../../../support/opensearch-connection-mock.js';

const DOMAIN = 'https://search-orders-abc123.eu-west-1.es.amazonaws.com';

/** Static test credentials: nothing here ever talks to AWS. */
const CREDENTIALS: AwsCredentials = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  sessionToken: 'session-token-example',
};

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('createOpenSearchClient', () => {
  it('signs every request with SigV4 for service es in the given region when sign is true', async () => {
    // Prepare
    const mock = new OpenSearchConnectionMock().reply({
      status: 200,
      body: { took: 1, errors: false, items: [] },
    });
    const getCredentials = vi.fn(async () => CREDENTIALS);
    const client = createOpenSearchClient({
      endpoint: DOMAIN,
      sign: true,
      region: 'eu-west-1',
      getCredentials,
      Connection: mock.Connection,
    });
    const body = '{"index":{"_id":"a"}}\n{"x":1}\n';

    // Act
    await client.transport.request({ method: 'POST', path: '/orders/_bulk', bulkBody: body });

    // Assess
    const headers = mock.requests[0]?.headers ?? {};
    expect(headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/es\/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$/,
    );
    expect(headers.authorization).toContain('x-amz-content-sha256');
    expect(headers['x-amz-content-sha256']).toBe(createHash('sha256').update(body).digest('hex'));
    expect(headers['x-amz-security-token']).toBe('session-token-example');
    expect(headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
    expect(headers.host).toBe('search-orders-abc123.eu-west-1.es.amazonaws.com');
  });

  it('resolves credentials once for many requests while they do not expire', async () => {
    // Prepare
    const mock = new OpenSearchConnectionMock().reply(
      { status: 200, body: {} },
      { status: 200, body: {} },
      { status: 200, body: {} },
    );
    const getCredentials = vi.fn(async () => CREDENTIALS);
    const client = createOpenSearchClient({
      endpoint: DOMAIN,
      sign: true,
      region: 'eu-west-1',
      getCredentials,
      Connection: mock.Connection,
    });

    // Act
    for (let request = 0; request < 3; request += 1) {
      await client.transport.request({ method: 'POST', path: '/orders/_search', body: {} });
    }

    // Assess
    expect(getCredentials).toHaveBeenCalledTimes(1);
    expect(mock.requests.every(({ headers }) => headers.authorization?.startsWith('AWS4-HMAC-SHA256'))).toBe(
      true,
    );
  });

  it('resolves credentials again when they expire within a request timeout', async () => {
    // Prepare
    const mock = new OpenSearchConnectionMock().reply({ status: 200, body: {} }, { status: 200, body: {} });
    const expiring: AwsCredentials = { ...CREDENTIALS, expiration: new Date(Date.now() + 1_000) };
    const fresh: AwsCredentials = {
      ...CREDENTIALS,
      accessKeyId: 'AKIDFRESH',
      expiration: new Date(Date.now() + 3.6e6),
    };
    const getCredentials = vi.fn<() => Promise<AwsCredentials>>();
    getCredentials.mockResolvedValueOnce(expiring).mockResolvedValueOnce(fresh);
    const client = createOpenSearchClient({
      endpoint: DOMAIN,
      sign: true,
      region: 'eu-west-1',
      getCredentials,
      requestTimeoutMs: 5_000,
      Connection: mock.Connection,
    });

    // Act
    await client.transport.request({ method: 'HEAD', path: '/orders' });
    await client.transport.request({ method: 'HEAD', path: '/orders' });

    // Assess
    expect(getCredentials).toHaveBeenCalledTimes(2);
    expect(mock.requests[1]?.headers.authorization).toContain('Credential=AKIDFRESH/');
  });

  it('signs with the default credential chain, read from the environment, and the region from AWS_REGION', async () => {
    // Prepare: static test credentials in the environment; the chain's first source, so it looks nowhere else.
    vi.stubEnv('AWS_PROFILE', undefined);
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDFROMENV');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'secret-from-env');
    vi.stubEnv('AWS_SESSION_TOKEN', undefined);
    vi.stubEnv('AWS_REGION', 'eu-central-1');
    const mock = new OpenSearchConnectionMock().reply({ status: 200, body: {} });
    const client = createOpenSearchClient({ endpoint: DOMAIN, sign: true, Connection: mock.Connection });

    // Act
    await client.transport.request({ method: 'POST', path: '/orders/_search', body: {} });

    // Assess
    expect(mock.requests[0]?.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDFROMENV\/\d{8}\/eu-central-1\/es\/aws4_request/,
    );
  });

  it('sends requests unsigned when sign is false', async () => {
    // Prepare
    const mock = new OpenSearchConnectionMock().reply({ status: 200, body: {} });
    const client = createOpenSearchClient({
      endpoint: 'http://127.0.0.1:9200',
      sign: false,
      Connection: mock.Connection,
    });

    // Act
    await client.transport.request({ method: 'POST', path: '/orders/_search', body: { size: 1 } });

    // Assess
    expect(mock.requests).toEqual([
      {
        method: 'POST',
        path: '/orders/_search',
        querystring: '',
        headers: expect.not.objectContaining({ authorization: expect.anything() }),
        body: '{"size":1}',
      },
    ]);
  });

  it('retries a 502/503/504 or a connection error once, and never a 429', async () => {
    // Prepare
    const mock = new OpenSearchConnectionMock().reply(
      { fail: 'network' },
      { status: 200, body: { ok: 1 } },
      { status: 429, body: { error: 'throttled' } },
    );
    const client = createOpenSearchClient({
      endpoint: 'http://127.0.0.1:9200',
      sign: false,
      Connection: mock.Connection,
    });

    // Act
    const first = await client.transport.request({ method: 'GET', path: '/orders/_mapping' });
    const second = client.transport.request({ method: 'GET', path: '/orders/_mapping' });

    // Assess
    expect(first.body).toEqual({ ok: 1 });
    await expect(second).rejects.toMatchObject({ name: 'ResponseError', statusCode: 429 });
    expect(mock.requests).toHaveLength(3);
  });

  it.each([
    { name: 'no scheme', options: { endpoint: 'search.example.com', sign: false }, message: /must be a URL/ },
    {
      name: 'ftp',
      options: { endpoint: 'ftp://search.example.com', sign: false },
      message: /must be http\(s\)/,
    },
    {
      name: 'a path',
      options: { endpoint: `${DOMAIN}/orders`, sign: true },
      message: /scheme and host only/,
    },
    {
      name: 'credentials',
      options: { endpoint: 'https://u:p@search.example.com', sign: true },
      message: /host only/,
    },
    {
      name: 'signed http',
      options: { endpoint: 'http://127.0.0.1:9200', sign: true },
      message: /must be https/,
    },
    {
      name: 'a zero timeout',
      options: { endpoint: DOMAIN, sign: false, requestTimeoutMs: 0 },
      message: /requestTimeoutMs/,
    },
    {
      name: 'negative retries',
      options: { endpoint: DOMAIN, sign: false, maxRetries: -1 },
      message: /maxRetries/,
    },
  ])('refuses $name', ({ options, message }) => {
    // Act
    const creating = (): unknown =>
      createOpenSearchClient({ ...options, region: 'eu-west-1', getCredentials: async () => CREDENTIALS });

    // Assess
    expect(creating).toThrow(OpenSearchClientConfigurationError);
    expect(creating).toThrow(message);
  });

  it('refuses to sign without a region', () => {
    // Prepare
    vi.stubEnv('AWS_REGION', undefined);

    // Act
    const creating = (): unknown => createOpenSearchClient({ endpoint: DOMAIN, sign: true });

    // Assess
    expect(creating).toThrow('Signing OpenSearch requests needs a region: pass `region` or set AWS_REGION');
  });
});
