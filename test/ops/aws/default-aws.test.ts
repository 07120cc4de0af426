import 'aws-sdk-client-mock-vitest/extend';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { defaultOpsAws } from '../../../ops/aws/default-aws.js';
import { OpenSearchConnectionMock } from '../../support/opensearch-connection-mock.js';

const DOMAIN = 'https://search-orders-prod-abc123.eu-central-1.es.amazonaws.com';

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('defaultOpsAws, the members the backfill, reconcile and history commands use', () => {
  it("hands out a search client that signs with SigV4 for es in the given region, with the chain's credentials", async () => {
    // Prepare: the default chain reads the environment first.
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDEXAMPLE');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'secret-example');
    vi.stubEnv('AWS_SESSION_TOKEN', 'session-token-example');
    const mock = new OpenSearchConnectionMock().reply({ status: 200, body: { count: 0 } });
    const aws = defaultOpsAws('eu-west-1', { searchConnection: mock.Connection });
    const client = aws.searchClient(DOMAIN, 'eu-central-1');

    // Act
    await client.transport.request({ method: 'GET', path: '/orders/_count' });

    // Assess
    const headers = mock.requests[0]?.headers ?? {};
    expect(headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-central-1\/es\/aws4_request, /,
    );
    expect(headers['x-amz-security-token']).toBe('session-token-example');
    expect(headers.host).toBe('search-orders-prod-abc123.eu-central-1.es.amazonaws.com');
    await client.close();
    aws.close();
  });

  it('reads the audit bucket named by the caller through S3', async () => {
    // Prepare
    const s3 = mockClient(S3Client);
    s3.on(ListObjectsV2Command).resolves({
      CommonPrefixes: [{ Prefix: 'table=Orders/' }],
      IsTruncated: false,
    });
    const aws = defaultOpsAws('eu-west-1');

    // Act
    const objects = aws.auditObjects('orders-audit-bucket');
    const prefixes = await objects.commonPrefixes('table=', '/');

    // Assess
    expect(objects.location).toBe('s3://orders-audit-bucket');
    expect(prefixes).toEqual(['table=Orders/']);
    expect(s3.commandCalls(ListObjectsV2Command).map((call) => call.args[0].input)).toStrictEqual([
      { Bucket: 'orders-audit-bucket', Prefix: 'table=', Delimiter: '/' },
    ]);
    aws.close();
    s3.restore();
  });

  it('keeps one DynamoDB client in the region, destroyed by close', async () => {
    // Prepare
    const aws = defaultOpsAws('eu-west-1');
    const destroy = vi.spyOn(aws.dynamoDb, 'destroy');

    // Act
    const region = await aws.dynamoDb.config.region();
    aws.close();

    // Assess
    expect(region).toBe('eu-west-1');
    expect(destroy).toHaveBeenCalledTimes(1);
  });
});
