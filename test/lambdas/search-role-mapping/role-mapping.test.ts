import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import { SEARCH_ROLE_MAPPING_PROPERTY as PROPERTY } from '../../../lambdas/search-role-mapping/names.js';
import {
  createRoleMappingHandler,
  parseRoleMappingProperties,
  type RetryPolicy,
  RoleMappingPropertiesError,
  roleMappingRequests,
  SecurityPluginRequestRefusedError,
  SecurityPluginUnavailableError,
} from '../../../lambdas/search-role-mapping/role-mapping.js';
import {
  type AwsCredentials,
  createOpenSearchClient,
} from '../../../lambdas/shared/search/opensearch-client.js';
import { SEARCH_SECURITY_ROLES } from '../../../lambdas/shared/search/security-roles.js';
import { errorBody, OpenSearchConnectionMock } from '../../support/opensearch-connection-mock.js';

const MASTER_USER = 'arn:aws:iam::123456789012:role/OrdersStreams-dev-Data-SearchAdminRole';
const WRITER = 'arn:aws:iam::123456789012:role/OrdersStreams-dev-Pipelines-SearchSyncRole';
const READER = 'arn:aws:iam::123456789012:role/OrdersStreams-dev-Pipelines-OrdersApiRole';
const ENDPOINT = 'https://search-orders-dev-abc123.eu-west-1.es.amazonaws.com';
const CREDENTIALS: AwsCredentials = {
  accessKeyId: 'ASIAMASTERUSER',
  secretAccessKey: 'secret',
  sessionToken: 'token',
};

const PROPERTIES = {
  ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:framework-onEvent',
  [PROPERTY.DOMAIN_NAME]: 'orders-dev',
  [PROPERTY.DOMAIN_ENDPOINT]: ENDPOINT,
  [PROPERTY.MASTER_USER_ROLE_ARN]: MASTER_USER,
  [PROPERTY.WRITER_ROLE_ARN]: WRITER,
  [PROPERTY.READER_ROLE_ARN]: READER,
  [PROPERTY.ROLES_HASH]: 'abc',
};

const EXPECTED_PUTS = [
  {
    path: '/_plugins/_security/api/roles/orders_writer',
    body: {
      cluster_permissions: ['indices:data/write/bulk'],
      index_permissions: [
        {
          index_patterns: ['orders'],
          allowed_actions: [
            'create_index',
            'write',
            'indices:admin/get',
            'indices:admin/mappings/get',
            'indices:admin/mapping/put',
          ],
        },
      ],
    },
  },
  {
    path: '/_plugins/_security/api/roles/orders_reader',
    body: { index_permissions: [{ index_patterns: ['orders'], allowed_actions: ['search'] }] },
  },
  { path: '/_plugins/_security/api/rolesmapping/orders_writer', body: { backend_roles: [WRITER] } },
  { path: '/_plugins/_security/api/rolesmapping/orders_reader', body: { backend_roles: [READER] } },
];

const OK = { status: 200, body: { status: 'OK', message: "'orders_writer' updated." } };
const CREATED = { status: 201, body: { status: 'CREATED', message: "'orders_writer' created." } };

function event(requestType: 'Create' | 'Update' | 'Delete'): CloudFormationCustomResourceEvent {
  const common = {
    ServiceToken: PROPERTIES.ServiceToken,
    ResponseURL: 'https://cloudformation-custom-resource-response.example/',
    StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/OrdersStreams-dev-Pipelines/1',
    RequestId: 'request-1',
    LogicalResourceId: 'SearchRoleMapping',
    ResourceType: 'Custom::SearchRoleMapping',
    ResourceProperties: PROPERTIES,
  };
  if (requestType === 'Create') {
    return { ...common, RequestType: 'Create' };
  }
  if (requestType === 'Update') {
    return {
      ...common,
      RequestType: 'Update',
      PhysicalResourceId: 'search-role-mapping:orders-dev',
      OldResourceProperties: { ...PROPERTIES, [PROPERTY.WRITER_ROLE_ARN]: `${WRITER}-old` },
    };
  }
  return { ...common, RequestType: 'Delete', PhysicalResourceId: 'search-role-mapping:orders-dev' };
}

const FAST_RETRY: RetryPolicy = { budgetMs: 60_000, initialDelayMs: 1_000, maxDelayMs: 8_000 };

