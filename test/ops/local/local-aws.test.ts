import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { localOpsAwsClient } from '../../../ops/local/local-aws.js';
import {
  MalformedOpsEndpointError,
  NoRunningSandboxError,
  OPS_ENDPOINT_FILE,
  type OpsEndpoint,
  readOpsEndpoint,
  SandboxCallError,
} from '../../../ops/local/protocol.js';

const ENDPOINT: OpsEndpoint = {
  url: 'http://127.0.0.1:9',
  token: 'x'.repeat(64),
  stage: 'dev',
  region: 'eu-west-1',
  dynamodbEndpoint: 'http://127.0.0.1:8000',
  searchUrl: 'http://127.0.0.1:9200',
  pid: 4242,
};

/** A fetch that records each call and answers with `respond`. */
function fakeFetch(respond: (method: string, args: unknown[]) => { status: number; body: unknown }) {
  const calls: { url: string; method: string; args: unknown[]; authorization: string | null }[] = [];
  const fetchImpl = (async (url: string, init: RequestInit) => {
    const method = url.slice(`${ENDPOINT.url}/ops/`.length);
    const args = JSON.parse(String(init.body)) as unknown[];
    calls.push({ url, method, args, authorization: new Headers(init.headers).get('authorization') });
    const { status, body } = respond(method, args);
    return new Response(JSON.stringify(body), { status });
  }) as unknown as typeof fetch;
  return { calls, fetchImpl };
}

describe('the --local client of the ops ports', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('sends each port method as one authorized POST and turns the answer back into the port types', async () => {
    // Prepare
    const { calls, fetchImpl } = fakeFetch((method) => {
      if (method === 'stackOutputs.outputsOf') return { status: 200, body: { result: [['OpsApiUrl', 'u']] } };
      if (method === 'deadLetterQueues.receive') {
        return {
          status: 200,
          body: {
            result: [
              {
                messageId: 'm',
                body: '{}',
                sentAt: '2026-12-07T10:00:00.000Z',
                receiveCount: 1,
                receiptHandle: 'h',
              },
            ],
          },
        };
      }
      return { status: 200, body: { result: Buffer.from('line\n').toString('base64') } };
    });
    const aws = localOpsAwsClient(ENDPOINT, fetchImpl);

    // Act
    const outputs = await aws.stackOutputs.outputsOf('OrdersStreams-dev-Data');
    const received = await aws.deadLetterQueues.receive('q', { limit: 10, visibilityTimeoutSeconds: 300 });
    const bytes = await aws.auditObjects('b').read('k');
    await aws.metrics.maximum({
      namespace: 'AWS/Lambda',
      metricName: 'IteratorAge',
      dimensions: new Map([['FunctionName', 'f']]),
      statistic: 'Maximum',
      periodSeconds: 60,
      start: new Date('2026-12-07T10:00:00Z'),
      end: new Date('2026-12-07T10:15:00Z'),
    });
    aws.close();

    // Assess
    expect(outputs).toEqual(new Map([['OpsApiUrl', 'u']]));
    expect(received).toEqual([
      {
        messageId: 'm',
        body: '{}',
        sentAt: new Date('2026-12-07T10:00:00.000Z'),
        receiveCount: 1,
        receiptHandle: 'h',
      },
    ]);
    expect(bytes.toString()).toBe('line\n');
    expect(calls.map((call) => call.method)).toEqual([
      'stackOutputs.outputsOf',
      'deadLetterQueues.receive',
      'auditObjects.read',
      'metrics.maximum',
    ]);
    expect(calls.every((call) => call.authorization === `Bearer ${ENDPOINT.token}`)).toBe(true);
    expect(calls[3]?.args).toEqual([
      expect.objectContaining({
        dimensions: [['FunctionName', 'f']],
        start: '2026-12-07T10:00:00.000Z',
        end: '2026-12-07T10:15:00.000Z',
      }),
    ]);
  });

  it("rethrows the sandbox's error with its name and message", async () => {
    // Prepare
    const { fetchImpl } = fakeFetch(() => ({
      status: 500,
      body: { error: { name: 'LocalFunctionNotFoundError', message: 'no function "x"' } },
    }));
    const aws = localOpsAwsClient(ENDPOINT, fetchImpl);

    // Act
    const invoked = aws.functions.invoke('x', { Records: [] });

    // Assess
    await expect(invoked).rejects.toThrow(SandboxCallError);
    await expect(invoked).rejects.toThrow(
      /LocalFunctionNotFoundError: no function "x" \(the sandbox's functions.invoke\)/,
    );
    aws.close();
  });

  it('says the sandbox is gone when nothing answers', async () => {
    // Prepare
    const fetchImpl = (async () => {
      throw new TypeError('fetch failed');
    }) as unknown as typeof fetch;
    const aws = localOpsAwsClient(ENDPOINT, fetchImpl);

    // Act
    const asked = aws.mappings.mapping('u');

    // Assess
    await expect(asked).rejects.toThrow(/is the sandbox \(pid 4242\) still running\?/);
    aws.close();
  });

  it.each([
    ['missing', undefined, NoRunningSandboxError, /start one with `npm start`/],
    ['not JSON', '{oops', MalformedOpsEndpointError, /is not a sandbox's ops endpoint file/],
    ['a short token', JSON.stringify({ ...ENDPOINT, token: 'short' }), MalformedOpsEndpointError, /token/],
    [
      'an https url',
      JSON.stringify({ ...ENDPOINT, url: 'https://127.0.0.1:9' }),
      MalformedOpsEndpointError,
      /url/,
    ],
  ])('refuses an endpoint file that is %s', async (_case, content, errorClass, message) => {
    // Prepare
    dir = mkdtempSync(join(tmpdir(), 'ops-endpoint-'));
    if (content !== undefined) writeFileSync(join(dir, OPS_ENDPOINT_FILE), content);

    // Act
    const read = readOpsEndpoint(dir);

    // Assess
    await expect(read).rejects.toThrow(errorClass);
    await expect(read).rejects.toThrow(message);
  });
});