function setup(retry: RetryPolicy = FAST_RETRY) {
  const mock = new OpenSearchConnectionMock();
  const masterUser = { credentialsFor: vi.fn(async () => CREDENTIALS) };
  const clientFor = vi.fn((endpoint: string, credentials: AwsCredentials) =>
    createOpenSearchClient({
      endpoint,
      sign: true,
      region: 'eu-west-1',
      getCredentials: async () => credentials,
      maxRetries: 0,
      Connection: mock.Connection,
    }),
  );
  // A clock that the handler's sleeps advance, so that the retry budget is spent without waiting.
  let clock = 0;
  const sleeps: number[] = [];
  const sleep = vi.fn(async (ms: number) => {
    sleeps.push(ms);
    clock += ms;
  });
  const logger = { info: vi.fn(), warn: vi.fn() };
  const handler = createRoleMappingHandler({
    masterUser,
    clientFor,
    logger,
    retry,
    sleep,
    now: () => clock,
  });
  return { mock, masterUser, clientFor, sleeps, logger, handler };
}

describe('roleMappingRequests', () => {
  it('PUTs both roles, then both mappings, each with one backend role', () => {
    // Act
    const requests = roleMappingRequests({ writerRoleArn: WRITER, readerRoleArn: READER });

    // Assess
    expect(requests).toEqual(EXPECTED_PUTS);
  });

  it('sends the shared role definitions as they are', () => {
    // Act
    const [writer, reader] = roleMappingRequests({ writerRoleArn: WRITER, readerRoleArn: READER });

    // Assess
    expect(writer?.body).toBe(SEARCH_SECURITY_ROLES.writer.permissions);
    expect(reader?.body).toBe(SEARCH_SECURITY_ROLES.reader.permissions);
  });
});

describe('parseRoleMappingProperties', () => {
  it('reads the properties the construct sets', () => {
    // Act
    const properties = parseRoleMappingProperties(PROPERTIES);

    // Assess
    expect(properties).toEqual({
      domainName: 'orders-dev',
      endpoint: ENDPOINT,
      masterUserRoleArn: MASTER_USER,
      writerRoleArn: WRITER,
      readerRoleArn: READER,
    });
  });

  it.each([
    ['a missing reader role', { ...PROPERTIES, [PROPERTY.READER_ROLE_ARN]: undefined }, 'ReaderRoleArn'],
    [
      'an http endpoint',
      { ...PROPERTIES, [PROPERTY.DOMAIN_ENDPOINT]: 'http://localhost:9200' },
      'DomainEndpoint',
    ],
    [
      'a user as master user',
      { ...PROPERTIES, [PROPERTY.MASTER_USER_ROLE_ARN]: 'arn:aws:iam::123456789012:user/x' },
      'MasterUserRoleArn',
    ],
  ])('refuses %s, naming the property', (_name, properties, property) => {
    // Act
    const act = () => parseRoleMappingProperties(properties);

    // Assess
    expect(act).toThrow(RoleMappingPropertiesError);
    expect(act).toThrow(property);
  });
});

describe('createRoleMappingHandler', () => {
  it.each(['Create', 'Update'] as const)(
    'on %s assumes the master user and PUTs the four entries signed as it',
    async (requestType) => {
      // Prepare
      const { mock, masterUser, clientFor, handler } = setup();
      mock.reply(CREATED, CREATED, OK, OK);

      // Act
      const result = await handler(event(requestType));

      // Assess
      expect(result).toEqual({ PhysicalResourceId: 'search-role-mapping:orders-dev' });
      expect(masterUser.credentialsFor).toHaveBeenCalledExactlyOnceWith(MASTER_USER);
      expect(clientFor).toHaveBeenCalledExactlyOnceWith(ENDPOINT, CREDENTIALS);
      expect(mock.requests.map(({ method, path }) => ({ method, path }))).toEqual(
        EXPECTED_PUTS.map(({ path }) => ({ method: 'PUT', path })),
      );
      expect(mock.jsonBodies()).toEqual(EXPECTED_PUTS.map(({ body }) => body));
      for (const request of mock.requests) {
        expect(request.headers.authorization).toMatch(
          /^AWS4-HMAC-SHA256 Credential=ASIAMASTERUSER\/\d{8}\/eu-west-1\/es\/aws4_request/,
        );
        expect(request.headers['x-amz-security-token']).toBe('token');
      }
      expect(mock.unscripted).toBe(0);
    },
  );

  it('on Delete touches neither STS nor the domain, and keeps the physical id', async () => {
    // Prepare
    const { mock, masterUser, clientFor, handler } = setup();

    // Act
    const result = await handler(event('Delete'));

    // Assess
    expect(result).toEqual({ PhysicalResourceId: 'search-role-mapping:orders-dev' });
    expect(masterUser.credentialsFor).not.toHaveBeenCalled();
    expect(clientFor).not.toHaveBeenCalled();
    expect(mock.requests).toEqual([]);
  });

  it.each([
    [
      'a 503 (the domain still processing)',
      { status: 503, body: errorBody(503, 'cluster_block_exception', 'busy') },
    ],
    ['a 429 (throttled)', { status: 429, body: errorBody(429, 'too_many_requests', 'slow down') }],
    ['a 500', { status: 500, body: { status: 'INTERNAL_SERVER_ERROR', message: 'oops' } }],
    ['a network failure', { fail: 'network' as const }],
  ])('retries %s with backoff and goes on', async (_name, failure) => {
    // Prepare
    const { mock, sleeps, handler, logger } = setup();
    mock.reply(OK, failure, failure, OK, OK, OK);

    // Act
    const result = await handler(event('Create'));

    // Assess
    expect(result).toEqual({ PhysicalResourceId: 'search-role-mapping:orders-dev' });
    expect(mock.requests.map(({ path }) => path)).toEqual([
      EXPECTED_PUTS[0]?.path,
      EXPECTED_PUTS[1]?.path,
      EXPECTED_PUTS[1]?.path,
      EXPECTED_PUTS[1]?.path,
      EXPECTED_PUTS[2]?.path,
      EXPECTED_PUTS[3]?.path,
    ]);
    expect(sleeps).toEqual([1_000, 2_000]);
    expect(logger.warn).toHaveBeenCalledTimes(2);
  });

  it('fails once transient failures outlast the retry budget, naming the path', async () => {
    // Prepare
    const { mock, sleeps, handler } = setup({ budgetMs: 20_000, initialDelayMs: 1_000, maxDelayMs: 8_000 });
    const unavailable = { status: 503, body: errorBody(503, 'unavailable', 'still processing') };
    mock.reply(...Array.from({ length: 10 }, () => unavailable));

    // Act
    const act = handler(event('Create'));

    // Assess
    await expect(act).rejects.toThrow(SecurityPluginUnavailableError);
    await expect(act).rejects.toThrow(
      /^PUT \/_plugins\/_security\/api\/roles\/orders_writer still failed after 5/,
    );
    // 1 + 2 + 4 + 8 s waited; the next 8 s wait would end past the 20 s budget.
    expect(sleeps).toEqual([1_000, 2_000, 4_000, 8_000]);
    expect(mock.requests).toHaveLength(5);
  });

  it.each([
    [
      403,
      { status: 'FORBIDDEN', message: 'No permission to access REST API: User arn:...SearchSyncRole' },
      /^PUT \/_plugins\/_security\/api\/roles\/orders_writer was refused: 403.*No permission to access REST API/,
    ],
    [
      400,
      { status: 'BAD_REQUEST', message: "Invalid configuration: 'allowed_actions' is not a valid action" },
      /^PUT \/_plugins\/_security\/api\/roles\/orders_writer was refused: 400.*is not a valid action/,
    ],
  ])('fails at once on a %i, naming the path and the reason', async (status, body, message) => {
    // Prepare
    const { mock, sleeps, handler } = setup();
    mock.reply({ status, body });

    // Act
    const act = handler(event('Create'));

    // Assess
    await expect(act).rejects.toThrow(SecurityPluginRequestRefusedError);
    await expect(act).rejects.toThrow(message);
    expect(mock.requests).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('fails without a request when the master user cannot be assumed', async () => {
    // Prepare
    const { mock, masterUser, handler } = setup();
    masterUser.credentialsFor.mockRejectedValueOnce(new Error('AccessDenied'));

    // Act
    const act = handler(event('Update'));

    // Assess
    await expect(act).rejects.toThrow('AccessDenied');
    expect(mock.requests).toEqual([]);
  });

  it('fails on invalid properties before assuming anything', async () => {
    // Prepare
    const { masterUser, handler } = setup();
    const invalid = {
      ...event('Create'),
      ResourceProperties: { ...PROPERTIES, [PROPERTY.WRITER_ROLE_ARN]: '' },
    };

    // Act
    const act = handler(invalid);

    // Assess
    await expect(act).rejects.toThrow(RoleMappingPropertiesError);
    expect(masterUser.credentialsFor).not.toHaveBeenCalled();
  });
});

describe('the table in docs/pipelines/search-sync.md', () => {
  it('shows the role bodies the handler PUTs', () => {
    // Prepare
    const page = readFileSync(
      join(import.meta.dirname, '..', '..', '..', 'docs/pipelines/search-sync.md'),
      'utf8',
    );

    // Act
    const bodies = Object.fromEntries(
      [...page.matchAll(/^\| `_plugins\/_security\/api\/roles\/(\w+)` \| `(.+)` \|$/gm)].map(
        ([, name, body]) => [name, JSON.parse(body ?? '') as unknown],
      ),
    );

    // Assess
    expect(bodies).toEqual({
      [SEARCH_SECURITY_ROLES.writer.name]: SEARCH_SECURITY_ROLES.writer.permissions,
      [SEARCH_SECURITY_ROLES.reader.name]: SEARCH_SECURITY_ROLES.reader.permissions,
    });
  });
});
